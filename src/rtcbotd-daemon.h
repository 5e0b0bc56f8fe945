/* rtcbotd-daemon.h — the daemon: configuration, pipeline, sources, peers, HTTP.
 *
 * The daemon owns everything that runs: one GStreamer pipeline holding every
 * source and every peer's webrtcbin, the message bus, and the HTTP server. It
 * turns a /connect offer into a plan (which source goes on which m-line, in
 * which codec), creates the peer, and removes it when it closes. It lives for
 * the whole process, on the main context. It emits "peers-changed" (no
 * arguments, main context) after a peer is added or removed.
 */
#pragma once

#include <gio/gio.h>

#include "rtcbotd-access.h"
#include "rtcbotd-config.h"
#include "rtcbotd-peer.h"

G_BEGIN_DECLS

#define RTCBOTD_TYPE_DAEMON (rtcbotd_daemon_get_type ())
G_DECLARE_FINAL_TYPE (RtcbotdDaemon, rtcbotd_daemon, RTCBOTD, DAEMON, GObject)

/** Creates a daemon running @config, which it takes. */
RtcbotdDaemon *rtcbotd_daemon_new (RtcbotdConfig *config);

/** Builds the pipeline, starts the sources and listens for HTTP. */
gboolean rtcbotd_daemon_start (RtcbotdDaemon *self, GError **error);

/** Waits at most @timeout_ms for the pipeline to play; FALSE with @error when it does not. */
gboolean rtcbotd_daemon_wait_playing (RtcbotdDaemon *self, guint timeout_ms, GError **error);

/** Applies @config (which it takes) in place of the running one: unchanged
 * parts keep running, changed ones are rebuilt; on error nothing changes. */
gboolean rtcbotd_daemon_reload (RtcbotdDaemon *self, RtcbotdConfig *config, GError **error);

/** Closes every peer and stops everything; waits at most a few seconds. */
void rtcbotd_daemon_stop (RtcbotdDaemon *self);

/** Answers the RTCBot /connect request @body that arrived on address @local;
 * the peer gets @role (a viewer only watches). */
void rtcbotd_daemon_connect_async (RtcbotdDaemon *self, GBytes *body, GInetAddress *local,
                                   RtcbotdRole role, GAsyncReadyCallback callback,
                                   gpointer user_data);

/** Returns the answer as JSON text, or NULL with @error set. */
char *rtcbotd_daemon_connect_finish (RtcbotdDaemon *self, GAsyncResult *result, GError **error);

/** Answers the plain SDP @offer (WHEP) with @source's media only, the peer getting @role. */
void rtcbotd_daemon_answer_sdp_async (RtcbotdDaemon *self, const char *offer, const char *source,
                                      GInetAddress *local, RtcbotdRole role,
                                      GAsyncReadyCallback callback, gpointer user_data);

/** Returns the answer SDP and the new peer's id in *@peer_id, or NULL with @error set. */
char *rtcbotd_daemon_answer_sdp_finish (RtcbotdDaemon *self, GAsyncResult *result, guint *peer_id,
                                        GError **error);

/** Closes peer @id for @reason; FALSE when there is no such peer. */
gboolean rtcbotd_daemon_close_peer (RtcbotdDaemon *self, guint id, const char *reason);

/** Returns peer @id, or NULL when it is gone. */
RtcbotdPeer *rtcbotd_daemon_find_peer (RtcbotdDaemon *self, guint id);

/** Returns the /healthz document as JSON text. */
char *rtcbotd_daemon_health_json (RtcbotdDaemon *self);

/** Returns the /metrics document as Prometheus text (RTCBOTD_METRICS_CONTENT_TYPE). */
char *rtcbotd_daemon_metrics_text (RtcbotdDaemon *self);

/** Returns the number of peers (negotiating, connected or closing). */
guint rtcbotd_daemon_get_n_peers (RtcbotdDaemon *self);

/** Returns one line for the service manager: "2 peers; sources: camera up; sinks: rec up;
 * endpoints: arduino down". */
char *rtcbotd_daemon_status_text (RtcbotdDaemon *self);

/** Returns the media sinks (record, speaker, display, gst) that routes feed
 * with the peers' @kind media (peers.video, peers.audio); a new array, the
 * sinks stay the daemon's and are valid until the main loop runs again. */
GPtrArray *rtcbotd_daemon_get_peer_sinks (RtcbotdDaemon *self, RtcbotdKind kind);

/** Stops feeding @peer_id's streams into every media sink (the peer left);
 * their pads are unlinked when it returns. */
void rtcbotd_daemon_remove_peer_streams (RtcbotdDaemon *self, guint peer_id);

G_END_DECLS
