/* rtcbotd-endpoint.h — the base class of message sources and sinks.
 *
 * An endpoint is one named message node of the configuration that talks to
 * the world: a serial port, an input device, a worker process, websocket or
 * unix-socket clients. What it reads it emits as "message" (the daemon
 * publishes it on the bus under the endpoint's name); what a route sends to
 * it arrives through rtcbotd_endpoint_send(). It is "up" or "down" with a
 * reason; subclasses report changes with set_up()/set_down(), which log each
 * change once, and retry on their own (with RtcbotdBackoff) while down.
 * Created from the configuration by the daemon, which owns it; main context
 * only.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "rtcbotd-config.h"
#include "rtcbotd-metrics.h"

G_BEGIN_DECLS

#define RTCBOTD_TYPE_ENDPOINT (rtcbotd_endpoint_get_type ())
G_DECLARE_DERIVABLE_TYPE (RtcbotdEndpoint, rtcbotd_endpoint, RTCBOTD, ENDPOINT, GObject)

struct _RtcbotdEndpointClass
{
  GObjectClass parent_class;

  /* Opens the device (or starts the process, or listens); a device that is
   * missing is not an error here: report it with set_down() and retry. */
  gboolean (*start) (RtcbotdEndpoint *self, GError **error);
  /* Closes everything; no message is emitted afterwards. */
  void (*stop) (RtcbotdEndpoint *self);
  /* Takes a message a route sends to this endpoint; never blocks. */
  void (*send) (RtcbotdEndpoint *self, JsonNode *message);
  /* Writes what is queued, blocking until @deadline (monotonic µs) at most. */
  void (*flush) (RtcbotdEndpoint *self, gint64 deadline);
  /* Adds type-specific members to the endpoint's /healthz object. */
  void (*add_health) (RtcbotdEndpoint *self, JsonBuilder *builder);
  /* Adds type-specific series (label endpoint) to /metrics. */
  void (*add_metrics) (RtcbotdEndpoint *self, RtcbotdMetrics *metrics);

  gpointer padding[3];
};

/* Counters every endpoint keeps, reported in /healthz. */
typedef struct
{
  guint64 received; /* messages emitted */
  guint64 sent;     /* messages written out */
  guint64 dropped;  /* messages lost: queue overflow, undecodable input, rate limit */
  guint64 errors;   /* messages refused: cannot be encoded (wrong type, out of range) */
} RtcbotdEndpointStats;

/** Starts @self (see the class vfunc). */
gboolean rtcbotd_endpoint_start (RtcbotdEndpoint *self, GError **error);

/** Stops @self; it is then down ("stopped"), quietly. */
void rtcbotd_endpoint_stop (RtcbotdEndpoint *self);

/** Hands @message to @self; endpoints that only read ignore it. */
void rtcbotd_endpoint_send (RtcbotdEndpoint *self, JsonNode *message);

/** Writes what is queued, for at most until @deadline (monotonic µs). */
void rtcbotd_endpoint_flush (RtcbotdEndpoint *self, gint64 deadline);

/** Returns the node name routes use ("arduino"). */
const char *rtcbotd_endpoint_get_name (RtcbotdEndpoint *self);

/** Returns the configuration group, for messages ("[sink arduino]"). */
const char *rtcbotd_endpoint_get_label (RtcbotdEndpoint *self);

/** Returns the configuration @self was made from. */
const RtcbotdEndpointConfig *rtcbotd_endpoint_get_config (RtcbotdEndpoint *self);

/** Returns TRUE while @self works. */
gboolean rtcbotd_endpoint_is_up (RtcbotdEndpoint *self);

/** Returns why @self is down, or NULL while it is up. */
const char *rtcbotd_endpoint_get_reason (RtcbotdEndpoint *self);

/** Returns the counters, for subclasses to update and /healthz to read. */
RtcbotdEndpointStats *rtcbotd_endpoint_get_stats (RtcbotdEndpoint *self);

/** Adds @self's /healthz object (state, reason, counters) to @builder. */
void rtcbotd_endpoint_add_health (RtcbotdEndpoint *self, JsonBuilder *builder);

/** Adds @self's rtcbotd_endpoint_* series and its type's own to @metrics. */
void rtcbotd_endpoint_add_metrics (RtcbotdEndpoint *self, RtcbotdMetrics *metrics);

/* For subclasses. */

/** Emits "message" with @message, which is read from the world. */
void rtcbotd_endpoint_emit (RtcbotdEndpoint *self, JsonNode *message);

/** Marks @self up, logging the change. */
void rtcbotd_endpoint_set_up (RtcbotdEndpoint *self);

/** Marks @self down for @reason, logging it once (a repeat of the same reason is quiet). */
void rtcbotd_endpoint_set_down (RtcbotdEndpoint *self, const char *reason);

G_END_DECLS
