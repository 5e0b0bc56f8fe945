/* test-capture.c — the capture bins of every source type: plan, elements, caps, errors. */
#include <string.h>

#include "rtcbotd-capture.h"
#include "rtcbotd-error.h"
#include "test-utils.h"

/* The one source of a config made of @text. */
static const RtcbotdSourceConfig *
source_of (RtcbotdConfig **config, const char *text)
{
  *config = rtcbotd_test_config_ok (text);
  g_assert_cmpuint ((*config)->sources->len, ==, 1);
  return (*config)->sources->pdata[0];
}

/* An element's first sink pad ("sink", or "video_sink" for clockoverlay), or NULL. */
static GstPad *
first_sink_pad (GstElement *element)
{
  GstPad *pad = NULL;

  GST_OBJECT_LOCK (element);
  if (element->sinkpads)
    pad = gst_object_ref (element->sinkpads->data);
  GST_OBJECT_UNLOCK (element);
  return pad;
}

/* The bin's elements from its source to its "src" pad, as "factory" or
 * joined by " ! " (a gst fragment is its own "bin"). */
static char *
chain_of (RtcbotdCapture *capture)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GstPad) ghost = gst_element_get_static_pad (GST_ELEMENT (capture), "src");
  GstPad *pad = gst_ghost_pad_get_target (GST_GHOST_PAD (ghost));

  while (pad)
    {
      g_autoptr (GstElement) element = gst_pad_get_parent_element (pad);
      GstElementFactory *factory = gst_element_get_factory (element);
      g_autoptr (GstPad) sink = first_sink_pad (element);
      g_string_prepend (out, factory ? GST_OBJECT_NAME (factory) : "?");
      gst_object_unref (pad);
      pad = sink ? gst_pad_get_peer (sink) : NULL;
      if (pad)
        g_string_prepend (out, " ! ");
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static GstElement *
child (RtcbotdCapture *capture, const char *name)
{
  GstElement *element = gst_bin_get_by_name (GST_BIN (capture), name);

  g_assert_nonnull (element);
  /* The bin keeps it alive; the tests only look. */
  gst_object_unref (element);
  return element;
}

static void
assert_caps (GstElement *filter, const char *expected)
{
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GstCaps) want = gst_caps_from_string (expected);

  g_object_get (filter, "caps", &caps, NULL);
  if (!gst_caps_is_equal (caps, want))
    {
      g_autofree char *text = gst_caps_to_string (caps);
      g_error ("%s: caps %s, expected %s", GST_ELEMENT_NAME (filter), text, expected);
    }
}

static char *
string_property (GstElement *element, const char *property)
{
  char *value = NULL;

  g_object_get (element, property, &value, NULL);
  return value;
}

/* Plans and builds @config's bin with @probed caps (a string, NULL: not probed). */
static RtcbotdCapture *
build (const RtcbotdSourceConfig *c, const char *probed, gboolean h264, RtcbotdCaptureFormat want)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstCaps) caps = probed ? gst_caps_from_string (probed) : NULL;
  g_auto (RtcbotdCapturePlan) plan = { 0 };
  RtcbotdCapture *capture;

  g_assert_true (rtcbotd_capture_plan (c, caps, h264, &plan, &error));
  g_assert_no_error (error);
  g_assert_cmpint (plan.format, ==, want);
  capture = rtcbotd_capture_new (c, "cam", &plan, &error);
  g_assert_no_error (error);
  g_assert_nonnull (capture);
  return capture;
}

#define V4L2(format) "[source cam]\ntype = v4l2\ndevice = /dev/video9\nformat = " format "\n"

static void
test_v4l2_mjpeg (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  const RtcbotdSourceConfig *c = source_of (&config, V4L2 ("mjpeg"));
  /* Not probed: a device that is not there does not stop the construction. */
  g_autoptr (RtcbotdCapture) capture = build (c, NULL, FALSE, RTCBOTD_CAPTURE_FORMAT_MJPEG);
  g_autofree char *chain = chain_of (capture);
  g_autofree char *device = string_property (child (capture, "cam-capture"), "device");
  g_autofree char *decoder = NULL;

  decoder = g_strdup_printf ("v4l2src ! capsfilter ! %s ! videoconvert ! capsfilter",
                             gst_element_factory_find ("v4l2jpegdec") ? "v4l2jpegdec" : "jpegdec");
  g_assert_cmpstr (chain, ==, decoder);
  g_assert_cmpstr (device, ==, "/dev/video9");
  assert_caps (child (capture, "cam-caps"), "image/jpeg,width=640,height=480,framerate=30/1");
  assert_caps (child (capture, "cam-format"), "video/x-raw,format=I420");
  g_assert_cmpstr (GST_ELEMENT_NAME (capture), ==, "cam-input");
}

