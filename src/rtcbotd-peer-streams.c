/* rtcbotd-peer-streams.c — the media one peer sends us: where it may send, and its streams. */
#include "rtcbotd-peer-streams.h"
#include "rtcbotd-element.h"

#include <gst/webrtc/webrtc.h>

#include "rtcbotd-encoder.h"

/* What one peer may make the daemon hold: elements for media it sends. */
#define MAX_INCOMING_STREAMS 4

/* An m-line the peer may send on, and in which codecs. */
typedef struct
{
  guint mline;
  GstCaps *codecs;
} Receive;

struct _RtcbotdPeerStreams
{
  guint peer_id;
  GstElement *pipeline;
  GArray *receives;     /* of Receive: set before negotiation, then read-only */
  GMutex lock;          /* guards sinks, inbound and taken: the streaming thread adds to them */
  guint taken;          /* pads taken (a sink or a stream each, or soon): at most the limit */
  GPtrArray *sinks;     /* fakesinks for streams nothing takes */
  GPtrArray *inbound;   /* of RtcbotdInbound: streams we take */
  GPtrArray *announced; /* of RtcbotdInbound: those announced; main context */
};

static void
receive_clear (Receive *receive)
{
  gst_caps_unref (receive->codecs);
}

RtcbotdPeerStreams *
rtcbotd_peer_streams_new (guint peer_id, GstElement *pipeline)
{
  RtcbotdPeerStreams *self = g_new0 (RtcbotdPeerStreams, 1);

  self->peer_id = peer_id;
  self->pipeline = g_object_ref (pipeline);
  self->receives = g_array_new (FALSE, TRUE, sizeof (Receive));
  g_array_set_clear_func (self->receives, (GDestroyNotify)receive_clear);
  g_mutex_init (&self->lock);
  self->sinks = g_ptr_array_new ();
  self->inbound = g_ptr_array_new ();
  self->announced = g_ptr_array_new ();
  return self;
}

/* The codecs rtcbotd takes that @media offers, one payload type each, as RTP
 * caps in the offer's order of preference; empty when none. */
static GstCaps *
receivable_codecs (const RtcbotdSdpMedia *media)
{
  static const RtcbotdCodec codecs[]
      = { RTCBOTD_CODEC_OPUS, RTCBOTD_CODEC_VP8, RTCBOTD_CODEC_H264 };
  GstCaps *caps = gst_caps_new_empty ();

  for (guint i = 0; i < media->codecs->len; i++)
    for (guint k = 0; k < G_N_ELEMENTS (codecs); k++)
      if (rtcbotd_sdp_media_find_receivable (media, codecs[k]) == media->codecs->pdata[i])
        {
          GstCaps *codec = rtcbotd_encoder_rtp_caps (
              codecs[k], ((RtcbotdSdpCodec *)media->codecs->pdata[i])->pt, 0);
          /* The peer picks its own SSRC. */
          gst_structure_remove_field (gst_caps_get_structure (codec, 0), "ssrc");
          gst_caps_append (caps, codec);
        }
  return caps;
}

static void
caps_unref_nullable (gpointer caps)
{
  if (caps)
    gst_caps_unref (caps);
}

/* A viewer only watches: it never talks through the robot or shows itself on it. */
GPtrArray *
rtcbotd_peer_streams_plan (const RtcbotdConfig *config, const RtcbotdSdp *sdp, RtcbotdRole role,
                           GString *unserved)
{
  GPtrArray *receives = g_ptr_array_new_with_free_func (caps_unref_nullable);

  g_ptr_array_set_size (receives, sdp->media->len);
  for (guint m = 0; m < sdp->media->len; m++)
    {
      const RtcbotdSdpMedia *media = sdp->media->pdata[m];
      RtcbotdKind kind
          = g_str_equal (media->kind, "audio") ? RTCBOTD_KIND_AUDIO : RTCBOTD_KIND_VIDEO;
      g_autoptr (GstCaps) caps = NULL;

      if (media->rejected || !media->wants_send
          || (!g_str_equal (media->kind, "audio") && !g_str_equal (media->kind, "video"))
          || !rtcbotd_config_peers_media_routed (config, kind) || role == RTCBOTD_ROLE_VIEWER)
        continue;
      caps = receivable_codecs (media);
      if (gst_caps_is_empty (caps))
        g_string_append_printf (unserved,
                                "%sm-line %u (%s) sends none of the codecs rtcbotd takes "
                                "(opus, VP8, H264)",
                                unserved->len ? "; " : "", m, media->kind);
      else
        receives->pdata[m] = g_steal_pointer (&caps);
    }
  return receives;
}

void
rtcbotd_peer_streams_receive_on (RtcbotdPeerStreams *self, guint mline, GstCaps *codecs)
{
  Receive r = { .mline = mline, .codecs = gst_caps_ref (codecs) };

  g_array_append_val (self->receives, r);
}

