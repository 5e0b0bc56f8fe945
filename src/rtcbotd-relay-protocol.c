/* rtcbotd-relay-protocol.c — the relay's wire: ids, secrets files, the envelope. */
#include "rtcbotd-relay-protocol.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-message-bus.h"

void
rtcbotd_relay_message_free (RtcbotdRelayMessage *self)
{
  if (!self)
    return;
  g_free (self->request);
  g_free (self->body);
  g_free (self->token);
  g_free (self->error);
  g_free (self);
}

gboolean
rtcbotd_relay_check_id (const char *id, GError **error)
{
  gsize length = strlen (id);

  if (length == 0 || length > RTCBOTD_RELAY_MAX_ID)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "a robot id has 1 to %d characters, not %" G_GSIZE_FORMAT, RTCBOTD_RELAY_MAX_ID,
                   length);
      return FALSE;
    }
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (id[i]) && !strchr ("._~-", id[i]))
      {
        g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                     "a robot id holds letters, digits and ._~- only; character %" G_GSIZE_FORMAT
                     " is not one",
                     i + 1);
        return FALSE;
      }
  return TRUE;
}

/* One "ID SECRET" line into @secrets; FALSE with @error naming the line. */
static gboolean
parse_secret_line (GHashTable *secrets, char *line, const char *name, guint number, GError **error)
{
  g_auto (GStrv) fields = g_regex_split_simple ("[ \\t]+", g_strstrip (line), 0, 0);
  g_autoptr (GError) local_error = NULL;

  if (g_strv_length (fields) != 2)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG,
                   "%s:%u: expected \"ID SECRET\" (two fields)", name, number);
      return FALSE;
    }
  if (!rtcbotd_relay_check_id (fields[0], &local_error))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "%s:%u: %s", name, number,
                   local_error->message);
      return FALSE;
    }
  if (strlen (fields[1]) < 8)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG,
                   "%s:%u: the secret of \"%s\" is too short; at least 8 characters", name, number,
                   fields[0]);
      return FALSE;
    }
  if (g_hash_table_contains (secrets, fields[0]))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "%s:%u: \"%s\" is listed twice",
                   name, number, fields[0]);
      return FALSE;
    }
  g_hash_table_insert (secrets, g_strdup (fields[0]), g_strdup (fields[1]));
  return TRUE;
}

GHashTable *
rtcbotd_relay_parse_secrets (const char *text, const char *name, GError **error)
{
  g_autoptr (GHashTable) secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) lines = NULL;

  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "%s: not UTF-8 text", name);
      return NULL;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strstrip (lines[i]);
      if (*line == '\0' || *line == '#')
        continue;
      if (!parse_secret_line (secrets, line, name, i + 1, error))
        return NULL;
    }
  return g_steal_pointer (&secrets);
}

static char *
build (const char *type, const char *request, const char *body_name, const char *body,
       const char *token, guint status)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "request");
  json_builder_add_string_value (b, request);
  json_builder_set_member_name (b, body_name);
  json_builder_add_string_value (b, body);
  if (token)
    {
      json_builder_set_member_name (b, "token");
      json_builder_add_string_value (b, token);
    }
  if (status)
    {
      json_builder_set_member_name (b, "status");
      json_builder_add_int_value (b, status);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

char *
rtcbotd_relay_offer_json (const char *request, const char *body, const char *token)
{
  return build ("offer", request, "body", body, token, 0);
}

char *
rtcbotd_relay_answer_json (const char *request, const char *answer)
{
  return build ("answer", request, "body", answer, NULL, 0);
}

char *
rtcbotd_relay_error_json (const char *request, guint status, const char *message)
{
  return build ("error", request, "error", message, NULL, CLAMP (status, 400, 599));
}

/* The string member @name of @object, or NULL when absent or not a string. */
static const char *
string_member (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (!node || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
fill (RtcbotdRelayMessage *m, JsonObject *object, GError **error)
{
  const char *type = string_member (object, "type");
  const char *request = string_member (object, "request");
  const char *body = string_member (object, "body");
  JsonNode *status = json_object_get_member (object, "status");

  if (!request)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "the envelope has no \"request\" string");
      return FALSE;
    }
  m->request = g_strdup (request);
  if (g_strcmp0 (type, "offer") == 0 || g_strcmp0 (type, "answer") == 0)
    {
      m->kind = g_str_equal (type, "offer") ? RTCBOTD_RELAY_OFFER : RTCBOTD_RELAY_ANSWER;
      m->body = g_strdup (body);
      /* Only a client's offer carries one; a robot's answer has none to keep. */
      if (m->kind == RTCBOTD_RELAY_OFFER)
        m->token = g_strdup (string_member (object, "token"));
      if (body)
        return TRUE;
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "the %s envelope has no \"body\" string", type);
      return FALSE;
    }
  if (g_strcmp0 (type, "error") != 0)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "\"type\" must be \"offer\", \"answer\" or \"error\"");
      return FALSE;
    }
  m->kind = RTCBOTD_RELAY_ERROR;
  m->error = g_strdup (string_member (object, "error") ? string_member (object, "error")
                                                       : "the robot refused the offer");
  m->status = 500;
  if (status && JSON_NODE_HOLDS_VALUE (status) && json_node_get_value_type (status) == G_TYPE_INT64
      && json_node_get_int (status) >= 400 && json_node_get_int (status) <= 599)
    m->status = json_node_get_int (status);
  return TRUE;
}

RtcbotdRelayMessage *
rtcbotd_relay_message_parse (const char *text, gsize length, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (RtcbotdRelayMessage) m = g_new0 (RtcbotdRelayMessage, 1);
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;

  /* json-glib recurses per level: 100000 '[' from a peer would overflow the stack. */
  if (rtcbotd_message_nests_deeper_than (text, length, RTCBOTD_MESSAGE_MAX_DEPTH))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "the envelope nests deeper than %d levels", RTCBOTD_MESSAGE_MAX_DEPTH);
      return NULL;
    }
  if (!g_utf8_validate_len (text, length, NULL)
      || !json_parser_load_from_data (parser, text, length, &local_error))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID, "the envelope is not JSON: %s",
                   local_error ? local_error->message : "not UTF-8 text");
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "the envelope is not a JSON object");
      return NULL;
    }
  if (!fill (m, json_node_get_object (root), error))
    return NULL;
  /* json-glib decodes octal escapes ("\\234") into bytes that are not UTF-8. */
  if (!g_utf8_validate (m->request, -1, NULL) || (m->body && !g_utf8_validate (m->body, -1, NULL))
      || (m->token && !g_utf8_validate (m->token, -1, NULL))
      || (m->error && !g_utf8_validate (m->error, -1, NULL)))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "the envelope holds a string that is not UTF-8 text");
      return NULL;
    }
  return g_steal_pointer (&m);
}
