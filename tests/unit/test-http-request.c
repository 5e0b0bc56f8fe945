/* test-http-request.c — the HTTP surface's decisions, as strings: gate, body size, routes. */
#include <string.h>

#include "rtcbotd-http-request.h"
#include "rtcbotd-http.h"

#define T "driver-token"
#define V "viewer-token"

static void
test_gate (void)
{
  RtcbotdRole role = RTCBOTD_ROLE_VIEWER;

  /* Open paths and preflights pass without a token. */
  g_assert_cmpint (rtcbotd_http_request_gate (T, V, "GET", "/", NULL, NULL, NULL, &role), ==,
                   RTCBOTD_ACCESS_GRANTED);
  g_assert_cmpint (rtcbotd_http_request_gate (T, V, "OPTIONS", "/connect", NULL, NULL, NULL, &role),
                   ==, RTCBOTD_ACCESS_GRANTED);
  g_assert_cmpint (rtcbotd_http_request_gate (T, V, "POST", "/connect", NULL, NULL, NULL, &role),
                   ==, RTCBOTD_ACCESS_MISSING);
  g_assert_cmpint (
      rtcbotd_http_request_gate (T, V, "POST", "/connect", "Bearer nope", NULL, NULL, &role), ==,
      RTCBOTD_ACCESS_WRONG);
  g_assert_cmpint (
      rtcbotd_http_request_gate (T, V, "POST", "/connect", "Bearer " T, NULL, NULL, &role), ==,
      RTCBOTD_ACCESS_GRANTED);
  g_assert_cmpint (role, ==, RTCBOTD_ROLE_DRIVER);
  /* The query's token, percent-encoded, and the cookie. */
  g_assert_cmpint (rtcbotd_http_request_gate (T, V, "GET", "/metrics", NULL,
                                              "a=1&token=viewer%2Dtoken", NULL, &role),
                   ==, RTCBOTD_ACCESS_GRANTED);
  g_assert_cmpint (role, ==, RTCBOTD_ROLE_VIEWER);
  g_assert_cmpint (
      rtcbotd_http_request_gate (T, V, "GET", "/ws/x", NULL, NULL, "a=b; rtcbotd-token=" V, &role),
      ==, RTCBOTD_ACCESS_VIEWER_ONLY);
  /* A protected path spelled with escapes is still protected; a broken escape counts as one. */
  g_assert_cmpint (rtcbotd_http_request_gate (T, V, "GET", "/%77s/x", NULL, NULL, NULL, &role), ==,
                   RTCBOTD_ACCESS_MISSING);
  g_assert_cmpint (rtcbotd_http_request_need ("/x%zz"), ==, RTCBOTD_NEED_VIEWER);
  /* Without a configured token everything drives. */
  g_assert_cmpint (rtcbotd_http_request_gate (NULL, NULL, "POST", "/api/x", NULL, "token=%",
                                              "rtcbotd-token", &role),
                   ==, RTCBOTD_ACCESS_GRANTED);
  g_assert_cmpint (role, ==, RTCBOTD_ROLE_DRIVER);
}

/* libsoup reads the whole body even after an early 413; the check runs on the headers. */
static void
test_check_length (void)
{
  g_assert_cmpuint (rtcbotd_http_request_check_length (SOUP_ENCODING_CONTENT_LENGTH, 0), ==, 0);
  g_assert_cmpuint (
      rtcbotd_http_request_check_length (SOUP_ENCODING_CONTENT_LENGTH, RTCBOTD_HTTP_MAX_BODY), ==,
      0);
  g_assert_cmpuint (
      rtcbotd_http_request_check_length (SOUP_ENCODING_CONTENT_LENGTH, RTCBOTD_HTTP_MAX_BODY + 1),
      ==, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE);
  g_assert_cmpuint (rtcbotd_http_request_check_length (SOUP_ENCODING_CONTENT_LENGTH, G_MAXINT64),
                    ==, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE);
  /* "Content-Length: -1" reaches us as -1. */
  g_assert_cmpuint (rtcbotd_http_request_check_length (SOUP_ENCODING_CONTENT_LENGTH, -1), ==,
                    SOUP_STATUS_BAD_REQUEST);
  g_assert_cmpuint (rtcbotd_http_request_check_length (SOUP_ENCODING_CHUNKED, -1), ==, 0);
  g_assert_cmpuint (rtcbotd_http_request_check_length (SOUP_ENCODING_NONE, 0), ==, 0);
}