static void
test_v4l2_raw (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  const RtcbotdSourceConfig *c
      = source_of (&config, V4L2 ("raw") "width = 1280\nheight = 720\nframerate = 15\n");
  g_autoptr (RtcbotdCapture) capture = build (c, NULL, FALSE, RTCBOTD_CAPTURE_FORMAT_RAW);
  g_autofree char *chain = chain_of (capture);

  g_assert_cmpstr (chain, ==, "v4l2src ! capsfilter ! videoconvert ! capsfilter");
  assert_caps (child (capture, "cam-caps"), "video/x-raw,width=1280,height=720,framerate=15/1");
}

/* H.264 from the camera leaves the bin as it came: no decoder, no encoder. */
static void
test_v4l2_h264 (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  const RtcbotdSourceConfig *c = source_of (&config, V4L2 ("h264"));
  g_autoptr (RtcbotdCapture) capture = build (c, NULL, TRUE, RTCBOTD_CAPTURE_FORMAT_H264);
  g_autofree char *chain = chain_of (capture);
  g_autoptr (GError) error = NULL;
  gboolean h264 = FALSE;

  g_assert_cmpstr (chain, ==, "v4l2src ! capsfilter");
  assert_caps (child (capture, "cam-caps"), "video/x-h264,width=640,height=480,framerate=30/1");
  g_assert_true (rtcbotd_capture_decide (c, &h264, &error));
  g_assert_true (h264);
}

static const char camera_offers[] = "video/x-h264,width=640,height=480,framerate=30/1;"
                                    "image/jpeg,width=640,height=480,framerate={30/1,15/1};"
                                    "video/x-raw,format=YUY2,width=640,height=480,framerate=30/1";

/* auto prefers the camera's H.264, then MJPEG, then raw, among what it offers. */
static void
test_v4l2_auto (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  const RtcbotdSourceConfig *c = source_of (&config, V4L2 ("auto"));
  g_autoptr (RtcbotdCapture) h264 = build (c, camera_offers, TRUE, RTCBOTD_CAPTURE_FORMAT_H264);
  g_autoptr (RtcbotdCapture) mjpeg = build (c, camera_offers, FALSE, RTCBOTD_CAPTURE_FORMAT_MJPEG);
  g_autoptr (RtcbotdCapture) raw
      = build (c, "video/x-raw,format=YUY2,width=[160,1920],height=[120,1080],framerate=30/1",
               FALSE, RTCBOTD_CAPTURE_FORMAT_RAW);
  g_autofree char *chain = chain_of (raw);

  g_assert_cmpstr (chain, ==, "v4l2src ! capsfilter ! videoconvert ! capsfilter");
}

