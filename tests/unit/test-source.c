/* test-source.c — a media source's counters, health and /metrics series, on a real pipeline. */
#include <string.h>

#include "rtcbotd-source.h"
#include "test-utils.h"

typedef struct
{
  RtcbotdConfig *config;
  GstElement *pipeline;
  RtcbotdSource *source;
  GstElement *capture;
} Fixture;

static const char config_text[] = "[source cam]\n"
                                  "type = test-video\n"
                                  "width = 160\n"
                                  "height = 120\n"
                                  "framerate = 30\n"
                                  "encoder = x264\n"
                                  "[route video]\n"
                                  "from = cam\n"
                                  "to = peers\n";

static gboolean
has_capture (gpointer data)
{
  Fixture *f = data;

  f->capture = gst_bin_get_by_name (GST_BIN (f->pipeline), "cam-capture");
  return f->capture != NULL;
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!gst_element_factory_find ("x264enc"))
    {
      g_test_skip ("x264enc is not installed");
      return;
    }
  f->config = rtcbotd_config_load_data (config_text, "test.conf", &error);
  g_assert_no_error (error);
  f->pipeline = gst_object_ref_sink (gst_pipeline_new ("test"));
  f->source
      = rtcbotd_source_new (rtcbotd_config_find_source (f->config, "cam"), f->pipeline, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gst_element_set_state (f->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  /* The capture bin is built when the source starts, once the loop runs. */
  rtcbotd_source_start (f->source);
  g_assert_true (rtcbotd_test_wait_until (has_capture, f, 5000));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (f->pipeline)
    gst_element_set_state (f->pipeline, GST_STATE_NULL);
  g_clear_pointer (&f->source, rtcbotd_source_free);
  g_clear_object (&f->capture);
  g_clear_object (&f->pipeline);
  g_clear_pointer (&f->config, rtcbotd_config_free);
}

/* The source's /healthz object, parsed. */
static JsonObject *
health (Fixture *f)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  rtcbotd_source_add_health (f->source, b);
  root = json_builder_get_root (b);
  g_object_set_data_full (G_OBJECT (f->capture), "health", json_node_ref (root),
                          (GDestroyNotify)json_node_unref);
  return json_node_get_object (root);
}

static gint64
frames (Fixture *f)
{
  return json_object_get_int_member (health (f), "frames");
}

static gboolean
has_frames (gpointer data)
{
  return frames (data) >= 10;
}

static gboolean
is_up (gpointer data)
{
  Fixture *f = data;
  return rtcbotd_source_is_up (f->source);
}

static gboolean
is_down (gpointer data)
{
  return !is_up (data);
}

/* The value of the sample that starts with @prefix in @text, or -1. */
static double
sample (const char *text, const char *prefix)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], prefix) && lines[i][strlen (prefix)] == ' ')
      return g_ascii_strtod (lines[i] + strlen (prefix) + 1, NULL);
  return -1;
}

static void
test_counts (Fixture *f, gconstpointer data)
{
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *text = NULL;

  if (g_test_failed () || !f->source)
    return;
  g_assert_true (rtcbotd_test_wait_until (has_frames, f, 10000));
  g_assert_cmpstr (json_object_get_string_member (health (f), "state"), ==, "up");
  g_assert_false (json_object_has_member (health (f), "reason"));
  rtcbotd_source_add_metrics (f->source, m);
  text = rtcbotd_metrics_to_text (m);
  g_assert_cmpfloat (sample (text, "rtcbotd_source_up{source=\"cam\"}"), ==, 1);
  g_assert_cmpfloat (sample (text, "rtcbotd_source_frames_total{source=\"cam\",codec=\"H264\","
                                   "encoder=\"x264enc\"}"),
                     >=, 10);
  g_assert_cmpfloat (sample (text, "rtcbotd_source_encoded_bytes_total{source=\"cam\","
                                   "codec=\"H264\",encoder=\"x264enc\"}"),
                     >, 100);
  g_assert_cmpfloat (sample (text, "rtcbotd_source_viewers{source=\"cam\",codec=\"H264\","
                                   "encoder=\"x264enc\"}"),
                     ==, 0);
  g_assert_cmpfloat (sample (text, "rtcbotd_source_frames_dropped_total{source=\"cam\","
                                   "codec=\"H264\",encoder=\"x264enc\"}"),
                     >=, 0);
  /* Only the codecs in use have series. */
  g_assert_null (strstr (text, "VP8"));
}

/* A capture that stops producing (a camera unplugged, a hung driver) makes
 * the source down after 5 s, logged once; frames again make it up. */
static void
test_stall (Fixture *f, gconstpointer data)
{
  gint64 paused;

  if (g_test_failed () || !f->source)
    return;
  g_assert_true (rtcbotd_test_wait_until (has_frames, f, 10000));
  gst_element_set_state (f->capture, GST_STATE_PAUSED);
  paused = g_get_monotonic_time ();
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "[source cam]: down: no frame from x264enc (H264) for more than 5 s");
  g_assert_true (rtcbotd_test_wait_until (is_down, f, 9000));
  g_test_assert_expected_messages ();
  /* 5 s after the last frame, which came up to a frame (and the encoder's
   * latency) before the pause: allow 300 ms. */
  g_assert_cmpint (g_get_monotonic_time () - paused, >=, 5 * G_USEC_PER_SEC - 300 * 1000);
  g_assert_cmpstr (json_object_get_string_member (health (f), "state"), ==, "down");
  g_assert_cmpstr (json_object_get_string_member (health (f), "reason"), ==,
                   "no frame from x264enc (H264) for more than 5 s");
  gst_element_set_state (f->capture, GST_STATE_PLAYING);
  g_assert_true (rtcbotd_test_wait_until (is_up, f, 5000));
  g_assert_false (json_object_has_member (health (f), "reason"));
}

/* An error the pipeline posts for one of the source's elements makes it down
 * until a frame has come after it. */
static void
test_error (Fixture *f, gconstpointer data)
{
  g_autoptr (GstElement) other = gst_element_factory_make ("fakesink", NULL);

  if (g_test_failed () || !f->source)
    return;
  g_assert_true (rtcbotd_source_owns (f->source, GST_OBJECT (f->capture)));
  g_assert_false (rtcbotd_source_owns (f->source, GST_OBJECT (f->pipeline)));
  g_assert_false (rtcbotd_source_owns (f->source, GST_OBJECT (other)));
  g_assert_true (rtcbotd_test_wait_until (has_frames, f, 10000));
  gst_element_set_state (f->capture, GST_STATE_PAUSED);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "[source cam]: down: cam-capture: Internal data stream error.");
  rtcbotd_source_set_error (f->source, "cam-capture", "Internal data stream error.");
  g_test_assert_expected_messages ();
  g_assert_false (rtcbotd_source_is_up (f->source));
  g_assert_cmpstr (json_object_get_string_member (health (f), "reason"), ==,
                   "cam-capture: Internal data stream error.");
  gst_element_set_state (f->capture, GST_STATE_PLAYING);
  g_assert_true (rtcbotd_test_wait_until (is_up, f, 5000));
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, setup, func, teardown)
  ADD ("/source/counts", test_counts);
  ADD ("/source/stall", test_stall);
  ADD ("/source/error", test_error);
  return g_test_run ();
}
