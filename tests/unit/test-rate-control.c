/* test-rate-control.c — min-peer bitrate: follows the slowest viewer, smoothly, on a fake clock. */
#include "rtcbotd-rate-control.h"

#define S G_USEC_PER_SEC

/* Runs one update a second from @from to @to (seconds) and returns the target. */
static guint
run (RtcbotdRateControl *rc, gint64 from, gint64 to)
{
  for (gint64 t = from; t <= to; t++)
    rtcbotd_rate_control_update (rc, t * S);
  return rtcbotd_rate_control_get_target (rc);
}

static void
test_follows_slowest (void)
{
  g_autoptr (RtcbotdRateControl) rc = rtcbotd_rate_control_new (1500, 100);
  int a, b;

  g_assert_cmpuint (rtcbotd_rate_control_get_target (rc), ==, 1500);
  g_assert_false (rtcbotd_rate_control_update (rc, 1 * S));
  rtcbotd_rate_control_set_estimate (rc, &a, 3000, 1 * S);
  rtcbotd_rate_control_set_estimate (rc, &b, 400, 1 * S);
  /* Down at once, to the slowest; never above the configured bitrate. */
  g_assert_true (rtcbotd_rate_control_update (rc, 1 * S));
  g_assert_cmpuint (rtcbotd_rate_control_get_target (rc), ==, 400);
  /* Never below the floor. */
  rtcbotd_rate_control_set_estimate (rc, &b, 20, 2 * S);
  g_assert_cmpuint (run (rc, 2, 2), ==, 100);
  /* The slow viewer leaves: nobody else limits below 1500, but a's estimate
   * is fresh, so the target climbs in steps of at most 15 %. */
  rtcbotd_rate_control_set_estimate (rc, &b, 0, 3 * S);
  g_assert_cmpuint (run (rc, 3, 4), ==, 100); /* held 3 s after the step down */
  g_assert_cmpuint (run (rc, 5, 5), ==, 114);
  g_assert_cmpuint (run (rc, 6, 6), ==, 131);
  rtcbotd_rate_control_set_estimate (rc, &a, 3000, 7 * S);
  g_assert_cmpuint (run (rc, 8, 17), <, 1500);
  rtcbotd_rate_control_set_estimate (rc, &a, 3000, 17 * S);
  g_assert_cmpuint (run (rc, 18, 30), ==, 1500);
}

/* No viewer reports any more (the only slow one left, or its reports went
 * stale): straight back to the configured bitrate. */
static void
test_back_when_nobody_limits (void)
{
  g_autoptr (RtcbotdRateControl) rc = rtcbotd_rate_control_new (1500, 100);
  int a;

  rtcbotd_rate_control_set_estimate (rc, &a, 300, 0);
  g_assert_cmpuint (run (rc, 0, 0), ==, 300);
  rtcbotd_rate_control_set_estimate (rc, &a, 0, 1 * S);
  g_assert_cmpuint (run (rc, 1, 1), ==, 1500);
  rtcbotd_rate_control_set_estimate (rc, &a, 300, 2 * S);
  g_assert_cmpuint (run (rc, 2, 2), ==, 300);
  g_assert_cmpuint (run (rc, 3, 12), ==, 300); /* still fresh at 10 s */
  g_assert_cmpuint (run (rc, 13, 13), ==, 1500);
}

/* At most one change a second, and noise within 5 % changes nothing. */
static void
test_no_oscillation (void)
{
  g_autoptr (RtcbotdRateControl) rc = rtcbotd_rate_control_new (1500, 100);
  int a;
  guint changes = 0;

  rtcbotd_rate_control_set_estimate (rc, &a, 800, 0);
  g_assert_true (rtcbotd_rate_control_update (rc, 0));
  rtcbotd_rate_control_set_estimate (rc, &a, 500, S / 2);
  g_assert_false (rtcbotd_rate_control_update (rc, S / 2));
  g_assert_true (rtcbotd_rate_control_update (rc, S));
  g_assert_cmpuint (rtcbotd_rate_control_get_target (rc), ==, 500);
  /* A report jittering ±4 % around 500 for a minute: the target stays. */
  for (gint64 t = 2; t < 62; t++)
    {
      rtcbotd_rate_control_set_estimate (rc, &a, t % 2 ? 520 : 480, t * S);
      changes += rtcbotd_rate_control_update (rc, t * S);
    }
  g_assert_cmpuint (changes, ==, 0);
  g_assert_cmpuint (rtcbotd_rate_control_get_target (rc), ==, 500);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rate-control/follows-slowest", test_follows_slowest);
  g_test_add_func ("/rate-control/back-when-nobody-limits", test_back_when_nobody_limits);
  g_test_add_func ("/rate-control/no-oscillation", test_no_oscillation);
  return g_test_run ();
}
