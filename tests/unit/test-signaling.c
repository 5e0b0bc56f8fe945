/* test-signaling.c — RTCBot's /connect JSON: the offer body and the replies. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-signaling.h"

#define SDP "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"

static void
expect_error (const char *body, gsize length, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = rtcbotd_signaling_parse_offer (body, length, &error);

  g_assert_null (sdp);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, message);
}

static void
expect_sdp (const char *body, gsize length, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = rtcbotd_signaling_parse_offer (body, length, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (sdp, ==, expected);
}

/* Parses @json, checks it is an object of exactly @n_members, returns it. */
static JsonObject *
parse_object (const char *json, guint n_members)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonNode *root;

  g_assert_nonnull (json);
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  g_assert_cmpuint (json_object_get_size (json_node_get_object (root)), ==, n_members);
  return json_object_ref (json_node_get_object (root));
}

static void
test_parse_offer_valid (void)
{
  const char *body = "{\"sdp\": \"" SDP "\", \"type\": \"offer\"}";
  g_autofree char *big = NULL;

  expect_sdp (body, strlen (body), SDP);
  /* RTCBot's order of members, extra members, and no "type" are fine. */
  body = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\",\"extra\":[1,2]}";
  expect_sdp (body, strlen (body), "v=0\r\n");
  body = "{\"sdp\":\"v=0\\n\"}";
  expect_sdp (body, strlen (body), "v=0\n");
  /* Escapes are decoded. */
  body = "{\"sdp\":\"s=\\u00e9\\t\\\"q\\\"\",\"type\":\"offer\"}";
  expect_sdp (body, strlen (body), "s=\xc3\xa9\t\"q\"");
  /* The body need not be NUL-terminated: only @length bytes are read. */
  big = g_strdup ("{\"sdp\":\"v=0\"}GARBAGE");
  expect_sdp (big, strlen ("{\"sdp\":\"v=0\"}"), "v=0");
}

static void
test_parse_offer_not_json (void)
{
  const char *texts[] = { "hello", "{\"sdp\": \"v=0\"", "{\"sdp\": v=0}", NULL };

  expect_error ("", 0, "empty body: expected a JSON offer {\"type\": \"offer\", \"sdp\": ...}");
  expect_error ("{\"sdp\":\"v=0\"}", 0,
                "empty body: expected a JSON offer {\"type\": \"offer\", \"sdp\": ...}");
  expect_error ("{\"sdp\":\"\xff\xfe\"}", strlen ("{\"sdp\":\"\xff\xfe\"}"),
                "body is not JSON: not UTF-8 text");
  for (guint i = 0; texts[i]; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) json_error = NULL;
      g_autofree char *message = NULL;

      g_assert_false (json_parser_load_from_data (parser, texts[i], -1, &json_error));
      message = g_strdup_printf ("body is not JSON: %s", json_error->message);
      expect_error (texts[i], strlen (texts[i]), message);
    }
}

static void
test_parse_offer_not_object (void)
{
  const char *texts[]
      = { "[{\"sdp\": \"v=0\", \"type\": \"offer\"}]", "\"v=0\"", "42", "null", NULL };

  for (guint i = 0; texts[i]; i++)
    expect_error (texts[i], strlen (texts[i]),
                  "body is JSON but not an object: expected {\"type\": \"offer\", \"sdp\": ...}");
}

/* A body of only whitespace is valid JSON text to json-glib but has no root:
 * it must be refused like any other non-object, without a critical warning. */
static void
test_parse_offer_whitespace (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *sdp = rtcbotd_signaling_parse_offer (" \r\n\t", 4, &error);

      g_assert_null (sdp);
      g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
      return;
    }
  /* Reported, not fatal: a failure here must not hide the other cases. */
  g_test_set_nonfatal_assertions ();
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_parse_offer_members (void)
{
  const char *no_sdp = "the offer has no \"sdp\" string member";
  const char *not_offer = "\"type\" must be \"offer\": rtcbotd answers offers";
  const char *bodies[] = { "{}",
                           "{\"type\": \"offer\"}",
                           "{\"type\": \"offer\", \"sdp\": 42}",
                           "{\"type\": \"offer\", \"sdp\": null}",
                           "{\"type\": \"offer\", \"sdp\": {\"text\": \"v=0\"}}",
                           "{\"type\": \"offer\", \"sdp\": [\"v=0\"]}",
                           NULL };
  const char *types[] = { "{\"type\": \"answer\", \"sdp\": \"v=0\"}",
                          "{\"type\": \"Offer\", \"sdp\": \"v=0\"}",
                          "{\"type\": 1, \"sdp\": \"v=0\"}",
                          "{\"type\": null, \"sdp\": \"v=0\"}",
                          "{\"type\": [\"offer\"], \"sdp\": \"v=0\"}",
                          "{\"type\": \"answer\"}",
                          NULL };

  for (guint i = 0; bodies[i]; i++)
    expect_error (bodies[i], strlen (bodies[i]), no_sdp);
  for (guint i = 0; types[i]; i++)
    expect_error (types[i], strlen (types[i]), not_offer);
}

