/* test-stall.c — the stall watcher: its timeout, and what counts as a stall on a real pipeline. */
#include "rtcbotd-stall.h"
#include "test-utils.h"

typedef struct
{
  GstElement *pipeline;
  GstElement *source;
  RtcbotdStall *stall;
  guint tick_id;
  gulong block;
} Fixture;

/* Main context: wakes rtcbotd_test_wait_until(), which only looks after an event. */
static gboolean
on_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) gate = NULL;
  g_autoptr (GstPad) pad = NULL;

  f->pipeline = gst_parse_launch ("videotestsrc name=src is-live=true ! "
                                  "video/x-raw,width=64,height=48,framerate=30/1 ! "
                                  "identity name=gate ! fakesink sync=false",
                                  &error);
  g_assert_no_error (error);
  f->source = gst_bin_get_by_name (GST_BIN (f->pipeline), "src");
  gate = gst_bin_get_by_name (GST_BIN (f->pipeline), "gate");
  pad = gst_element_get_static_pad (gate, "src");
  f->stall = rtcbotd_stall_new (pad, 300 * G_TIME_SPAN_MILLISECOND);
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
  g_clear_pointer (&f->stall, rtcbotd_stall_free);
  g_clear_handle_id (&f->tick_id, g_source_remove);
  g_clear_object (&f->source);
  g_clear_object (&f->pipeline);
}

static gboolean
flowing (gpointer data)
{
  Fixture *f = data;
  return rtcbotd_stall_is_flowing (f->stall);
}

static gboolean
stalled (gpointer data)
{
  Fixture *f = data;
  return rtcbotd_stall_check (f->stall, f->pipeline);
}

static void
test_timeout (void)
{
  RtcbotdSourceConfig c = { .kind = RTCBOTD_KIND_VIDEO, .framerate = 30 };

  g_assert_cmpint (rtcbotd_stall_timeout_for (&c), ==, 2 * G_USEC_PER_SEC);
  c.framerate = 2;
  g_assert_cmpint (rtcbotd_stall_timeout_for (&c), ==, 5 * G_USEC_PER_SEC);
  c.kind = RTCBOTD_KIND_AUDIO;
  g_assert_cmpint (rtcbotd_stall_timeout_for (&c), ==, 2 * G_USEC_PER_SEC);
}

/* Streaming thread of the source: holds every buffer, as a camera that hangs. */
static GstPadProbeReturn
on_block (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return GST_PAD_PROBE_OK;
}

/* Buffers flowing: no stall. A source that hangs with everything playing: a
 * stall after the timeout. Re-armed (restarted), it has the timeout again. */
static void
test_hang (Fixture *f, gconstpointer data)
{
  g_autoptr (GstPad) pad = gst_element_get_static_pad (f->source, "src");
  gint64 blocked;

  g_assert_true (rtcbotd_test_wait_until (flowing, f, 5000));
  rtcbotd_test_run_for (500);
  g_assert_false (stalled (f));
  f->block = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, on_block, NULL, NULL);
  blocked = g_get_monotonic_time ();
  g_assert_true (rtcbotd_test_wait_until (stalled, f, 3000));
  g_assert_cmpint (g_get_monotonic_time () - blocked, >=, 300 * G_TIME_SPAN_MILLISECOND - 40000);
  rtcbotd_stall_arm (f->stall);
  g_assert_false (stalled (f));
  g_assert_false (rtcbotd_stall_is_flowing (f->stall));
  gst_pad_remove_probe (pad, f->block);
  f->block = 0;
  g_assert_true (rtcbotd_test_wait_until (flowing, f, 3000));
  g_assert_false (stalled (f));
}

/* An element paused on purpose stops the buffers, but is no stall. */
static void
test_paused (Fixture *f, gconstpointer data)
{
  g_assert_true (rtcbotd_test_wait_until (flowing, f, 5000));
  gst_element_set_state (f->source, GST_STATE_PAUSED);
  rtcbotd_test_run_for (800);
  g_assert_false (stalled (f));
  gst_element_set_state (f->source, GST_STATE_PLAYING);
  rtcbotd_stall_arm (f->stall);
  g_assert_true (rtcbotd_test_wait_until (flowing, f, 3000));
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stall/timeout", test_timeout);
  g_test_add ("/stall/hang", Fixture, NULL, setup, test_hang, teardown);
  g_test_add ("/stall/paused", Fixture, NULL, setup, test_paused, teardown);
  return g_test_run ();
}
