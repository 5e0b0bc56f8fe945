/* test-encoder.c — which encoder each `encoder =` choice builds, with what
 * settings, and the errors when it is not there; a fake registry stands in
 * for a Raspberry Pi. */
#include <string.h>

#include "rtcbotd-encoder.h"
#include "rtcbotd-error.h"
#include "test-utils.h"

static const char *const pi[] = { "v4l2h264enc", "x264enc", "openh264enc", "vp8enc", NULL };
static const char *const no_hw[] = { "x264enc", "openh264enc", "vp8enc", NULL };
static const char *const openh264_vp8[] = { "openh264enc", "vp8enc", NULL };
static const char *const vp8_only[] = { "vp8enc", NULL };
static const char *const nothing[] = { NULL };

/* A registry holding exactly the factories in @user_data (a NULL-terminated list). */
static gboolean
fake_registry (const char *factory, gpointer user_data)
{
  return g_strv_contains (user_data, factory);
}

/* The real registry, asked for "NAME-not-installed" instead of the factories
 * in @user_data: a miss exactly as on a machine without them. */
static gboolean
registry_without (const char *factory, gpointer user_data)
{
  g_autofree char *missing = g_strdup_printf ("%s-not-installed", factory);

  return rtcbotd_encoder_usable (g_strv_contains (user_data, factory) ? missing : factory, NULL);
}

static RtcbotdConfig *
load (const char *encoder, const char *extra)
{
  g_autofree char *text = g_strdup_printf ("[source cam]\ntype = test-video\nencoder = %s\n%s"
                                           "[route video]\nfrom = cam\nto = peers\n",
                                           encoder, extra);
  return rtcbotd_test_config_ok (text);
}

static gboolean
installed (const char *const *factories)
{
  for (guint i = 0; factories[i]; i++)
    if (!rtcbotd_encoder_usable (factories[i], NULL))
      return FALSE;
  return TRUE;
}

/* Hardware first, then x264, openh264; VP8 only by vp8enc. */
static void
test_preference (void)
{
#define PICK(configured, codec, registry)                                                          \
  rtcbotd_encoder_pick_with (RTCBOTD_ENCODER_##configured, RTCBOTD_CODEC_##codec, fake_registry,   \
                             (gpointer)registry)
  g_assert_cmpint (PICK (AUTO, H264, pi), ==, RTCBOTD_ENCODER_H264_HW);
  g_assert_cmpint (PICK (AUTO, H264, no_hw), ==, RTCBOTD_ENCODER_X264);
  g_assert_cmpint (PICK (AUTO, H264, openh264_vp8), ==, RTCBOTD_ENCODER_OPENH264);
  g_assert_cmpint (PICK (AUTO, H264, vp8_only), ==, RTCBOTD_ENCODER_AUTO);
  g_assert_cmpint (PICK (AUTO, VP8, pi), ==, RTCBOTD_ENCODER_VP8);
  g_assert_cmpint (PICK (AUTO, VP8, openh264_vp8), ==, RTCBOTD_ENCODER_VP8);
  /* An explicit choice takes only itself, and only for its own codec. */
  g_assert_cmpint (PICK (X264, H264, pi), ==, RTCBOTD_ENCODER_X264);
  g_assert_cmpint (PICK (X264, VP8, pi), ==, RTCBOTD_ENCODER_AUTO);
  g_assert_cmpint (PICK (X264, H264, openh264_vp8), ==, RTCBOTD_ENCODER_AUTO);
  g_assert_cmpint (PICK (H264_HW, H264, pi), ==, RTCBOTD_ENCODER_H264_HW);
  g_assert_cmpint (PICK (H264_HW, H264, no_hw), ==, RTCBOTD_ENCODER_AUTO);
  g_assert_cmpint (PICK (VP8, H264, pi), ==, RTCBOTD_ENCODER_AUTO);
  g_assert_cmpint (PICK (VP8, VP8, vp8_only), ==, RTCBOTD_ENCODER_VP8);
#undef PICK
}

/* Real factories reported missing fall through the list the same way. */
static void
test_registry_miss (void)
{
  const char *const no_x264[] = { "v4l2h264enc", "x264enc", NULL };

  if (!installed (no_hw))
    {
      g_test_skip ("needs x264enc, openh264enc and vp8enc");
      return;
    }
  g_assert_false (rtcbotd_encoder_usable ("x264enc-not-installed", NULL));
  g_assert_cmpint (rtcbotd_encoder_pick_with (RTCBOTD_ENCODER_AUTO, RTCBOTD_CODEC_H264,
                                              registry_without, (gpointer)no_x264),
                   ==, RTCBOTD_ENCODER_OPENH264);
  /* This machine has no Pi encoder: auto is x264 here. */
  if (!rtcbotd_encoder_usable ("v4l2h264enc", NULL))
    g_assert_cmpint (rtcbotd_encoder_pick (RTCBOTD_ENCODER_AUTO, RTCBOTD_CODEC_H264), ==,
                     RTCBOTD_ENCODER_X264);
}