static void
test_answer_json (void)
{
  g_autofree char *json = rtcbotd_signaling_answer_json (SDP "a=x:\"quoted\" \\ \xc3\xa9\r\n");
  g_autoptr (JsonObject) object = parse_object (json, 2);
  g_autofree char *empty_json = rtcbotd_signaling_answer_json ("");
  g_autoptr (JsonObject) empty = parse_object (empty_json, 2);

  g_assert_cmpstr (json_object_get_string_member (object, "type"), ==, "answer");
  g_assert_cmpstr (json_object_get_string_member (object, "sdp"), ==,
                   SDP "a=x:\"quoted\" \\ \xc3\xa9\r\n");
  g_assert_cmpstr (json_object_get_string_member (empty, "sdp"), ==, "");
  /* Compact, on one line. */
  g_assert_null (strchr (json, '\n'));
}

/* Offerer mode: the offer the daemon POSTs and the answer it expects back. */
static void
test_offer_json_and_answer (void)
{
  g_autofree char *json = rtcbotd_signaling_offer_json (SDP);
  g_autoptr (JsonObject) object = parse_object (json, 2);
  const char *answer = "{\"sdp\": \""
                       "v=0\\r\\n"
                       "\", \"type\": \"answer\"}";
  const char *untyped = "{\"sdp\": \"v=0\"}";
  const char *offer = "{\"sdp\": \"v=0\", \"type\": \"offer\"}";
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = rtcbotd_signaling_parse_answer (answer, strlen (answer), &error);
  g_autofree char *sdp2 = NULL;
  g_autofree char *wrong = NULL;

  g_assert_cmpstr (json_object_get_string_member (object, "type"), ==, "offer");
  g_assert_cmpstr (json_object_get_string_member (object, "sdp"), ==, SDP);
  g_assert_no_error (error);
  g_assert_cmpstr (sdp, ==, "v=0\r\n");
  sdp2 = rtcbotd_signaling_parse_answer (untyped, strlen (untyped), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sdp2, ==, "v=0");
  wrong = rtcbotd_signaling_parse_answer (offer, strlen (offer), &error);
  g_assert_null (wrong);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "\"type\" must be \"answer\": the daemon sent an offer");
  g_clear_error (&error);
  g_assert_null (rtcbotd_signaling_parse_answer ("", 0, &error));
  g_assert_cmpstr (error->message, ==,
                   "empty body: expected a JSON answer {\"type\": \"answer\", \"sdp\": ...}");
  g_clear_error (&error);
  g_assert_null (rtcbotd_signaling_parse_answer ("{}", 2, &error));
  g_assert_cmpstr (error->message, ==, "the answer has no \"sdp\" string member");
}

static void
test_error_json (void)
{
  const char *message = "the offer has no \"sdp\" string member\nsecond line";
  g_autofree char *json = rtcbotd_signaling_error_json (message);
  g_autoptr (JsonObject) object = parse_object (json, 1);

  g_assert_cmpstr (json_object_get_string_member (object, "error"), ==, message);
}

/* An offer relayed by `rtcbotd relay` may be 256 KiB: of '[' it would
 * overflow json-glib's recursive parser; refused before parsing. */
static void
test_parse_offer_deep (void)
{
  g_autofree char *deep = g_strnfill (256 * 1024, '[');
  g_autofree char *sdp_of_brackets = g_strdup_printf ("{\"type\":\"offer\",\"sdp\":\"%s\"}", deep);
  g_autofree char *sdp = NULL;

  expect_error (deep, strlen (deep), "body is not a JSON offer: it nests deeper than 64 levels");
  /* json-glib takes "\234" for the byte 0x9c: not UTF-8, refused. */
  expect_error ("{\"type\":\"offer\",\"sdp\":\"v=0\\234\"}", 32,
                "the offer's \"sdp\" is not UTF-8 text");
  /* Brackets inside the SDP string do not count. */
  sdp = rtcbotd_signaling_parse_offer (sdp_of_brackets, strlen (sdp_of_brackets), NULL);
  g_assert_cmpstr (sdp, ==, deep);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/signaling/parse-offer/valid", test_parse_offer_valid);
  g_test_add_func ("/signaling/parse-offer/not-json", test_parse_offer_not_json);
  g_test_add_func ("/signaling/parse-offer/not-object", test_parse_offer_not_object);
  g_test_add_func ("/signaling/parse-offer/members", test_parse_offer_members);
  g_test_add_func ("/signaling/answer-json", test_answer_json);
  g_test_add_func ("/signaling/error-json", test_error_json);
  g_test_add_func ("/signaling/offer-json-and-answer", test_offer_json_and_answer);
  g_test_add_func ("/signaling/parse-offer/whitespace", test_parse_offer_whitespace);
  g_test_add_func ("/signaling/parse-offer/deep", test_parse_offer_deep);

  return g_test_run ();
}
