/* rtcbotd-peer.h — one connected WebRTC peer: a webrtcbin and its branches.
 *
 * A peer answers one offer (non-trickle: the answer carries every candidate),
 * then sends each planned track from a source's encoded tee through its own
 * queue ! payloader (the payload type the peer offered) into its webrtcbin,
 * and carries JSON text messages on its data channels. On the m-lines the
 * daemon lets it send on (rtcbotd_peer_receive_on()), each stream the peer
 * sends becomes an RtcbotdInbound, announced by "stream" once it flows; the
 * peer keeps it until it has closed. It watches its own
 * health: ICE failure, a DTLS/SCTP error, or silence from the peer for longer
 * than the configured timeout close it. rtcbotd_peer_close() emits "closing"
 * at once and is otherwise asynchronous: the peer unlinks from the shared tees
 * without stalling them, stops its elements and then emits "closed". While connected it
 * polls webrtcbin's statistics (RtcbotdPeerStats) and counts what its queues drop, for
 * /metrics. Created and owned by the daemon; every signal is emitted on the main context.
 */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

#include "rtcbotd-metrics.h"
#include "rtcbotd-sdp.h"
#include "rtcbotd-source.h"

G_BEGIN_DECLS

#define RTCBOTD_TYPE_PEER (rtcbotd_peer_get_type ())
G_DECLARE_FINAL_TYPE (RtcbotdPeer, rtcbotd_peer, RTCBOTD, PEER, GObject)

/* One track the peer will receive: the m-line it goes on and how it is sent. */
typedef struct
{
  guint mline;
  RtcbotdSource *source;
  RtcbotdCodec codec;
  guint pt;
} RtcbotdPeerTrack;

/** Creates peer number @id inside @pipeline; @timeout is the silence limit in seconds. */
RtcbotdPeer *rtcbotd_peer_new (guint id, GstElement *pipeline, guint timeout);

/** Caps the messages the peer sends at @per_second (0: none); call before it connects. */
void rtcbotd_peer_set_message_rate (RtcbotdPeer *self, guint per_second);

/** Adds the remote ICE @candidate ("candidate:...") of m-line @mline (trickled by WHEP). */
void rtcbotd_peer_add_ice_candidate (RtcbotdPeer *self, guint mline, const char *candidate);

/** Makes @self gather with the STUN/TURN @servers (of RtcbotdIceServer), relayed
 * only if @relay_only; call it before rtcbotd_peer_answer_async(). */
void rtcbotd_peer_use_ice_servers (RtcbotdPeer *self, GPtrArray *servers, gboolean relay_only);

/** Lets the peer send media on m-line @mline, in one of @codecs (application/x-rtp caps, one
 * structure per codec, preferred first); call before rtcbotd_peer_answer_async(). */
void rtcbotd_peer_receive_on (RtcbotdPeer *self, guint mline, GstCaps *codecs);

/** Answers @offer (already checked by rtcbotd_sdp_parse()), sending @tracks (of
 * RtcbotdPeerTrack); @local is the address the offer arrived on, or NULL. */
void rtcbotd_peer_answer_async (RtcbotdPeer *self, const char *offer, GArray *tracks,
                                GInetAddress *local, GAsyncReadyCallback callback,
                                gpointer user_data);

/** Returns the answer's SDP text, or NULL with @error set. */
char *rtcbotd_peer_answer_finish (RtcbotdPeer *self, GAsyncResult *result, GError **error);

/** Offers instead of answering (RTCBot's desktop side answers; rtcbotd-peer-offer.c):
 * one sendonly m-line per track of @tracks (the m-line and payload type set by
 * the caller), then data channel "default"; the offer carries every candidate. */
void rtcbotd_peer_offer_async (RtcbotdPeer *self, GArray *tracks, GInetAddress *local,
                               GAsyncReadyCallback callback, gpointer user_data);

/** Returns the offer's SDP text, or NULL with @error set. */
char *rtcbotd_peer_offer_finish (RtcbotdPeer *self, GAsyncResult *result, GError **error);

/** Applies the remote @answer to the peer's own offer; the peer then connects. */
void rtcbotd_peer_accept_answer_async (RtcbotdPeer *self, const char *answer,
                                       GAsyncReadyCallback callback, gpointer user_data);

/** Returns TRUE once webrtcbin took the answer, or FALSE with @error set. */
gboolean rtcbotd_peer_accept_answer_finish (RtcbotdPeer *self, GAsyncResult *result,
                                            GError **error);

/** Sends @text on the peer's "default" data channel, queued until it opens. */
void rtcbotd_peer_send (RtcbotdPeer *self, const char *text);

/** Sends @text on the peer's data channel @label if it has one open ("default" queues). */
void rtcbotd_peer_send_on (RtcbotdPeer *self, const char *label, const char *text);

/** Returns how many messages for the peer were dropped (queue or send buffer full). */
guint64 rtcbotd_peer_get_dropped (RtcbotdPeer *self);

/** Starts closing the peer, for @reason (logged); "closed" follows. Idempotent. */
void rtcbotd_peer_close (RtcbotdPeer *self, const char *reason);

/** Makes rtcbotd_peer_close() log at debug level (an outbound's attempt, which its outbound logs).
 */
void rtcbotd_peer_set_quiet (RtcbotdPeer *self, gboolean quiet);

/** Returns the peer's number. */
guint rtcbotd_peer_get_id (RtcbotdPeer *self);

/** Returns "negotiating", "connecting", "connected", "closing" or "closed". */
const char *rtcbotd_peer_get_state (RtcbotdPeer *self);

/** Returns TRUE when one of the peer's tracks carries @source. */
gboolean rtcbotd_peer_uses_source (RtcbotdPeer *self, RtcbotdSource *source);

/** Returns TRUE when @object is one of the peer's elements or inside one. */
gboolean rtcbotd_peer_owns (RtcbotdPeer *self, GstObject *object);

/** Returns the streams (of RtcbotdInbound) "stream" announced: the peer's, until it closes. */
GPtrArray *rtcbotd_peer_get_streams (RtcbotdPeer *self);

/** Counts an error that @object, an element of a stream the peer sends, posted; FALSE when
 * @object is not in one (then it is the peer's own). */
gboolean rtcbotd_peer_count_stream_error (RtcbotdPeer *self, GstObject *object);

/** Adds the peer's rtcbotd_peer_* series (label peer="ID") to @metrics. */
void rtcbotd_peer_add_metrics (RtcbotdPeer *self, RtcbotdMetrics *metrics);

G_END_DECLS
