/* test-utils.c — what the unit tests share. */
#include "test-utils.h"

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
