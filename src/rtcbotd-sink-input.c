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

/* One unlink in progress, shared with the idle probe: the probe may still
 * run (on a streaming thread) after the input gave up waiting and was freed,
 * so it owns a reference and touches nothing else. */
typedef struct
{
  GMutex lock;
  GCond cond;
  GstPad *ghost;
  gboolean done; /* unlinked by the probe, or given up on by the main context */
} Unlink;

static void
unlink_clear (Unlink *u)
{
  gst_object_unref (u->ghost);
  g_mutex_clear (&u->lock);
  g_cond_clear (&u->cond);
}

static void
unlink_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, (GDestroyNotify)unlink_clear);
}

/* Streaming thread of the input between two buffers (or the main context when idle). */
static GstPadProbeReturn
on_upstream_idle (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Unlink *u = user_data;

  g_mutex_lock (&u->lock);
  if (!u->done)
    gst_pad_unlink (pad, u->ghost);
  u->done = TRUE;
  g_cond_broadcast (&u->cond);
  g_mutex_unlock (&u->lock);
  return GST_PAD_PROBE_REMOVE;
}

/* Main context: unlinks between two buffers, or after @timeout_us anyway. */
static void
unlink_when_idle (RtcbotdSinkInput *self, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  Unlink *u = g_atomic_rc_box_new0 (Unlink);
  gboolean given_up = FALSE;
  gulong probe;

  g_mutex_init (&u->lock);
  g_cond_init (&u->cond);
  u->ghost = gst_object_ref (self->ghost);
  probe = gst_pad_add_probe (self->upstream, GST_PAD_PROBE_TYPE_IDLE, on_upstream_idle,
                             g_atomic_rc_box_acquire (u), unlink_release);
  g_mutex_lock (&u->lock);
  while (!u->done && g_cond_wait_until (&u->cond, &u->lock, deadline))
    ;
  given_up = !u->done;
  u->done = TRUE;
  /* Under the lock: the probe has not finished, so its id is still valid (a
   * probe waiting for the lock returns REMOVE for an id already gone, which
   * GStreamer allows; removing an id twice it warns about). */
  if (given_up && probe)
    gst_pad_remove_probe (self->upstream, probe);
  g_mutex_unlock (&u->lock);
  if (given_up) /* upstream is stuck: unlink anyway rather than hold the main context */
    gst_pad_unlink (self->upstream, self->ghost);
  unlink_release (u);
}

void
rtcbotd_sink_input_unlink (RtcbotdSinkInput *self, GstElement *bin)
{
  if (!self->ghost)
    return;
  if (gst_pad_is_linked (self->ghost))
    unlink_when_idle (self, UNLINK_TIMEOUT_US);
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
  g_free (self);
}
