/* rtcbotd-peer.c — one connected WebRTC peer: a webrtcbin and its branches. */
#include "rtcbotd-peer.h"

#include <gst/webrtc/webrtc.h>
#include <string.h>

#include "rtcbotd-channels.h"
#include "rtcbotd-encoder.h"
#include "rtcbotd-error.h"
#include "rtcbotd-feedback.h"
#include "rtcbotd-ice.h"
#include "rtcbotd-peer-stats.h"

#define GATHERING_TIMEOUT_MS 5000
#define CONNECT_TIMEOUT_S 30
/* A peer that receives no media sends no RTCP; SCTP heartbeats (every 30 s
 * both ways) are then the only packets that prove it alive. */
#define DATA_ONLY_TIMEOUT_S 45
#define CLOSE_GRACE_MS 150
/* Closing takes milliseconds; after this long something is stuck: say what. */
#define CLOSE_STUCK_S 10
/* What one peer may make the daemon hold: sinks for media it sends (its data
 * channels are limited in rtcbotd-channels.c). */
#define MAX_INCOMING_STREAMS 4

typedef enum
{
  STATE_NEGOTIATING,
  STATE_CONNECTING,
  STATE_CONNECTED,
  STATE_CLOSING,
  STATE_CLOSED,
} PeerState;

typedef struct
{
  RtcbotdPeerTrack track;
  GstPad *tee_pad;   /* request pad on the source's encoded tee */
  GstElement *queue; /* queue ! payloader into webrtcbin */
  GstElement *payloader;
  GstPad *queue_src;  /* looked up once: read for every buffer */
  GstPad *webrtc_pad; /* webrtcbin's sink pad the payloader feeds */
  RtcbotdPeer *peer;  /* the owner, for the streaming-thread probe */
  gint dropped;       /* frames the leaky queue let go; atomic */
  gboolean unlinked;  /* closing: taken off its tee */
  guint ssrc;         /* announced in the answer: tracks sharing a payload type stay apart */
  guint estimate;     /* kbit/s this track may use by the peer's last REMB; 0: none yet */
} Branch;

struct _RtcbotdPeer
{
  GObject parent;
  guint id;
  guint timeout;
  PeerState state;
  GMainContext *context;
  GstElement *pipeline;
  GstElement *webrtc;
  GArray *branches; /* of Branch */
  GPtrArray *sinks; /* fakesinks for media the peer sends us; guarded by lock */
  RtcbotdChannels *channels;
  GTask *answer_task;
  char *offer; /* while negotiating: the answer echoes some of its feedback */
  guint gathering_timeout_id;
  guint watchdog_id; /* every second until closing, then once if closing gets stuck */
  guint close_grace_id;
  gint64 connect_deadline;
  RtcbotdIceWatch *ice_watch; /* from connected to closing */
  RtcbotdPeerStats *stats;    /* from connected to closing */
  RtcbotdFeedback *feedback;  /* from connected to closing */
  gint media_failed;          /* a branch met an error downstream; atomic */
  guint unlinks_pending;
  GMutex lock;
};

G_DEFINE_FINAL_TYPE (RtcbotdPeer, rtcbotd_peer, G_TYPE_OBJECT)

