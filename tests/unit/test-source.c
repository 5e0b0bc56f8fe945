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
  /* Paused on purpose, not stalled: the capture was not restarted. */
  g_assert_cmpint (json_object_get_int_member (health (f), "restarts"), ==, 0);
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

/* ---- sources without the fixture: on demand, and a capture that fails ------ */

typedef struct
{
  RtcbotdConfig *config;
  GstElement *pipeline;
  RtcbotdSource *source;
} Plain;

static void
plain_start (Plain *p, const char *text)
{
  g_autoptr (GError) error = NULL;

  p->config = rtcbotd_test_config_ok (text);
  p->pipeline = gst_object_ref_sink (gst_pipeline_new (NULL));
  p->source = rtcbotd_source_new (p->config->sources->pdata[0], p->pipeline, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gst_element_set_state (p->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  rtcbotd_source_start (p->source);
}

static void
plain_stop (Plain *p)
{
  gst_element_set_state (p->pipeline, GST_STATE_NULL);
  g_clear_pointer (&p->source, rtcbotd_source_free);
  g_clear_object (&p->pipeline);
  g_clear_pointer (&p->config, rtcbotd_config_free);
}

static JsonNode *
plain_health (Plain *p)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  rtcbotd_source_add_health (p->source, b);
  return json_builder_get_root (b);
}

static const char *
plain_member (Plain *p, const char *member, gint64 *number)
{
  g_autoptr (JsonNode) root = plain_health (p);
  JsonObject *o = json_node_get_object (root);
  static char text[64];

  if (number)
    *number = json_object_has_member (o, member) ? json_object_get_int_member (o, member) : -1;
  g_strlcpy (text,
             json_object_has_member (o, member) && !number
                 ? json_object_get_string_member (o, member)
                 : "",
             sizeof text);
  return text;
}

static gboolean
plain_has_frames (gpointer data)
{
  gint64 frames;

  plain_member (data, "frames", &frames);
  return frames >= 5;
}

static gboolean
plain_capturing (gpointer data)
{
  Plain *p = data;
  g_autoptr (GstElement) capture = gst_bin_get_by_name (GST_BIN (p->pipeline), "cam-capture");

  return capture != NULL;
}

static gboolean
plain_not_capturing (gpointer data)
{
  return !plain_capturing (data);
}

/* on-demand = yes: no capture until the first consumer, none after the last. */
static void
test_on_demand (void)
{
  Plain p = { 0 };
  GstPad *pad;
  g_autoptr (GstElement) tee = NULL;
  gint64 frames, later, first_ms;

  if (!gst_element_factory_find ("x264enc"))
    {
      g_test_skip ("x264enc is not installed");
      return;
    }
  plain_start (&p, "[source cam]\ntype = test-video\nwidth = 160\nheight = 120\n"
                   "encoder = x264\non-demand = yes\n");
  rtcbotd_test_run_for (300);
  g_assert_false (plain_capturing (&p));
  g_assert_cmpstr (plain_member (&p, "capture", NULL), ==, "stopped");
  g_assert_cmpstr (plain_member (&p, "state", NULL), ==, "up");
  pad = rtcbotd_source_acquire (p.source, RTCBOTD_CODEC_H264, NULL);
  g_assert_nonnull (pad);
  g_assert_true (plain_capturing (&p));
  g_assert_true (rtcbotd_test_wait_until (plain_has_frames, &p, 10000));
  g_assert_cmpstr (plain_member (&p, "capture", NULL), ==, "running");
  plain_member (&p, "first-frame-ms", &first_ms);
  g_assert_cmpint (first_ms, >=, 0);
  g_assert_cmpint (first_ms, <, 5000);
  tee = gst_pad_get_parent_element (pad);
  gst_element_release_request_pad (tee, pad);
  gst_object_unref (pad);
  rtcbotd_source_unuse (p.source, RTCBOTD_CODEC_H264);
  g_assert_true (rtcbotd_test_wait_until (plain_not_capturing, &p, 1000));
  g_assert_cmpstr (plain_member (&p, "capture", NULL), ==, "stopped");
  plain_member (&p, "frames", &frames);
  rtcbotd_test_run_for (6000); /* past the stall limit: stopped is not down */
  plain_member (&p, "frames", &later);
  g_assert_cmpint (later, ==, frames);
  g_assert_cmpstr (plain_member (&p, "state", NULL), ==, "up");
  plain_stop (&p);
}

static gboolean
restarted_twice (gpointer data)
{
  gint64 restarts;

  plain_member (data, "restarts", &restarts);
  return restarts >= 2;
}

/* A capture that fails at every start: down with the cause, logged once
 * (a second warning would fail the test), retried with backoff. */
static void
test_retry (void)
{
  Plain p = { 0 };
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *text = NULL;
  gint64 t0 = g_get_monotonic_time ();

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "[source cam]: down: gst pipeline: Resource not found. (No such file "
                         "\"/nonexistent/camera\")");
  plain_start (&p, "[source cam]\ntype = gst\nencoder = vp8\n"
                   "pipeline = filesrc location=/nonexistent/camera ! decodebin\n");
  /* 0.5 s, then 1 s: two restarts take at least 1.5 s. */
  g_assert_true (rtcbotd_test_wait_until (restarted_twice, &p, 5000));
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 1500 * 1000);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (plain_member (&p, "state", NULL), ==, "down");
  g_assert_cmpstr (plain_member (&p, "capture", NULL), ==, "retrying");
  g_assert_true (g_str_has_prefix (plain_member (&p, "reason", NULL), "gst pipeline: Resource"));
  rtcbotd_source_add_metrics (p.source, m);
  text = rtcbotd_metrics_to_text (m);
  g_assert_cmpfloat (sample (text, "rtcbotd_source_up{source=\"cam\"}"), ==, 0);
  g_assert_cmpfloat (sample (text, "rtcbotd_source_capturing{source=\"cam\"}"), ==, 0);
  plain_stop (&p);
}

