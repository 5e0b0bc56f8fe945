/* rtcbotd-peer-media.c — a peer's media branches: what it receives from our sources. */
#include <gst/webrtc/webrtc.h>

#include "rtcbotd-encoder.h"
#include "rtcbotd-peer-private.h"

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
  RtcbotdPeerBranch *b = user_data;

  if (gst_pad_get_last_flow_return (b->queue_src) >= GST_FLOW_OK)
    return GST_PAD_PROBE_OK;
  if (g_atomic_int_compare_and_exchange (&b->peer->media_failed, FALSE, TRUE))
    rtcbotd_peer_hop (b->peer, branch_failed);
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
  RtcbotdPeerBranch *b = user_data;

  g_atomic_int_inc (&b->dropped);
}

/* Main context, once the peer is connected: only now does the branch join the
 * shared tee. Before DTLS is up webrtcbin holds RTP back, and a branch
 * blocked there must never hold the encoder that every viewer shares. */
void
rtcbotd_peer_attach_branch (RtcbotdPeer *self, RtcbotdPeerBranch *b)
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
branch_in (RtcbotdPeerBranch *b, const guint32 *ssrcs, guint n_ssrcs)
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
void
rtcbotd_peer_on_remb (guint64 bitrate, const guint32 *ssrcs, guint n_ssrcs, gpointer user_data)
{
  RtcbotdPeer *self = user_data;
  guint64 kbps = MIN (bitrate / 1000, G_MAXUINT32); /* kbps × a bitrate cannot overflow */
  guint64 total = 0;

  for (guint i = 0; i < self->branches->len; i++)
    {
      RtcbotdPeerBranch *b = &g_array_index (self->branches, RtcbotdPeerBranch, i);
      if (branch_in (b, ssrcs, n_ssrcs))
        total += rtcbotd_source_get_config (b->track.source)->bitrate;
    }
  for (guint i = 0; i < self->branches->len && total; i++)
    {
      RtcbotdPeerBranch *b = &g_array_index (self->branches, RtcbotdPeerBranch, i);
      guint configured = rtcbotd_source_get_config (b->track.source)->bitrate;
      if (!branch_in (b, ssrcs, n_ssrcs))
        continue;
      /* At least 1: 0 would mean "forget this viewer". */
      b->estimate = MAX (1, MIN (kbps * configured / total, G_MAXUINT));
      rtcbotd_source_set_estimate (b->track.source, b->track.codec, b, b->estimate);
    }
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
        taken |= g_array_index (self->branches, RtcbotdPeerBranch, i).ssrc == ssrc;
      if (!taken)
        return ssrc;
    }
}

gboolean
rtcbotd_peer_link_branch (RtcbotdPeer *self, RtcbotdPeerBranch *b, GError **error)
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