GstCaps *
rtcbotd_peer_streams_get_codecs (RtcbotdPeerStreams *self, guint mline)
{
  for (guint i = 0; i < self->receives->len; i++)
    if (g_array_index (self->receives, Receive, i).mline == mline)
      return g_array_index (self->receives, Receive, i).codecs;
  return NULL;
}

/* Streaming thread: a stream nothing takes is dropped, linked so that
 * webrtcbin's push does not fail. */
static void
drop_pad (RtcbotdPeerStreams *self, GstPad *pad)
{
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstPad) sink_pad = gst_element_get_static_pad (sink, "sink");

  g_object_set (sink, "async", FALSE, "sync", FALSE, NULL);
  gst_bin_add (GST_BIN (self->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  gst_pad_link (pad, sink_pad);
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->sinks, sink);
  g_mutex_unlock (&self->lock);
}

RtcbotdInbound *
rtcbotd_peer_streams_take_pad (RtcbotdPeerStreams *self, GstPad *pad)
{
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
  g_autoptr (GError) error = NULL;
  RtcbotdInbound *inbound = NULL;
  guint mline = G_MAXUINT;
  gboolean full;

  /* Counted at once: webrtcbin adds pads on several transport threads, and
   * each pad here becomes a sink or a stream only after a while. */
  g_mutex_lock (&self->lock);
  full = self->taken >= MAX_INCOMING_STREAMS;
  if (!full)
    self->taken++;
  g_mutex_unlock (&self->lock);
  if (full)
    return NULL; /* webrtcbin drops what nobody links */
  g_object_get (pad, "transceiver", &transceiver, NULL);
  if (transceiver)
    g_object_get (transceiver, "mlineindex", &mline, NULL);
  /* receives is read-only once negotiation started: no lock. */
  if (rtcbotd_peer_streams_get_codecs (self, mline)
      && !(inbound = rtcbotd_inbound_new (self->pipeline, pad, &error)))
    g_message ("peer %u: not receiving its stream on %s: %s", self->peer_id, GST_PAD_NAME (pad),
               error->message);
  if (!inbound)
    {
      drop_pad (self, pad);
      return NULL;
    }
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->inbound, inbound);
  g_mutex_unlock (&self->lock);
  return inbound;
}

void
rtcbotd_peer_streams_announce (RtcbotdPeerStreams *self, RtcbotdInbound *inbound)
{
  g_message ("peer %u: receiving %s (%s, ssrc %u)", self->peer_id,
             rtcbotd_kind_to_string (rtcbotd_inbound_get_kind (inbound)),
             rtcbotd_codec_to_string (rtcbotd_inbound_get_codec (inbound)),
             rtcbotd_inbound_get_ssrc (inbound));
  g_ptr_array_add (self->announced, inbound);
}

GPtrArray *
rtcbotd_peer_streams_get_announced (RtcbotdPeerStreams *self)
{
  return self->announced;
}

RtcbotdInbound *
rtcbotd_peer_streams_owning (RtcbotdPeerStreams *self, GstObject *object)
{
  RtcbotdInbound *found = NULL;

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->inbound->len && !found; i++)
    if (rtcbotd_inbound_owns (self->inbound->pdata[i], object))
      found = self->inbound->pdata[i];
  g_mutex_unlock (&self->lock);
  return found;
}

void
rtcbotd_peer_streams_add_metrics (RtcbotdPeerStreams *self, RtcbotdMetrics *metrics,
                                  const char *peer)
{
  g_mutex_lock (&self->lock);
  rtcbotd_metrics_gauge (metrics, "rtcbotd_peer_incoming_streams",
                         "Streams the peer sends that a route takes (peers.audio, peers.video).",
                         self->inbound->len, "peer", peer, NULL);
  for (guint i = 0; i < self->inbound->len; i++)
    rtcbotd_inbound_add_metrics (self->inbound->pdata[i], metrics, peer);
  g_mutex_unlock (&self->lock);
}

void
rtcbotd_peer_streams_stop (RtcbotdPeerStreams *self)
{
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->sinks->len; i++)
    {
      GstElement *sink = self->sinks->pdata[i];
      rtcbotd_element_discard (GST_BIN (self->pipeline), sink);
    }
  g_ptr_array_set_size (self->sinks, 0);
  g_ptr_array_set_size (self->announced, 0);
  for (guint i = 0; i < self->inbound->len; i++)
    rtcbotd_inbound_free (self->inbound->pdata[i]);
  g_ptr_array_set_size (self->inbound, 0);
  self->taken = 0;
  g_mutex_unlock (&self->lock);
}

void
rtcbotd_peer_streams_free (RtcbotdPeerStreams *self)
{
  if (!self)
    return;
  rtcbotd_peer_streams_stop (self);
  g_ptr_array_unref (self->sinks);
  g_ptr_array_unref (self->inbound);
  g_ptr_array_unref (self->announced);
  g_array_unref (self->receives);
  g_mutex_clear (&self->lock);
  g_object_unref (self->pipeline);
  g_free (self);
}
