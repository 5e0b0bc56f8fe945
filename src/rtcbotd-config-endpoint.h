/* rtcbotd-config-endpoint.h — the config layer's parser for message sources and sinks.
 *
 * Part of the pure configuration layer (see rtcbotd-config.h): reads one
 * [source NAME] or [sink NAME] group whose type is a message endpoint
 * (serial, evdev, exec, websocket, socket) into an RtcbotdEndpointConfig,
 * checking every key, range and combination. Used only by rtcbotd-config.c.
 */
#pragma once

#include "rtcbotd-config-reader.h"
#include "rtcbotd-config.h"

G_BEGIN_DECLS

/* The endpoint types, in RtcbotdEndpointType order, NULL-terminated. */
extern const char *const rtcbotd_endpoint_type_names[];

/** Returns TRUE when @type names an endpoint type. */
gboolean rtcbotd_config_is_endpoint_type (const char *type);

/** Parses group @group ("source" or "sink" @section, named @name) of endpoint type @type. */
RtcbotdEndpointConfig *rtcbotd_config_parse_endpoint (RtcbotdConfigReader *reader,
                                                      const char *group, const char *section,
                                                      const char *name, const char *type,
                                                      GError **error);

/** Frees @endpoint and everything in it. */
void rtcbotd_endpoint_config_free (RtcbotdEndpointConfig *endpoint);

G_END_DECLS
