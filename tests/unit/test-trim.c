/* test-trim.c — the trim after peers leave: at once, and once more after a pause. */
#include "rtcbotd-trim.h"

#include "test-utils.h"

#define DELAY_MS 100

static gboolean
trim_done (gpointer data)
{
  return !rtcbotd_trim_is_pending (data);
}

static void
test_now_and_later (void)
{
  g_autoptr (RtcbotdTrim) t = rtcbotd_trim_new (DELAY_MS);
  gint64 called;

  g_assert_cmpuint (rtcbotd_trim_get_count (t), ==, 0);
  g_assert_false (rtcbotd_trim_is_pending (t));
  called = g_get_monotonic_time ();
  rtcbotd_trim_after_peer (t);
  g_assert_cmpuint (rtcbotd_trim_get_count (t), ==, 1); /* at once */
  g_assert_true (rtcbotd_trim_is_pending (t));
  g_assert_true (rtcbotd_test_wait_until (trim_done, t, 5000));
  g_assert_cmpuint (rtcbotd_trim_get_count (t), ==, 2); /* and once later */
  g_assert_cmpint (g_get_monotonic_time () - called, >=, DELAY_MS * 1000);
  /* Nothing more after that. */
  rtcbotd_test_run_for (DELAY_MS * 2);
  g_assert_cmpuint (rtcbotd_trim_get_count (t), ==, 2);
}

static void
test_waits_for_the_last_peer (void)
{
  g_autoptr (RtcbotdTrim) t = rtcbotd_trim_new (DELAY_MS);
  gint64 last;

  rtcbotd_trim_after_peer (t);
  rtcbotd_test_run_for (DELAY_MS / 2);
  last = g_get_monotonic_time ();
  rtcbotd_trim_after_peer (t);
  g_assert_cmpuint (rtcbotd_trim_get_count (t), ==, 2); /* each at once */
  g_assert_true (rtcbotd_test_wait_until (trim_done, t, 5000));
  /* One deferred trim for both, a full delay after the second peer left. */
  g_assert_cmpuint (rtcbotd_trim_get_count (t), ==, 3);
  g_assert_cmpint (g_get_monotonic_time () - last, >=, DELAY_MS * 1000);
}

static void
test_free_cancels (void)
{
  RtcbotdTrim *t = rtcbotd_trim_new (DELAY_MS / 4);

  rtcbotd_trim_after_peer (t);
  g_assert_true (rtcbotd_trim_is_pending (t));
  rtcbotd_trim_free (t);
  /* The deferred trim's timeout went with it (valgrind/ASan would see it fire). */
  rtcbotd_test_run_for (DELAY_MS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/trim/now-and-later", test_now_and_later);
  g_test_add_func ("/trim/waits-for-the-last-peer", test_waits_for_the_last_peer);
  g_test_add_func ("/trim/free-cancels", test_free_cancels);
  return g_test_run ();
}
