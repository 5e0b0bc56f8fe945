/* rtcbotd-robot-info.c — what the robot offers a page: the JSON of GET /api/robot. */
#include "rtcbotd-robot-info.h"

#include <string.h>

#include "rtcbotd-build-config.h"
#include "rtcbotd-ice-server.h"

/* TRUE when a route has an end of @type (named @name, when given) in @ends. */
static gboolean
has_end (GPtrArray *ends, RtcbotdNodeType type, const char *name)
{
  for (guint i = 0; i < ends->len; i++)
    {
      const RtcbotdRouteEnd *end = ends->pdata[i];
      if (end->type == type && (!name || g_str_equal (end->name, name)))
        return TRUE;
    }
  return FALSE;
}

/* TRUE when a message route takes its input from @type (and @name). */
static gboolean
feeds_route (const RtcbotdConfig *config, RtcbotdNodeType type, const char *name)
{
  for (guint i = 0; i < config->routes->len; i++)
    {
      const RtcbotdRouteConfig *r = config->routes->pdata[i];
      if (r->messages && has_end (r->from, type, name))
        return TRUE;
    }
  return FALSE;
}

/* TRUE when a media route takes what the peers send from their microphones
 * (peers.audio): only then does the page offer push-to-talk. */
static gboolean
hears_peers (const RtcbotdConfig *config)
{
  for (guint i = 0; i < config->routes->len; i++)
    {
      const RtcbotdRouteConfig *r = config->routes->pdata[i];
      if (!r->messages && has_end (r->from, RTCBOTD_NODE_PEERS_AUDIO, NULL))
        return TRUE;
    }
  return FALSE;
}

/* TRUE when some message route sends to the peers (all of them or one channel). */
static gboolean
sends_to_peers (const RtcbotdConfig *config)
{
  for (guint i = 0; i < config->routes->len; i++)
    {
      const RtcbotdRouteConfig *r = config->routes->pdata[i];
      if (r->messages
          && (has_end (r->to, RTCBOTD_NODE_PEERS, NULL)
              || has_end (r->to, RTCBOTD_NODE_PEERS_CHANNEL, NULL)))
        return TRUE;
    }
  return FALSE;
}

/* The sources are offered in configuration order, which is the order of the
 * daemon's tracks in its answer, so the page's N-th video is the N-th camera. */
static void
add_media (JsonBuilder *b, const RtcbotdConfig *config)
{
  gboolean audio = FALSE;

  json_builder_set_member_name (b, "cameras");
  json_builder_begin_array (b);
  for (guint i = 0; i < config->sources->len; i++)
    {
      const RtcbotdSourceConfig *s = config->sources->pdata[i];
      if (!rtcbotd_config_source_routed_to_peers (config, s->name))
        continue;
      if (s->kind == RTCBOTD_KIND_AUDIO)
        {
          audio = TRUE;
          continue;
        }
      if (s->kind != RTCBOTD_KIND_VIDEO)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, s->name);
      json_builder_set_member_name (b, "width");
      json_builder_add_int_value (b, s->width);
      json_builder_set_member_name (b, "height");
      json_builder_add_int_value (b, s->height);
      json_builder_set_member_name (b, "framerate");
      json_builder_add_int_value (b, s->framerate);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "audio");
  json_builder_add_boolean_value (b, audio);
  json_builder_set_member_name (b, "talk");
  json_builder_add_boolean_value (b, hears_peers (config));
}

/* The labels of the peers.channel.X that feed a route, each once, in route order. */
static void
add_channels (JsonBuilder *b, const RtcbotdConfig *config)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  json_builder_set_member_name (b, "channels");
  json_builder_begin_array (b);
  for (guint i = 0; i < config->routes->len; i++)
    {
      const RtcbotdRouteConfig *r = config->routes->pdata[i];
      for (guint j = 0; r->messages && j < r->from->len; j++)
        {
          const RtcbotdRouteEnd *end = r->from->pdata[j];
          const char *label = end->name + strlen ("peers.channel.");
          if (end->type != RTCBOTD_NODE_PEERS_CHANNEL || !g_hash_table_add (seen, (gpointer)label))
            continue;
          json_builder_add_string_value (b, label);
        }
    }
  json_builder_end_array (b);
}

/* The page sends keys on "default" and gamepad/joystick on "control". */
static void
add_controls (JsonBuilder *b, const RtcbotdConfig *config)
{
  gboolean any = feeds_route (config, RTCBOTD_NODE_PEERS_MESSAGES, NULL);

  json_builder_set_member_name (b, "controls");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "keyboard");
  json_builder_add_boolean_value (
      b, any || feeds_route (config, RTCBOTD_NODE_PEERS_CHANNEL, "peers.channel.default"));
  json_builder_set_member_name (b, "gamepad");
  json_builder_add_boolean_value (
      b, any || feeds_route (config, RTCBOTD_NODE_PEERS_CHANNEL, "peers.channel.control"));
  add_channels (b, config);
  json_builder_end_object (b);
}

char *
rtcbotd_robot_info_json (const RtcbotdConfig *config)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, RTCBOTD_VERSION);
  add_media (b, config);
  add_controls (b, config);
  json_builder_set_member_name (b, "control");
  json_builder_add_string_value (b,
                                 config->control == RTCBOTD_CONTROL_SHARED ? "shared" : "single");
  json_builder_set_member_name (b, "telemetry");
  json_builder_add_boolean_value (b, sends_to_peers (config));
  /* The page uses the robot's own STUN/TURN servers: none unless configured. */
  json_builder_set_member_name (b, "iceServers");
  json_builder_begin_array (b);
  for (guint i = 0; i < config->ice_servers->len; i++)
    rtcbotd_ice_server_add_json (config->ice_servers->pdata[i], b);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "iceTransportPolicy");
  json_builder_add_string_value (b, config->ice_relay_only ? "relay" : "all");
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}
