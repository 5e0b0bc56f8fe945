/* rtcbotd-relay-client.h — the daemon's side of a relay: [daemon] relay = ws(s)://host/ID.
 *
 * Holds a websocket to a relay (rtcbotd's own, `rtcbotd relay`, or RTCBot's
 * rtcbot.dev) so that clients who cannot reach the robot POST their offer to
 * the relay instead; each offer is answered exactly as POST /connect would
 * answer it (rtcbotd_daemon_connect_async). It asks for the subprotocol
 * RTCBOTD_RELAY_SUBPROTOCOL: a relay that grants it keeps the socket for
 * many clients (envelopes with request ids, concurrent offers); any other
 * relay is spoken to as RTCBot's robots speak: one answer per socket, then
 * close and connect again. With [daemon] relay-secret the request carries
 * Authorization: Bearer SECRET; with relay-ca a wss:// relay's certificate
 * is checked against that file's CAs instead of the system's.
 *
 * Access: without [daemon] token every client drives, as on /connect; with
 * one, the relay forwards the token the client gave it (Authorization:
 * Bearer or ?token= on its POST) and the client gets the role that token
 * gives, or 401/403 through the relay — a relay that does not forward tokens
 * (RTCBot's) then reaches nobody. Reconnects with backoff when the socket
 * drops (also after an RTCBot exchange, unless the socket carried an answer
 * or lived 10 s: a relay that closes at once is not called again and again);
 * logs connect and disconnect once per change of state. Owned by the
 * daemon, replaced when a reload changes the URL, the secret or the CA
 * file; main context only.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "rtcbotd-metrics.h"

G_BEGIN_DECLS

typedef struct _RtcbotdDaemon RtcbotdDaemon;
typedef struct _RtcbotdRelayClient RtcbotdRelayClient;

/** Creates the client of @url (ws:// or wss://) for @daemon, with @secret and @ca (a PEM
 * file of the CAs to trust for wss://, else the system's; both may be NULL); it connects at
 * once. */
RtcbotdRelayClient *rtcbotd_relay_client_new (RtcbotdDaemon *daemon, const char *url,
                                              const char *secret, const char *ca);

/** Closes the socket and frees @self; answers still being made are dropped. */
void rtcbotd_relay_client_free (RtcbotdRelayClient *self);

/** Sets the daemon's tokens (copied; NULL: none) that decide a relayed client's role. */
void rtcbotd_relay_client_set_tokens (RtcbotdRelayClient *self, const char *token,
                                      const char *viewer_token);

/** Returns TRUE when @self is the client of @url with @secret and @ca. */
gboolean rtcbotd_relay_client_is_for (RtcbotdRelayClient *self, const char *url, const char *secret,
                                      const char *ca);

/** Returns "connecting", "connected" or "down". */
const char *rtcbotd_relay_client_get_state (RtcbotdRelayClient *self);

/** Adds the member "relay" (url, state, mode, counts) to the /healthz object being built. */
void rtcbotd_relay_client_add_health (RtcbotdRelayClient *self, JsonBuilder *builder);

/** Adds the rtcbotd_relay_* metrics. */
void rtcbotd_relay_client_add_metrics (RtcbotdRelayClient *self, RtcbotdMetrics *metrics);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdRelayClient, rtcbotd_relay_client_free)

G_END_DECLS
