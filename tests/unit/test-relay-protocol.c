/* test-relay-protocol.c — the relay's ids, secrets files and envelopes. */
#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-relay-protocol.h"

static void
test_ids (void)
{
  g_autofree char *long_id = g_strnfill (RTCBOTD_RELAY_MAX_ID + 1, 'a');
  g_autoptr (GError) error = NULL;

  g_assert_true (rtcbotd_relay_check_id ("my-robot_1.x~", NULL));
  g_assert_true (rtcbotd_relay_check_id (long_id + 1, NULL));
  g_assert_false (rtcbotd_relay_check_id (long_id, &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (rtcbotd_relay_check_id ("", NULL));
  /* Nothing a path could smuggle: separators, escapes, dots-only are just characters. */
  g_assert_false (rtcbotd_relay_check_id ("a/b", NULL));
  g_assert_false (rtcbotd_relay_check_id ("a%2fb", &error));
  g_assert_cmpstr (error->message, ==,
                   "a robot id holds letters, digits and ._~- only; character 2 is not one");
  g_assert_false (rtcbotd_relay_check_id ("\xc3\xa9", NULL));
}

static void
expect_secrets_error (const char *text, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) secrets = rtcbotd_relay_parse_secrets (text, "s.txt", &error);

  g_assert_null (secrets);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_secrets (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) secrets = rtcbotd_relay_parse_secrets (
      "# robots\n\nrover  0123456789\n\tarm\tabcdefgh  \r\n", "s.txt", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (secrets), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (secrets, "rover"), ==, "0123456789");
  g_assert_cmpstr (g_hash_table_lookup (secrets, "arm"), ==, "abcdefgh");
  expect_secrets_error ("rover\n", "s.txt:1: expected \"ID SECRET\" (two fields)");
  expect_secrets_error ("\nrover a b c d e f\n", "s.txt:2: expected \"ID SECRET\" (two fields)");
  expect_secrets_error ("ro/ver 0123456789\n", "s.txt:1: a robot id holds letters, digits and "
                                               "._~- only; character 3 is not one");
  expect_secrets_error ("rover short\n",
                        "s.txt:1: the secret of \"rover\" is too short; at least 8 characters");
  expect_secrets_error ("rover 0123456789\nrover 9876543210\n",
                        "s.txt:2: \"rover\" is listed twice");
  expect_secrets_error ("rover \xff\xfe\n", "s.txt: not UTF-8 text");
}

static void
test_envelopes (void)
{
  const char *offer = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}";
  g_autofree char *text = rtcbotd_relay_offer_json ("7", offer, "tok\"en");
  g_autoptr (RtcbotdRelayMessage) m = rtcbotd_relay_message_parse (text, strlen (text), NULL);

  /* The body travels as a string, byte for byte, whatever it holds. */
  g_assert_nonnull (m);
  g_assert_cmpint (m->kind, ==, RTCBOTD_RELAY_OFFER);
  g_assert_cmpstr (m->request, ==, "7");
  g_assert_cmpstr (m->body, ==, offer);
  g_assert_cmpstr (m->token, ==, "tok\"en");
  g_clear_pointer (&m, rtcbotd_relay_message_free);
  g_free (text);

  text = rtcbotd_relay_offer_json ("8", "not json at all", NULL);
  m = rtcbotd_relay_message_parse (text, strlen (text), NULL);
  g_assert_cmpstr (m->body, ==, "not json at all");
  g_assert_null (m->token);
  g_clear_pointer (&m, rtcbotd_relay_message_free);
  g_free (text);

  text = rtcbotd_relay_answer_json ("9", "{\"sdp\":\"x\",\"type\":\"answer\"}");
  m = rtcbotd_relay_message_parse (text, strlen (text), NULL);
  g_assert_cmpint (m->kind, ==, RTCBOTD_RELAY_ANSWER);
  g_assert_cmpstr (m->body, ==, "{\"sdp\":\"x\",\"type\":\"answer\"}");
  g_clear_pointer (&m, rtcbotd_relay_message_free);
  g_free (text);

  /* An answer has no token: one sent along is not kept (found by fuzz-relay,
   * whose round trip then lost it). */
  text = g_strdup ("{\"type\":\"answer\",\"request\":\"17\",\"body\":\"{}\",\"token\":\"t\"}");
  m = rtcbotd_relay_message_parse (text, strlen (text), NULL);
  g_assert_nonnull (m);
  g_assert_cmpint (m->kind, ==, RTCBOTD_RELAY_ANSWER);
  g_assert_null (m->token);
  g_clear_pointer (&m, rtcbotd_relay_message_free);
  g_free (text);

  text = rtcbotd_relay_error_json ("10", 503, "busy");
  g_assert_cmpstr (text, ==,
                   "{\"type\":\"error\",\"request\":\"10\",\"error\":\"busy\",\"status\":503}");
  m = rtcbotd_relay_message_parse (text, strlen (text), NULL);
  g_assert_cmpint (m->kind, ==, RTCBOTD_RELAY_ERROR);
  g_assert_cmpuint (m->status, ==, 503);
  g_assert_cmpstr (m->error, ==, "busy");
}