/* Caps the camera cannot do: the error lists what it can. */
static void
test_v4l2_cannot (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  const RtcbotdSourceConfig *c
      = source_of (&config, V4L2 ("mjpeg") "width = 1920\nheight = 1080\n");
  g_autoptr (GstCaps) probed = gst_caps_from_string (camera_offers);
  g_autoptr (GError) error = NULL;
  g_auto (RtcbotdCapturePlan) plan = { 0 };

  g_assert_false (rtcbotd_capture_plan (c, probed, FALSE, &plan, &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA);
  g_assert_cmpstr (error->message, ==,
                   "/dev/video9 cannot deliver 1920x1080 at 30 fps as MJPEG; it offers: H.264 "
                   "640x480 30/1; MJPEG 640x480 { 30/1, 15/1 }; YUY2 640x480 30/1");
  g_clear_error (&error);
  g_assert_false (rtcbotd_capture_plan (c, probed, TRUE, &plan, &error));
  g_assert_true (strstr (error->message, "as H.264; it offers") != NULL);
}

/* A missing device: the error names it and the cause; format = auto then encodes. */
static void
test_v4l2_missing (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  const RtcbotdSourceConfig *c = source_of (&config, V4L2 ("auto"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GstCaps) caps = rtcbotd_capture_probe_v4l2 ("/dev/video9", &error);
  gboolean h264 = TRUE;

  g_assert_null (caps);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA);
  g_assert_cmpstr (error->message, ==,
                   "Cannot identify device '/dev/video9'. (system error: No such file or "
                   "directory)");
  g_clear_error (&error);
  g_assert_true (rtcbotd_capture_decide (c, &h264, &error));
  g_assert_no_error (error);
  g_assert_false (h264);
}

static void
test_libcamera (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  const RtcbotdSourceConfig *c
      = source_of (&config, "[source cam]\ntype = libcamera\ncamera-name = /base/imx219\n");
  g_autoptr (RtcbotdCapture) capture = NULL;
  g_autofree char *chain = NULL;
  g_autofree char *name = NULL;

  if (!gst_element_factory_find ("libcamerasrc"))
    {
      g_test_skip ("libcamerasrc is not installed (gstreamer1.0-libcamera)");
      return;
    }
  capture = build (c, NULL, FALSE, RTCBOTD_CAPTURE_FORMAT_RAW);
  chain = chain_of (capture);
  name = string_property (child (capture, "cam-capture"), "camera-name");
  g_assert_cmpstr (chain, ==, "libcamerasrc ! capsfilter ! videoconvert ! capsfilter");
  g_assert_cmpstr (name, ==, "/base/imx219");
  assert_caps (child (capture, "cam-caps"), "video/x-raw,width=640,height=480,framerate=30/1");
}

static void
test_microphones (void)
{
  g_autoptr (RtcbotdConfig) alsa_config = NULL;
  g_autoptr (RtcbotdConfig) pulse_config = NULL;
  const RtcbotdSourceConfig *alsa = source_of (
      &alsa_config, "[source cam]\ntype = alsa\ndevice = hw:1,0\nrate = 44100\nchannels = 2\n");
  const RtcbotdSourceConfig *pulse = source_of (&pulse_config, "[source cam]\ntype = pulse\n");
  g_autoptr (RtcbotdCapture) a = build (alsa, NULL, FALSE, RTCBOTD_CAPTURE_FORMAT_RAW);
  g_autoptr (RtcbotdCapture) p = NULL;
  g_autofree char *chain = chain_of (a);
  g_autofree char *device = string_property (child (a, "cam-capture"), "device");
  g_autofree char *pulse_device = NULL;
  g_autofree char *pulse_chain = NULL;

  g_assert_cmpstr (chain, ==, "alsasrc ! capsfilter ! audioconvert ! audioresample");
  g_assert_cmpstr (device, ==, "hw:1,0");
  assert_caps (child (a, "cam-caps"), "audio/x-raw,rate=44100,channels=2");
  if (!gst_element_factory_find ("pulsesrc"))
    return;
  p = build (pulse, NULL, FALSE, RTCBOTD_CAPTURE_FORMAT_RAW);
  pulse_chain = chain_of (p);
  pulse_device = string_property (child (p, "cam-capture"), "device");
  g_assert_cmpstr (pulse_chain, ==, "pulsesrc ! capsfilter ! audioconvert ! audioresample");
  g_assert_null (pulse_device); /* the server's default source */
  assert_caps (child (p, "cam-caps"), "audio/x-raw,rate=48000,channels=1");
}

static void
test_test_sources (void)
{
  g_autoptr (RtcbotdConfig) video_config = NULL;
  g_autoptr (RtcbotdConfig) audio_config = NULL;
  const RtcbotdSourceConfig *video
      = source_of (&video_config, "[source cam]\ntype = test-video\nwidth = 320\nheight = 240\n");
  const RtcbotdSourceConfig *audio = source_of (&audio_config, "[source cam]\ntype = test-audio\n");
  g_autoptr (RtcbotdCapture) v = build (video, NULL, FALSE, RTCBOTD_CAPTURE_FORMAT_RAW);
  g_autoptr (RtcbotdCapture) a = build (audio, NULL, FALSE, RTCBOTD_CAPTURE_FORMAT_RAW);
  g_autofree char *video_chain = chain_of (v);
  g_autofree char *audio_chain = chain_of (a);

  g_assert_cmpstr (video_chain, ==, "videotestsrc ! capsfilter ! clockoverlay");
  assert_caps (child (v, "cam-caps"), "video/x-raw,format=I420,width=320,height=240,"
                                      "framerate=30/1");
  g_assert_cmpstr (audio_chain, ==, "audiotestsrc");
}

#define GST(media, fragment)                                                                       \
  "[source cam]\ntype = gst\nmedia = " media "\npipeline = " fragment "\n"

static void
test_gst (void)
{
  g_autoptr (RtcbotdConfig) raw_config = NULL;
  g_autoptr (RtcbotdConfig) h264_config = NULL;
  g_autoptr (RtcbotdConfig) audio_config = NULL;
  const RtcbotdSourceConfig *raw = source_of (
      &raw_config, GST ("video", "videotestsrc is-live=true ! video/x-raw,width=320,height=240"));
  const RtcbotdSourceConfig *h264
      = source_of (&h264_config, GST ("video", "videotestsrc ! x264enc ! h264parse"));
  const RtcbotdSourceConfig *audio = source_of (&audio_config, GST ("audio", "audiotestsrc"));
  g_autoptr (RtcbotdCapture) r = build (raw, NULL, FALSE, RTCBOTD_CAPTURE_FORMAT_RAW);
  g_autoptr (RtcbotdCapture) h = build (h264, NULL, FALSE, RTCBOTD_CAPTURE_FORMAT_RAW);
  g_autoptr (RtcbotdCapture) a = build (audio, NULL, FALSE, RTCBOTD_CAPTURE_FORMAT_RAW);
  g_autofree char *raw_chain = chain_of (r);
  g_autofree char *h264_chain = chain_of (h);
  g_autofree char *audio_chain = chain_of (a);
  g_autoptr (GError) error = NULL;
  gboolean is_h264 = TRUE;

  /* Raw video is converted to I420; H.264 passes; audio is converted and resampled. */
  g_assert_cmpstr (raw_chain, ==, "bin ! videoconvert ! capsfilter");
  g_assert_cmpstr (h264_chain, ==, "bin");
  g_assert_cmpstr (audio_chain, ==, "bin ! audioconvert ! audioresample");
  g_assert_true (rtcbotd_capture_decide (raw, &is_h264, &error));
  g_assert_false (is_h264);
  g_assert_true (rtcbotd_capture_decide (h264, &is_h264, &error));
  g_assert_true (is_h264);
  g_assert_true (rtcbotd_capture_decide (audio, &is_h264, &error));
  g_assert_false (is_h264);
  g_assert_no_error (error);
}

static void
assert_fragment_error (const char *fragment, const char *message)
{
  g_autofree char *text
      = g_strdup_printf ("[source thermal]\ntype = gst\npipeline = %s\n", fragment);
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (text);
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) decide_error = NULL;
  gboolean h264;

  g_assert_false (rtcbotd_capture_check_config (config, &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==, message);
  g_assert_false (rtcbotd_capture_decide (config->sources->pdata[0], &h264, &decide_error));
  g_assert_cmpstr (decide_error->message, ==, message);
}

/* Parse errors name the file, line, group and key. */
static void
test_gst_errors (void)
{
  assert_fragment_error ("thermalsrc ! videoconvert",
                         "test.conf:3: [source thermal] pipeline: no element \"thermalsrc\"");
  assert_fragment_error ("videotestsrc ! fakesink",
                         "test.conf:3: [source thermal] pipeline: has no open output: it ends "
                         "in a sink");
  assert_fragment_error ("queue ! videoconvert",
                         "test.conf:3: [source thermal] pipeline: its first element takes "
                         "input, which nothing gives it; start with a source element");
}

static gboolean
is_set (gpointer data)
{
  return *(char **)data != NULL;
}

static void
on_error (RtcbotdCapture *capture, const char *message, gpointer user_data)
{
  char **out = user_data;

  g_assert_null (*out); /* once */
  *out = g_strdup (message);
}

/* Runs the capture of the one source @text configures in a pipeline;
 * returns the error the capture reported. */
static char *
run_config (const char *text, gboolean *bus_saw_error)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (text);
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdCapture) capture
      = rtcbotd_capture_new (config->sources->pdata[0], "x", NULL, &error);
  g_autoptr (GstElement) pipeline = gst_object_ref_sink (gst_pipeline_new (NULL));
  g_autoptr (GstElement) sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstBus) bus = gst_pipeline_get_bus (GST_PIPELINE (pipeline));
  g_autoptr (GstMessage) message = NULL;
  char *reported = NULL;

  g_assert_no_error (error);
  gst_bin_add_many (GST_BIN (pipeline), GST_ELEMENT (capture), gst_object_ref (sink), NULL);
  g_assert_true (gst_element_link (GST_ELEMENT (capture), sink));
  rtcbotd_capture_set_error_func (capture, on_error, &reported);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_assert_true (rtcbotd_test_wait_until (is_set, &reported, 5000));
  rtcbotd_test_run_for (100); /* a second report would fail on_error */
  message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  *bus_saw_error = message != NULL;
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return reported;
}

