/* rtcbotd-inbound.c — one media stream a peer sends us, ready for media sinks. */
#include "rtcbotd-inbound.h"
#include "rtcbotd-element.h"

#include <gst/video/video.h>
#include <stdatomic.h>

#include "rtcbotd-error.h"

/* A sink joining, or a decoder that lost its way, asks for a key frame; a
 * peer asked more often than this would spend its uplink on key frames. */
#define KEY_FRAME_INTERVAL_US G_USEC_PER_SEC
/* Frames whose time goes back are dropped until the stream catches up with
 * the last good time. A jump back by more than RESYNC_JUMP, or RESYNC_FRAMES
 * such frames in a row, is a new timeline instead (a stray far-future
 * timestamp came before it, or the peer restarted its clock): waiting for it
 * to catch up would drop the stream for good. */
#define RESYNC_JUMP (10 * GST_SECOND)
#define RESYNC_FRAMES 50

struct _RtcbotdInbound
{
  GstElement *pipeline;
  RtcbotdKind kind;
  RtcbotdCodec codec;
  guint ssrc;
  GPtrArray *elements; /* depayloader first, tee last; a reference each */
  GstElement *tee;
  GstPad *depay_src; /* where key-frame requests go upstream */
  GPtrArray *pads;   /* of GstPad: the tee pads handed out */
  GMutex lock;       /* guards the key-frame state, also used on the streaming thread */
  gint64 last_key_frame;
  gboolean key_frame_wanted;
  guint errors;
  /* Written by the streaming thread without a lock, read by /metrics. */
  atomic_uint_least64_t packets;
  atomic_uint_least64_t bytes;
  atomic_uint_least64_t frames;
  atomic_uint_least64_t gaps;
  atomic_uint_least64_t backwards;
  atomic_uint_least64_t resyncs;
  GstClockTime last_pts; /* decoding time of the last frame; streaming thread only */
  guint behind;          /* frames dropped in a row for going back; streaming thread only */
};

/* Returns the codec that RTP caps @caps carry, or RTCBOTD_CODEC_NONE. */
static RtcbotdCodec
codec_of_caps (const GstCaps *caps, guint *ssrc)
{
  const GstStructure *s;
  const char *name;

  if (!caps || gst_caps_is_empty (caps) || gst_caps_is_any (caps))
    return RTCBOTD_CODEC_NONE;
  s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_has_name (s, "application/x-rtp")
      || !(name = gst_structure_get_string (s, "encoding-name")))
    return RTCBOTD_CODEC_NONE;
  gst_structure_get_uint (s, "ssrc", ssrc);
  if (g_ascii_strcasecmp (name, "OPUS") == 0)
    return RTCBOTD_CODEC_OPUS;
  if (g_ascii_strcasecmp (name, "VP8") == 0)
    return RTCBOTD_CODEC_VP8;
  if (g_ascii_strcasecmp (name, "H264") == 0)
    return RTCBOTD_CODEC_H264;
  return RTCBOTD_CODEC_NONE;
}

static GstElement *
add_element (RtcbotdInbound *self, const char *factory, GError **error)
{
  GstElement *element = gst_element_factory_make (factory, NULL);

  if (!element)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "the GStreamer element \"%s\" is not installed", factory);
      return NULL;
    }
  g_ptr_array_add (self->elements, gst_object_ref (element));
  gst_bin_add (GST_BIN (self->pipeline), element);
  return element;
}

/* Adds the elements that make @self->codec's RTP into parsed media, depayloader first. */
static gboolean
add_chain (RtcbotdInbound *self, GError **error)
{
  GstElement *depay, *parse = NULL, *filter = NULL;
  g_autoptr (GstCaps) caps = NULL;

  switch (self->codec)
    {
      case RTCBOTD_CODEC_OPUS:
        if (!(depay = add_element (self, "rtpopusdepay", error))
            || !(parse = add_element (self, "opusparse", error)))
          return FALSE;
        break;
      case RTCBOTD_CODEC_VP8:
        if (!(depay = add_element (self, "rtpvp8depay", error)))
          return FALSE;
        break;
      case RTCBOTD_CODEC_H264:
        if (!(depay = add_element (self, "rtph264depay", error))
            || !(parse = add_element (self, "h264parse", error))
            || !(filter = add_element (self, "capsfilter", error)))
          return FALSE;
        /* Sinks may join at any key frame: each must carry SPS/PPS. */
        g_object_set (parse, "config-interval", -1, NULL);
        caps = gst_caps_from_string ("video/x-h264,stream-format=byte-stream,alignment=au");
        g_object_set (filter, "caps", caps, NULL);
        break;
      default:
        g_assert_not_reached ();
    }
  if (self->kind == RTCBOTD_KIND_VIDEO)
    /* After a lost packet, drop the broken frames and ask the peer for a new key frame. */
    g_object_set (depay, "wait-for-keyframe", TRUE, "request-keyframe", TRUE, NULL);
  return TRUE;
}

