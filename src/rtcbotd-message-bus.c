/* rtcbotd-message-bus.c — JSON messages between sources and sinks, along routes. */
#include "rtcbotd-message-bus.h"

#include <string.h>

#include "rtcbotd-route.h"

typedef struct
{
  RtcbotdMessageSinkFunc func;
  gpointer user_data;
} Sink;

struct _RtcbotdMessageBus
{
  GPtrArray *routes;  /* of RtcbotdRoute, in file order */
  GHashTable *inputs; /* source node -> GPtrArray of RtcbotdRoute (not owned) */
  GHashTable *labels; /* channel label -> routes from peers.channel.LABEL but not
                         from peers.messages (those hear every channel already) */
  GHashTable *sinks;  /* sink node -> Sink */
  guint64 published;
};

static void
log_sink (JsonNode *message, const char *node, const char *route, gpointer user_data)
{
  g_autofree char *text = rtcbotd_message_encode (message);

  g_message ("[route %s]: %s", route, text);
}

/* RtcbotdRoute delivers what it made of a message: every "to" node gets it. */
static void
deliver (RtcbotdRoute *route, JsonNode *message, gpointer user_data)
{
  RtcbotdMessageBus *self = user_data;
  const RtcbotdRouteConfig *config = rtcbotd_route_get_config (route);

  for (guint i = 0; i < config->to->len; i++)
    {
      const RtcbotdRouteEnd *to = config->to->pdata[i];
      Sink *sink = g_hash_table_lookup (self->sinks, to->name);
      if (sink)
        sink->func (message, to->name, config->name, sink->user_data);
    }
}

static void
add_input (RtcbotdMessageBus *self, GHashTable *table, const char *node, RtcbotdRoute *route)
{
  GPtrArray *routes = g_hash_table_lookup (table, node);

  if (!routes)
    {
      routes = g_ptr_array_new ();
      g_hash_table_insert (table, g_strdup (node), routes);
    }
  if (!g_ptr_array_find (routes, route, NULL))
    g_ptr_array_add (routes, route);
}

/* Builds the label table once, so that a channel message costs no lookup of
 * a built name; a route that takes both nodes takes each message once. */
static void
index_channels (RtcbotdMessageBus *self)
{
  GPtrArray *all = g_hash_table_lookup (self->inputs, "peers.messages");
  GHashTableIter iter;
  gpointer node, routes;

  g_hash_table_iter_init (&iter, self->inputs);
  while (g_hash_table_iter_next (&iter, &node, &routes))
    {
      if (!g_str_has_prefix (node, "peers.channel."))
        continue;
      for (guint i = 0; i < ((GPtrArray *)routes)->len; i++)
        {
          RtcbotdRoute *route = ((GPtrArray *)routes)->pdata[i];
          if (!all || !g_ptr_array_find (all, route, NULL))
            add_input (self, self->labels, (char *)node + strlen ("peers.channel."), route);
        }
    }
}

/* Indexes the routes by the nodes they take messages from. */
static void
index_routes (RtcbotdMessageBus *self)
{
  g_hash_table_remove_all (self->inputs);
  g_hash_table_remove_all (self->labels);
  for (guint i = 0; i < self->routes->len; i++)
    {
      RtcbotdRoute *route = self->routes->pdata[i];
      const RtcbotdRouteConfig *c = rtcbotd_route_get_config (route);
      for (guint f = 0; f < c->from->len; f++)
        add_input (self, self->inputs, ((RtcbotdRouteEnd *)c->from->pdata[f])->name, route);
    }
  index_channels (self);
}

RtcbotdMessageBus *
rtcbotd_message_bus_new (const RtcbotdConfig *config)
{
  RtcbotdMessageBus *self = g_new0 (RtcbotdMessageBus, 1);

  self->routes = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_route_free);
  self->inputs
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  self->labels
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  self->sinks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < config->routes->len; i++)
    {
      const RtcbotdRouteConfig *c = config->routes->pdata[i];
      if (c->messages)
        g_ptr_array_add (self->routes, rtcbotd_route_new (c, deliver, self));
    }
  index_routes (self);
  rtcbotd_message_bus_set_sink (self, "log", log_sink, NULL);
  return self;
}

/* Takes the route named @name out of @routes, or returns NULL. */
static RtcbotdRoute *
steal_route (GPtrArray *routes, const char *name)
{
  for (guint i = 0; i < routes->len; i++)
    if (g_str_equal (rtcbotd_route_get_config (routes->pdata[i])->name, name))
      return g_ptr_array_steal_index (routes, i);
  return NULL;
}

void
rtcbotd_message_bus_reload (RtcbotdMessageBus *self, RtcbotdConfig *config, RtcbotdConfig *old)
{
  g_autoptr (GPtrArray) previous = g_steal_pointer (&self->routes);

  self->routes = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_route_free);
  for (guint i = 0; i < config->routes->len; i++)
    {
      const RtcbotdRouteConfig *c = config->routes->pdata[i];
      RtcbotdRoute *kept = NULL;
      if (!c->messages)
        continue;
      if (rtcbotd_config_take_unchanged (config, old, RTCBOTD_CONFIG_ROUTE, c->name))
        kept = steal_route (previous, c->name);
      /* take_unchanged() swapped the entries: the kept route's config is at i now. */
      g_ptr_array_add (self->routes,
                       kept ? kept : rtcbotd_route_new (config->routes->pdata[i], deliver, self));
    }
  /* A route that changes or goes stops what it drove, as a lost driver would. */
  for (guint i = 0; i < previous->len; i++)
    rtcbotd_route_fail_safe (previous->pdata[i], "the route changed at reload", FALSE);
  index_routes (self);
}