static char *
run_failing (const char *fragment, gboolean *bus_saw_error)
{
  g_autofree char *text = g_strdup_printf ("[source x]\ntype = gst\npipeline = %s\n", fragment);

  return run_config (text, bus_saw_error);
}

/* The first error from inside the bin is reported once, on the main context,
 * and kept from the pipeline's bus; a stream that ends is a failure too. */
static void
test_error_report (void)
{
  gboolean bus_saw_error = TRUE;
  g_autofree char *missing = run_failing ("filesrc location=/nonexistent/x", &bus_saw_error);
  g_autofree char *ended = NULL;
  g_autofree char *microphone = NULL;

  g_assert_true (g_str_has_prefix (missing, "Resource not found. ("));
  g_assert_true (strstr (missing, "/nonexistent/x") != NULL);
  g_assert_false (bus_saw_error);
  ended = run_failing ("videotestsrc num-buffers=3", &bus_saw_error);
  g_assert_cmpstr (ended, ==, "the stream ended");
  /* A microphone that is not there (there are no sound cards here). */
  microphone = run_config ("[source x]\ntype = alsa\ndevice = hw:9,0\n", &bus_saw_error);
  g_assert_true (g_str_has_prefix (microphone, "Could not open audio device for recording. ("));
  g_assert_true (strstr (microphone, "hw:9,0") != NULL);
}

