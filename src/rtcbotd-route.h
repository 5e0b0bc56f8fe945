/* rtcbotd-route.h — one message route at run time: map, failsafe, counters.
 *
 * A route takes the messages published on its "from" nodes, passes them
 * through its map (when it has one) and hands the result to the bus for its
 * "to" nodes. It remembers which origins (peers, endpoints) fed it, and keeps
 * its failsafe: when input stops for the configured time, when one of those
 * origins goes away, or when the daemon stops, it sends the configured
 * neutral message once and releases everything its map held. Without a
 * failsafe, an origin that goes away still has its keys released, and the
 * command without them is sent. Owned by the message bus; main context.
 */
#pragma once

#include "rtcbotd-config.h"
#include "rtcbotd-metrics.h"

G_BEGIN_DECLS

typedef struct _RtcbotdRoute RtcbotdRoute;

/* Where a message comes from: a peer's id (1, 2, ...), or an endpoint's index
 * with this bit set; 0 for none. */
#define RTCBOTD_ORIGIN_ENDPOINT 0x80000000u

/* Called with every message the route sends on to its "to" nodes. */
typedef void (*RtcbotdRouteDeliverFunc) (RtcbotdRoute *route, JsonNode *message,
                                         gpointer user_data);

/** Creates the route of @config (which must outlive it), delivering through @func. */
RtcbotdRoute *rtcbotd_route_new (const RtcbotdRouteConfig *config, RtcbotdRouteDeliverFunc func,
                                 gpointer user_data);

/** Frees @self; a pending failsafe is not sent. */
void rtcbotd_route_free (RtcbotdRoute *self);

/** Returns the route's configuration. */
const RtcbotdRouteConfig *rtcbotd_route_get_config (RtcbotdRoute *self);

/** Takes @message from peer @origin (0: not from a peer) and delivers what the map makes of it. */
void rtcbotd_route_push (RtcbotdRoute *self, JsonNode *message, guint origin);

/** Peer @origin is still there and driving: restarts the failsafe timer if it fed the route. */
void rtcbotd_route_keep_alive (RtcbotdRoute *self, guint origin);

/** @origin went away (a peer left, a device was unplugged), for @why: if it fed
 * the route since the last failsafe, sends the failsafe, or, without one,
 * releases what it held in the map and sends the command without it. */
void rtcbotd_route_release (RtcbotdRoute *self, guint origin, const char *why);

/** Returns the origin whose input the route carried last, 0 when none or after a failsafe. */
guint rtcbotd_route_get_driver (RtcbotdRoute *self);

/** Sends the failsafe message now, for @why (logged), if the route has one and
 * carried input since the last one, or always when @always. */
void rtcbotd_route_fail_safe (RtcbotdRoute *self, const char *why, gboolean always);

/** Adds the route's counters to @builder as an object. */
void rtcbotd_route_add_health (RtcbotdRoute *self, JsonBuilder *builder);

/** Adds the route's counters as rtcbotd_route_* series (label route) to @metrics. */
void rtcbotd_route_add_metrics (RtcbotdRoute *self, RtcbotdMetrics *metrics);

G_END_DECLS