/* Streaming thread of the peer's webrtcbin: RTP packets as they arrive. */
static GstPadProbeReturn
on_packets (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdInbound *self = user_data;
  guint packets = 1;
  gsize bytes;
  gboolean discont;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    {
      GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
      packets = gst_buffer_list_length (list);
      bytes = gst_buffer_list_calculate_size (list);
      discont = packets > 0
                && GST_BUFFER_FLAG_IS_SET (gst_buffer_list_get (list, 0), GST_BUFFER_FLAG_DISCONT);
    }
  else
    {
      bytes = gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));
      discont = GST_BUFFER_FLAG_IS_SET (GST_PAD_PROBE_INFO_BUFFER (info), GST_BUFFER_FLAG_DISCONT);
    }
  /* The first packet is a discontinuity by definition; later ones follow a loss. */
  if (discont && atomic_load_explicit (&self->packets, memory_order_relaxed) > 0)
    atomic_fetch_add_explicit (&self->gaps, 1, memory_order_relaxed);
  atomic_fetch_add_explicit (&self->packets, packets, memory_order_relaxed);
  atomic_fetch_add_explicit (&self->bytes, bytes, memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

/* Any thread: sends a key-frame request now if one is wanted and the last is
 * old enough; otherwise it stays wanted, for a later frame to send. */
static void
maybe_request_key_frame (RtcbotdInbound *self)
{
  gint64 now = g_get_monotonic_time ();
  gboolean send = FALSE;

  g_mutex_lock (&self->lock);
  if (self->key_frame_wanted
      && (!self->last_key_frame || now - self->last_key_frame >= KEY_FRAME_INTERVAL_US))
    {
      self->key_frame_wanted = FALSE;
      self->last_key_frame = now;
      send = TRUE;
    }
  g_mutex_unlock (&self->lock);
  if (send)
    /* Upstream through webrtcbin, rtpbin's session turns this into an RTCP PLI. */
    gst_pad_send_event (self->depay_src,
                        gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}

/* Streaming thread: @pts, @behind frames in a row behind the last good time,
 * starts a new timeline; logged once per stream, counted every time. */
static void
resync (RtcbotdInbound *self, GstClockTime pts)
{
  if (atomic_fetch_add_explicit (&self->resyncs, 1, memory_order_relaxed) == 0)
    g_message ("%s stream ssrc %u: its time is %.3f s behind after %u frame(s) dropped; "
               "following its new timeline",
               rtcbotd_kind_to_string (self->kind), self->ssrc,
               (double)(self->last_pts - pts) / GST_SECOND, self->behind);
  self->behind = 0;
  self->last_pts = pts;
}

/* Streaming thread: TRUE when the frame at @pts goes back in time and is to be dropped. */
static gboolean
goes_backwards (RtcbotdInbound *self, GstClockTime pts)
{
  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return FALSE;
  if (!GST_CLOCK_TIME_IS_VALID (self->last_pts) || pts >= self->last_pts)
    {
      self->behind = 0;
      self->last_pts = pts;
      return FALSE;
    }
  if (self->last_pts - pts > RESYNC_JUMP || self->behind + 1 >= RESYNC_FRAMES)
    {
      resync (self, pts);
      return FALSE;
    }
  self->behind++;
  return TRUE;
}

/* Streaming thread of the peer's webrtcbin: parsed frames going into the tee.
 * A frame whose time goes backwards (the jitterbuffer resyncing after a long
 * stall) is dropped: a recording's muxer would fail on it. */
static GstPadProbeReturn
on_frames (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdInbound *self = user_data;
  guint frames = 1;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    frames = gst_buffer_list_length (GST_PAD_PROBE_INFO_BUFFER_LIST (info));
  else if (goes_backwards (self, GST_BUFFER_DTS_OR_PTS (GST_PAD_PROBE_INFO_BUFFER (info))))
    {
      atomic_fetch_add_explicit (&self->backwards, 1, memory_order_relaxed);
      if (self->kind == RTCBOTD_KIND_VIDEO)
        {
          /* The frames after it refer to it: start again at a new key frame. */
          g_mutex_lock (&self->lock);
          self->key_frame_wanted = TRUE;
          g_mutex_unlock (&self->lock);
        }
      return GST_PAD_PROBE_DROP;
    }
  atomic_fetch_add_explicit (&self->frames, frames, memory_order_relaxed);
  if (self->kind == RTCBOTD_KIND_VIDEO)
    maybe_request_key_frame (self);
  return GST_PAD_PROBE_OK;
}

/* Links webrtcbin's @pad through the chain into the tee and starts the elements. */
static gboolean
link_chain (RtcbotdInbound *self, GstPad *pad, GError **error)
{
  g_autoptr (GstPad) depay_sink = NULL;
  g_autoptr (GstPad) tee_sink = NULL;

  for (guint i = 1; i < self->elements->len; i++)
    if (!gst_element_link (self->elements->pdata[i - 1], self->elements->pdata[i]))
      {
        g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "cannot link %s to %s",
                     GST_ELEMENT_NAME (self->elements->pdata[i - 1]),
                     GST_ELEMENT_NAME (self->elements->pdata[i]));
        return FALSE;
      }
  /* Downstream first, so nothing pushes into an element that is not playing yet. */
  for (guint i = self->elements->len; i > 0; i--)
    gst_element_sync_state_with_parent (self->elements->pdata[i - 1]);
  depay_sink = gst_element_get_static_pad (self->elements->pdata[0], "sink");
  self->depay_src = gst_element_get_static_pad (self->elements->pdata[0], "src");
  tee_sink = gst_element_get_static_pad (self->tee, "sink");
  gst_pad_add_probe (depay_sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     on_packets, self, NULL);
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     on_frames, self, NULL);
  if (GST_PAD_LINK_FAILED (gst_pad_link (pad, depay_sink)))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "cannot link webrtcbin's %s to %s",
                   GST_PAD_NAME (pad), GST_ELEMENT_NAME (self->elements->pdata[0]));
      return FALSE;
    }
  return TRUE;
}