static void
test_asset_name (void)
{
  g_assert_cmpstr (rtcbotd_http_request_asset_name ("/"), ==, "index.html");
  g_assert_cmpstr (rtcbotd_http_request_asset_name ("/rtcbot/queue.mjs"), ==, "rtcbot/queue.mjs");
  g_assert_null (rtcbotd_http_request_asset_name ("/../../etc/passwd"));
  g_assert_null (rtcbotd_http_request_asset_name ("/a/./b"));
  g_assert_null (rtcbotd_http_request_asset_name ("/a//b"));
  g_assert_null (rtcbotd_http_request_asset_name ("/a/"));
  g_assert_null (rtcbotd_http_request_asset_name (""));
}

static void
test_route (void)
{
  g_assert_cmpint (rtcbotd_http_request_route ("POST", "/connect", FALSE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_CONNECT);
  g_assert_cmpint (rtcbotd_http_request_route ("GET", "/connect", FALSE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_METHOD);
  g_assert_cmpstr (rtcbotd_http_request_allow ("/connect"), ==, "POST");
  g_assert_cmpint (rtcbotd_http_request_route ("FOO", "/connect", FALSE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_METHOD);
  g_assert_cmpint (rtcbotd_http_request_route ("POST", "/connect", TRUE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_TOO_LARGE);
  g_assert_cmpint (rtcbotd_http_request_route ("HEAD", "/healthz", FALSE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_HEALTHZ);
  g_assert_cmpint (rtcbotd_http_request_route ("PUT", "/healthz", FALSE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_METHOD);
  g_assert_cmpstr (rtcbotd_http_request_allow ("/healthz"), ==, "GET, HEAD");
  g_assert_cmpint (rtcbotd_http_request_route ("GET", "/api/robot", FALSE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_ROBOT_INFO);
  g_assert_cmpint (rtcbotd_http_request_route ("GET", "/metrics", FALSE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_METRICS);
  g_assert_cmpint (rtcbotd_http_request_route ("DELETE", "/whep/camera/1", FALSE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_WHEP);
  g_assert_cmpint (rtcbotd_http_request_route ("POST", "/whep/camera", TRUE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_TOO_LARGE);
  g_assert_cmpint (rtcbotd_http_request_route ("GET", "/nope", FALSE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_NOT_FOUND);
  /* A missing page is 404 whatever the method or body size. */
  g_assert_cmpint (rtcbotd_http_request_route ("POST", "/nope", TRUE, FALSE), ==,
                   RTCBOTD_HTTP_TARGET_NOT_FOUND);
  g_assert_cmpint (rtcbotd_http_request_route ("GET", "/", FALSE, TRUE), ==,
                   RTCBOTD_HTTP_TARGET_ASSET);
  g_assert_cmpint (rtcbotd_http_request_route ("DELETE", "/", FALSE, TRUE), ==,
                   RTCBOTD_HTTP_TARGET_METHOD);
  g_assert_true (rtcbotd_http_request_is_builtin ("/whep"));
  g_assert_false (rtcbotd_http_request_is_builtin ("/index.html"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/http-request/gate", test_gate);
  g_test_add_func ("/http-request/check-length", test_check_length);
  g_test_add_func ("/http-request/asset-name", test_asset_name);
  g_test_add_func ("/http-request/route", test_route);
  return g_test_run ();
}