static void
expect_choice (const char *encoder, const char *const *registry, RtcbotdCodec preferred,
               RtcbotdEncoder h264, RtcbotdEncoder vp8)
{
  g_autoptr (RtcbotdConfig) config = load (encoder, "");
  RtcbotdEncoder encoders[RTCBOTD_ENCODER_N_CODECS];
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (rtcbotd_encoder_choose (rtcbotd_config_find_source (config, "cam"),
                                           fake_registry, (gpointer)registry, encoders, &error),
                   ==, preferred);
  g_assert_no_error (error);
  g_assert_cmpint (encoders[RTCBOTD_CODEC_H264], ==, h264);
  g_assert_cmpint (encoders[RTCBOTD_CODEC_VP8], ==, vp8);
  g_assert_cmpint (encoders[RTCBOTD_CODEC_OPUS], ==, RTCBOTD_ENCODER_AUTO);
}

static void
expect_error (const char *encoder, RtcbotdEncoderProbe probe, gconstpointer registry,
              const char *message)
{
  g_autoptr (RtcbotdConfig) config = load (encoder, "");
  RtcbotdEncoder encoders[RTCBOTD_ENCODER_N_CODECS];
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (rtcbotd_encoder_choose (rtcbotd_config_find_source (config, "cam"), probe,
                                           (gpointer)registry, encoders, &error),
                   ==, RTCBOTD_CODEC_NONE);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_choose (void)
{
  expect_choice ("auto", pi, RTCBOTD_CODEC_H264, RTCBOTD_ENCODER_H264_HW, RTCBOTD_ENCODER_VP8);
  expect_choice ("auto", no_hw, RTCBOTD_CODEC_H264, RTCBOTD_ENCODER_X264, RTCBOTD_ENCODER_VP8);
  expect_choice ("auto", vp8_only, RTCBOTD_CODEC_VP8, RTCBOTD_ENCODER_AUTO, RTCBOTD_ENCODER_VP8);
  expect_choice ("openh264", pi, RTCBOTD_CODEC_H264, RTCBOTD_ENCODER_OPENH264,
                 RTCBOTD_ENCODER_AUTO);
  expect_choice ("vp8", pi, RTCBOTD_CODEC_VP8, RTCBOTD_ENCODER_AUTO, RTCBOTD_ENCODER_VP8);
  expect_choice ("h264-hw", pi, RTCBOTD_CODEC_H264, RTCBOTD_ENCODER_H264_HW, RTCBOTD_ENCODER_AUTO);
}

/* An encoder that is configured but missing names the source, the key and what is there. */
static void
test_choose_errors (void)
{
  const char *const x264[] = { "x264enc", NULL };

  expect_error ("x264", fake_registry, openh264_vp8,
                "[source cam] encoder: x264 (the GStreamer element x264enc) is not installed; "
                "installed: openh264, vp8");
  expect_error ("h264-hw", fake_registry, no_hw,
                "[source cam] encoder: h264-hw (the GStreamer element v4l2h264enc) is not "
                "installed or cannot open its device; installed: x264, openh264, vp8");
  expect_error ("vp8", fake_registry, nothing,
                "[source cam] encoder: vp8 (the GStreamer element vp8enc) is not installed; "
                "installed: none");
  expect_error ("auto", fake_registry, nothing,
                "[source cam] encoder: auto found no H.264 or VP8 encoder (tried v4l2h264enc, "
                "x264enc, openh264enc, vp8enc)");
  if (installed (no_hw))
    expect_error ("x264", registry_without, x264,
                  "[source cam] encoder: x264 (the GStreamer element x264enc) is not "
                  "installed; installed: openh264, vp8");
}

/* The bin's element named "encoder", checked to be made by @factory. */
static GstElement *
encoder_of (GstElement *bin, const char *factory)
{
  GstElement *encoder = gst_bin_get_by_name (GST_BIN (bin), "encoder");

  g_assert_nonnull (encoder);
  g_assert_cmpstr (GST_OBJECT_NAME (gst_element_get_factory (encoder)), ==, factory);
  return encoder;
}

/* Returns a new bin for @codec via @encoder of the source in @config. */
static GstElement *
make (RtcbotdConfig *config, RtcbotdCodec codec, RtcbotdEncoder encoder)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin
      = rtcbotd_encoder_make (codec, encoder, rtcbotd_config_find_source (config, "cam"), &error);

  g_assert_no_error (error);
  return gst_object_ref_sink (bin);
}

