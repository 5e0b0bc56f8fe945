/* rtcbotd-message-bus.h — JSON messages between sources and sinks, along routes.
 *
 * The bus runs the message routes of the configuration (RtcbotdRoute: map,
 * failsafe, counters). Producers publish under their node name ("gamepad",
 * "peers.messages", ...) with the peer they came from; each route that lists
 * the node in "from" takes the message once, and what it makes of it goes to
 * the consumer registered for each of its "to" nodes. Consumers never block
 * (slow ones keep their own bounded queues). The built-in "log" sink is the
 * bus's own. Lives on the main context, as long as the daemon.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "rtcbotd-config.h"
#include "rtcbotd-metrics.h"

G_BEGIN_DECLS

typedef struct _RtcbotdMessageBus RtcbotdMessageBus;

/* Called on the main context with a message that route @route sends to sink node @node. */
typedef void (*RtcbotdMessageSinkFunc) (JsonNode *message, const char *node, const char *route,
                                        gpointer user_data);

/** Creates a bus carrying the message routes of @config, which must outlive it. */
RtcbotdMessageBus *rtcbotd_message_bus_new (const RtcbotdConfig *config);

/** Frees @self; pending failsafes are not sent (see rtcbotd_message_bus_fail_safe_all()). */
void rtcbotd_message_bus_free (RtcbotdMessageBus *self);

/** Takes the routes of @config in place of @old's: unchanged routes keep their
 * state (rtcbotd_config_take_unchanged()), changed and removed ones send their
 * failsafe first, new ones start. Sinks stay registered. */
void rtcbotd_message_bus_reload (RtcbotdMessageBus *self, RtcbotdConfig *config,
                                 RtcbotdConfig *old);

/** Registers @func as the consumer of sink node @node. */
void rtcbotd_message_bus_set_sink (RtcbotdMessageBus *self, const char *node,
                                   RtcbotdMessageSinkFunc func, gpointer user_data);

/** Forgets the consumer of sink node @node (messages for it are dropped). */
void rtcbotd_message_bus_remove_sink (RtcbotdMessageBus *self, const char *node);

/** Delivers @message, published by source node @node, along every route from
 * it; @origin is the peer or endpoint it came from (RTCBOTD_ORIGIN_ENDPOINT), or 0. */
void rtcbotd_message_bus_publish (RtcbotdMessageBus *self, const char *node, JsonNode *message,
                                  guint origin);

/** Delivers what peer @origin sent on its data channel @label: routes from
 * "peers.messages" or "peers.channel.LABEL" take it once. */
void rtcbotd_message_bus_publish_channel (RtcbotdMessageBus *self, const char *label,
                                          JsonNode *message, guint origin);

/** Tells the routes that peer @origin is still there (restarts their failsafe timers). */
void rtcbotd_message_bus_keep_alive (RtcbotdMessageBus *self, guint origin);

/** @origin (a peer, an endpoint) went away, for @why: every route it fed
 * sends its failsafe or releases what it held (see rtcbotd_route_release()). */
void rtcbotd_message_bus_origin_lost (RtcbotdMessageBus *self, guint origin, const char *why);

/** Sink @node is up (again): every route to it with a failsafe sends it there
 * first, so a device that kept its last command hears the neutral one. */
void rtcbotd_message_bus_sink_up (RtcbotdMessageBus *self, const char *node);

/** Sends every route's failsafe, armed or not (the daemon is stopping). */
void rtcbotd_message_bus_fail_safe_all (RtcbotdMessageBus *self, const char *why);

/** Returns how many messages have been published. */
guint64 rtcbotd_message_bus_get_published (RtcbotdMessageBus *self);

/** Adds an object with every route's counters to @builder. */
void rtcbotd_message_bus_add_health (RtcbotdMessageBus *self, JsonBuilder *builder);

/** Adds every route's rtcbotd_route_* series to @metrics. */
void rtcbotd_message_bus_add_metrics (RtcbotdMessageBus *self, RtcbotdMetrics *metrics);

/* Deeper JSON is taken as a plain string. */
#define RTCBOTD_MESSAGE_MAX_DEPTH 64

/** Returns TRUE when arrays and objects in @text (@length bytes, -1: NUL-terminated) nest
 * deeper than @limit (strings skipped). */
gboolean rtcbotd_message_nests_deeper_than (const char *text, gssize length, guint limit);

/** Decodes a data-channel text as RTCBot does: JSON, or else the text as a string. */
JsonNode *rtcbotd_message_decode (const char *text);

/** Encodes @message as compact JSON text, as RTCBot's Python side sends. */
char *rtcbotd_message_encode (JsonNode *message);

/** Encodes @message as one line of compact JSON ending in "\n" (exec, socket). */
GBytes *rtcbotd_message_encode_line (JsonNode *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdMessageBus, rtcbotd_message_bus_free)

G_END_DECLS