static void
expect_invalid (const char *text, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdRelayMessage) m = rtcbotd_relay_message_parse (text, strlen (text), &error);

  g_assert_null (m);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  if (message)
    g_assert_cmpstr (error->message, ==, message);
}

static void
test_malformed (void)
{
  g_autoptr (RtcbotdRelayMessage) m = NULL;
  const char *text;

  expect_invalid ("", NULL);
  expect_invalid ("{", NULL);
  expect_invalid ("\xff", "the envelope is not JSON: not UTF-8 text");
  expect_invalid ("[1,2]", "the envelope is not a JSON object");
  expect_invalid ("\"x\"", "the envelope is not a JSON object");
  expect_invalid ("{\"type\":\"answer\"}", "the envelope has no \"request\" string");
  expect_invalid ("{\"type\":\"answer\",\"request\":7,\"body\":\"x\"}",
                  "the envelope has no \"request\" string");
  expect_invalid ("{\"type\":\"answer\",\"request\":\"7\"}",
                  "the answer envelope has no \"body\" string");
  expect_invalid ("{\"type\":\"answer\",\"request\":\"7\",\"body\":{\"sdp\":1}}",
                  "the answer envelope has no \"body\" string");
  expect_invalid ("{\"type\":\"hello\",\"request\":\"7\"}",
                  "\"type\" must be \"offer\", \"answer\" or \"error\"");
  expect_invalid ("{\"type\":null,\"request\":\"7\"}",
                  "\"type\" must be \"offer\", \"answer\" or \"error\"");
  /* A status out of range, or of the wrong type, is a plain 500. */
  text = "{\"type\":\"error\",\"request\":\"7\",\"status\":200}";
  m = rtcbotd_relay_message_parse (text, strlen (text), NULL);
  g_assert_cmpuint (m->status, ==, 500);
  g_assert_cmpstr (m->error, ==, "the robot refused the offer");
  g_clear_pointer (&m, rtcbotd_relay_message_free);
  text = "{\"type\":\"error\",\"request\":\"7\",\"status\":\"404\",\"error\":[]}";
  m = rtcbotd_relay_message_parse (text, strlen (text), NULL);
  g_assert_cmpuint (m->status, ==, 500);
}

/* A robot (or a relay) that sent 100000 '[' once overflowed the stack in
 * json-glib's recursive parser: the relay died with SIGSEGV. */
static void
test_deep_nesting (void)
{
  g_autofree char *deep = g_strnfill (100000, '[');
  g_autofree char *objects = NULL;
  g_autoptr (GString) nested = g_string_new (NULL);

  expect_invalid (deep, "the envelope nests deeper than 64 levels");
  for (guint i = 0; i < 50000; i++)
    g_string_append (nested, "{\"a\":");
  objects = g_string_free (g_steal_pointer (&nested), FALSE);
  expect_invalid (objects, "the envelope nests deeper than 64 levels");
  /* json-glib takes "\234" for the byte 0x9c (found by fuzz-relay). */
  expect_invalid ("{\"type\":\"offer\",\"request\":\"17\",\"body\":\"x\\234\"}",
                  "the envelope holds a string that is not UTF-8 text");
  /* Brackets inside strings do not count. */
  {
    g_autofree char *text
        = g_strdup_printf ("{\"type\":\"answer\",\"request\":\"7\",\"body\":\"%s\"}", deep);
    g_autoptr (RtcbotdRelayMessage) m = rtcbotd_relay_message_parse (text, strlen (text), NULL);
    g_assert_nonnull (m);
    g_assert_cmpuint (strlen (m->body), ==, 100000);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay-protocol/ids", test_ids);
  g_test_add_func ("/relay-protocol/secrets", test_secrets);
  g_test_add_func ("/relay-protocol/envelopes", test_envelopes);
  g_test_add_func ("/relay-protocol/malformed", test_malformed);
  g_test_add_func ("/relay-protocol/deep-nesting", test_deep_nesting);
  return g_test_run ();
}