enum
{
  SIGNAL_MESSAGE,
  SIGNAL_CHANNEL_OPENED,
  SIGNAL_CHANNEL_CLOSED,
  SIGNAL_CLOSING,
  SIGNAL_CLOSED,
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
  g_ptr_array_unref (self->sinks);
  if (self->channels)
    rtcbotd_channels_close (self->channels);
  g_clear_object (&self->channels);
  g_clear_pointer (&self->ice_watch, rtcbotd_ice_watch_free);
  g_clear_pointer (&self->stats, rtcbotd_peer_stats_free);
  g_clear_pointer (&self->feedback, rtcbotd_feedback_free);
  g_clear_object (&self->webrtc);
  g_clear_object (&self->pipeline);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
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
  /* The peer starts closing: no message or channel signal follows. */
  signals[SIGNAL_CLOSING] = g_signal_new ("closing", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The peer is gone and its elements are out of the pipeline. */
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
branch_clear (Branch *branch)
{
  g_clear_object (&branch->tee_pad);
  g_clear_object (&branch->queue_src);
  g_clear_object (&branch->webrtc_pad);
}

static void
rtcbotd_peer_init (RtcbotdPeer *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->branches = g_array_new (FALSE, TRUE, sizeof (Branch));
  g_array_set_clear_func (self->branches, (GDestroyNotify)branch_clear);
  self->sinks = g_ptr_array_new ();
  g_mutex_init (&self->lock);
}

/* Runs @func(self) on the peer's main context, keeping the peer alive until then. */
static void
hop (RtcbotdPeer *self, GSourceFunc func)
{
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, func, g_object_ref (self),
                              g_object_unref);
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
    if (g_array_index (self->branches, Branch, i).track.source == source)
      return TRUE;
  return FALSE;
}

gboolean
rtcbotd_peer_owns (RtcbotdPeer *self, GstObject *object)
{
  if (gst_object_has_as_ancestor (object, GST_OBJECT (self->webrtc)))
    return TRUE;
  for (guint i = 0; i < self->branches->len; i++)
    {
      Branch *b = &g_array_index (self->branches, Branch, i);
      if ((b->queue && gst_object_has_as_ancestor (object, GST_OBJECT (b->queue)))
          || (b->payloader && gst_object_has_as_ancestor (object, GST_OBJECT (b->payloader))))
        return TRUE;
    }
  return FALSE;
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

/* Streaming thread: media the peer sends us has no consumer yet; drop it. */
static void
on_pad_added (GstElement *webrtc, GstPad *pad, RtcbotdPeer *self)
{
  GstElement *sink;
  g_autoptr (GstPad) sink_pad = NULL;
  gboolean full;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  g_mutex_lock (&self->lock);
  full = self->sinks->len >= MAX_INCOMING_STREAMS;
  g_mutex_unlock (&self->lock);
  if (full)
    return; /* webrtcbin drops what nobody links */
  sink = gst_element_factory_make ("fakesink", NULL);
  g_object_set (sink, "async", FALSE, "sync", FALSE, NULL);
  gst_bin_add (GST_BIN (self->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  sink_pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sink_pad);
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->sinks, sink);
  g_mutex_unlock (&self->lock);
}

/* ---- media branches ---------------------------------------------------- */

/* Streaming thread of the shared encoder: an allocation query would wait for
 * this peer's queue to drain; answer it here so one peer never stalls the rest. */
static GstPadProbeReturn
on_branch_query (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return GST_QUERY_TYPE (GST_PAD_PROBE_INFO_QUERY (info)) == GST_QUERY_ALLOCATION
             ? GST_PAD_PROBE_DROP
             : GST_PAD_PROBE_OK;
}

static gboolean
branch_failed (gpointer user_data)
{
  rtcbotd_peer_close (user_data, "its media path failed");
  return G_SOURCE_REMOVE;
}

/* Streaming thread of the shared tee. Once this peer's queue has met an error
 * or EOS downstream it would return it to the tee, and the tee would stop
 * feeding every viewer; swallow the buffer and close this peer instead. */
static GstPadProbeReturn
on_branch_input (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Branch *b = user_data;

  if (gst_pad_get_last_flow_return (b->queue_src) >= GST_FLOW_OK)
    return GST_PAD_PROBE_OK;
  if (g_atomic_int_compare_and_exchange (&b->peer->media_failed, FALSE, TRUE))
    hop (b->peer, branch_failed);
  return GST_PAD_PROBE_DROP;
}

/* Streaming thread of the shared tee: a new viewer starts at a key frame; the
 * delta frames before it could not be decoded anyway. */
static GstPadProbeReturn
on_branch_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (GST_BUFFER_FLAG_IS_SET (GST_PAD_PROBE_INFO_BUFFER (info), GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_DROP;
  return GST_PAD_PROBE_REMOVE;
}

/* Streaming thread of the shared tee: this peer's queue is full (the peer's
 * send path lags) and, being leaky, drops its oldest frame. */
static void
on_branch_overrun (GstElement *queue, gpointer user_data)
{
  Branch *b = user_data;

  g_atomic_int_inc (&b->dropped);
}

/* Main context, once the peer is connected: only now does the branch join the
 * shared tee. Before DTLS is up webrtcbin holds RTP back, and a branch
 * blocked there must never hold the encoder that every viewer shares. */
static void
attach_branch (RtcbotdPeer *self, Branch *b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (b->queue, "sink");

  if (!(b->tee_pad = rtcbotd_source_acquire (b->track.source, b->track.codec, &error)))
    {
      g_warning ("peer %u: no %s from [source %s]: %s", self->id,
                 rtcbotd_codec_to_string (b->track.codec),
                 rtcbotd_source_get_config (b->track.source)->name, error->message);
      return;
    }
  gst_pad_add_probe (queue_sink, GST_PAD_PROBE_TYPE_BUFFER, on_branch_buffer, NULL, NULL);
  gst_pad_link (b->tee_pad, queue_sink);
  rtcbotd_source_request_key_frame (b->track.source, b->track.codec);
  rtcbotd_peer_stats_add_track (
      self->stats, b->webrtc_pad, rtcbotd_source_get_config (b->track.source)->name,
      rtcbotd_kind_to_string (rtcbotd_source_get_config (b->track.source)->kind));
}

/* TRUE when a REMB for @ssrcs covers @b: an attached video track it names
 * (every one, when it names none). */
static gboolean
branch_in (Branch *b, const guint32 *ssrcs, guint n_ssrcs)
{
  if (!b->tee_pad || b->track.codec == RTCBOTD_CODEC_OPUS)
    return FALSE;
  for (guint i = 0; i < n_ssrcs; i++)
    if (ssrcs[i] == b->ssrc)
      return TRUE;
  return n_ssrcs == 0;
}

/* Main context: a REMB from the peer. It covers every SSRC it lists, so the
 * video tracks it names share it in proportion to their configured bitrates. */
static void
on_remb (guint64 bitrate, const guint32 *ssrcs, guint n_ssrcs, gpointer user_data)
{
  RtcbotdPeer *self = user_data;
  guint64 kbps = MIN (bitrate / 1000, G_MAXUINT32); /* kbps × a bitrate cannot overflow */
  guint64 total = 0;

  for (guint i = 0; i < self->branches->len; i++)
    {
      Branch *b = &g_array_index (self->branches, Branch, i);
      if (branch_in (b, ssrcs, n_ssrcs))
        total += rtcbotd_source_get_config (b->track.source)->bitrate;
    }
  for (guint i = 0; i < self->branches->len && total; i++)
    {
      Branch *b = &g_array_index (self->branches, Branch, i);
      guint configured = rtcbotd_source_get_config (b->track.source)->bitrate;
      if (!branch_in (b, ssrcs, n_ssrcs))
        continue;
      /* At least 1: 0 would mean "forget this viewer". */
      b->estimate = MAX (1, MIN (kbps * configured / total, G_MAXUINT));
      rtcbotd_source_set_estimate (b->track.source, b->track.codec, b, b->estimate);
    }
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
      self->feedback = rtcbotd_feedback_new (self->webrtc, self->context, on_remb, self);
      g_message ("peer %u: connected", self->id);
      for (guint i = 0; i < self->branches->len; i++)
        attach_branch (self, &g_array_index (self->branches, Branch, i));
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
  hop (self, connection_state_changed);
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

/* A random SSRC none of the peer's other tracks has (0 means none in the answer). */
static guint
new_ssrc (RtcbotdPeer *self)
{
  for (;;)
    {
      guint ssrc = g_random_int ();
      gboolean taken = ssrc == 0;
      for (guint i = 0; i < self->branches->len; i++)
        taken |= g_array_index (self->branches, Branch, i).ssrc == ssrc;
      if (!taken)
        return ssrc;
    }
}

static gboolean
link_branch (RtcbotdPeer *self, Branch *b, GError **error)
{
  g_autofree char *name = g_strdup_printf ("sink_%u", b->track.mline);
  g_autoptr (GstPad) sink = gst_element_request_pad_simple (self->webrtc, name);
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GstPad) queue_sink = NULL;

  if (!sink)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "webrtcbin gave no pad for m-line %u",
                   b->track.mline);
      return FALSE;
    }
  /* The SSRC is in the caps so that webrtcbin's answer pairs it with its RTX
   * SSRC (a=ssrc-group:FID); without it the group names SSRC 0. */
  b->ssrc = new_ssrc (self);
  caps = rtcbotd_encoder_rtp_caps (b->track.codec, b->track.pt, b->ssrc);
  g_object_get (sink, "transceiver", &transceiver, NULL);
  if (transceiver)
    g_object_set (transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                  "codec-preferences", caps, NULL);
  /* Video answers keep nack and the offered rtx, and webrtcbin retransmits
   * what a viewer reports lost (rtprtxsend); a lost Opus packet is not worth it. */
  if (transceiver && b->track.codec != RTCBOTD_CODEC_OPUS)
    g_object_set (transceiver, "do-nack", TRUE, NULL);
  if (!(b->payloader
        = rtcbotd_encoder_make_payloader (b->track.codec, b->track.pt, b->ssrc, error)))
    return FALSE;
  b->queue = gst_element_factory_make ("queue", NULL);
  /* A slow peer drops its own frames; it never stalls the shared tee. */
  g_object_set (b->queue, "leaky", 2, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
                (guint64)200 * GST_MSECOND, NULL);
  gst_bin_add_many (GST_BIN (self->pipeline), b->queue, b->payloader, NULL);
  if (!gst_element_link (b->queue, b->payloader)
      || !gst_element_link_pads (b->payloader, "src", self->webrtc, name))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "cannot link %s to webrtcbin",
                   rtcbotd_codec_to_string (b->track.codec));
      return FALSE;
    }
  gst_element_sync_state_with_parent (b->payloader);
  gst_element_sync_state_with_parent (b->queue);
  queue_sink = gst_element_get_static_pad (b->queue, "sink");
  b->queue_src = gst_element_get_static_pad (b->queue, "src");
  b->webrtc_pad = g_object_ref (sink);
  b->peer = self;
  g_signal_connect (b->queue, "overrun", G_CALLBACK (on_branch_overrun), b);
  gst_pad_add_probe (queue_sink, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, on_branch_query, NULL, NULL);
  gst_pad_add_probe (queue_sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     on_branch_input, b, NULL);
  return TRUE;
}

