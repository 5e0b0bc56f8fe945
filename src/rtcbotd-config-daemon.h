/* rtcbotd-config-daemon.h — the config layer's parser for the [daemon] group.
 *
 * Part of the pure configuration layer (see rtcbotd-config.h): reads
 * [daemon] (or its defaults, when the file has no such group) into the
 * daemon fields of an RtcbotdConfig: the listen address (loopback unless a
 * token is set), the web root, limits, control arbitration, the HTTP tokens
 * and the TLS certificate, which is loaded once here so that a broken one is
 * reported by --check-config, the ICE servers, and the relay's URL and
 * secret. Used only by rtcbotd-config.c.
 */
#pragma once

#include "rtcbotd-config-reader.h"
#include "rtcbotd-config.h"

G_BEGIN_DECLS

/* Without a token the daemon listens here: only this machine can drive it. */
#define RTCBOTD_CONFIG_LISTEN_LOOPBACK "127.0.0.1:8080"
/* With a token, every interface. */
#define RTCBOTD_CONFIG_LISTEN_ALL "0.0.0.0:8080"
/* The shortest token accepted. */
#define RTCBOTD_CONFIG_TOKEN_MIN 8

/** Parses the [daemon] group of @reader (absent: the defaults) into @self. */
gboolean rtcbotd_config_parse_daemon (RtcbotdConfig *self, RtcbotdConfigReader *reader,
                                      GError **error);

G_END_DECLS
