/* rtcbotd-relay-server.h — `rtcbotd relay`: the rendezvous for robots behind NAT.
 *
 * A libsoup 3 server speaking RTCBot's rtcbot.dev relay protocol
 * (docs/protocol.md "Relay"): a robot holds a websocket at GET /{id}; a
 * client POSTs its offer to /{id}; the body goes to the robot verbatim and
 * the robot's answer comes back as the reply (200, application/json). 404
 * when no robot holds the id, 409 when a second robot claims it, 504 when the
 * robot does not answer within RTCBOTD_RELAY_ANSWER_TIMEOUT_S. A robot that
 * asks for the subprotocol RTCBOTD_RELAY_SUBPROTOCOL keeps its socket for
 * many clients (envelopes with request ids); any other robot is served as
 * RTCBot's relay serves it: one exchange, then the relay closes the socket
 * and the robot reconnects; POSTs that arrive meanwhile wait for it. With a
 * secrets file only the ids it lists may be held, each with its secret
 * (Authorization: Bearer SECRET or ?secret=SECRET on the websocket request;
 * 401 without, 403 when wrong); clients need none. Also GET /healthz, and a
 * minimal viewer page at GET /{id} without an upgrade. Everything that comes
 * in is untrusted; nothing asserts on it. Owned by main.c's relay mode for
 * the whole process; main context only.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _RtcbotdRelayServer RtcbotdRelayServer;

/** Creates a relay that is not listening yet; every id is open. */
RtcbotdRelayServer *rtcbotd_relay_server_new (void);

/** Closes every robot and pending request and frees @self. */
void rtcbotd_relay_server_free (RtcbotdRelayServer *self);

/** Loads the secrets file @path ("ID SECRET" lines) in place of the current one; on error
 * nothing changes. Robots already connected stay. */
gboolean rtcbotd_relay_server_load_secrets (RtcbotdRelayServer *self, const char *path,
                                            GError **error);

/** Listens on @host:@port, over https/wss when @certificate is not NULL; logs the URL. */
gboolean rtcbotd_relay_server_listen (RtcbotdRelayServer *self, const char *host, guint16 port,
                                      GTlsCertificate *certificate, GError **error);

/** Returns the number of robots holding an id now. */
guint rtcbotd_relay_server_get_n_robots (RtcbotdRelayServer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdRelayServer, rtcbotd_relay_server_free)

G_END_DECLS
