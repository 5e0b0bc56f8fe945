/* test-filler.c — the filler: due once its pad goes quiet, and what it pushes then. */
#include <gst/audio/audio.h>

#include "rtcbotd-filler.h"
#include "test-utils.h"

typedef struct
{
  GstElement *pipeline;
  GstElement *source;
  GstPad *sink; /* fakesink's: where the fillers go, with the watched caps */
  RtcbotdFiller *filler;
  guint tick_id;
  gulong block;
  guint buffers; /* fakesink's handoffs */
  GstClockTime last_pts;
  gsize last_size;
} Fixture;

static gboolean
on_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Any thread: what reached the sink. */
static void
on_handoff (GstElement *sink, GstBuffer *buffer, GstPad *pad, gpointer user_data)
{
  Fixture *f = user_data;

  f->last_pts = GST_BUFFER_PTS (buffer);
  f->last_size = gst_buffer_get_size (buffer);
  g_atomic_int_inc (&f->buffers);
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) watch = NULL;
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstPad) pad = NULL;

  f->pipeline = gst_parse_launch (data, &error);
  g_assert_no_error (error);
  f->source = gst_bin_get_by_name (GST_BIN (f->pipeline), "src");
  watch = gst_bin_get_by_name (GST_BIN (f->pipeline), "watch");
  sink = gst_bin_get_by_name (GST_BIN (f->pipeline), "sink");
  g_object_set (sink, "signal-handoffs", TRUE, NULL);
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), f);
  f->sink = gst_element_get_static_pad (sink, "sink");
  pad = gst_element_get_static_pad (watch, "src");
  f->filler = rtcbotd_filler_new (pad, 300 * G_TIME_SPAN_MILLISECOND);
  f->tick_id = g_timeout_add (20, on_tick, NULL);
  g_assert_cmpint (gst_element_set_state (f->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GstPad) pad = gst_element_get_static_pad (f->source, "src");

  if (f->block)
    gst_pad_remove_probe (pad, f->block);
  gst_element_set_state (f->pipeline, GST_STATE_NULL);
  g_clear_pointer (&f->filler, rtcbotd_filler_free);
  g_clear_handle_id (&f->tick_id, g_source_remove);
  gst_clear_object (&f->sink);
  gst_clear_object (&f->source);
  gst_clear_object (&f->pipeline);
}

static GstPadProbeReturn
on_block (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return GST_PAD_PROBE_OK;
}

static gboolean
flowed (gpointer data)
{
  Fixture *f = data;
  return g_atomic_int_get (&f->buffers) >= 10;
}

static gboolean
due (gpointer data)
{
  Fixture *f = data;
  return rtcbotd_filler_is_due (f->filler);
}

/* Blocks the source (a camera that hangs) and returns once the filler is due. */
static void
go_quiet (Fixture *f)
{
  g_autoptr (GstPad) pad = gst_element_get_static_pad (f->source, "src");

  g_assert_true (rtcbotd_test_wait_until (flowed, f, 5000));
  g_assert_false (rtcbotd_filler_is_due (f->filler));
  f->block = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, on_block, NULL, NULL);
  g_assert_true (rtcbotd_test_wait_until (due, f, 3000));
}

static GstClockTime
running_time (Fixture *f)
{
  g_autoptr (GstClock) clock = gst_element_get_clock (f->pipeline);

  return gst_clock_get_time (clock) - gst_element_get_base_time (f->pipeline);
}

/* Video: once the source is quiet, the last picture again, stamped now. */
static void
test_video (Fixture *f, gconstpointer data)
{
  GstClockTime now;
  guint before;

  go_quiet (f);
  before = g_atomic_int_get (&f->buffers);
  now = running_time (f);
  g_assert_cmpint (rtcbotd_filler_push (f->filler, f->sink, now), ==, GST_FLOW_OK);
  g_assert_cmpuint (g_atomic_int_get (&f->buffers), ==, before + 1);
  g_assert_cmpuint (f->last_pts, ==, now); /* the segment starts at 0 */
  g_assert_cmpuint (f->last_size, ==, 64 * 48 * 3 / 2);
  /* Still due: the filler's own buffers do not pass the watched pad. */
  g_assert_true (rtcbotd_filler_is_due (f->filler));
  /* Forgotten (the capture stopped for lack of consumers): nothing more to push. */
  rtcbotd_filler_forget (f->filler);
  g_assert_false (rtcbotd_filler_is_due (f->filler));
  g_assert_cmpint (rtcbotd_filler_push (f->filler, f->sink, running_time (f)), ==,
                   GST_FLOW_NOT_NEGOTIATED);
  g_assert_cmpuint (g_atomic_int_get (&f->buffers), ==, before + 1);
}

/* Audio: 20 ms of silence in the watched caps. */
static void
test_audio (Fixture *f, gconstpointer data)
{
  go_quiet (f);
  g_assert_cmpint (rtcbotd_filler_push (f->filler, f->sink, running_time (f)), ==, GST_FLOW_OK);
  g_assert_cmpuint (f->last_size, ==, 48000 / 50 * 2 * 2);
}

/* A pad with other caps (a new capture renegotiated) gets nothing. */
static void
test_other_caps (void)
{
  g_autoptr (GstElement) sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstElement) src = gst_element_factory_make ("fakesrc", NULL);
  g_autoptr (GstPad) watched = gst_element_get_static_pad (src, "src");
  g_autoptr (GstPad) pad = gst_element_get_static_pad (sink, "sink");
  g_autoptr (RtcbotdFiller) filler = rtcbotd_filler_new (watched, 0);

  /* Nothing seen yet: nothing to push. */
  g_assert_false (rtcbotd_filler_is_due (filler));
  g_assert_cmpint (rtcbotd_filler_push (filler, pad, 0), ==, GST_FLOW_NOT_NEGOTIATED);
}

#define VIDEO                                                                                      \
  "videotestsrc name=src is-live=true ! video/x-raw,format=I420,width=64,height=48,framerate=30/1" \
  " ! identity name=watch ! fakesink name=sink sync=false"
#define AUDIO                                                                                      \
  "audiotestsrc name=src is-live=true samplesperbuffer=480 ! "                                     \
  "audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved ! identity name=watch ! "     \
  "fakesink name=sink sync=false"

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/filler/video", Fixture, VIDEO, setup, test_video, teardown);
  g_test_add ("/filler/audio", Fixture, AUDIO, setup, test_audio, teardown);
  g_test_add_func ("/filler/nothing-seen", test_other_caps);
  return g_test_run ();
}
