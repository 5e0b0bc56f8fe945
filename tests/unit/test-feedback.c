/* test-feedback.c — REMB parsing: what Chromium and aiortc send, and what is not REMB. */
#include "rtcbotd-feedback.h"

static void
test_parse_remb (void)
{
  /* aiortc's pack_remb_fci(300000, [0x12345678]): mantissa 150000, exponent 1. */
  static const guint8 one[] = { 'R', 'E', 'M', 'B', 1, 0x06, 0x49, 0xf0, 0x12, 0x34, 0x56, 0x78 };
  /* Two SSRCs, 1 Gbit/s-ish: mantissa 0x3ffff, exponent 12. */
  static const guint8 two[]
      = { 'R', 'E', 'M', 'B', 2, (12 << 2) | 3, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 2 };
  g_autoptr (GArray) ssrcs = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint64 bitrate = 0;

  g_assert_true (rtcbotd_feedback_parse_remb (one, sizeof one, &bitrate, ssrcs));
  g_assert_cmpuint (bitrate, ==, 300000);
  g_assert_cmpuint (ssrcs->len, ==, 1);
  g_assert_cmpuint (g_array_index (ssrcs, guint32, 0), ==, 0x12345678);
  g_array_set_size (ssrcs, 0);
  g_assert_true (rtcbotd_feedback_parse_remb (two, sizeof two, &bitrate, ssrcs));
  g_assert_cmpuint (bitrate, ==, (guint64)0x3ffff << 12);
  g_assert_cmpuint (ssrcs->len, ==, 2);
  g_assert_cmpuint (g_array_index (ssrcs, guint32, 1), ==, 2);
  /* No SSRC list wanted. */
  g_assert_true (rtcbotd_feedback_parse_remb (one, sizeof one, &bitrate, NULL));
}

/* Peer data: short, lying about its SSRC count, or another application's
 * feedback is refused, never read past its end. */
static void
test_parse_not_remb (void)
{
  static const guint8 short_count[] = { 'R', 'E', 'M', 'B', 2, 0x06, 0x49, 0xf0, 0, 0, 0, 1 };
  static const guint8 other[] = { 'G', 'O', 'O', 'G', 0, 0, 0, 0 };
  static const guint8 huge[] = { 'R', 'E', 'M', 'B', 0, 0xff, 0xff, 0xff };
  guint64 bitrate = 0;

  g_assert_false (rtcbotd_feedback_parse_remb (short_count, sizeof short_count, &bitrate, NULL));
  g_assert_false (rtcbotd_feedback_parse_remb (other, sizeof other, &bitrate, NULL));
  g_assert_false (rtcbotd_feedback_parse_remb (short_count, 7, &bitrate, NULL));
  g_assert_true (rtcbotd_feedback_parse_remb (huge, sizeof huge, &bitrate, NULL));
  g_assert_cmpuint (bitrate, ==, G_MAXUINT64); /* exponent 63: saturates, no overflow */
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/feedback/parse-remb", test_parse_remb);
  g_test_add_func ("/feedback/parse-not-remb", test_parse_not_remb);
  return g_test_run ();
}
