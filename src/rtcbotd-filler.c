/* rtcbotd-filler.c — keeps a source's tracks alive while its capture gives nothing. */
#include "rtcbotd-filler.h"

#include <gst/audio/audio.h>

/* At most one copy of a picture a second: a 1080p I420 frame is 3 MB. */
#define COPY_INTERVAL_US G_USEC_PER_SEC
/* The silence pushed for raw audio: one Opus frame. */
#define SILENCE_NS (20 * GST_MSECOND)

struct _RtcbotdFiller
{
  GstPad *pad;
  gulong probe;
  gint64 interval_us;
  GMutex lock;        /* guards what follows; the probe takes it once per buffer */
  gint64 last_buffer; /* monotonic µs; 0 before the first */
  gint64 copied;      /* monotonic µs of the last copy */
  GstCaps *caps;      /* of the last buffer */
  GstBuffer *frame;   /* a copy of the last picture or key frame; NULL for raw audio */
};

static gboolean
is_raw_audio (const GstCaps *caps)
{
  return gst_structure_has_name (gst_caps_get_structure (caps, 0), "audio/x-raw");
}

/* A buffer worth a copy: raw video, or a key frame of an encoded stream. */
static gboolean
worth_copying (const GstCaps *caps, GstBuffer *buffer)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);

  if (gst_structure_has_name (s, "video/x-raw"))
    return TRUE;
  return g_str_has_prefix (gst_structure_get_name (s), "video/")
         && !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
}

/* Streaming thread of the capture: notes the buffer, copies one a second. */
static GstPadProbeReturn
on_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdFiller *self = user_data;
  GstBuffer *buffer = NULL;
  g_autoptr (GstCaps) caps = NULL;
  gint64 now = g_get_monotonic_time ();
  gboolean copy;

  /* A list counts as a buffer that came; only a single buffer is kept. */
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    {
      buffer = GST_PAD_PROBE_INFO_BUFFER (info);
      caps = gst_pad_get_current_caps (pad);
    }
  g_mutex_lock (&self->lock);
  self->last_buffer = now;
  copy = caps && (is_raw_audio (caps) || worth_copying (caps, buffer))
         && now - self->copied >= COPY_INTERVAL_US;
  if (copy)
    self->copied = now;
  g_mutex_unlock (&self->lock);
  if (copy)
    {
      /* Outside the lock: the deep copy takes a moment, and nothing waits for it. */
      GstBuffer *frame = is_raw_audio (caps) ? NULL : gst_buffer_copy_deep (buffer);

      g_mutex_lock (&self->lock);
      gst_caps_replace (&self->caps, caps);
      gst_buffer_replace (&self->frame, NULL);
      self->frame = frame;
      g_mutex_unlock (&self->lock);
    }
  return GST_PAD_PROBE_OK;
}

RtcbotdFiller *
rtcbotd_filler_new (GstPad *pad, gint64 interval_us)
{
  RtcbotdFiller *self = g_new0 (RtcbotdFiller, 1);

  g_mutex_init (&self->lock);
  self->pad = gst_object_ref (pad);
  self->interval_us = interval_us;
  self->probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                                   on_buffer, self, NULL);
  return self;
}

void
rtcbotd_filler_free (RtcbotdFiller *self)
{
  if (!self)
    return;
  /* The source stops its capture first, so no probe call is in progress. */
  gst_pad_remove_probe (self->pad, self->probe);
  gst_object_unref (self->pad);
  gst_clear_caps (&self->caps);
  gst_clear_buffer (&self->frame);
  g_mutex_clear (&self->lock);
  g_free (self);
}

void
rtcbotd_filler_forget (RtcbotdFiller *self)
{
  g_mutex_lock (&self->lock);
  gst_clear_caps (&self->caps);
  gst_clear_buffer (&self->frame);
  self->copied = 0;
  g_mutex_unlock (&self->lock);
}

gboolean
rtcbotd_filler_is_due (RtcbotdFiller *self)
{
  gboolean due;

  g_mutex_lock (&self->lock);
  due = self->caps && (self->frame || is_raw_audio (self->caps))
        && g_get_monotonic_time () - self->last_buffer >= self->interval_us;
  g_mutex_unlock (&self->lock);
  return due;
}

/* 20 ms of silence in @caps, or NULL when they are not raw audio we know. */
static GstBuffer *
make_silence (const GstCaps *caps)
{
  GstAudioInfo info;
  GstBuffer *buffer;
  GstMapInfo map;
  gsize frames;

  if (!gst_audio_info_from_caps (&info, caps) || info.rate <= 0 || info.bpf <= 0
      || info.layout != GST_AUDIO_LAYOUT_INTERLEAVED)
    return NULL;
  frames = gst_util_uint64_scale_int (SILENCE_NS, info.rate, GST_SECOND);
  buffer = gst_buffer_new_allocate (NULL, frames * info.bpf, NULL);
  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  gst_audio_format_info_fill_silence (info.finfo, map.data, map.size);
  gst_buffer_unmap (buffer, &map);
  GST_BUFFER_DURATION (buffer) = gst_util_uint64_scale_int (frames, GST_SECOND, info.rate);
  return buffer;
}

/* The position in @sink's segment that plays at @running_time, or NONE. */
static GstClockTime
position_at (GstPad *sink, GstClockTime running_time)
{
  g_autoptr (GstEvent) event = gst_pad_get_sticky_event (sink, GST_EVENT_SEGMENT, 0);
  const GstSegment *segment;

  if (!event)
    return GST_CLOCK_TIME_NONE;
  gst_event_parse_segment (event, &segment);
  if (segment->format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  return gst_segment_position_from_running_time (segment, GST_FORMAT_TIME, running_time);
}

GstFlowReturn
rtcbotd_filler_push (RtcbotdFiller *self, GstPad *sink, GstClockTime running_time)
{
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GstCaps) current = NULL;
  GstBuffer *buffer = NULL;
  GstClockTime pts;
  GstFlowReturn ret;

  /* Held across the check and the push (it is recursive): no new caps come in between. */
  GST_PAD_STREAM_LOCK (sink);
  current = gst_pad_get_current_caps (sink);
  pts = position_at (sink, running_time);
  g_mutex_lock (&self->lock);
  if (self->caps)
    caps = gst_caps_ref (self->caps);
  if (self->frame)
    /* Shares the copy's memory, which nothing writes: only the timestamps are new. */
    buffer = gst_buffer_copy (self->frame);
  g_mutex_unlock (&self->lock);
  /* Renegotiated since (a new capture): its own buffers are about to come. */
  if (caps && current && gst_caps_is_equal (caps, current) && GST_CLOCK_TIME_IS_VALID (pts)
      && (buffer || (buffer = is_raw_audio (caps) ? make_silence (caps) : NULL)))
    {
      GST_BUFFER_PTS (buffer) = pts;
      GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
      if (!is_raw_audio (caps))
        GST_BUFFER_DURATION (buffer) = GST_CLOCK_TIME_NONE;
      GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
      ret = gst_pad_chain (sink, g_steal_pointer (&buffer));
    }
  else
    ret = GST_FLOW_NOT_NEGOTIATED;
  GST_PAD_STREAM_UNLOCK (sink);
  gst_clear_buffer (&buffer);
  return ret;
}