/* A free UDP port on the loopback (bound, read, closed: the capture binds it next). */
static guint
free_udp_port (void)
{
  g_autoptr (GSocket) socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* What feeds the source's udpsrc: raw video over RTP, started and stopped by the test. */
static GstElement *
sender_new (guint port)
{
  g_autofree char *text = g_strdup_printf (
      "videotestsrc is-live=true ! video/x-raw,format=I420,width=160,height=120,framerate=15/1 "
      "! rtpvrawpay ! udpsink host=127.0.0.1 port=%u",
      port);
  g_autoptr (GError) error = NULL;
  GstElement *sender = gst_parse_launch (text, &error);

  g_assert_no_error (error);
  return sender;
}

static gboolean
plain_down (gpointer data)
{
  return g_str_equal (plain_member (data, "state", NULL), "down");
}

static gboolean
plain_up (gpointer data)
{
  return g_str_equal (plain_member (data, "state", NULL), "up");
}

/* A udpsrc whose sender stops posts no error: after 2 s without a frame the
 * source is down ("stalled", logged once however often it restarts), its
 * capture restarted with backoff; frames from a new sender make it up. */
static void
test_stall_restart (void)
{
  Plain p = { 0 };
  guint port = free_udp_port ();
  g_autoptr (GstElement) sender = sender_new (port);
  g_autofree char *config = g_strdup_printf (
      "[source cam]\ntype = gst\nencoder = vp8\npipeline = udpsrc port=%u caps=\"application/"
      "x-rtp,media=video,encoding-name=RAW,sampling=YCbCr-4:2:0,depth=(string)8,width=(string)"
      "160,height=(string)120,clock-rate=90000\" ! rtpvrawdepay\n",
      port);
  gint64 restarts, stopped;

  gst_element_set_state (sender, GST_STATE_PLAYING);
  plain_start (&p, config);
  g_assert_true (rtcbotd_test_wait_until (plain_has_frames, &p, 10000));
  g_assert_cmpstr (plain_member (&p, "state", NULL), ==, "up");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "[source cam]: stalled: no frame for 2.0 s; restarting");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "[source cam]: down: gst pipeline: stalled: no frame for 2.0 s");
  gst_element_set_state (sender, GST_STATE_NULL);
  stopped = g_get_monotonic_time ();
  g_assert_true (rtcbotd_test_wait_until (plain_down, &p, 5000));
  /* The timeout from the last frame, which came up to a frame (67 ms) before the stop. */
  g_assert_cmpint (g_get_monotonic_time () - stopped, >=, 2 * G_USEC_PER_SEC - 200 * 1000);
  g_assert_cmpstr (plain_member (&p, "reason", NULL), ==,
                   "gst pipeline: stalled: no frame for 2.0 s");
  /* Still nothing: restarted (0.5 s, then 2 s more to stall again and 1 s), down, no new line. */
  g_assert_true (rtcbotd_test_wait_until (restarted_twice, &p, 8000));
  g_assert_cmpstr (plain_member (&p, "state", NULL), ==, "down");
  g_test_assert_expected_messages ();
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "[source cam]: up");
  gst_element_set_state (sender, GST_STATE_PLAYING);
  g_assert_true (rtcbotd_test_wait_until (plain_up, &p, 12000));
  g_test_assert_expected_messages ();
  plain_member (&p, "restarts", &restarts);
  g_assert_cmpint (restarts, >=, 2);
  g_assert_cmpstr (plain_member (&p, "capture", NULL), ==, "running");
  gst_element_set_state (sender, GST_STATE_NULL);
  plain_stop (&p);
}

/* A gst fragment that makes H.264 is passed through: a parser, no encoder. */
static void
test_passthrough (void)
{
  Plain p = { 0 };
  g_autofree char *chain = NULL;

  if (!gst_element_factory_find ("x264enc"))
    {
      g_test_skip ("x264enc is not installed");
      return;
    }
  plain_start (&p, "[source cam]\ntype = gst\npipeline = videotestsrc is-live=true ! "
                   "video/x-raw,width=160,height=120 ! x264enc tune=zerolatency ! h264parse\n");
  chain = rtcbotd_source_describe (p.source);
  g_assert_cmpstr (chain, ==, "H264 via passthrough (0 peers)");
  g_assert_true (rtcbotd_test_wait_until (plain_has_frames, &p, 10000));
  g_assert_cmpstr (plain_member (&p, "state", NULL), ==, "up");
  plain_stop (&p);
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
  g_test_add_func ("/source/on-demand", test_on_demand);
  g_test_add_func ("/source/retry", test_retry);
  g_test_add_func ("/source/passthrough", test_passthrough);
  g_test_add_func ("/source/stall-restart", test_stall_restart);
  return g_test_run ();
}