/* m-lines the peer offered but gets nothing on are answered inactive. */
static void
deactivate_unused (RtcbotdPeer *self)
{
  for (guint i = 0;; i++)
    {
      g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
      gboolean used = FALSE;
      guint mline;
      g_signal_emit_by_name (self->webrtc, "get-transceiver", i, &transceiver);
      if (!transceiver)
        break;
      g_object_get (transceiver, "mlineindex", &mline, NULL);
      for (guint j = 0; j < self->branches->len; j++)
        used |= g_array_index (self->branches, Branch, j).track.mline == mline;
      if (!used)
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
  with_feedback = rtcbotd_sdp_answer_feedback (text, self->offer);
  g_clear_pointer (&self->offer, g_free);
  tracks = g_new0 (const char *, gst_sdp_message_medias_len (local->sdp) + 1);
  ssrcs = g_new0 (guint, gst_sdp_message_medias_len (local->sdp) + 1);
  for (guint i = 0; i < self->branches->len; i++)
    {
      Branch *b = &g_array_index (self->branches, Branch, i);
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
  hop (self, gathering_changed);
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
    if (!link_branch (self, &g_array_index (self->branches, Branch, i), &error))
      {
        fail_answer (self, error);
        return;
      }
  deactivate_unused (self);
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
      Branch b = { .track = g_array_index (tracks, RtcbotdPeerTrack, i) };
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

/* ---- closing ------------------------------------------------------------ */

static void
stop_element (RtcbotdPeer *self, GstElement *element)
{
  if (!element || GST_OBJECT_PARENT (element) != GST_OBJECT (self->pipeline))
    return;
  gst_element_set_state (element, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (self->pipeline), element);
}

static void
finish_close (RtcbotdPeer *self)
{
  /* webrtcbin first: a branch thread blocked pushing into it then returns. */
  stop_element (self, self->webrtc);
  for (guint i = 0; i < self->branches->len; i++)
    {
      Branch *b = &g_array_index (self->branches, Branch, i);
      stop_element (self, b->payloader);
      stop_element (self, b->queue);
    }
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->sinks->len; i++)
    stop_element (self, self->sinks->pdata[i]);
  g_ptr_array_set_size (self->sinks, 0);
  g_mutex_unlock (&self->lock);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  self->state = STATE_CLOSED;
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0);
  g_object_unref (self); /* the reference rtcbotd_peer_close() took */
}

typedef struct
{
  RtcbotdPeer *peer;
  Branch *branch;
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
      Branch *b = &g_array_index (self->branches, Branch, i);
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
      Branch *b = &g_array_index (self->branches, Branch, i);
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

  rtcbotd_metrics_counter (metrics, "rtcbotd_peer_messages_dropped_total",
                           "Data-channel messages to or from the peer that were dropped "
                           "(queue, send buffer, held-up main loop).",
                           rtcbotd_channels_get_dropped (self->channels), "peer", id, NULL);
  for (guint i = 0; i < self->branches->len; i++)
    {
      Branch *b = &g_array_index (self->branches, Branch, i);
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
}