RtcbotdInbound *
rtcbotd_inbound_new (GstElement *pipeline, GstPad *pad, GError **error)
{
  g_autoptr (RtcbotdInbound) self = g_new0 (RtcbotdInbound, 1);
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);

  g_mutex_init (&self->lock);
  self->last_pts = GST_CLOCK_TIME_NONE;
  self->pipeline = g_object_ref (pipeline);
  self->elements = g_ptr_array_new_with_free_func (gst_object_unref);
  self->pads = g_ptr_array_new_with_free_func (gst_object_unref);
  if (!caps)
    caps = gst_pad_query_caps (pad, NULL);
  self->codec = codec_of_caps (caps, &self->ssrc);
  if (self->codec == RTCBOTD_CODEC_NONE)
    {
      g_autofree char *text = caps ? gst_caps_to_string (caps) : g_strdup ("none");
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_UNSUPPORTED,
                   "a stream in none of the codecs rtcbotd takes (opus, VP8, H264): caps %s", text);
      return NULL;
    }
  self->kind = self->codec == RTCBOTD_CODEC_OPUS ? RTCBOTD_KIND_AUDIO : RTCBOTD_KIND_VIDEO;
  if (!add_chain (self, error) || !(self->tee = add_element (self, "tee", error)))
    return NULL;
  /* Until a sink takes the stream (or after it let go), the tee drops it. */
  g_object_set (self->tee, "allow-not-linked", TRUE, NULL);
  if (!link_chain (self, pad, error))
    return NULL;
  return g_steal_pointer (&self);
}

RtcbotdKind
rtcbotd_inbound_get_kind (RtcbotdInbound *self)
{
  return self->kind;
}

RtcbotdCodec
rtcbotd_inbound_get_codec (RtcbotdInbound *self)
{
  return self->codec;
}

guint
rtcbotd_inbound_get_ssrc (RtcbotdInbound *self)
{
  return self->ssrc;
}

/* Streaming thread of the peer's webrtcbin: a consumer that joins starts at a
 * key frame; the delta frames before it could not be decoded anyway. */
