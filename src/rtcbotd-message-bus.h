/* rtcbotd-message-bus.h — JSON messages between sources and sinks, along routes.
 *
 * The bus knows the message routes of the configuration as edges from a
 * source node ("peers.messages", later serial, evdev...) to sink nodes
 * ("peers", "log", ...). Producers publish under their node name; each sink
 * node registers one consumer. The built-in "log" sink is the bus's own.
 * Lives on the main context, as long as the daemon.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "rtcbotd-config.h"

G_BEGIN_DECLS

typedef struct _RtcbotdMessageBus RtcbotdMessageBus;

/* Called on the main context with a message routed to the sink's node. */
typedef void (*RtcbotdMessageSinkFunc) (JsonNode *message, const char *from, gpointer user_data);

/** Creates a bus carrying the message routes of @config. */
RtcbotdMessageBus *rtcbotd_message_bus_new (const RtcbotdConfig *config);

/** Frees @self. */
void rtcbotd_message_bus_free (RtcbotdMessageBus *self);

/** Registers @func as the consumer of sink node @node. */
void rtcbotd_message_bus_set_sink (RtcbotdMessageBus *self, const char *node,
                                   RtcbotdMessageSinkFunc func, gpointer user_data);

/** Delivers @message, published by source node @node, along every route from it. */
void rtcbotd_message_bus_publish (RtcbotdMessageBus *self, const char *node, JsonNode *message);

/** Returns how many messages have been published. */
guint64 rtcbotd_message_bus_get_published (RtcbotdMessageBus *self);

/* Deeper JSON is taken as a plain string. */
#define RTCBOTD_MESSAGE_MAX_DEPTH 64

/** Decodes a data-channel text as RTCBot does: JSON, or else the text as a string. */
JsonNode *rtcbotd_message_decode (const char *text);

/** Encodes @message as compact JSON text, as RTCBot's Python side sends. */
char *rtcbotd_message_encode (JsonNode *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdMessageBus, rtcbotd_message_bus_free)

G_END_DECLS
