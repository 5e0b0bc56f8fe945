/* rtcbotd-signaling.c — RTCBot's JSON signaling: the /connect offer and answer. */
#include "rtcbotd-signaling.h"

#include <json-glib/json-glib.h>

#include "rtcbotd-error.h"
#include "rtcbotd-message-bus.h"

/* Extracts the SDP of a description body {"type": @kind, "sdp": "..."};
 * @wrong_type says why another type is refused. */
static char *
parse_description (const char *body, gsize length, const char *kind, const char *wrong_type,
                   GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  JsonObject *object;
  JsonNode *sdp;
  JsonNode *type;

  if (length == 0)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "empty body: expected a JSON %s {\"type\": \"%s\", \"sdp\": ...}", kind, kind);
      return NULL;
    }
  /* json-glib recurses per level; a body through the relay may be 256 KiB of '['. */
  if (rtcbotd_message_nests_deeper_than (body, length, RTCBOTD_MESSAGE_MAX_DEPTH))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "body is not a JSON %s: it nests deeper than %d levels", kind,
                   RTCBOTD_MESSAGE_MAX_DEPTH);
      return NULL;
    }
  if (!g_utf8_validate_len (body, length, NULL)
      || !json_parser_load_from_data (parser, body, length, &local_error))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID, "body is not JSON: %s",
                   local_error ? local_error->message : "not UTF-8 text");
      return NULL;
    }
  if (!json_parser_get_root (parser))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "body holds no JSON value: expected {\"type\": \"%s\", \"sdp\": ...}", kind);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "body is JSON but not an object: expected {\"type\": \"%s\", \"sdp\": ...}",
                   kind);
      return NULL;
    }
  object = json_node_get_object (json_parser_get_root (parser));
  type = json_object_get_member (object, "type");
  sdp = json_object_get_member (object, "sdp");
  if (type
      && (json_node_get_value_type (type) != G_TYPE_STRING
          || g_strcmp0 (json_node_get_string (type), kind) != 0))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID, "\"type\" must be \"%s\": %s", kind,
                   wrong_type);
      return NULL;
    }
  if (!sdp || json_node_get_value_type (sdp) != G_TYPE_STRING)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "the %s has no \"sdp\" string member", kind);
      return NULL;
    }
  /* json-glib decodes octal escapes ("\\234") into bytes that are not UTF-8. */
  if (!g_utf8_validate (json_node_get_string (sdp), -1, NULL))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "the %s's \"sdp\" is not UTF-8 text", kind);
      return NULL;
    }
  return g_strdup (json_node_get_string (sdp));
}

char *
rtcbotd_signaling_parse_offer (const char *body, gsize length, GError **error)
{
  return parse_description (body, length, "offer", "rtcbotd answers offers", error);
}

char *
rtcbotd_signaling_parse_answer (const char *body, gsize length, GError **error)
{
  return parse_description (body, length, "answer", "the daemon sent an offer", error);
}

static char *
object_to_json (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);

  return json_to_string (root, FALSE);
}

char *
rtcbotd_signaling_answer_json (const char *sdp)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "sdp");
  json_builder_add_string_value (builder, sdp);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "answer");
  json_builder_end_object (builder);
  return object_to_json (builder);
}

char *
rtcbotd_signaling_error_json (const char *message)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  return object_to_json (builder);
}

char *
rtcbotd_signaling_offer_json (const char *sdp)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "sdp");
  json_builder_add_string_value (builder, sdp);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "offer");
  json_builder_end_object (builder);
  return object_to_json (builder);
}
