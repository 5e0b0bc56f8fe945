/* rtcbotd-socket.h — a unix socket where local programs publish and subscribe
 * ([sink NAME] type = socket).
 *
 * Listens on the configured path (mode 0660). Every client writes messages as
 * newline-delimited JSON (a line that is not JSON is a string) and receives
 * every message routed here, one line of compact JSON each, through its own
 * bounded queue: a client that stops reading loses messages, and after
 * RTCBOTD_SOCKET_STALL_SECONDS is disconnected, while the others carry on. At
 * most RTCBOTD_SOCKET_MAX_CLIENTS are connected at once. A stale socket file
 * left by a daemon that died is replaced; anything else at the path makes
 * start() fail. Created by the daemon from the configuration, which outlives
 * it; stop() (or the last unref) disconnects the clients and removes the
 * socket file. Main context only; a "message" handler must not stop it.
 */
#pragma once

#include "rtcbotd-endpoint.h"

G_BEGIN_DECLS

#define RTCBOTD_TYPE_SOCKET (rtcbotd_socket_get_type ())
G_DECLARE_FINAL_TYPE (RtcbotdSocket, rtcbotd_socket, RTCBOTD, SOCKET, RtcbotdEndpoint)

#define RTCBOTD_SOCKET_MAX_CLIENTS 16

/* A client whose queue overflowed and that read nothing for this long is dropped. */
#define RTCBOTD_SOCKET_STALL_SECONDS 5

/** Creates the endpoint for the socket @config; start() listens. */
RtcbotdEndpoint *rtcbotd_socket_new (const RtcbotdEndpointConfig *config);

G_END_DECLS
