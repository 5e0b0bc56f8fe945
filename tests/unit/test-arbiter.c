/* test-arbiter.c — who drives: single and shared control, take-control, hand-over. */
#include "rtcbotd-arbiter.h"
#include "rtcbotd-error.h"

static void
test_single (void)
{
  g_autoptr (RtcbotdArbiter) a = rtcbotd_arbiter_new (RTCBOTD_CONTROL_SINGLE, NULL);

  g_assert_true (rtcbotd_arbiter_is_single (a));
  g_assert_cmpuint (rtcbotd_arbiter_get_driver (a), ==, 0);
  g_assert_false (rtcbotd_arbiter_may_drive (a, 1));
  /* The first peer drives, the later ones watch. */
  g_assert_true (rtcbotd_arbiter_add (a, 1));
  g_assert_true (rtcbotd_arbiter_add (a, 2));
  g_assert_true (rtcbotd_arbiter_add (a, 3));
  g_assert_false (rtcbotd_arbiter_add (a, 1)); /* again: no change */
  g_assert_false (rtcbotd_arbiter_add (a, 0));
  g_assert_cmpuint (rtcbotd_arbiter_get_driver (a), ==, 1);
  g_assert_cmpstr (rtcbotd_arbiter_get_role (a, 1), ==, "driver");
  g_assert_cmpstr (rtcbotd_arbiter_get_role (a, 2), ==, "viewer");
  /* A viewer leaving changes nothing; the driver leaving hands over to
   * the peer that waited longest. */
  g_assert_cmpuint (rtcbotd_arbiter_remove (a, 2), ==, 0);
  g_assert_cmpuint (rtcbotd_arbiter_remove (a, 1), ==, 3);
  g_assert_true (rtcbotd_arbiter_may_drive (a, 3));
  g_assert_cmpuint (rtcbotd_arbiter_remove (a, 3), ==, 0);
  g_assert_cmpuint (rtcbotd_arbiter_get_driver (a), ==, 0);
  g_assert_cmpuint (rtcbotd_arbiter_remove (a, 42), ==, 0);
}

static void
test_shared (void)
{
  g_autoptr (RtcbotdArbiter) a = rtcbotd_arbiter_new (RTCBOTD_CONTROL_SHARED, "t");
  g_autoptr (GError) error = NULL;
  guint previous = 9;

  g_assert_false (rtcbotd_arbiter_is_single (a));
  g_assert_true (rtcbotd_arbiter_add (a, 1));
  g_assert_true (rtcbotd_arbiter_add (a, 2));
  g_assert_true (rtcbotd_arbiter_may_drive (a, 7)); /* even before it is added */
  g_assert_cmpuint (rtcbotd_arbiter_get_driver (a), ==, 0);
  g_assert_true (rtcbotd_arbiter_take (a, 2, NULL, &previous, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (previous, ==, 0);
  g_assert_cmpuint (rtcbotd_arbiter_remove (a, 1), ==, 0);
}

static void
test_take (void)
{
  g_autoptr (RtcbotdArbiter) a = rtcbotd_arbiter_new (RTCBOTD_CONTROL_SINGLE, "s3cret");
  g_autoptr (RtcbotdArbiter) no_token = rtcbotd_arbiter_new (RTCBOTD_CONTROL_SINGLE, NULL);
  g_autoptr (GError) error = NULL;
  guint previous;

  rtcbotd_arbiter_add (a, 1);
  rtcbotd_arbiter_add (a, 2);
  g_assert_false (rtcbotd_arbiter_take (a, 2, "wrong", &previous, &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "control not taken: wrong or missing token");
  g_clear_error (&error);
  g_assert_false (rtcbotd_arbiter_take (a, 2, NULL, &previous, &error));
  g_clear_error (&error);
  g_assert_true (rtcbotd_arbiter_take (a, 2, "s3cret", &previous, &error));
  g_assert_cmpuint (previous, ==, 1);
  g_assert_true (rtcbotd_arbiter_may_drive (a, 2));
  g_assert_false (rtcbotd_arbiter_may_drive (a, 1));
  /* Taking it again is no change. */
  g_assert_true (rtcbotd_arbiter_take (a, 2, "s3cret", &previous, &error));
  g_assert_cmpuint (previous, ==, 0);
  /* The new driver leaving hands back to the first. */
  g_assert_cmpuint (rtcbotd_arbiter_remove (a, 2), ==, 1);

  rtcbotd_arbiter_add (no_token, 1);
  g_assert_false (rtcbotd_arbiter_take (no_token, 2, "x", &previous, &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_UNSUPPORTED);
  g_assert_cmpstr (error->message, ==, "control cannot be taken: the robot has no control-token");
}

/* A reload may switch modes: single gets a driver at once, shared has none,
 * and a new token replaces the old one. */
static void
test_reconfigure (void)
{
  g_autoptr (RtcbotdArbiter) a = rtcbotd_arbiter_new (RTCBOTD_CONTROL_SHARED, NULL);
  guint previous = 0;

  rtcbotd_arbiter_add (a, 4);
  rtcbotd_arbiter_add (a, 5);
  g_assert_true (rtcbotd_arbiter_may_drive (a, 5));
  g_assert_true (rtcbotd_arbiter_reconfigure (a, RTCBOTD_CONTROL_SINGLE, "new"));
  g_assert_cmpuint (rtcbotd_arbiter_get_driver (a), ==, 4);
  g_assert_false (rtcbotd_arbiter_may_drive (a, 5));
  g_assert_false (rtcbotd_arbiter_reconfigure (a, RTCBOTD_CONTROL_SINGLE, "newer"));
  g_assert_false (rtcbotd_arbiter_take (a, 5, "new", &previous, NULL));
  g_assert_true (rtcbotd_arbiter_take (a, 5, "newer", &previous, NULL));
  g_assert_cmpuint (previous, ==, 4);
  g_assert_true (rtcbotd_arbiter_reconfigure (a, RTCBOTD_CONTROL_SHARED, NULL));
  g_assert_cmpuint (rtcbotd_arbiter_get_driver (a), ==, 0);
  g_assert_true (rtcbotd_arbiter_may_drive (a, 4));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/arbiter/single", test_single);
  g_test_add_func ("/arbiter/shared", test_shared);
  g_test_add_func ("/arbiter/take", test_take);
  g_test_add_func ("/arbiter/reconfigure", test_reconfigure);
  return g_test_run ();
}
