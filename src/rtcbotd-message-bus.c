/* rtcbotd-message-bus.c — JSON messages between sources and sinks, along routes. */
#include "rtcbotd-message-bus.h"

typedef struct
{
  RtcbotdMessageSinkFunc func;
  gpointer user_data;
} Sink;

struct _RtcbotdMessageBus
{
  GHashTable *edges; /* source node -> GPtrArray of sink node names */
  GHashTable *sinks; /* sink node -> Sink */
  guint64 published;
};

static void
log_sink (JsonNode *message, const char *from, gpointer user_data)
{
  g_autofree char *text = rtcbotd_message_encode (message);

  g_message ("message from %s: %s", from, text);
}

RtcbotdMessageBus *
rtcbotd_message_bus_new (const RtcbotdConfig *config)
{
  RtcbotdMessageBus *self = g_new0 (RtcbotdMessageBus, 1);

  self->edges
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  self->sinks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < config->routes->len; i++)
    {
      const RtcbotdRouteConfig *route = config->routes->pdata[i];
      if (!route->messages)
        continue;
      for (guint f = 0; f < route->from->len; f++)
        {
          const RtcbotdRouteEnd *from = route->from->pdata[f];
          GPtrArray *targets = g_hash_table_lookup (self->edges, from->name);
          if (!targets)
            {
              targets = g_ptr_array_new_with_free_func (g_free);
              g_hash_table_insert (self->edges, g_strdup (from->name), targets);
            }
          for (guint t = 0; t < route->to->len; t++)
            {
              const RtcbotdRouteEnd *to = route->to->pdata[t];
              if (!g_ptr_array_find_with_equal_func (targets, to->name, g_str_equal, NULL))
                g_ptr_array_add (targets, g_strdup (to->name));
            }
        }
    }
  rtcbotd_message_bus_set_sink (self, "log", log_sink, NULL);
  return self;
}

void
rtcbotd_message_bus_free (RtcbotdMessageBus *self)
{
  if (!self)
    return;
  g_hash_table_unref (self->edges);
  g_hash_table_unref (self->sinks);
  g_free (self);
}

void
rtcbotd_message_bus_set_sink (RtcbotdMessageBus *self, const char *node,
                              RtcbotdMessageSinkFunc func, gpointer user_data)
{
  Sink *sink = g_new0 (Sink, 1);

  sink->func = func;
  sink->user_data = user_data;
  g_hash_table_replace (self->sinks, g_strdup (node), sink);
}

void
rtcbotd_message_bus_publish (RtcbotdMessageBus *self, const char *node, JsonNode *message)
{
  GPtrArray *targets = g_hash_table_lookup (self->edges, node);

  self->published++;
  for (guint i = 0; targets && i < targets->len; i++)
    {
      Sink *sink = g_hash_table_lookup (self->sinks, targets->pdata[i]);
      if (sink)
        sink->func (message, node, sink->user_data);
    }
}

guint64
rtcbotd_message_bus_get_published (RtcbotdMessageBus *self)
{
  return self->published;
}

/* TRUE when arrays and objects in @text nest deeper than @limit; json-glib
 * copies and prints nodes recursively, so a hostile depth would exhaust the stack. */
static gboolean
nests_deeper_than (const char *text, guint limit)
{
  guint depth = 0;
  gboolean in_string = FALSE;

  for (const char *p = text; *p; p++)
    {
      if (in_string && *p == '\\' && p[1])
        p++;
      else if (*p == '"')
        in_string = !in_string;
      else if (!in_string && (*p == '[' || *p == '{') && ++depth > limit)
        return TRUE;
      else if (!in_string && (*p == ']' || *p == '}') && depth > 0)
        depth--;
    }
  return FALSE;
}

JsonNode *
rtcbotd_message_decode (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonNode *node;

  if (*text != '\0' && !nests_deeper_than (text, RTCBOTD_MESSAGE_MAX_DEPTH)
      && json_parser_load_from_data (parser, text, -1, NULL) && json_parser_get_root (parser))
    return json_node_copy (json_parser_get_root (parser));
  node = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (node, text);
  return node;
}

char *
rtcbotd_message_encode (JsonNode *message)
{
  return json_to_string (message, FALSE);
}
