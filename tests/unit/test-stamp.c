/* test-stamp.c — the latency stamp: its exact pixels, reading it back, and a
 * stamped live frame surviving a VP8 encode and decode. */
#include <string.h>

#include "rtcbotd-stamp.h"
#include "test-utils.h"

#define UNTOUCHED 77

/* A writable I420 frame of @width x @height, every byte UNTOUCHED. */
static GstBuffer *
make_frame (guint width, guint height, GstVideoInfo *info, GstVideoFrame *frame)
{
  GstBuffer *buffer;

  g_assert_true (gst_video_info_set_format (info, GST_VIDEO_FORMAT_I420, width, height));
  buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  gst_buffer_memset (buffer, 0, UNTOUCHED, GST_VIDEO_INFO_SIZE (info));
  g_assert_true (gst_video_frame_map (frame, info, buffer, GST_MAP_READWRITE));
  return buffer;
}

static guint8
luma_at (GstVideoFrame *frame, guint x, guint y)
{
  const guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  return data[y * GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0) + x];
}

static guint8
chroma_at (GstVideoFrame *frame, guint plane, guint x, guint y)
{
  const guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, plane);
  return data[y * GST_VIDEO_FRAME_PLANE_STRIDE (frame, plane) + x];
}

static void
test_fits (void)
{
  g_assert_true (rtcbotd_stamp_fits (40));
  g_assert_true (rtcbotd_stamp_fits (640));
  g_assert_true (rtcbotd_stamp_fits (1280));
  g_assert_true (rtcbotd_stamp_fits (1920));
  g_assert_false (rtcbotd_stamp_fits (0));
  g_assert_false (rtcbotd_stamp_fits (20));
  g_assert_false (rtcbotd_stamp_fits (641));
  g_assert_false (rtcbotd_stamp_fits (1366));
}

/* Every pixel of the band at 640x480 (B = 16), for S = 0x80000001. */
static void
test_layout (void)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  g_autoptr (GstBuffer) buffer = make_frame (640, 480, &info, &frame);
  const guint b = 16;

  g_assert_true (rtcbotd_stamp_draw (&frame, 0x80000001u));
  for (guint y = 0; y < 2 * b; y++)
    for (guint x = 0; x < 640; x++)
      {
        guint k = x / b;
        gboolean white;
        guint8 want;

        if (k >= 34)
          {
            g_assert_cmpuint (luma_at (&frame, x, y), ==, 128);
            continue;
          }
        /* band A: block 0 white, 1 black, 2 (bit 31) and 33 (bit 0) white, others black */
        white = k == 0 || k == 2 || k == 33;
        if (y >= b)
          white = !white;
        want = white ? 235 : 16;
        if (luma_at (&frame, x, y) != want)
          g_error ("luma at (%u, %u) = %u, want %u", x, y, luma_at (&frame, x, y), want);
      }
  for (guint x = 0; x < 640; x++)
    g_assert_cmpuint (luma_at (&frame, x, 2 * b), ==, UNTOUCHED);
  for (guint plane = 1; plane <= 2; plane++)
    for (guint x = 0; x < 320; x++)
      {
        for (guint y = 0; y < b; y++)
          g_assert_cmpuint (chroma_at (&frame, plane, x, y), ==, 128);
        g_assert_cmpuint (chroma_at (&frame, plane, x, b), ==, UNTOUCHED);
      }
  gst_video_frame_unmap (&frame);
}

static void
test_round_trip (void)
{
  static const guint widths[] = { 40, 120, 640, 1280 };
  static const guint32 stamps[] = { 0, 1, 0xffffffffu, 0x80000000u, 0x5a5a5a5au, 1733053951u };

  for (guint w = 0; w < G_N_ELEMENTS (widths); w++)
    for (guint s = 0; s < G_N_ELEMENTS (stamps); s++)
      {
        GstVideoInfo info;
        GstVideoFrame frame;
        g_autoptr (GstBuffer) buffer = make_frame (widths[w], widths[w] * 3 / 4, &info, &frame);
        guint32 read = 0;

        g_assert_true (rtcbotd_stamp_draw (&frame, stamps[s]));
        g_assert_true (rtcbotd_stamp_read (&frame, &read));
        g_assert_cmphex (read, ==, stamps[s]);
        gst_video_frame_unmap (&frame);
      }
}

static void
test_no_stamp (void)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  g_autoptr (GstBuffer) buffer = make_frame (640, 480, &info, &frame);
  g_autoptr (GstBuffer) narrow = NULL;
  guint32 read = 42;

  g_assert_false (rtcbotd_stamp_read (&frame, &read)); /* a flat frame */
  g_assert_cmpuint (read, ==, 42);
  gst_video_frame_unmap (&frame);
  narrow = make_frame (620, 480, &info, &frame);
  g_assert_false (rtcbotd_stamp_draw (&frame, 1));
  g_assert_cmpuint (luma_at (&frame, 0, 0), ==, UNTOUCHED);
  g_assert_false (rtcbotd_stamp_read (&frame, &read));
  gst_video_frame_unmap (&frame);
}

/* The probe stamps live frames with the wall clock; a VP8 encode and decode
 * later the stamp still reads back, between the start of the test and now. */
static void
test_probe_encoded (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstElement) caps = NULL;
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstPad) pad = NULL;
  guint32 start = rtcbotd_stamp_now (), previous = 0;

  if (!gst_element_factory_find ("vp8enc") || !gst_element_factory_find ("vp8dec"))
    {
      g_test_skip ("vp8enc/vp8dec are not installed");
      return;
    }
  pipeline = gst_parse_launch ("videotestsrc is-live=true pattern=ball ! capsfilter name=caps "
                               "caps=video/x-raw,format=I420,width=640,height=480,framerate=30/1 "
                               "! vp8enc deadline=1 target-bitrate=1000000 ! vp8dec "
                               "! video/x-raw,format=I420 ! appsink name=sink sync=false",
                               &error);
  g_assert_no_error (error);
  caps = gst_bin_get_by_name (GST_BIN (pipeline), "caps");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (caps, "src");
  g_assert_cmpuint (rtcbotd_stamp_attach (pad), !=, 0);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  for (guint i = 0; i < 15; i++)
    {
      g_autoptr (GstSample) sample = NULL;
      GstVideoInfo info;
      GstVideoFrame frame;
      guint32 read = 0;

      g_signal_emit_by_name (sink, "try-pull-sample", 5 * GST_SECOND, &sample);
      g_assert_nonnull (sample);
      g_assert_true (gst_video_info_from_caps (&info, gst_sample_get_caps (sample)));
      g_assert_true (
          gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ));
      g_assert_true (rtcbotd_stamp_read (&frame, &read));
      gst_video_frame_unmap (&frame);
      /* differences, not values: S wraps every 49.7 days */
      g_assert_cmpuint (read - start, <=, rtcbotd_stamp_now () - start);
      g_assert_cmpuint (read - previous, >, 0);
      g_assert_true (i == 0 || read - previous < 1000);
      previous = read;
    }
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stamp/fits", test_fits);
  g_test_add_func ("/stamp/layout", test_layout);
  g_test_add_func ("/stamp/round-trip", test_round_trip);
  g_test_add_func ("/stamp/no-stamp", test_no_stamp);
  g_test_add_func ("/stamp/probe-encoded", test_probe_encoded);
  return g_test_run ();
}
