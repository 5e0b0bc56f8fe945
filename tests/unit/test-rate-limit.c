/* test-rate-limit.c — the token bucket on a fake clock. */
#include "rtcbotd-rate-limit.h"

#define MS 1000 /* microseconds */

/* Takes @n tokens at time @now and returns how many passed. */
static guint
take (RtcbotdRateLimit *r, guint n, gint64 now)
{
  guint passed = 0;

  for (guint i = 0; i < n; i++)
    passed += rtcbotd_rate_limit_take (r, now);
  return passed;
}

static void
test_burst_then_rate (void)
{
  g_autoptr (RtcbotdRateLimit) r = rtcbotd_rate_limit_new (100, 10);

  /* Full at start: the burst passes at once, the rest is refused and counted. */
  g_assert_cmpuint (take (r, 25, 1000 * MS), ==, 10);
  g_assert_cmpuint (rtcbotd_rate_limit_get_refused (r), ==, 15);
  /* 100 a second: one token every 10 ms, none for less. */
  g_assert_cmpuint (take (r, 5, 1009 * MS), ==, 0);
  g_assert_cmpuint (take (r, 5, 1010 * MS), ==, 1);
  g_assert_cmpuint (take (r, 5, 1050 * MS), ==, 4);
  /* A steady flood gets the rate, whatever it sends. */
  {
    guint passed = 0;
    for (gint64 t = 2000; t < 3000; t++)
      passed += take (r, 10, t * MS); /* 10,000 a second */
    /* The bucket refilled (10) while idle, then 100 over the second. */
    g_assert_cmpuint (passed, >=, 105);
    g_assert_cmpuint (passed, <=, 111);
  }
  g_assert_cmpuint (rtcbotd_rate_limit_get_rate (r), ==, 100);
}

static void
test_refill_caps_at_burst (void)
{
  g_autoptr (RtcbotdRateLimit) r = rtcbotd_rate_limit_new (1000, 1000);

  g_assert_cmpuint (take (r, 1000, 1 * MS), ==, 1000);
  /* A long idle time (and a huge one) refills to the burst, not beyond. */
  g_assert_cmpuint (take (r, 2000, 60000 * MS), ==, 1000);
  g_assert_cmpuint (take (r, 2000, G_MAXINT64 / 2), ==, 1000);
  /* A clock that goes backwards gives nothing. */
  g_assert_cmpuint (take (r, 10, 5 * MS), ==, 0);
}

static void
test_unlimited (void)
{
  g_autoptr (RtcbotdRateLimit) r = rtcbotd_rate_limit_new (0, 0);

  g_assert_cmpuint (take (r, 100000, 1), ==, 100000);
  g_assert_cmpuint (rtcbotd_rate_limit_get_refused (r), ==, 0);
}

/* Gamepad-like traffic (60 Hz plus keys) never touches the default limit. */
static void
test_default_passes_control_traffic (void)
{
  g_autoptr (RtcbotdRateLimit) r = rtcbotd_rate_limit_new (1000, 1000);
  guint passed = 0;

  for (gint64 t = 0; t < 10000; t += 5) /* 200 a second for 10 s */
    passed += take (r, 1, 1 + t * MS);
  g_assert_cmpuint (passed, ==, 2000);
  g_assert_cmpuint (rtcbotd_rate_limit_get_refused (r), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rate-limit/burst-then-rate", test_burst_then_rate);
  g_test_add_func ("/rate-limit/refill-caps-at-burst", test_refill_caps_at_burst);
  g_test_add_func ("/rate-limit/unlimited", test_unlimited);
  g_test_add_func ("/rate-limit/default-passes-control-traffic",
                   test_default_passes_control_traffic);
  return g_test_run ();
}
