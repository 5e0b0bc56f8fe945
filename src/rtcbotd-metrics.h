/* rtcbotd-metrics.h — a Prometheus text exposition (format 0.0.4) being built.
 *
 * One RtcbotdMetrics collects the samples of one /metrics scrape: each object
 * that owns numbers (daemon, sources, peers, bus, routes, endpoints) adds its
 * own series with rtcbotd_metrics_counter() or rtcbotd_metrics_gauge(), in any
 * order; samples of one family are kept together under a single "# HELP" and
 * "# TYPE" header, in the order the families first appeared. Label values and
 * help texts are escaped here, so they may hold any text (a source name, an
 * error message). Names are constants of the code and are checked as such.
 * Pure text, no I/O; built and freed on the main context for each request.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What GET /metrics replies with. */
#define RTCBOTD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct _RtcbotdMetrics RtcbotdMetrics;

typedef enum
{
  RTCBOTD_METRICS_COUNTER, /* only goes up (restarts at 0 with the process); name ends in _total */
  RTCBOTD_METRICS_GAUGE,   /* a value now */
} RtcbotdMetricsType;

/** Creates an empty exposition. */
RtcbotdMetrics *rtcbotd_metrics_new (void);

/** Frees @self. */
void rtcbotd_metrics_free (RtcbotdMetrics *self);

/** Adds a sample of counter @name (described by @help) with label name/value pairs, NULL-ended. */
void rtcbotd_metrics_counter (RtcbotdMetrics *self, const char *name, const char *help,
                              double value, ...) G_GNUC_NULL_TERMINATED;

/** Adds a sample of gauge @name (described by @help) with label name/value pairs, NULL-ended. */
void rtcbotd_metrics_gauge (RtcbotdMetrics *self, const char *name, const char *help, double value,
                            ...) G_GNUC_NULL_TERMINATED;

/** Returns the exposition text: every family with its HELP, TYPE and samples. */
char *rtcbotd_metrics_to_text (RtcbotdMetrics *self);

/** Returns @text escaped as a label value (backslash, double quote, newline). */
char *rtcbotd_metrics_escape_label (const char *text);

/** Returns @text escaped as a HELP text (backslash, newline). */
char *rtcbotd_metrics_escape_help (const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdMetrics, rtcbotd_metrics_free)

G_END_DECLS