static void
test_labels (void)
{
  static const struct
  {
    const char *config;
    const char *label;
  } cases[] = {
    { V4L2 ("auto"), "v4l2 camera /dev/video9" },
    { "[source cam]\ntype = libcamera\n", "libcamera camera (the first)" },
    { "[source cam]\ntype = alsa\n", "alsa microphone default" },
    { "[source cam]\ntype = pulse\ndevice = mic1\n", "pulse microphone mic1" },
    { GST ("video", "videotestsrc"), "gst pipeline" },
    { "[source cam]\ntype = test-video\n", "test pattern" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (RtcbotdConfig) config = NULL;
      g_autofree char *label = rtcbotd_capture_label (source_of (&config, cases[i].config));
      g_assert_cmpstr (label, ==, cases[i].label);
    }
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/capture/v4l2/mjpeg", test_v4l2_mjpeg);
  g_test_add_func ("/capture/v4l2/raw", test_v4l2_raw);
  g_test_add_func ("/capture/v4l2/h264", test_v4l2_h264);
  g_test_add_func ("/capture/v4l2/auto", test_v4l2_auto);
  g_test_add_func ("/capture/v4l2/cannot", test_v4l2_cannot);
  g_test_add_func ("/capture/v4l2/missing", test_v4l2_missing);
  g_test_add_func ("/capture/libcamera", test_libcamera);
  g_test_add_func ("/capture/microphones", test_microphones);
  g_test_add_func ("/capture/test-sources", test_test_sources);
  g_test_add_func ("/capture/gst", test_gst);
  g_test_add_func ("/capture/gst-errors", test_gst_errors);
  g_test_add_func ("/capture/error-report", test_error_report);
  g_test_add_func ("/capture/labels", test_labels);
  return g_test_run ();
}