static gint
get_int (GstElement *element, const char *property)
{
  GValue value = G_VALUE_INIT;
  gint result;

  g_value_init (&value, G_TYPE_INT64);
  g_object_get_property (G_OBJECT (element), property, &value);
  result = g_value_get_int64 (&value);
  g_value_unset (&value);
  return result;
}

static void
test_x264_bin (void)
{
  g_autoptr (RtcbotdConfig) config = load ("x264", "bitrate = 900\nkeyframe-interval = 45\n");
  g_autoptr (GstElement) bin = NULL;
  g_autoptr (GstElement) enc = NULL;
  g_autoptr (GstElement) parse = NULL;
  guint bitrate, key_int, bframes, tune;
  gint preset;

  if (!rtcbotd_encoder_usable ("x264enc", NULL))
    {
      g_test_skip ("x264enc is not installed");
      return;
    }
  bin = make (config, RTCBOTD_CODEC_H264, RTCBOTD_ENCODER_X264);
  enc = encoder_of (bin, "x264enc");
  g_object_get (enc, "bitrate", &bitrate, "key-int-max", &key_int, "bframes", &bframes, "tune",
                &tune, "speed-preset", &preset, NULL);
  g_assert_cmpuint (bitrate, ==, 900);
  g_assert_cmpuint (key_int, ==, 45);
  g_assert_cmpuint (bframes, ==, 0);
  g_assert_cmpuint (tune, ==, 4);  /* zerolatency (the only flag) */
  g_assert_cmpint (preset, ==, 1); /* ultrafast */
  parse = gst_bin_get_by_name (GST_BIN (bin), "h264parse0");
  g_assert_nonnull (parse);
  g_assert_cmpint (get_int (parse, "config-interval"), ==, -1);
  /* min-peer changes the running encoder's bitrate. */
  rtcbotd_encoder_set_bitrate (bin, RTCBOTD_ENCODER_X264, 250);
  g_object_get (enc, "bitrate", &bitrate, NULL);
  g_assert_cmpuint (bitrate, ==, 250);
}

static void
test_openh264_bin (void)
{
  g_autoptr (RtcbotdConfig) config = load ("openh264", "bitrate = 900\nkeyframe-interval = 45\n");
  g_autoptr (GstElement) bin = NULL;
  g_autoptr (GstElement) enc = NULL;
  guint bitrate, gop;

  if (!rtcbotd_encoder_usable ("openh264enc", NULL))
    {
      g_test_skip ("openh264enc is not installed");
      return;
    }
  bin = make (config, RTCBOTD_CODEC_H264, RTCBOTD_ENCODER_OPENH264);
  enc = encoder_of (bin, "openh264enc");
  g_object_get (enc, "bitrate", &bitrate, "gop-size", &gop, NULL);
  g_assert_cmpuint (bitrate, ==, 900000);
  g_assert_cmpuint (gop, ==, 45);
  rtcbotd_encoder_set_bitrate (bin, RTCBOTD_ENCODER_OPENH264, 250);
  g_object_get (enc, "bitrate", &bitrate, NULL);
  g_assert_cmpuint (bitrate, ==, 250000);
}

static void
test_vp8_bin (void)
{
  g_autoptr (RtcbotdConfig) config = load ("vp8", "bitrate = 900\nkeyframe-interval = 45\n");
  g_autoptr (GstElement) bin = NULL;
  g_autoptr (GstElement) enc = NULL;
  gint bitrate, cpu_used, lag, max_dist;
  gint64 deadline;

  if (!rtcbotd_encoder_usable ("vp8enc", NULL))
    {
      g_test_skip ("vp8enc is not installed");
      return;
    }
  bin = make (config, RTCBOTD_CODEC_VP8, RTCBOTD_ENCODER_VP8);
  enc = encoder_of (bin, "vp8enc");
  g_object_get (enc, "target-bitrate", &bitrate, "cpu-used", &cpu_used, "lag-in-frames", &lag,
                "keyframe-max-dist", &max_dist, "deadline", &deadline, NULL);
  g_assert_cmpint (bitrate, ==, 900000);
  g_assert_cmpint (cpu_used, ==, 16);
  g_assert_cmpint (lag, ==, 0);
  g_assert_cmpint (max_dist, ==, 45);
  g_assert_cmpint (deadline, ==, 1);
  rtcbotd_encoder_set_bitrate (bin, RTCBOTD_ENCODER_VP8, 250);
  g_object_get (enc, "target-bitrate", &bitrate, NULL);
  g_assert_cmpint (bitrate, ==, 250000);
}

/* Every H.264 encoder ends in byte-stream access units, whoever is linked to
 * its tee when it negotiates (an avc-preferring payloader made h264parse
 * switch the stream for every consumer). */
