/* test-utils.c — what the unit tests share. */
#include "test-utils.h"

#include "rtcbotd-error.h"

/* Main context: a deadline passed. */
static gboolean
on_deadline (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
rtcbotd_test_wait_until (RtcbotdTestCondition done, gpointer data, guint timeout_ms)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add (timeout_ms, on_deadline, &expired);

  while (!done (data) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  return done (data);
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

void
rtcbotd_test_run_for (guint ms)
{
  rtcbotd_test_wait_until (never, NULL, ms);
}

JsonNode *
rtcbotd_test_parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

RtcbotdConfig *
rtcbotd_test_config_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  RtcbotdConfig *config = rtcbotd_config_load_data (text, "test.conf", &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

void
rtcbotd_test_config_error (const char *text, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdConfig) config = rtcbotd_config_load_data (text, "test.conf", &error);

  g_assert_null (config);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==, message);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RTCBOTD_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RTCBOTD_TEST_SANITIZED 1
#endif

gboolean
rtcbotd_test_timing_is_meaningful (void)
{
#ifdef RTCBOTD_TEST_SANITIZED
  return FALSE;
#else
  return TRUE;
#endif
}

guint
rtcbotd_test_listen_local (SoupServer *server)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr (GSocketAddress) local = NULL;
  GSList *listeners;

  g_assert_true (soup_server_listen (server, address, 0, &error));
  g_assert_no_error (error);
  listeners = soup_server_get_listeners (server);
  local = g_socket_get_local_address (listeners->data, &error);
  g_slist_free (listeners);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
}
