/* rtcbotd-rate-control.h — the bitrate one shared encoder should run at.
 *
 * With `bitrate-mode = min-peer` a shared encoder follows the slowest of its
 * viewers: each viewer reports what it can receive (its REMB estimate), and
 * the target is the lowest report, never above the configured bitrate and
 * never below a floor. The target moves at most once a second: down at once
 * to the lowest report, up by at most 15 % a step and only after 3 s without
 * a step down, so a viewer hovering near its limit does not make the encoder
 * oscillate. Reports older than 10 s no longer count; with no report left
 * (the slow viewer left) the target goes straight back to the configured
 * bitrate. Pure arithmetic on caller-supplied times, no GStreamer: unit-tested
 * with a fake clock. Owned by one encoder branch of a source; main context.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RtcbotdRateControl RtcbotdRateControl;

/* The lowest bitrate min-peer mode sets, kbit/s: below it video is useless. */
#define RTCBOTD_RATE_CONTROL_FLOOR_KBPS 100

/** Makes a controller whose target starts at, and never exceeds, @max_kbps. */
RtcbotdRateControl *rtcbotd_rate_control_new (guint max_kbps, guint floor_kbps);

/** Frees @self. */
void rtcbotd_rate_control_free (RtcbotdRateControl *self);

/** Records that @viewer can receive @kbps (0 forgets @viewer) at monotonic time @now (µs). */
void rtcbotd_rate_control_set_estimate (RtcbotdRateControl *self, gconstpointer viewer, guint kbps,
                                        gint64 now);

/** Moves the target towards the viewers' reports if a step is due at @now; TRUE if it moved. */
gboolean rtcbotd_rate_control_update (RtcbotdRateControl *self, gint64 now);

/** Returns the target in kbit/s. */
guint rtcbotd_rate_control_get_target (RtcbotdRateControl *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdRateControl, rtcbotd_rate_control_free)

G_END_DECLS