static void
test_h264_output_fixed (void)
{
  g_autoptr (RtcbotdConfig) config = load ("auto", "");
  const RtcbotdSourceConfig *c = rtcbotd_config_find_source (config, "cam");
  const RtcbotdEncoder encoders[]
      = { RTCBOTD_ENCODER_H264_HW, RTCBOTD_ENCODER_X264, RTCBOTD_ENCODER_OPENH264 };

  for (guint i = 0; i < G_N_ELEMENTS (encoders); i++)
    {
      g_autofree char *text = rtcbotd_encoder_describe (RTCBOTD_CODEC_H264, encoders[i], c);
      g_assert_true (g_str_has_suffix (text, "! " RTCBOTD_ENCODER_H264_OUTPUT));
    }
}

/* No Pi here: the description is checked as text, and its extra-controls as
 * the GstStructure v4l2h264enc will be given. */
static void
test_h264_hw_description (void)
{
  g_autoptr (RtcbotdConfig) config = load ("h264-hw", "bitrate = 2000\nkeyframe-interval = 30\n");
  const RtcbotdSourceConfig *c = rtcbotd_config_find_source (config, "cam");
  g_autofree char *text = rtcbotd_encoder_describe (RTCBOTD_CODEC_H264, RTCBOTD_ENCODER_H264_HW, c);
  g_autofree char *summary
      = rtcbotd_encoder_summary (RTCBOTD_CODEC_H264, RTCBOTD_ENCODER_H264_HW, c);
  const char *quote = strchr (text, '"');
  g_autofree char *controls_text = NULL;
  g_autoptr (GstStructure) controls = NULL;
  gint value;

  g_assert_true (g_str_has_prefix (text, "v4l2h264enc name=encoder extra-controls=\""));
  g_assert_nonnull (strstr (text, "\" ! video/x-h264,level=(string)4,"
                                  "profile=constrained-baseline ! h264parse config-interval=-1"));
  g_assert_nonnull (quote);
  controls_text = g_strndup (quote + 1, strchr (quote + 1, '"') - quote - 1);
  controls = gst_structure_from_string (controls_text, NULL);
  g_assert_nonnull (controls);
  g_assert_true (gst_structure_get_int (controls, "video_bitrate", &value) && value == 2000000);
  g_assert_true (gst_structure_get_int (controls, "repeat_sequence_header", &value) && value == 1);
  g_assert_true (gst_structure_get_int (controls, "h264_i_frame_period", &value) && value == 30);
  g_assert_true (gst_structure_get_int (controls, "h264_profile", &value) && value == 1);
  g_assert_true (gst_structure_get_int (controls, "h264_level", &value) && value == 11);
  g_assert_cmpstr (summary, ==,
                   "v4l2h264enc (hardware, constrained baseline, level 4, key-int 30, 2000 "
                   "kbit/s) → H.264");
  if (!rtcbotd_encoder_usable ("v4l2h264enc", NULL))
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (rtcbotd_encoder_make (RTCBOTD_CODEC_H264, RTCBOTD_ENCODER_H264_HW, c, &error));
      g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA);
      g_assert_nonnull (strstr (error->message, "v4l2h264enc"));
    }
}

/* The start-up log line's encoder part. */
static void
test_summary (void)
{
  g_autoptr (RtcbotdConfig) fixed = load ("auto", "");
  g_autoptr (RtcbotdConfig) min_peer = load ("auto", "bitrate-mode = min-peer\nbitrate = 800\n");
  g_autofree char *x264 = rtcbotd_encoder_summary (RTCBOTD_CODEC_H264, RTCBOTD_ENCODER_X264,
                                                   rtcbotd_config_find_source (fixed, "cam"));
  g_autofree char *vp8 = rtcbotd_encoder_summary (RTCBOTD_CODEC_VP8, RTCBOTD_ENCODER_VP8,
                                                  rtcbotd_config_find_source (min_peer, "cam"));

  g_assert_cmpstr (x264, ==, "x264enc (zerolatency, ultrafast, key-int 60, 1500 kbit/s) → H.264");
  g_assert_cmpstr (vp8, ==,
                   "vp8enc (realtime, cpu-used 16, error-resilient, no lag, key-int 60, 800 "
                   "kbit/s or the slowest viewer's estimate) → VP8");
}

int
main (int argc, char *argv[])
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/encoder/preference", test_preference);
  g_test_add_func ("/encoder/registry-miss", test_registry_miss);
  g_test_add_func ("/encoder/choose", test_choose);
  g_test_add_func ("/encoder/choose-errors", test_choose_errors);
  g_test_add_func ("/encoder/bin/x264", test_x264_bin);
  g_test_add_func ("/encoder/bin/openh264", test_openh264_bin);
  g_test_add_func ("/encoder/bin/vp8", test_vp8_bin);
  g_test_add_func ("/encoder/bin/h264-hw", test_h264_hw_description);
  g_test_add_func ("/encoder/h264-output", test_h264_output_fixed);
  g_test_add_func ("/encoder/summary", test_summary);
  return g_test_run ();
}