void
rtcbotd_message_bus_remove_sink (RtcbotdMessageBus *self, const char *node)
{
  g_hash_table_remove (self->sinks, node);
}

void
rtcbotd_message_bus_free (RtcbotdMessageBus *self)
{
  if (!self)
    return;
  g_hash_table_unref (self->inputs);
  g_hash_table_unref (self->labels);
  g_hash_table_unref (self->sinks);
  g_ptr_array_unref (self->routes);
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
rtcbotd_message_bus_publish (RtcbotdMessageBus *self, const char *node, JsonNode *message,
                             guint origin)
{
  GPtrArray *routes = g_hash_table_lookup (self->inputs, node);

  self->published++;
  for (guint i = 0; routes && i < routes->len; i++)
    rtcbotd_route_push (routes->pdata[i], message, origin);
}

void
rtcbotd_message_bus_publish_channel (RtcbotdMessageBus *self, const char *label, JsonNode *message,
                                     guint origin)
{
  GPtrArray *all = g_hash_table_lookup (self->inputs, "peers.messages");
  GPtrArray *one = g_hash_table_lookup (self->labels, label);

  self->published++;
  for (guint i = 0; all && i < all->len; i++)
    rtcbotd_route_push (all->pdata[i], message, origin);
  for (guint i = 0; one && i < one->len; i++)
    rtcbotd_route_push (one->pdata[i], message, origin);
}

void
rtcbotd_message_bus_keep_alive (RtcbotdMessageBus *self, guint origin)
{
  for (guint i = 0; i < self->routes->len; i++)
    rtcbotd_route_keep_alive (self->routes->pdata[i], origin);
}

void
rtcbotd_message_bus_origin_lost (RtcbotdMessageBus *self, guint origin, const char *why)
{
  for (guint i = 0; origin && i < self->routes->len; i++)
    rtcbotd_route_release (self->routes->pdata[i], origin, why);
}

void
rtcbotd_message_bus_sink_up (RtcbotdMessageBus *self, const char *node)
{
  Sink *sink = g_hash_table_lookup (self->sinks, node);

  for (guint i = 0; sink && i < self->routes->len; i++)
    {
      const RtcbotdRouteConfig *config = rtcbotd_route_get_config (self->routes->pdata[i]);
      for (guint t = 0; config->failsafe && t < config->to->len; t++)
        if (g_str_equal (((RtcbotdRouteEnd *)config->to->pdata[t])->name, node))
          {
            g_debug ("[route %s]: failsafe to %s, which is up", config->name, node);
            sink->func (config->failsafe, node, config->name, sink->user_data);
          }
    }
}

void
rtcbotd_message_bus_fail_safe_all (RtcbotdMessageBus *self, const char *why)
{
  for (guint i = 0; i < self->routes->len; i++)
    rtcbotd_route_fail_safe (self->routes->pdata[i], why, TRUE);
}

guint64
rtcbotd_message_bus_get_published (RtcbotdMessageBus *self)
{
  return self->published;
}

void
rtcbotd_message_bus_add_health (RtcbotdMessageBus *self, JsonBuilder *builder)
{
  json_builder_begin_object (builder);
  for (guint i = 0; i < self->routes->len; i++)
    {
      RtcbotdRoute *route = self->routes->pdata[i];
      json_builder_set_member_name (builder, rtcbotd_route_get_config (route)->name);
      rtcbotd_route_add_health (route, builder);
    }
  json_builder_end_object (builder);
}

void
rtcbotd_message_bus_add_metrics (RtcbotdMessageBus *self, RtcbotdMetrics *metrics)
{
  for (guint i = 0; i < self->routes->len; i++)
    rtcbotd_route_add_metrics (self->routes->pdata[i], metrics);
}

/* json-glib parses, copies, prints and frees nodes recursively, so a hostile
 * depth would exhaust the stack: whatever parses JSON from outside checks this first. */
gboolean
rtcbotd_message_nests_deeper_than (const char *text, gssize length, guint limit)
{
  const char *end = length < 0 ? NULL : text + length;
  guint depth = 0;
  gboolean in_string = FALSE;

  for (const char *p = text; end ? p < end : *p != '\0'; p++)
    {
      if (in_string && *p == '\\' && (end ? p + 1 < end : p[1] != '\0'))
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

  if (*text != '\0' && !rtcbotd_message_nests_deeper_than (text, -1, RTCBOTD_MESSAGE_MAX_DEPTH)
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

GBytes *
rtcbotd_message_encode_line (JsonNode *message)
{
  g_autofree char *text = rtcbotd_message_encode (message);
  char *line = g_strconcat (text, "\n", NULL);

  return g_bytes_new_take (line, strlen (line));
}
