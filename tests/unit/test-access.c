/* test-access.c — tokens: which paths need what, where a request carries its
 * token, the checks and their outcomes, the cookie. */
#include "rtcbotd-access.h"

#define DRIVER "driver-token-0123"
#define VIEWER "viewer-token-4567"

static void
test_need (void)
{
  const struct
  {
    const char *path;
    RtcbotdNeed need;
  } cases[] = {
    { "/", RTCBOTD_NEED_NOTHING },
    { "/index.html", RTCBOTD_NEED_NOTHING },
    { "/app.js", RTCBOTD_NEED_NOTHING },
    { "/rtcbot.js", RTCBOTD_NEED_NOTHING },
    { "/healthz", RTCBOTD_NEED_NOTHING },
    { "/connect", RTCBOTD_NEED_VIEWER },
    { "/metrics", RTCBOTD_NEED_VIEWER },
    { "/whep", RTCBOTD_NEED_VIEWER },
    { "/whep/camera", RTCBOTD_NEED_VIEWER },
    { "/whep/camera/session/1", RTCBOTD_NEED_VIEWER },
    { "/api", RTCBOTD_NEED_DRIVER },
    { "/api/anything/later", RTCBOTD_NEED_DRIVER },
    { "/api/robot", RTCBOTD_NEED_VIEWER },
    { "/api/robot/more", RTCBOTD_NEED_DRIVER },
    { "/api/robots", RTCBOTD_NEED_DRIVER },
    { "/ws", RTCBOTD_NEED_DRIVER },
    { "/ws/bridge", RTCBOTD_NEED_DRIVER },
    { "/ws/", RTCBOTD_NEED_DRIVER },
    /* Only whole path segments count. */
    { "/connected.html", RTCBOTD_NEED_NOTHING },
    { "/wsx", RTCBOTD_NEED_NOTHING },
    { "/apis.js", RTCBOTD_NEED_NOTHING },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].path);
      g_assert_cmpint (rtcbotd_access_need_for (cases[i].path), ==, cases[i].need);
    }
}

static void
expect_token (const char *authorization, const char *query, const char *cookie,
              const char *expected)
{
  g_autofree char *token = rtcbotd_access_find_token (authorization, query, cookie);

  g_assert_cmpstr (token, ==, expected);
}

static void
test_find_token (void)
{
  expect_token (NULL, NULL, NULL, NULL);
  expect_token ("Bearer abc", NULL, NULL, "abc");
  expect_token ("bearer   abc  ", NULL, NULL, "abc");
  expect_token ("BEARER abc", NULL, NULL, "abc");
  expect_token ("Bearer ", NULL, NULL, NULL);
  expect_token ("Basic dXNlcjpwYXNz", NULL, NULL, NULL); /* another scheme: not ours */
  expect_token ("Bearerabc", NULL, NULL, NULL);
  expect_token (NULL, "q", NULL, "q");
  expect_token (NULL, "", NULL, NULL);
  expect_token (NULL, NULL, "rtcbotd-token=c", "c");
  expect_token (NULL, NULL, "a=1; rtcbotd-token=c; b=2", "c");
  expect_token (NULL, NULL, "a=1;rtcbotd-token=\"c\"", "c");
  expect_token (NULL, NULL, "rtcbotd-token=", NULL);
  expect_token (NULL, NULL, "x-rtcbotd-token=c; rtcbotd-tokens=d", NULL);
  expect_token (NULL, NULL, "a=1", NULL);
  /* The header first, then the query (a new token replaces a remembered one), then the cookie. */
  expect_token ("Bearer h", "q", "rtcbotd-token=c", "h");
  expect_token ("Basic x", "q", "rtcbotd-token=c", "q");
  expect_token (NULL, "q", "rtcbotd-token=c", "q");
}

static void
expect_access (const char *token, const char *viewer, const char *presented, RtcbotdNeed need,
               RtcbotdAccess expected, RtcbotdRole expected_role)
{
  RtcbotdRole role = 42;

  g_assert_cmpint (rtcbotd_access_check (token, viewer, presented, need, &role), ==, expected);
  if (expected == RTCBOTD_ACCESS_GRANTED)
    g_assert_cmpint (role, ==, expected_role);
}

