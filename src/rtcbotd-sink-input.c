/* rtcbotd-sink-input.c — one stream feeding a media sink: a source's or a peer's pad. */
#include "rtcbotd-sink-input.h"

#include <gst/video/video.h>

#include "rtcbotd-error.h"

#define UNLINK_TIMEOUT_US (500 * G_TIME_SPAN_MILLISECOND)

RtcbotdSinkInput *
rtcbotd_sink_input_new (RtcbotdSource *source, guint peer_id, RtcbotdCodec codec, GstPad *upstream)
{
  RtcbotdSinkInput *self = g_new0 (RtcbotdSinkInput, 1);

  self->source = source;
  self->peer_id = peer_id;
  self->codec = codec;
  self->upstream = gst_object_ref (upstream);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  return self;
}

/* Streaming thread of the input: once our branch has met an error downstream
 * it would return it to a tee every viewer shares, and the tee would stop;
 * swallow the buffer instead (the error itself reaches the sink as a message). */
static GstPadProbeReturn
on_input_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdSinkInput *self = user_data;
  GstFlowReturn ret;

  if (info->type & GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM)
    return GST_QUERY_TYPE (GST_PAD_PROBE_INFO_QUERY (info)) == GST_QUERY_ALLOCATION
               ? GST_PAD_PROBE_DROP /* it would wait for our queue to drain */
               : GST_PAD_PROBE_OK;
  ret = gst_pad_get_last_flow_return (self->guard);
  /* FLUSHING: our queue has pushed nothing yet (or is stopping); not a failure. */
  return ret >= GST_FLOW_OK || ret == GST_FLOW_FLUSHING ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

/* Streaming thread of the input: a file, a screen or a decoder starts at a
 * key frame; what comes before it could not be decoded. */
static GstPadProbeReturn
on_wait_key_frame (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (GST_BUFFER_FLAG_IS_SET (GST_PAD_PROBE_INFO_BUFFER (info), GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_DROP;
  return GST_PAD_PROBE_REMOVE;
}

static GstPad *
entry_src (GstPad *target)
{
  g_autoptr (GstElement) first = gst_pad_get_parent_element (target);
  g_autoptr (GstElement) queue = NULL;

  /* A decoder bin names its queue "entry"; a recorder's stream starts with one. */
  if (GST_IS_BIN (first) && (queue = gst_bin_get_by_name (GST_BIN (first), "entry")))
    return gst_element_get_static_pad (queue, "src");
  return gst_element_get_static_pad (first, "src");
}

gboolean
rtcbotd_sink_input_link (RtcbotdSinkInput *self, GstElement *bin, GstPad *target, const char *label,
                         GError **error)
{
  self->ghost = gst_object_ref (gst_ghost_pad_new (NULL, target));
  self->guard = entry_src (target);
  gst_element_add_pad (bin, self->ghost);
  gst_pad_set_active (self->ghost, TRUE);
  gst_pad_add_probe (self->ghost,
                     GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST
                         | GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
                     on_input_buffer, self, NULL);
  if (self->codec != RTCBOTD_CODEC_OPUS)
    gst_pad_add_probe (self->ghost, GST_PAD_PROBE_TYPE_BUFFER, on_wait_key_frame, NULL, NULL);
  if (GST_PAD_LINK_FAILED (gst_pad_link (self->upstream, self->ghost)))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "%s: cannot link the %s stream",
                   label, rtcbotd_codec_to_string (self->codec));
      return FALSE;
    }
  g_mutex_lock (&self->lock);
  self->linked = TRUE;
  g_mutex_unlock (&self->lock);
  if (self->source)
    rtcbotd_source_request_key_frame (self->source, self->codec);
  else
    gst_pad_push_event (self->ghost,
                        gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
  return TRUE;
}

gboolean
rtcbotd_sink_input_is_linked (RtcbotdSinkInput *self)
{
  return self->ghost != NULL;
}

/* Streaming thread of the input between two buffers (or the main context when idle). */
static GstPadProbeReturn
on_upstream_idle (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdSinkInput *self = user_data;

  g_mutex_lock (&self->lock);
  if (self->linked)
    gst_pad_unlink (pad, self->ghost);
  self->linked = FALSE;
  self->unlink_probe = 0;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return GST_PAD_PROBE_REMOVE;
}

void
rtcbotd_sink_input_unlink (RtcbotdSinkInput *self, GstElement *bin)
{
  gint64 deadline = g_get_monotonic_time () + UNLINK_TIMEOUT_US;
  gulong probe;

  if (!self->ghost)
    return;
  probe = gst_pad_add_probe (self->upstream, GST_PAD_PROBE_TYPE_IDLE, on_upstream_idle, self, NULL);
  g_mutex_lock (&self->lock);
  if (self->linked && probe)
    self->unlink_probe = probe;
  while (self->linked && g_cond_wait_until (&self->cond, &self->lock, deadline))
    ;
  if (self->linked)
    {
      /* Upstream is stuck: unlink anyway rather than hold the main context. */
      if (self->unlink_probe)
        gst_pad_remove_probe (self->upstream, self->unlink_probe);
      gst_pad_unlink (self->upstream, self->ghost);
      self->linked = FALSE;
    }
  g_mutex_unlock (&self->lock);
  gst_pad_set_active (self->ghost, FALSE);
  if (bin)
    gst_element_remove_pad (bin, self->ghost);
  g_clear_object (&self->ghost);
  g_clear_object (&self->guard);
}

RtcbotdCodec
rtcbotd_sink_input_codec_of (GstPad *pad)
{
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  const char *name;

  if (!caps)
    caps = gst_pad_query_caps (pad, NULL);
  if (!caps || gst_caps_is_empty (caps) || gst_caps_is_any (caps))
    return RTCBOTD_CODEC_NONE;
  name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  return g_str_equal (name, "video/x-h264")   ? RTCBOTD_CODEC_H264
         : g_str_equal (name, "video/x-vp8")  ? RTCBOTD_CODEC_VP8
         : g_str_equal (name, "audio/x-opus") ? RTCBOTD_CODEC_OPUS
                                              : RTCBOTD_CODEC_NONE;
}

void
rtcbotd_sink_input_free (RtcbotdSinkInput *self)
{
  if (!self)
    return;
  g_clear_object (&self->upstream);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}