static GstPadProbeReturn
on_first_frames (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (GST_BUFFER_FLAG_IS_SET (GST_PAD_PROBE_INFO_BUFFER (info), GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_DROP;
  return GST_PAD_PROBE_REMOVE;
}

GstPad *
rtcbotd_inbound_acquire_pad (RtcbotdInbound *self)
{
  GstPad *pad = gst_element_request_pad_simple (self->tee, "src_%u");

  g_ptr_array_add (self->pads, gst_object_ref (pad));
  if (self->kind == RTCBOTD_KIND_VIDEO)
    {
      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_first_frames, NULL, NULL);
      rtcbotd_inbound_request_key_frame (self);
    }
  return pad;
}

/* Unlinks @pad, one of the tee's, and releases it. */
static void
release_tee_pad (RtcbotdInbound *self, GstPad *pad)
{
  g_autoptr (GstPad) peer = gst_pad_get_peer (pad);

  if (peer)
    gst_pad_unlink (pad, peer);
  gst_element_release_request_pad (self->tee, pad);
}

void
rtcbotd_inbound_release_pad (RtcbotdInbound *self, GstPad *pad)
{
  guint index;

  if (!g_ptr_array_find (self->pads, pad, &index))
    return;
  release_tee_pad (self, pad);
  g_ptr_array_remove_index_fast (self->pads, index);
}

void
rtcbotd_inbound_request_key_frame (RtcbotdInbound *self)
{
  if (self->kind != RTCBOTD_KIND_VIDEO)
    return;
  g_mutex_lock (&self->lock);
  self->key_frame_wanted = TRUE;
  g_mutex_unlock (&self->lock);
  maybe_request_key_frame (self);
}

gboolean
rtcbotd_inbound_owns (RtcbotdInbound *self, GstObject *object)
{
  for (guint i = 0; i < self->elements->len; i++)
    if (gst_object_has_as_ancestor (object, self->elements->pdata[i]))
      return TRUE;
  return FALSE;
}

void
rtcbotd_inbound_count_error (RtcbotdInbound *self)
{
  self->errors++;
}

void
rtcbotd_inbound_add_metrics (RtcbotdInbound *self, RtcbotdMetrics *metrics, const char *peer)
{
  g_autofree char *ssrc = g_strdup_printf ("%u", self->ssrc);
  const char *kind = rtcbotd_kind_to_string (self->kind);
  const char *codec = rtcbotd_codec_to_string (self->codec);

#define COUNTER(name, help, value)                                                                 \
  rtcbotd_metrics_counter (metrics, name, help, value, "peer", peer, "kind", kind, "codec", codec, \
                           "ssrc", ssrc, NULL)
  COUNTER ("rtcbotd_peer_incoming_packets_total", "RTP packets of a stream the peer sends.",
           atomic_load (&self->packets));
  COUNTER ("rtcbotd_peer_incoming_bytes_total",
           "Bytes of RTP (payload and headers, after SRTP) of a stream the peer sends.",
           atomic_load (&self->bytes));
  COUNTER ("rtcbotd_peer_incoming_frames_total",
           "Frames (audio packets, video frames) depayloaded from a stream the peer sends.",
           atomic_load (&self->frames));
  COUNTER ("rtcbotd_peer_incoming_gaps_total",
           "Times a stream the peer sends resumed after lost packets (video waits for a key "
           "frame then).",
           atomic_load (&self->gaps));
  COUNTER ("rtcbotd_peer_incoming_backwards_total",
           "Frames of a stream the peer sends dropped because their time went backwards "
           "(a recording's muxer would fail on them).",
           atomic_load (&self->backwards));
  COUNTER ("rtcbotd_peer_incoming_resyncs_total",
           "Times the time of a stream the peer sends went back too far or too long to wait "
           "for, and the stream followed its new timeline.",
           atomic_load (&self->resyncs));
  COUNTER ("rtcbotd_peer_incoming_errors_total",
           "Errors and warnings the depayloader or parser of a stream the peer sends posted "
           "(a stream it could not read).",
           self->errors);
#undef COUNTER
}

void
rtcbotd_inbound_free (RtcbotdInbound *self)
{
  if (!self)
    return;
  for (guint i = 0; self->tee && i < self->pads->len; i++)
    release_tee_pad (self, self->pads->pdata[i]);
  for (guint i = 0; i < self->elements->len; i++)
    {
      GstElement *element = self->elements->pdata[i];
      rtcbotd_element_discard (GST_BIN (self->pipeline), element);
    }
  g_clear_object (&self->depay_src);
  g_ptr_array_unref (self->pads);
  g_ptr_array_unref (self->elements);
  g_object_unref (self->pipeline);
  g_mutex_clear (&self->lock);
  g_free (self);
}