static void
test_check (void)
{
  const RtcbotdRole D = RTCBOTD_ROLE_DRIVER, V = RTCBOTD_ROLE_VIEWER;

  /* No token configured: everything is open and everyone drives. */
  expect_access (NULL, NULL, NULL, RTCBOTD_NEED_DRIVER, RTCBOTD_ACCESS_GRANTED, D);
  expect_access (NULL, NULL, "whatever", RTCBOTD_NEED_VIEWER, RTCBOTD_ACCESS_GRANTED, D);

  for (guint with_viewer = 0; with_viewer < 2; with_viewer++)
    {
      const char *viewer = with_viewer ? VIEWER : NULL;

      expect_access (DRIVER, viewer, NULL, RTCBOTD_NEED_NOTHING, RTCBOTD_ACCESS_GRANTED, V);
      expect_access (DRIVER, viewer, NULL, RTCBOTD_NEED_VIEWER, RTCBOTD_ACCESS_MISSING, 0);
      expect_access (DRIVER, viewer, "", RTCBOTD_NEED_DRIVER, RTCBOTD_ACCESS_MISSING, 0);
      expect_access (DRIVER, viewer, DRIVER, RTCBOTD_NEED_VIEWER, RTCBOTD_ACCESS_GRANTED, D);
      expect_access (DRIVER, viewer, DRIVER, RTCBOTD_NEED_DRIVER, RTCBOTD_ACCESS_GRANTED, D);
      expect_access (DRIVER, viewer, "wrong", RTCBOTD_NEED_VIEWER, RTCBOTD_ACCESS_WRONG, 0);
      expect_access (DRIVER, viewer, "wrong", RTCBOTD_NEED_DRIVER, RTCBOTD_ACCESS_WRONG, 0);
      /* A prefix or an extension of the token is wrong too. */
      expect_access (DRIVER, viewer, "driver-token-012", RTCBOTD_NEED_VIEWER, RTCBOTD_ACCESS_WRONG,
                     0);
      expect_access (DRIVER, viewer, DRIVER "4", RTCBOTD_NEED_VIEWER, RTCBOTD_ACCESS_WRONG, 0);
    }
  expect_access (DRIVER, VIEWER, VIEWER, RTCBOTD_NEED_VIEWER, RTCBOTD_ACCESS_GRANTED, V);
  expect_access (DRIVER, VIEWER, VIEWER, RTCBOTD_NEED_NOTHING, RTCBOTD_ACCESS_GRANTED, V);
  expect_access (DRIVER, VIEWER, VIEWER, RTCBOTD_NEED_DRIVER, RTCBOTD_ACCESS_VIEWER_ONLY, 0);
  /* Without a viewer token, the viewer's token is just wrong. */
  expect_access (DRIVER, NULL, VIEWER, RTCBOTD_NEED_VIEWER, RTCBOTD_ACCESS_WRONG, 0);

  g_assert_cmpstr (rtcbotd_access_describe (RTCBOTD_ACCESS_MISSING), ==,
                   "this robot needs a token: send \"Authorization: Bearer TOKEN\", or open the "
                   "page as /?token=TOKEN");
  g_assert_cmpstr (rtcbotd_access_describe (RTCBOTD_ACCESS_WRONG), ==,
                   "this token is not accepted here");
  g_assert_cmpstr (rtcbotd_access_describe (RTCBOTD_ACCESS_VIEWER_ONLY), ==,
                   "this token may only watch; this needs the driver's token");
  g_assert_cmpstr (rtcbotd_role_to_string (RTCBOTD_ROLE_DRIVER), ==, "driver");
  g_assert_cmpstr (rtcbotd_role_to_string (RTCBOTD_ROLE_VIEWER), ==, "viewer");
}

static void
test_token_equal (void)
{
  g_assert_true (rtcbotd_access_token_equal ("abcdefgh", "abcdefgh"));
  g_assert_false (rtcbotd_access_token_equal ("abcdefgh", "abcdefgi"));
  g_assert_false (rtcbotd_access_token_equal ("abcdefg", "abcdefgh"));
  g_assert_false (rtcbotd_access_token_equal ("abcdefghi", "abcdefgh"));
  /* Cycling through a shorter text must not make a repetition equal. */
  g_assert_false (rtcbotd_access_token_equal ("abab", "ab"));
  g_assert_false (rtcbotd_access_token_equal ("", "abc"));
  g_assert_false (rtcbotd_access_token_equal ("abc", ""));
  g_assert_true (rtcbotd_access_token_equal ("", ""));
}

static void
test_cookie (void)
{
  g_autofree char *plain = rtcbotd_access_cookie (DRIVER, FALSE);
  g_autofree char *secure = rtcbotd_access_cookie (DRIVER, TRUE);
  g_autofree char *back = rtcbotd_access_find_token (NULL, NULL, plain);

  g_assert_cmpstr (plain, ==, "rtcbotd-token=" DRIVER "; Path=/; HttpOnly; SameSite=Strict");
  g_assert_cmpstr (secure, ==,
                   "rtcbotd-token=" DRIVER "; Path=/; HttpOnly; SameSite=Strict; Secure");
  /* What the browser sends back is found again. */
  g_assert_cmpstr (back, ==, DRIVER);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/access/need", test_need);
  g_test_add_func ("/access/find-token", test_find_token);
  g_test_add_func ("/access/check", test_check);
  g_test_add_func ("/access/token-equal", test_token_equal);
  g_test_add_func ("/access/cookie", test_cookie);
  return g_test_run ();
}
