/* rtcbotd-stall.c — notices a capture that stops giving buffers without an error. */
#include "rtcbotd-stall.h"

#include <stdatomic.h>

struct _RtcbotdStall
{
  GstPad *pad;
  gulong probe;
  gint64 timeout_us;
  gint64 armed;                     /* monotonic µs of the last arm(); main context */
  atomic_int_least64_t last_buffer; /* monotonic µs; written by the streaming thread */
};

gint64
rtcbotd_stall_timeout_for (const RtcbotdSourceConfig *config)
{
  gint64 min_us = RTCBOTD_STALL_MIN_MS * G_TIME_SPAN_MILLISECOND;
  gint64 frames_us = 0;

  /* Audio buffers come every 20 ms: only video can be slow enough to matter. */
  if (config->kind == RTCBOTD_KIND_VIDEO && config->framerate > 0)
    frames_us = RTCBOTD_STALL_FRAMES * G_USEC_PER_SEC / config->framerate;
  return MAX (min_us, frames_us);
}

/* Streaming thread of the capture: one store, no lock, for every buffer. */
static GstPadProbeReturn
on_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdStall *self = user_data;

  atomic_store_explicit (&self->last_buffer, g_get_monotonic_time (), memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

RtcbotdStall *
rtcbotd_stall_new (GstPad *pad, gint64 timeout_us)
{
  RtcbotdStall *self = g_new0 (RtcbotdStall, 1);

  self->pad = gst_object_ref (pad);
  self->timeout_us = timeout_us;
  self->armed = g_get_monotonic_time ();
  self->probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                                   on_buffer, self, NULL);
  return self;
}

void
rtcbotd_stall_free (RtcbotdStall *self)
{
  if (!self)
    return;
  /* Returns once a probe call in progress has finished: none uses self after. */
  gst_pad_remove_probe (self->pad, self->probe);
  gst_object_unref (self->pad);
  g_free (self);
}

gint64
rtcbotd_stall_get_timeout (RtcbotdStall *self)
{
  return self->timeout_us;
}

void
rtcbotd_stall_arm (RtcbotdStall *self)
{
  self->armed = g_get_monotonic_time ();
}

gboolean
rtcbotd_stall_is_flowing (RtcbotdStall *self)
{
  return atomic_load_explicit (&self->last_buffer, memory_order_relaxed) > self->armed;
}

gint64
rtcbotd_stall_get_last_buffer (RtcbotdStall *self)
{
  return atomic_load_explicit (&self->last_buffer, memory_order_relaxed);
}

/* TRUE when @element and everything in it is asked to play (the state it is
 * going to, not the one reached: a camera stuck on its way there is stalled). */
static gboolean
meant_to_play (GstElement *element)
{
  g_autoptr (GstIterator) it = NULL;
  GValue item = G_VALUE_INIT;
  gboolean playing = GST_STATE_TARGET (element) == GST_STATE_PLAYING;

  if (!playing || !GST_IS_BIN (element))
    return playing;
  it = gst_bin_iterate_recurse (GST_BIN (element));
  while (playing && gst_iterator_next (it, &item) == GST_ITERATOR_OK)
    {
      playing = GST_STATE_TARGET (g_value_get_object (&item)) == GST_STATE_PLAYING;
      g_value_reset (&item);
    }
  g_value_unset (&item);
  return playing;
}

gboolean
rtcbotd_stall_check (RtcbotdStall *self, GstElement *capture)
{
  gint64 last = MAX (self->armed, atomic_load_explicit (&self->last_buffer, memory_order_relaxed));

  return g_get_monotonic_time () - last > self->timeout_us && meant_to_play (capture);
}
