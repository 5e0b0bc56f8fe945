/* rtcbotd-peer.c — one connected WebRTC peer: a webrtcbin and its branches. */
#include "rtcbotd-peer.h"
#include "rtcbotd-element.h"

#include <gst/webrtc/webrtc.h>
#include <string.h>

#include "rtcbotd-channels.h"
#include "rtcbotd-encoder.h"
#include "rtcbotd-error.h"
#include "rtcbotd-feedback.h"
#include "rtcbotd-ice.h"
#include "rtcbotd-inbound.h"
#include "rtcbotd-peer-private.h"
#include "rtcbotd-peer-streams.h"
#include "rtcbotd-peer-stats.h"

#define GATHERING_TIMEOUT_MS 5000
#define CONNECT_TIMEOUT_S 30
/* A peer that receives no media sends no RTCP; SCTP heartbeats (every 30 s
 * both ways) are then the only packets that prove it alive. */
#define DATA_ONLY_TIMEOUT_S 45
#define CLOSE_GRACE_MS 150
/* Closing takes milliseconds; after this long something is stuck: say what. */
#define CLOSE_STUCK_S 10

G_DEFINE_FINAL_TYPE (RtcbotdPeer, rtcbotd_peer, G_TYPE_OBJECT)

enum
{
  SIGNAL_MESSAGE,
  SIGNAL_CHANNEL_OPENED,
  SIGNAL_CHANNEL_CLOSED,
  SIGNAL_STREAM,
  SIGNAL_CLOSING,
  SIGNAL_CLOSED,
  SIGNAL_CONNECTED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static const char *const state_names[]
    = { "negotiating", "connecting", "connected", "closing", "closed" };

static void
rtcbotd_peer_finalize (GObject *object)
{
  RtcbotdPeer *self = RTCBOTD_PEER (object);

  g_assert (!self->answer_task);
  g_free (self->offer);
  g_clear_handle_id (&self->gathering_timeout_id, g_source_remove);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_array_unref (self->branches);
  g_clear_pointer (&self->streams, rtcbotd_peer_streams_free);
  if (self->channels)
    rtcbotd_channels_close (self->channels);
  g_clear_object (&self->channels);
  g_clear_pointer (&self->ice_watch, rtcbotd_ice_watch_free);
  g_clear_pointer (&self->stats, rtcbotd_peer_stats_free);
  g_clear_pointer (&self->feedback, rtcbotd_feedback_free);
  g_clear_object (&self->webrtc);
  g_clear_object (&self->pipeline);
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (rtcbotd_peer_parent_class)->finalize (object);
}

static void
rtcbotd_peer_class_init (RtcbotdPeerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rtcbotd_peer_finalize;
  /* A text message arrived on the peer's data channel with this label. */
  signals[SIGNAL_MESSAGE]
      = g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /* The peer opened a data channel with this label. */
  signals[SIGNAL_CHANNEL_OPENED]
      = g_signal_new ("channel-opened", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* The peer closed its data channel with this label (not emitted once the peer closes). */
  signals[SIGNAL_CHANNEL_CLOSED]
      = g_signal_new ("channel-closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* A stream the peer sends (an RtcbotdInbound, the peer's until it has closed) flows. */
  signals[SIGNAL_STREAM] = g_signal_new ("stream", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  /* The peer starts closing: no message, channel or stream signal follows. */
  signals[SIGNAL_CLOSING] = g_signal_new ("closing", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* ICE and DTLS are up: media flows from now on. */
  signals[SIGNAL_CONNECTED] = g_signal_new ("connected", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The peer is gone and its elements are out of the pipeline. */
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
branch_clear (RtcbotdPeerBranch *branch)
{
  g_clear_object (&branch->tee_pad);
  g_clear_object (&branch->queue_src);
  g_clear_object (&branch->webrtc_pad);
}

static void
rtcbotd_peer_init (RtcbotdPeer *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->branches = g_array_new (FALSE, TRUE, sizeof (RtcbotdPeerBranch));
  g_array_set_clear_func (self->branches, (GDestroyNotify)branch_clear);
}

/* Runs @func(self) on the peer's main context, keeping the peer alive until then. */
void
rtcbotd_peer_hop (RtcbotdPeer *self, GSourceFunc func)
{
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, func, g_object_ref (self),
                              g_object_unref);
}

void
rtcbotd_peer_set_quiet (RtcbotdPeer *self, gboolean quiet)
{
  self->quiet = quiet;
}

guint
rtcbotd_peer_get_id (RtcbotdPeer *self)
{
  return self->id;
}

const char *
rtcbotd_peer_get_state (RtcbotdPeer *self)
{
  return state_names[self->state];
}

gboolean
rtcbotd_peer_uses_source (RtcbotdPeer *self, RtcbotdSource *source)
{
  for (guint i = 0; i < self->branches->len; i++)
    if (g_array_index (self->branches, RtcbotdPeerBranch, i).track.source == source)
      return TRUE;
  return FALSE;
}

GPtrArray *
rtcbotd_peer_get_streams (RtcbotdPeer *self)
{
  return rtcbotd_peer_streams_get_announced (self->streams);
}

gboolean
rtcbotd_peer_owns (RtcbotdPeer *self, GstObject *object)
{
  if (gst_object_has_as_ancestor (object, GST_OBJECT (self->webrtc)))
    return TRUE;
  for (guint i = 0; i < self->branches->len; i++)
    {
      RtcbotdPeerBranch *b = &g_array_index (self->branches, RtcbotdPeerBranch, i);
      if ((b->queue && gst_object_has_as_ancestor (object, GST_OBJECT (b->queue)))
          || (b->payloader && gst_object_has_as_ancestor (object, GST_OBJECT (b->payloader))))
        return TRUE;
    }
  return rtcbotd_peer_streams_owning (self->streams, object) != NULL;
}

gboolean
rtcbotd_peer_count_stream_error (RtcbotdPeer *self, GstObject *object)
{
  RtcbotdInbound *inbound = rtcbotd_peer_streams_owning (self->streams, object);

  if (inbound)
    rtcbotd_inbound_count_error (inbound);
  return inbound != NULL;
}

/* Fails the pending answer, if any, with @error (taken). */
static void
fail_answer (RtcbotdPeer *self, GError *error)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->answer_task);

  if (task)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

/* ---- data channels ------------------------------------------------------ */

void
rtcbotd_peer_send (RtcbotdPeer *self, const char *text)
{
  rtcbotd_channels_send (self->channels, "default", text);
}

void
rtcbotd_peer_send_on (RtcbotdPeer *self, const char *label, const char *text)
{
  rtcbotd_channels_send (self->channels, label, text);
}

guint64
rtcbotd_peer_get_dropped (RtcbotdPeer *self)
{
  return rtcbotd_channels_get_dropped (self->channels);
}

static void
on_channel_message (RtcbotdChannels *channels, const char *label, const char *text,
                    RtcbotdPeer *self)
{
  g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, label, text);
}

static void
on_channel_opened (RtcbotdChannels *channels, const char *label, RtcbotdPeer *self)
{
  g_signal_emit (self, signals[SIGNAL_CHANNEL_OPENED], 0, label);
}

static void
on_channel_closed (RtcbotdChannels *channels, const char *label, RtcbotdPeer *self)
{
  g_signal_emit (self, signals[SIGNAL_CHANNEL_CLOSED], 0, label);
}

/* ---- media the peer sends ---------------------------------------------- */

void
rtcbotd_peer_receive_on (RtcbotdPeer *self, guint mline, GstCaps *codecs)
{
  rtcbotd_peer_streams_receive_on (self->streams, mline, codecs);
}

typedef struct
{
  RtcbotdPeer *peer;
  RtcbotdInbound *inbound;
} StreamHop;

/* Main context: a stream the peer sends is linked and flowing. */
static gboolean
stream_added (gpointer user_data)
{
  StreamHop *h = user_data;

  if (h->peer->state < STATE_CLOSING)
    {
      rtcbotd_peer_streams_announce (h->peer->streams, h->inbound);
      g_signal_emit (h->peer, signals[SIGNAL_STREAM], 0, h->inbound);
    }
  g_object_unref (h->peer);
  g_free (h);
  return G_SOURCE_REMOVE;
}

/* Streaming thread: the first packet of a stream the peer sends. */
static void
on_pad_added (GstElement *webrtc, GstPad *pad, RtcbotdPeer *self)
{
  RtcbotdInbound *inbound;
  StreamHop *h;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC
      || !(inbound = rtcbotd_peer_streams_take_pad (self->streams, pad)))
    return;
  h = g_new0 (StreamHop, 1);
  h->peer = g_object_ref (self);
  h->inbound = inbound;
  g_main_context_invoke (self->context, stream_added, h);
}

/* ---- health ------------------------------------------------------------ */

static guint
silence_limit (RtcbotdPeer *self)
{
  return self->branches->len > 0 ? self->timeout : MAX (self->timeout, DATA_ONLY_TIMEOUT_S);
}

/* Main context, every second: a connection that never comes up, or a peer
 * gone silent (killed, unplugged) longer than the timeout, is closed. */
static gboolean
on_watchdog (gpointer user_data)
{
  RtcbotdPeer *self = user_data;
  g_autofree char *reason = NULL;

  if (self->state == STATE_CONNECTING && g_get_monotonic_time () > self->connect_deadline)
    reason = g_strdup_printf ("did not connect within %d s", CONNECT_TIMEOUT_S);
  else if (self->state == STATE_CONNECTED
           && rtcbotd_ice_watch_get_silence (self->ice_watch) > (gint)silence_limit (self))
    reason = g_strdup_printf ("silent for more than %u s", silence_limit (self));
  if (!reason)
    return G_SOURCE_CONTINUE;
  self->watchdog_id = 0;
  rtcbotd_peer_close (self, reason);
  return G_SOURCE_REMOVE;
}

static gboolean
connection_state_changed (gpointer user_data)
{
  RtcbotdPeer *self = user_data;
  GstWebRTCPeerConnectionState state;

  if (self->state >= STATE_CLOSING)
    return G_SOURCE_REMOVE;
  g_object_get (self->webrtc, "connection-state", &state, NULL);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && self->state == STATE_CONNECTING)
    {
      self->state = STATE_CONNECTED;
      self->ice_watch = rtcbotd_ice_watch_new (self->webrtc);
      self->stats = rtcbotd_peer_stats_new (self->webrtc);
      self->feedback
          = rtcbotd_feedback_new (self->webrtc, self->context, rtcbotd_peer_on_remb, self);
      g_message ("peer %u: connected", self->id);
      for (guint i = 0; i < self->branches->len; i++)
        rtcbotd_peer_attach_branch (self, &g_array_index (self->branches, RtcbotdPeerBranch, i));
      g_signal_emit (self, signals[SIGNAL_CONNECTED], 0);
    }
  else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
    rtcbotd_peer_close (self, "ICE or DTLS failed");
  else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
    rtcbotd_peer_close (self, "connection closed");
  return G_SOURCE_REMOVE;
}

/* ICE/DTLS thread. */
static void
on_connection_state (GstElement *webrtc, GParamSpec *pspec, RtcbotdPeer *self)
{
  rtcbotd_peer_hop (self, connection_state_changed);
}

/* ---- negotiation -------------------------------------------------------- */

typedef struct
{
  RtcbotdPeer *peer;
  GstPromise *promise;
  RtcbotdError code; /* for an error reply */
  const char *what;  /* what failed, for an error reply */
  void (*func) (RtcbotdPeer *self, const GstStructure *reply);
} PromiseHop;

/* Returns TRUE, or sets @error from a promise reply that carries one. */
static gboolean
reply_ok (const GstStructure *reply, RtcbotdError code, const char *what, GError **error)
{
  g_autoptr (GError) reply_error = NULL;

  if (reply && gst_structure_has_field (reply, "error"))
    gst_structure_get (reply, "error", G_TYPE_ERROR, &reply_error, NULL);
  if (!reply_error)
    return TRUE;
  g_set_error (error, RTCBOTD_ERROR, code, "%s: %s", what, reply_error->message);
  return FALSE;
}

static gboolean
promise_resolved (gpointer user_data)
{
  PromiseHop *h = user_data;
  GError *error = NULL;

  if (h->peer->answer_task && gst_promise_wait (h->promise) != GST_PROMISE_RESULT_REPLIED)
    fail_answer (h->peer, g_error_new (RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                                       "webrtcbin stopped while negotiating"));
  else if (h->peer->answer_task
           && reply_ok (gst_promise_get_reply (h->promise), h->code, h->what, &error))
    h->func (h->peer, gst_promise_get_reply (h->promise));
  else if (h->peer->answer_task)
    fail_answer (h->peer, g_steal_pointer (&error));
  gst_promise_unref (h->promise);
  g_object_unref (h->peer);
  g_free (h);
  return G_SOURCE_REMOVE;
}

/* webrtcbin thread: hands the promise's reply to @func on the main context. */
static void
on_promise (GstPromise *promise, gpointer user_data)
{
  PromiseHop *h = user_data;

  h->promise = gst_promise_ref (promise);
  g_main_context_invoke (h->peer->context, promise_resolved, h);
}

/* Emits webrtcbin's action @signal with @argument (or none) and a promise whose
 * reply goes to @func on the main context; an error reply fails the answer
 * instead, with @code and "@what: message". */
static void
emit_with_promise (RtcbotdPeer *self, const char *signal, gpointer argument,
                   void (*func) (RtcbotdPeer *, const GstStructure *), RtcbotdError code,
                   const char *what)
{
  PromiseHop *h = g_new0 (PromiseHop, 1);
  GstPromise *promise;

  h->peer = g_object_ref (self);
  h->func = func;
  h->code = code;
  h->what = what;
  promise = gst_promise_new_with_change_func (on_promise, h, NULL);
  g_signal_emit_by_name (self->webrtc, signal, argument, promise);
  gst_promise_unref (promise);
}

/* Each offered m-line is answered sendonly (we send on it), recvonly (the
 * peer sends and a route takes it), sendrecv (both) or inactive (neither). */
static void
set_directions (RtcbotdPeer *self)
{
  for (guint i = 0;; i++)
    {
      g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
      GstCaps *receive;
      gboolean sends = FALSE;
      guint mline;
      g_signal_emit_by_name (self->webrtc, "get-transceiver", i, &transceiver);
      if (!transceiver)
        break;
      g_object_get (transceiver, "mlineindex", &mline, NULL);
      for (guint j = 0; j < self->branches->len; j++)
        sends |= g_array_index (self->branches, RtcbotdPeerBranch, j).track.mline == mline;
      receive = rtcbotd_peer_streams_get_codecs (self->streams, mline);
      if (sends && receive)
        /* The peer sends in the codec we send: the answer names only that one. */
        g_object_set (transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV,
                      NULL);
      else if (receive)
        g_object_set (transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                      "codec-preferences", receive, NULL);
      else if (!sends)
        g_object_set (transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_INACTIVE,
                      NULL);
    }
}

static void
maybe_finish_answer (RtcbotdPeer *self, gboolean force)
{
  GstWebRTCICEGatheringState gathering;
  g_autoptr (GstWebRTCSessionDescription) local = NULL;
  g_autofree char *text = NULL;
  g_autofree char *with_feedback = NULL;
  g_autofree const char **tracks = NULL;
  g_autofree guint *ssrcs = NULL;
  g_autoptr (GTask) task = NULL;

  g_object_get (self->webrtc, "ice-gathering-state", &gathering, "local-description", &local, NULL);
  if (!self->answer_task || !local
      || (gathering != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && !force))
    return;
  task = g_steal_pointer (&self->answer_task);
  g_clear_handle_id (&self->gathering_timeout_id, g_source_remove);
  if (force)
    g_warning ("peer %u: ICE gathering did not complete in %d ms; answering with what it has",
               self->id, GATHERING_TIMEOUT_MS);
  text = gst_sdp_message_as_text (local->sdp);
  /* An offer of our own (rtcbotd-peer-offer.c) has no remote feedback to echo. */
  with_feedback = self->offer ? rtcbotd_sdp_answer_feedback (text, self->offer) : g_strdup (text);
  g_clear_pointer (&self->offer, g_free);
  tracks = g_new0 (const char *, gst_sdp_message_medias_len (local->sdp) + 1);
  ssrcs = g_new0 (guint, gst_sdp_message_medias_len (local->sdp) + 1);
  for (guint i = 0; i < self->branches->len; i++)
    {
      RtcbotdPeerBranch *b = &g_array_index (self->branches, RtcbotdPeerBranch, i);
      if (b->track.mline >= gst_sdp_message_medias_len (local->sdp))
        continue;
      tracks[b->track.mline] = rtcbotd_source_get_config (b->track.source)->name;
      ssrcs[b->track.mline] = b->ssrc;
    }
  self->state = STATE_CONNECTING;
  self->connect_deadline = g_get_monotonic_time () + CONNECT_TIMEOUT_S * G_USEC_PER_SEC;
  self->watchdog_id = g_timeout_add_seconds (1, on_watchdog, self);
  g_task_return_pointer (task,
                         rtcbotd_sdp_add_msid (with_feedback, "rtcbotd", tracks, ssrcs,
                                               gst_sdp_message_medias_len (local->sdp)),
                         g_free);
}

static gboolean
on_gathering_timeout (gpointer user_data)
{
  RtcbotdPeer *self = user_data;

  self->gathering_timeout_id = 0;
  maybe_finish_answer (self, TRUE);
  return G_SOURCE_REMOVE;
}

static gboolean
gathering_changed (gpointer user_data)
{
  maybe_finish_answer (user_data, FALSE);
  return G_SOURCE_REMOVE;
}

/* ICE thread. */
static void
on_gathering_state (GstElement *webrtc, GParamSpec *pspec, RtcbotdPeer *self)
{
  rtcbotd_peer_hop (self, gathering_changed);
}

static void
local_set (RtcbotdPeer *self, const GstStructure *reply)
{
  self->gathering_timeout_id = g_timeout_add (GATHERING_TIMEOUT_MS, on_gathering_timeout, self);
  maybe_finish_answer (self, FALSE);
}

static void
answer_created (RtcbotdPeer *self, const GstStructure *reply)
{
  GstWebRTCSessionDescription *answer = NULL;

  gst_structure_get (reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
  if (!answer)
    {
      fail_answer (self, g_error_new (RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                                      "webrtcbin found no answer to the offer"));
      return;
    }
  emit_with_promise (self, "set-local-description", answer, local_set, RTCBOTD_ERROR_MEDIA,
                     "webrtcbin could not apply its answer");
  gst_webrtc_session_description_free (answer);
}

static void
remote_set (RtcbotdPeer *self, const GstStructure *reply)
{
  GError *error = NULL;

  for (guint i = 0; i < self->branches->len; i++)
    if (!rtcbotd_peer_link_branch (self, &g_array_index (self->branches, RtcbotdPeerBranch, i),
                                   &error))
      {
        fail_answer (self, error);
        return;
      }
  set_directions (self);
  emit_with_promise (self, "create-answer", NULL, answer_created, RTCBOTD_ERROR_INVALID,
                     "webrtcbin could not answer the offer");
}

RtcbotdPeer *
rtcbotd_peer_new (guint id, GstElement *pipeline, guint timeout)
{
  g_autoptr (RtcbotdPeer) self = g_object_new (RTCBOTD_TYPE_PEER, NULL);
  g_autofree char *name = g_strdup_printf ("peer-%u", id);

  self->id = id;
  self->timeout = timeout;
  self->pipeline = g_object_ref (pipeline);
  self->streams = rtcbotd_peer_streams_new (id, pipeline);
  self->webrtc = gst_element_factory_make ("webrtcbin", name);
  if (!self->webrtc)
    return NULL;
  gst_object_ref_sink (self->webrtc);
  g_object_set (self->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
  g_signal_connect (self->webrtc, "notify::connection-state", G_CALLBACK (on_connection_state),
                    self);
  g_signal_connect (self->webrtc, "notify::ice-gathering-state", G_CALLBACK (on_gathering_state),
                    self);
  g_signal_connect (self->webrtc, "pad-added", G_CALLBACK (on_pad_added), self);
  self->channels = rtcbotd_channels_new (id);
  g_signal_connect (self->channels, "message", G_CALLBACK (on_channel_message), self);
  g_signal_connect (self->channels, "opened", G_CALLBACK (on_channel_opened), self);
  g_signal_connect (self->channels, "closed", G_CALLBACK (on_channel_closed), self);
  rtcbotd_channels_watch (self->channels, self->webrtc);
  return g_steal_pointer (&self);
}

void
rtcbotd_peer_add_ice_candidate (RtcbotdPeer *self, guint mline, const char *candidate)
{
  if (self->state == STATE_CLOSING || self->state == STATE_CLOSED)
    return;
  g_signal_emit_by_name (self->webrtc, "add-ice-candidate", mline, candidate);
}

void
rtcbotd_peer_use_ice_servers (RtcbotdPeer *self, GPtrArray *servers, gboolean relay_only)
{
  rtcbotd_ice_use_servers (self->webrtc, servers, relay_only);
}

void
rtcbotd_peer_answer_async (RtcbotdPeer *self, const char *offer, GArray *tracks,
                           GInetAddress *local, GAsyncReadyCallback callback, gpointer user_data)
{
  GstSDPMessage *sdp = NULL;
  GstWebRTCSessionDescription *description;

  g_return_if_fail (self->state == STATE_NEGOTIATING && !self->answer_task);
  self->answer_task = g_task_new (self, NULL, callback, user_data);
  self->offer = g_strdup (offer);
  for (guint i = 0; i < tracks->len; i++)
    {
      RtcbotdPeerBranch b = { .track = g_array_index (tracks, RtcbotdPeerTrack, i) };
      g_array_append_val (self->branches, b);
    }
  if (gst_sdp_message_new_from_text (offer, &sdp) != GST_SDP_OK)
    {
      g_clear_pointer (&sdp, gst_sdp_message_free);
      fail_answer (self, g_error_new (RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                                      "GStreamer cannot parse the offer's SDP"));
      return;
    }
  rtcbotd_ice_configure (self->webrtc, local);
  gst_bin_add (GST_BIN (self->pipeline), self->webrtc);
  gst_element_sync_state_with_parent (self->webrtc);
  description = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  emit_with_promise (self, "set-remote-description", description, remote_set, RTCBOTD_ERROR_INVALID,
                     "webrtcbin rejected the offer");
  gst_webrtc_session_description_free (description);
}

char *
rtcbotd_peer_answer_finish (RtcbotdPeer *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
rtcbotd_peer_set_message_rate (RtcbotdPeer *self, guint per_second)
{
  rtcbotd_channels_set_rate_limit (self->channels, per_second);
}

/* ---- for the offer role (rtcbotd-peer-private.h) ------------------------ */

GstElement *
rtcbotd_peer_get_webrtc (RtcbotdPeer *self)
{
  return self->webrtc;
}

RtcbotdChannels *
rtcbotd_peer_get_channels (RtcbotdPeer *self)
{
  return self->channels;
}

gboolean
rtcbotd_peer_begin (RtcbotdPeer *self, GArray *tracks, GInetAddress *local, GTask *task)
{
  if (self->answer_task || self->state >= STATE_CLOSING
      || (tracks && self->state != STATE_NEGOTIATING))
    {
      g_task_return_new_error (task, RTCBOTD_ERROR, RTCBOTD_ERROR_INTERNAL, "the peer is %s",
                               state_names[self->state]);
      g_object_unref (task);
      return FALSE;
    }
  self->answer_task = task;
  if (!tracks)
    return TRUE;
  for (guint i = 0; i < tracks->len; i++)
    {
      RtcbotdPeerBranch b = { .track = g_array_index (tracks, RtcbotdPeerTrack, i) };
      g_array_append_val (self->branches, b);
    }
  rtcbotd_ice_configure (self->webrtc, local);
  gst_bin_add (GST_BIN (self->pipeline), self->webrtc);
  gst_element_sync_state_with_parent (self->webrtc);
  return TRUE;
}

gboolean
rtcbotd_peer_link_branches (RtcbotdPeer *self)
{
  GError *error = NULL;

  for (guint i = 0; i < self->branches->len; i++)
    if (!rtcbotd_peer_link_branch (self, &g_array_index (self->branches, RtcbotdPeerBranch, i),
                                   &error))
      {
        fail_answer (self, error);
        return FALSE;
      }
  return TRUE;
}

void
rtcbotd_peer_emit_step (RtcbotdPeer *self, const char *signal, gpointer argument,
                        RtcbotdPeerStep func, RtcbotdError code, const char *what)
{
  emit_with_promise (self, signal, argument, func, code, what);
}

void
rtcbotd_peer_fail (RtcbotdPeer *self, GError *error)
{
  fail_answer (self, error);
}

void
rtcbotd_peer_local_set (RtcbotdPeer *self, const GstStructure *reply)
{
  local_set (self, reply);
}

GTask *
rtcbotd_peer_steal_task (RtcbotdPeer *self)
{
  return g_steal_pointer (&self->answer_task);
}

/* ---- closing ------------------------------------------------------------ */

static void
stop_element (RtcbotdPeer *self, GstElement *element)
{
  rtcbotd_element_discard (GST_BIN (self->pipeline), element);
}

static void
finish_close (RtcbotdPeer *self)
{
  /* webrtcbin first: a branch thread blocked pushing into it then returns. */
  stop_element (self, self->webrtc);
  for (guint i = 0; i < self->branches->len; i++)
    {
      RtcbotdPeerBranch *b = &g_array_index (self->branches, RtcbotdPeerBranch, i);
      stop_element (self, b->payloader);
      stop_element (self, b->queue);
    }
  /* Nothing pushes into them now that webrtcbin has stopped; the daemon took
   * them off their media sinks when the peer started closing. */
  rtcbotd_peer_streams_stop (self->streams);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  self->state = STATE_CLOSED;
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0);
  g_object_unref (self); /* the reference rtcbotd_peer_close() took */
}

typedef struct
{
  RtcbotdPeer *peer;
  RtcbotdPeerBranch *branch;
} Unlink;

static gboolean
branch_unlinked (gpointer user_data)
{
  Unlink *u = user_data;
  RtcbotdPeer *self = u->peer;

  rtcbotd_source_set_estimate (u->branch->track.source, u->branch->track.codec, u->branch, 0);
  rtcbotd_source_unuse (u->branch->track.source, u->branch->track.codec);
  u->branch->unlinked = TRUE;
  g_free (u);
  if (--self->unlinks_pending == 0)
    finish_close (self);
  return G_SOURCE_REMOVE;
}

/* Streaming thread of the shared tee, between two buffers (or the caller's when idle). */
static GstPadProbeReturn
on_tee_pad_idle (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Unlink *u = user_data;
  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (u->branch->queue, "sink");
  g_autoptr (GstElement) tee = gst_pad_get_parent_element (pad);

  gst_pad_unlink (pad, queue_sink);
  if (tee)
    gst_element_release_request_pad (tee, pad);
  g_main_context_invoke (u->peer->context, branch_unlinked, u);
  return GST_PAD_PROBE_REMOVE;
}

/* Main context: takes every branch off its shared tee, then finishes closing. */
static gboolean
unlink_branches (gpointer user_data)
{
  RtcbotdPeer *self = user_data;

  self->close_grace_id = 0;
  self->unlinks_pending = 1; /* held until every probe is placed */
  for (guint i = 0; i < self->branches->len; i++)
    {
      RtcbotdPeerBranch *b = &g_array_index (self->branches, RtcbotdPeerBranch, i);
      Unlink *u;
      if (!b->tee_pad)
        continue;
      u = g_new0 (Unlink, 1);
      u->peer = self;
      u->branch = b;
      self->unlinks_pending++;
      gst_pad_add_probe (b->tee_pad, GST_PAD_PROBE_TYPE_IDLE, on_tee_pad_idle, u, NULL);
    }
  if (--self->unlinks_pending == 0)
    finish_close (self);
  return G_SOURCE_REMOVE;
}

/* Main context: a close that has not finished after CLOSE_STUCK_S. */
static gboolean
on_close_stuck (gpointer user_data)
{
  RtcbotdPeer *self = user_data;
  g_autoptr (GString) pending = g_string_new (NULL);

  self->watchdog_id = 0;
  for (guint i = 0; i < self->branches->len; i++)
    {
      RtcbotdPeerBranch *b = &g_array_index (self->branches, RtcbotdPeerBranch, i);
      if (!b->tee_pad || b->unlinked)
        continue;
      g_string_append_printf (pending, " [source %s] %s (pad %s%s%s)",
                              rtcbotd_source_get_config (b->track.source)->name,
                              rtcbotd_codec_to_string (b->track.codec), GST_PAD_NAME (b->tee_pad),
                              gst_pad_is_linked (b->tee_pad) ? ", linked" : "",
                              GST_PAD_IS_FLUSHING (b->tee_pad) ? ", flushing" : "");
    }
  g_warning ("peer %u: still closing after %u s (grace %s; waiting for%s)", self->id, CLOSE_STUCK_S,
             self->close_grace_id ? "pending" : "over", pending->len ? pending->str : " nothing");
  return G_SOURCE_REMOVE;
}

void
rtcbotd_peer_close (RtcbotdPeer *self, const char *reason)
{
  if (self->state >= STATE_CLOSING)
    return;
  if (self->quiet)
    g_debug ("peer %u: closing: %s", self->id, reason);
  else
    g_message ("peer %u: closing: %s", self->id, reason);
  self->state = STATE_CLOSING;
  g_object_ref (self);
  g_clear_handle_id (&self->gathering_timeout_id, g_source_remove);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  self->watchdog_id = g_timeout_add_seconds (CLOSE_STUCK_S, on_close_stuck, self);
  fail_answer (self, g_error_new (RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                                  "the peer closed while negotiating: %s", reason));
  g_signal_handlers_disconnect_by_data (self->webrtc, self);
  g_clear_pointer (&self->ice_watch, rtcbotd_ice_watch_free);
  g_clear_pointer (&self->stats, rtcbotd_peer_stats_free);
  g_clear_pointer (&self->feedback, rtcbotd_feedback_free);
  g_signal_emit (self, signals[SIGNAL_CLOSING], 0);
  /* Closing the channels tells the peer at once (an SCTP stream reset that
   * browsers and aiortc report); give it a moment to leave before the
   * transport stops, or the peer only notices when ICE times out. */
  if (rtcbotd_channels_close (self->channels))
    self->close_grace_id = g_timeout_add (CLOSE_GRACE_MS, unlink_branches, self);
  else
    unlink_branches (self);
}

void
rtcbotd_peer_add_metrics (RtcbotdPeer *self, RtcbotdMetrics *metrics)
{
  g_autofree char *id = g_strdup_printf ("%u", self->id);

  rtcbotd_channels_add_metrics (self->channels, metrics, id);
  for (guint i = 0; i < self->branches->len; i++)
    {
      RtcbotdPeerBranch *b = &g_array_index (self->branches, RtcbotdPeerBranch, i);
      const RtcbotdSourceConfig *source = rtcbotd_source_get_config (b->track.source);
      if (!b->tee_pad)
        continue; /* not attached: nothing flows */
      rtcbotd_metrics_counter (metrics, "rtcbotd_peer_frames_dropped_total",
                               "Encoded frames dropped on their way to the peer because its "
                               "send path lagged (its leaky queue).",
                               g_atomic_int_get (&b->dropped), "peer", id, "source", source->name,
                               "kind", rtcbotd_kind_to_string (source->kind), NULL);
      if (b->estimate)
        rtcbotd_metrics_gauge (metrics, "rtcbotd_peer_bitrate_estimate_kbps",
                               "What the peer last said it can receive of this track (its REMB, "
                               "shared among the tracks it covers), kbit/s.",
                               b->estimate, "peer", id, "source", source->name, "kind",
                               rtcbotd_kind_to_string (source->kind), NULL);
    }
  if (self->stats)
    rtcbotd_peer_stats_add_metrics (self->stats, metrics, id);
  rtcbotd_peer_streams_add_metrics (self->streams, metrics, id);
}
