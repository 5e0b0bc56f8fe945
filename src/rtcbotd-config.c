/* rtcbotd-config.c — the parsed and validated configuration file. */
#include "rtcbotd-config.h"

#include <gio/gio.h>
#include <string.h>

#include "rtcbotd-config-daemon.h"
#include "rtcbotd-config-endpoint.h"
#include "rtcbotd-config-media.h"
#include "rtcbotd-config-peer.h"
#include "rtcbotd-config-reader.h"
#include "rtcbotd-error.h"
#include "rtcbotd-ice-server.h"

static const char *const route_keys[] = { "from", "to", "map", "failsafe", NULL };

static void
route_end_free (RtcbotdRouteEnd *end)
{
  g_free (end->name);
  g_free (end);
}

static void
route_config_free (RtcbotdRouteConfig *route)
{
  if (!route)
    return;
  g_free (route->name);
  g_clear_pointer (&route->from, g_ptr_array_unref);
  g_clear_pointer (&route->to, g_ptr_array_unref);
  g_clear_pointer (&route->map, rtcbotd_map_free);
  g_clear_pointer (&route->failsafe, json_node_unref);
  g_free (route->fingerprint);
  g_free (route);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdRouteConfig, route_config_free)

void
rtcbotd_config_free (RtcbotdConfig *self)
{
  if (!self)
    return;
  g_free (self->path);
  g_free (self->listen_host);
  g_free (self->web_root);
  g_free (self->control_token);
  g_free (self->token);
  g_free (self->viewer_token);
  g_free (self->tls_certificate);
  g_free (self->tls_key);
  g_ptr_array_unref (self->sources);
  g_ptr_array_unref (self->endpoints);
  g_ptr_array_unref (self->media_sinks);
  g_clear_pointer (&self->ice_servers, g_ptr_array_unref);
  g_free (self->relay);
  g_free (self->relay_secret);
  g_free (self->relay_ca);
  g_ptr_array_unref (self->routes);
  g_clear_pointer (&self->peers, g_ptr_array_unref);
  g_free (self);
}

const char *
rtcbotd_kind_to_string (RtcbotdKind kind)
{
  switch (kind)
    {
      case RTCBOTD_KIND_VIDEO:
        return "video";
      case RTCBOTD_KIND_AUDIO:
        return "audio";
      case RTCBOTD_KIND_MESSAGES:
        return "messages";
    }
  return "unknown";
}

gboolean
rtcbotd_config_parse_address (const char *text, char **host, guint16 *port, GError **error)
{
  const char *colon = strrchr (text, ':');
  guint64 number;
  g_autofree char *h = NULL;

  if (!colon || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &number, NULL))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_USAGE,
                   "\"%s\" is not an address; expected HOST:PORT (e.g. 0.0.0.0:8080, "
                   "[::]:8080, :8080) with PORT 0..65535",
                   text);
      return FALSE;
    }
  h = g_strndup (text, colon - text);
  if (h[0] == '[' && h[strlen (h) - 1] == ']')
    {
      char *inner = g_strndup (h + 1, strlen (h) - 2);
      g_free (h);
      h = inner;
    }
  if (*h == '\0')
    {
      g_free (h);
      h = g_strdup ("0.0.0.0");
    }
  if (!g_hostname_is_ip_address (h) && !g_str_equal (h, "localhost"))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_USAGE,
                   "\"%s\" is not an IP address; use a numeric address such as 0.0.0.0, "
                   "127.0.0.1 or ::",
                   h);
      return FALSE;
    }
  *host = g_steal_pointer (&h);
  *port = (guint16)number;
  return TRUE;
}

gboolean
rtcbotd_config_set_listen (RtcbotdConfig *self, const char *address, GError **error)
{
  g_autofree char *host = NULL;
  guint16 port;

  if (!rtcbotd_config_parse_address (address, &host, &port, error))
    return FALSE;
  g_free (self->listen_host);
  self->listen_host = g_steal_pointer (&host);
  self->listen_port = port;
  return TRUE;
}

static gboolean
parse_endpoint (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g,
                const char *section, const char *name, const char *type, GError **error)
{
  RtcbotdEndpointConfig *e = rtcbotd_config_parse_endpoint (reader, g, section, name, type, error);

  if (!e)
    return FALSE;
  g_ptr_array_add (self->endpoints, e);
  return TRUE;
}

/* Lists every type a [source] or [sink] group accepts, for messages. */
static char *
accepted_types (gboolean sink)
{
  g_autofree char *media = g_strjoinv (
      "|", (char **)(sink ? rtcbotd_media_sink_type_names : rtcbotd_media_source_type_names));
  g_autoptr (GString) s = g_string_new (media);

  for (guint i = 0; rtcbotd_endpoint_type_names[i]; i++)
    if (!sink || !g_str_equal (rtcbotd_endpoint_type_names[i], "evdev"))
      g_string_append_printf (s, "|%s", rtcbotd_endpoint_type_names[i]);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Parses a [source NAME] or, when @sink, a [sink NAME] group. */
static gboolean
parse_source_or_sink (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g,
                      const char *name, gboolean sink, GError **error)
{
  const char *const *media = sink ? rtcbotd_media_sink_type_names : rtcbotd_media_source_type_names;
  g_autofree char *type = NULL;
  g_autofree char *accepted = accepted_types (sink);

  if (!rtcbotd_config_reader_get_string (reader, g, "type", NULL, &type, error))
    return FALSE;
  if (type && rtcbotd_config_is_endpoint_type (type))
    return parse_endpoint (self, reader, g, sink ? "sink" : "source", name, type, error);
  if (type && g_strv_contains (media, type) && sink)
    {
      RtcbotdMediaSinkConfig *k = rtcbotd_config_parse_media_sink (reader, g, name, type, error);
      if (k)
        g_ptr_array_add (self->media_sinks, k);
      return k != NULL;
    }
  if (type && g_strv_contains (media, type))
    {
      RtcbotdSourceConfig *s = rtcbotd_config_parse_media_source (reader, g, name, type, error);
      if (s)
        g_ptr_array_add (self->sources, s);
      return s != NULL;
    }
  if (!type)
    rtcbotd_config_reader_error (reader, error, g, "type",
                                 "missing; this key is required; accepted: %s", accepted);
  else
    rtcbotd_config_reader_error (reader, error, g, "type", "\"%s\" is not accepted; accepted: %s",
                                 type, accepted);
  return FALSE;
}

static gboolean
name_is_valid (const char *name)
{
  if (*name == '\0')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

static gboolean
source_exists (RtcbotdConfig *self, const char *name)
{
  return rtcbotd_config_find_source (self, name) != NULL;
}

static gboolean
endpoint_exists (RtcbotdConfig *self, const char *name)
{
  return rtcbotd_config_find_endpoint (self, name) != NULL;
}

/* Returns the channel label of "peers.channel.LABEL", or NULL. */
static const char *
channel_label (const char *name)
{
  return g_str_has_prefix (name, "peers.channel.") ? name + strlen ("peers.channel.") : NULL;
}

/* Lists the names a route end may take: for "from" every source, for "to"
 * the sinks of a message route or, for media, "peers" and the media sinks. */
static char *
accepted_ends (RtcbotdConfig *self, gboolean from, gboolean messages)
{
  g_autoptr (GString) s = g_string_new (NULL);

  if (!from && !messages)
    {
      g_string_append (s, "peers");
      for (guint i = 0; i < self->media_sinks->len; i++)
        g_string_append_printf (s, ", %s",
                                ((RtcbotdMediaSinkConfig *)self->media_sinks->pdata[i])->name);
      return g_string_free (g_steal_pointer (&s), FALSE);
    }
  for (guint i = 0; from && i < self->sources->len; i++)
    g_string_append_printf (s, "%s, ", ((RtcbotdSourceConfig *)self->sources->pdata[i])->name);
  for (guint i = 0; i < self->endpoints->len; i++)
    {
      const RtcbotdEndpointConfig *e = self->endpoints->pdata[i];
      if (from ? e->readable : e->writable)
        g_string_append_printf (s, "%s, ", e->name);
    }
  g_string_append (s, from ? "peers.messages, peers.channel.LABEL, peers.video, peers.audio"
                           : "peers, log, peers.channel.LABEL");
  for (guint i = 0; i < self->peers->len; i++)
    g_string_append_printf (s, from ? ", peer.%s.messages" : ", peer.%s",
                            ((RtcbotdPeerConfig *)self->peers->pdata[i])->name);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
check_channel (RtcbotdConfigReader *reader, const char *g, const char *key, const char *name,
               GError **error)
{
  const char *label = channel_label (name);

  if (name_is_valid (label))
    return TRUE;
  rtcbotd_config_reader_error (reader, error, g, key,
                               "\"%s\": the channel label \"%s\" is not valid; use letters, "
                               "digits, '-' and '_'",
                               name, label);
  return FALSE;
}

/* Resolves one "from" name; sets *messages to what it carries. */
static RtcbotdRouteEnd *
resolve_from (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g, const char *name,
              gboolean *messages, GError **error)
{
  g_autofree RtcbotdRouteEnd *end = g_new0 (RtcbotdRouteEnd, 1);

  *messages = TRUE;
  if (g_str_equal (name, "peers.messages"))
    end->type = RTCBOTD_NODE_PEERS_MESSAGES;
  else if (g_str_has_prefix (name, "peer."))
    {
      if (!rtcbotd_config_check_peer_end (self, reader, g, "from", name, TRUE, error))
        return NULL;
      end->type = RTCBOTD_NODE_PEER_MESSAGES;
    }
  else if (channel_label (name))
    {
      if (!check_channel (reader, g, "from", name, error))
        return NULL;
      end->type = RTCBOTD_NODE_PEERS_CHANNEL;
    }
  else if (endpoint_exists (self, name))
    end->type = RTCBOTD_NODE_ENDPOINT;
  else if (source_exists (self, name))
    {
      end->type = RTCBOTD_NODE_NAMED;
      *messages = FALSE;
    }
  else if (g_str_equal (name, "peers.video") || g_str_equal (name, "peers.audio"))
    {
      end->type
          = g_str_equal (name, "peers.video") ? RTCBOTD_NODE_PEERS_VIDEO : RTCBOTD_NODE_PEERS_AUDIO;
      *messages = FALSE;
    }
  else if (rtcbotd_config_find_media_sink (self, name))
    {
      rtcbotd_config_reader_error (reader, error, g, "from",
                                   "\"%s\" is a sink; \"from\" takes sources", name);
      return NULL;
    }
  else if (g_str_equal (name, "peers") || g_str_equal (name, "log"))
    {
      rtcbotd_config_reader_error (reader, error, g, "from",
                                   "\"%s\" only receives; \"from\" takes sources (to route what "
                                   "peers send, use peers.messages)",
                                   name);
      return NULL;
    }
  else
    {
      g_autofree char *accepted = accepted_ends (self, TRUE, TRUE);
      rtcbotd_config_reader_error (reader, error, g, "from", "no source named \"%s\"; accepted: %s",
                                   name, accepted);
      return NULL;
    }
  end->name = g_strdup (name);
  return g_steal_pointer (&end);
}

/* Resolves one "to" name for a route that carries @messages or media; NULL
 * with @error when it cannot take what the route carries. */
static RtcbotdRouteEnd *
resolve_to (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g, const char *name,
            gboolean messages, GError **error)
{
  const RtcbotdEndpointConfig *endpoint = rtcbotd_config_find_endpoint (self, name);
  g_autofree RtcbotdRouteEnd *end = g_new0 (RtcbotdRouteEnd, 1);
  const char *problem = NULL;

  if (g_str_equal (name, "peers"))
    end->type = RTCBOTD_NODE_PEERS;
  else if (g_str_equal (name, "log"))
    end->type = RTCBOTD_NODE_LOG;
  else if (channel_label (name))
    end->type = RTCBOTD_NODE_PEERS_CHANNEL;
  else if (g_str_has_prefix (name, "peer."))
    {
      if (!rtcbotd_config_check_peer_end (self, reader, g, "to", name, FALSE, error))
        return NULL;
      end->type = RTCBOTD_NODE_PEER;
    }
  else if (endpoint && endpoint->writable)
    end->type = RTCBOTD_NODE_ENDPOINT;
  else if (rtcbotd_config_find_media_sink (self, name))
    end->type = RTCBOTD_NODE_MEDIA_SINK;
  else if (endpoint || source_exists (self, name) || g_str_equal (name, "peers.messages")
           || g_str_equal (name, "peers.video") || g_str_equal (name, "peers.audio"))
    problem = "is a source only; \"to\" takes sinks (to send to every peer, use peers)";
  else
    {
      g_autofree char *accepted = accepted_ends (self, FALSE, messages);
      rtcbotd_config_reader_error (reader, error, g, "to", "no sink named \"%s\"; accepted: %s",
                                   name, accepted);
      return NULL;
    }
  if (!problem && !messages && end->type != RTCBOTD_NODE_PEERS
      && end->type != RTCBOTD_NODE_MEDIA_SINK)
    problem = "takes messages, but this route carries media";
  if (!problem && messages && end->type == RTCBOTD_NODE_MEDIA_SINK)
    problem = "takes media, but this route carries messages";
  if (problem)
    {
      rtcbotd_config_reader_error (reader, error, g, "to", "\"%s\" %s", name, problem);
      return NULL;
    }
  if (end->type == RTCBOTD_NODE_PEERS_CHANNEL && !check_channel (reader, g, "to", name, error))
    return NULL;
  end->name = g_strdup (name);
  return g_steal_pointer (&end);
}

/* Reads "500ms {json}" (or "0.5s ..."): the silence limit and the neutral message. */
static gboolean
parse_failsafe (RtcbotdRouteConfig *route, RtcbotdConfigReader *reader, const char *g,
                GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  char *end = NULL;
  double amount;

  if (!rtcbotd_config_reader_get_string (reader, g, "failsafe", NULL, &text, error) || !text)
    return text == NULL && !(error && *error);
  amount = g_ascii_strtod (text, &end);
  if (end != text && g_str_has_prefix (end, "ms"))
    end += 2;
  else if (end != text && *end == 's')
    amount *= 1000, end++;
  else
    amount = -1;
  if (amount < 10 || amount > 60000 || (*end && !g_ascii_isspace (*end)))
    {
      rtcbotd_config_reader_error (reader, error, g, "failsafe",
                                   "\"%s\" does not start with a time of 10ms..60s (e.g. 500ms "
                                   "or 0.5s) followed by the JSON message to send",
                                   text);
      return FALSE;
    }
  if (*g_strstrip (end) == '\0')
    {
      rtcbotd_config_reader_error (reader, error, g, "failsafe",
                                   "\"%s\" has no message; write the JSON message to send after "
                                   "the time, e.g. 500ms {\"forward\":0}",
                                   text);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, end, -1, &local_error) || !json_parser_get_root (parser))
    {
      rtcbotd_config_reader_error (reader, error, g, "failsafe", "\"%s\" is not a JSON message%s%s",
                                   end, local_error ? ": " : "",
                                   local_error ? local_error->message : "");
      return FALSE;
    }
  route->failsafe_ms = (guint)(amount + 0.5);
  route->failsafe = json_node_copy (json_parser_get_root (parser));
  return TRUE;
}

static gboolean
parse_map (RtcbotdRouteConfig *route, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!rtcbotd_config_reader_get_string (reader, g, "map", NULL, &text, error))
    return FALSE;
  if (text && !(route->map = rtcbotd_map_new (text, &local_error)))
    {
      rtcbotd_config_reader_error (reader, error, g, "map", "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* Resolves every "from" name into @from; returns what the route carries in *messages. */
static gboolean
resolve_froms (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g, char **names,
               GPtrArray *from, gboolean *messages, GError **error)
{
  for (guint i = 0; names[i]; i++)
    {
      gboolean m;
      RtcbotdRouteEnd *end = resolve_from (self, reader, g, names[i], &m, error);
      if (!end)
        return FALSE;
      if (i > 0 && m != *messages)
        {
          rtcbotd_config_reader_error (reader, error, g, "from",
                                       "mixes media and messages (\"%s\" and \"%s\"); use one "
                                       "route for each",
                                       names[0], names[i]);
          route_end_free (end);
          return FALSE;
        }
      *messages = m;
      g_ptr_array_add (from, end);
    }
  return TRUE;
}

/* Fails when @names lists one name twice: it would deliver everything twice. */
static gboolean
check_unique (RtcbotdConfigReader *reader, const char *g, const char *key, char **names,
              GError **error)
{
  for (guint i = 0; names[i]; i++)
    for (guint j = 0; j < i; j++)
      if (g_str_equal (names[i], names[j]))
        {
          rtcbotd_config_reader_error (reader, error, g, key, "\"%s\" is named twice", names[i]);
          return FALSE;
        }
  return TRUE;
}

/* The kind of media a media route's "from" end carries. */
static RtcbotdKind
end_kind (RtcbotdConfig *self, const RtcbotdRouteEnd *end)
{
  if (end->type == RTCBOTD_NODE_PEERS_VIDEO)
    return RTCBOTD_KIND_VIDEO;
  if (end->type == RTCBOTD_NODE_PEERS_AUDIO)
    return RTCBOTD_KIND_AUDIO;
  return rtcbotd_config_find_source (self, end->name)->kind;
}

/* Fails when a media route sends what one of its sinks cannot take: video to
 * a speaker, or the peers' own media back to the peers. */
static gboolean
check_media_kinds (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g,
                   const RtcbotdRouteConfig *route, GError **error)
{
  for (guint i = 0; i < route->from->len; i++)
    for (guint j = 0; j < route->to->len; j++)
      {
        const RtcbotdRouteEnd *from = route->from->pdata[i], *to = route->to->pdata[j];
        RtcbotdKind kind = end_kind (self, from);
        const RtcbotdMediaSinkConfig *sink;

        if (to->type == RTCBOTD_NODE_PEERS && from->type != RTCBOTD_NODE_NAMED)
          {
            rtcbotd_config_reader_error (reader, error, g, "to",
                                         "\"%s\" comes from the peers and cannot go back to "
                                         "them; route it to a speaker, display, record or gst "
                                         "sink",
                                         from->name);
            return FALSE;
          }
        if (to->type != RTCBOTD_NODE_MEDIA_SINK)
          continue;
        sink = rtcbotd_config_find_media_sink (self, to->name);
        if (kind == RTCBOTD_KIND_VIDEO ? sink->takes_video : sink->takes_audio)
          continue;
        rtcbotd_config_reader_error (reader, error, g, "to", "%s takes %s, but \"%s\" is %s",
                                     sink->label, sink->takes_video ? "video" : "audio", from->name,
                                     rtcbotd_kind_to_string (kind));
        return FALSE;
      }
  return TRUE;
}

static gboolean
parse_route (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g, const char *name,
             GError **error)
{
  g_autoptr (RtcbotdRouteConfig) route = g_new0 (RtcbotdRouteConfig, 1);
  g_auto (GStrv) from_names = NULL;
  g_auto (GStrv) to_names = NULL;

  route->name = g_strdup (name);
  route->from = g_ptr_array_new_with_free_func ((GDestroyNotify)route_end_free);
  route->to = g_ptr_array_new_with_free_func ((GDestroyNotify)route_end_free);
  if (!rtcbotd_config_reader_check_keys (reader, g, route_keys, error)
      || !rtcbotd_config_reader_get_list (reader, g, "from", &from_names, error)
      || !rtcbotd_config_reader_get_list (reader, g, "to", &to_names, error)
      || !check_unique (reader, g, "from", from_names, error)
      || !check_unique (reader, g, "to", to_names, error)
      || !resolve_froms (self, reader, g, from_names, route->from, &route->messages, error))
    return FALSE;
  for (guint i = 0; to_names[i]; i++)
    {
      RtcbotdRouteEnd *end = resolve_to (self, reader, g, to_names[i], route->messages, error);
      if (!end)
        return FALSE;
      g_ptr_array_add (route->to, end);
    }
  if (!route->messages && !check_media_kinds (self, reader, g, route, error))
    return FALSE;
  if (!route->messages
      && (rtcbotd_config_reader_has_key (reader, g, "map")
          || rtcbotd_config_reader_has_key (reader, g, "failsafe")))
    {
      rtcbotd_config_reader_error (
          reader, error, g, rtcbotd_config_reader_has_key (reader, g, "map") ? "map" : "failsafe",
          "applies to message routes, but this route carries media");
      return FALSE;
    }
  if (!parse_map (route, reader, g, error) || !parse_failsafe (route, reader, g, error))
    return FALSE;
  route->fingerprint = rtcbotd_config_reader_fingerprint (reader, g);
  g_ptr_array_add (self->routes, g_steal_pointer (&route));
  return TRUE;
}

/* Splits "source camera" into its section ("source") and name ("camera"). */
static gboolean
split_group (RtcbotdConfigReader *reader, const char *group, char **section, char **name,
             GError **error)
{
  const char *space = strchr (group, ' ');
  static const char *const sections[] = { "source", "sink", "route", "peer", NULL };

  if (g_str_equal (group, "daemon"))
    {
      *section = g_strdup (group);
      *name = NULL;
      return TRUE;
    }
  *section = space ? g_strndup (group, space - group) : g_strdup (group);
  *name = space ? g_strstrip (g_strdup (space + 1)) : NULL;
  if (!g_strv_contains (sections, *section))
    {
      rtcbotd_config_reader_error (reader, error, group, NULL,
                                   "unknown group; accepted: [daemon], [source NAME], "
                                   "[sink NAME], [route NAME], [peer NAME]");
      return FALSE;
    }
  if (!*name || !name_is_valid (*name))
    {
      rtcbotd_config_reader_error (reader, error, group, NULL,
                                   "\"%s\" is not a valid name; use letters, digits, '-' and '_', "
                                   "as in [%s NAME]",
                                   *name ? *name : "", *section);
      return FALSE;
    }
  if (g_str_equal (*name, "peers") || g_str_equal (*name, "log"))
    {
      rtcbotd_config_reader_error (reader, error, group, NULL,
                                   "\"%s\" is the name of a built-in node; choose another", *name);
      return FALSE;
    }
  return TRUE;
}

/* Parses [peer @name] (in pass 0) and checks its sources (in pass 2, once routes are known). */
static gboolean
parse_peer (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *group, const char *name,
            guint pass, GError **error)
{
  RtcbotdPeerConfig *peer;

  if (pass == 2)
    return rtcbotd_config_check_peer_sources (self, reader, group, name, error);
  if (pass == 1)
    return TRUE;
  if (!(peer = rtcbotd_config_parse_peer (reader, group, name, error)))
    return FALSE;
  g_ptr_array_add (self->peers, peer);
  return TRUE;
}

/* Parses group @group in pass @pass: 0 for daemon, sources, sinks and peers,
 * 1 for routes, 2 for what peers need of the routes. */
static gboolean
parse_group (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *group, guint pass,
             GError **error)
{
  g_autofree char *section = NULL;
  g_autofree char *name = NULL;

  if (!split_group (reader, group, &section, &name, error))
    return FALSE;
  if (g_str_equal (section, "peer"))
    return parse_peer (self, reader, group, name, pass, error);
  if (pass == 2)
    return TRUE;
  if (pass == 1)
    return !g_str_equal (section, "route") || parse_route (self, reader, group, name, error);
  if (g_str_equal (section, "daemon"))
    return rtcbotd_config_parse_daemon (self, reader, error);
  if (!g_str_equal (section, "route")
      && (source_exists (self, name) || endpoint_exists (self, name)
          || rtcbotd_config_find_media_sink (self, name)))
    {
      rtcbotd_config_reader_error (reader, error, group, NULL,
                                   "the name \"%s\" is already used by another source or sink",
                                   name);
      return FALSE;
    }
  if (!g_str_equal (section, "route"))
    return parse_source_or_sink (self, reader, group, name, g_str_equal (section, "sink"), error);
  return TRUE;
}

RtcbotdConfig *
rtcbotd_config_load_data (const char *data, const char *name, GError **error)
{
  g_autoptr (RtcbotdConfigReader) reader = rtcbotd_config_reader_new (data, name, error);
  g_autoptr (RtcbotdConfig) self = NULL;
  g_auto (GStrv) groups = NULL;
  gboolean have_daemon;

  if (!reader)
    return NULL;
  self = g_new0 (RtcbotdConfig, 1);
  self->path = g_strdup (name);
  self->sources = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_source_config_free);
  self->endpoints = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_endpoint_config_free);
  self->media_sinks
      = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_media_sink_config_free);
  self->routes = g_ptr_array_new_with_free_func ((GDestroyNotify)route_config_free);
  self->ice_servers = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_ice_server_free);
  self->peers = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_peer_config_free);
  groups = rtcbotd_config_reader_get_groups (reader);
  have_daemon = g_strv_contains ((const char *const *)groups, "daemon");
  if (!have_daemon && !rtcbotd_config_parse_daemon (self, reader, error))
    return NULL;
  for (guint pass = 0; pass < 3; pass++)
    for (guint i = 0; groups[i]; i++)
      if (!parse_group (self, reader, groups[i], pass, error))
        return NULL;
  return g_steal_pointer (&self);
}

RtcbotdConfig *
rtcbotd_config_load_file (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *nul;
  gsize length;

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "%s", local_error->message);
      return NULL;
    }
  /* The parser reads up to the first NUL: a binary file would pass as empty, and valid. */
  if ((nul = memchr (data, '\0', length)))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG,
                   "%s: a NUL byte at offset %" G_GSIZE_FORMAT ": not a text file", path,
                   (gsize)(nul - data));
      return NULL;
    }
  return rtcbotd_config_load_data (data, path, error);
}

const RtcbotdEndpointConfig *
rtcbotd_config_find_endpoint (const RtcbotdConfig *self, const char *name)
{
  for (guint i = 0; i < self->endpoints->len; i++)
    {
      const RtcbotdEndpointConfig *e = self->endpoints->pdata[i];
      if (g_str_equal (e->name, name))
        return e;
    }
  return NULL;
}

static GPtrArray *
part_array (RtcbotdConfig *self, RtcbotdConfigPart part)
{
  return part == RTCBOTD_CONFIG_SOURCE       ? self->sources
         : part == RTCBOTD_CONFIG_ENDPOINT   ? self->endpoints
         : part == RTCBOTD_CONFIG_MEDIA_SINK ? self->media_sinks
                                             : self->routes;
}

/* Returns the index of the entry named @name in @part of @self, or -1; *fingerprint is its text. */
static gint
find_part (RtcbotdConfig *self, RtcbotdConfigPart part, const char *name, const char **fingerprint)
{
  GPtrArray *array = part_array (self, part);

  for (guint i = 0; i < array->len; i++)
    {
      const char *entry_name, *text;
      if (part == RTCBOTD_CONFIG_SOURCE)
        {
          const RtcbotdSourceConfig *s = array->pdata[i];
          entry_name = s->name, text = s->fingerprint;
        }
      else if (part == RTCBOTD_CONFIG_ENDPOINT)
        {
          const RtcbotdEndpointConfig *e = array->pdata[i];
          entry_name = e->name, text = e->fingerprint;
        }
      else if (part == RTCBOTD_CONFIG_MEDIA_SINK)
        {
          const RtcbotdMediaSinkConfig *k = array->pdata[i];
          entry_name = k->name, text = k->fingerprint;
        }
      else
        {
          const RtcbotdRouteConfig *r = array->pdata[i];
          entry_name = r->name, text = r->fingerprint;
        }
      if (g_str_equal (entry_name, name))
        {
          *fingerprint = text;
          return i;
        }
    }
  return -1;
}

RtcbotdSourceConfig *
rtcbotd_config_steal_source (RtcbotdConfig *self, const RtcbotdSourceConfig *source)
{
  guint index;

  if (!g_ptr_array_find (self->sources, source, &index))
    return NULL;
  return g_ptr_array_steal_index (self->sources, index);
}

gboolean
rtcbotd_config_same (RtcbotdConfig *self, RtcbotdConfig *old, RtcbotdConfigPart part,
                     const char *name)
{
  const char *mine = NULL, *theirs = NULL;

  return find_part (self, part, name, &mine) >= 0 && find_part (old, part, name, &theirs) >= 0
         && g_strcmp0 (mine, theirs) == 0;
}

gboolean
rtcbotd_config_take_unchanged (RtcbotdConfig *self, RtcbotdConfig *old, RtcbotdConfigPart part,
                               const char *name)
{
  const char *mine = NULL, *theirs = NULL;
  gint i = find_part (self, part, name, &mine);
  gint j = find_part (old, part, name, &theirs);
  gpointer entry;

  if (i < 0 || j < 0 || g_strcmp0 (mine, theirs) != 0)
    return FALSE;
  entry = part_array (self, part)->pdata[i];
  part_array (self, part)->pdata[i] = part_array (old, part)->pdata[j];
  part_array (old, part)->pdata[j] = entry;
  return TRUE;
}

const char *
rtcbotd_endpoint_type_to_string (RtcbotdEndpointType type)
{
  return type < g_strv_length ((char **)rtcbotd_endpoint_type_names)
             ? rtcbotd_endpoint_type_names[type]
             : "unknown";
}

const RtcbotdSourceConfig *
rtcbotd_config_find_source (const RtcbotdConfig *self, const char *name)
{
  for (guint i = 0; i < self->sources->len; i++)
    {
      const RtcbotdSourceConfig *s = self->sources->pdata[i];
      if (g_str_equal (s->name, name))
        return s;
    }
  return NULL;
}

static gboolean
route_has_end (GPtrArray *ends, RtcbotdNodeType type, const char *name)
{
  for (guint i = 0; i < ends->len; i++)
    {
      const RtcbotdRouteEnd *end = ends->pdata[i];
      if (end->type == type && (!name || g_str_equal (end->name, name)))
        return TRUE;
    }
  return FALSE;
}

gboolean
rtcbotd_config_source_routed_to_peers (const RtcbotdConfig *self, const char *name)
{
  for (guint i = 0; i < self->routes->len; i++)
    {
      const RtcbotdRouteConfig *r = self->routes->pdata[i];
      if (route_has_end (r->from, RTCBOTD_NODE_NAMED, name)
          && route_has_end (r->to, RTCBOTD_NODE_PEERS, NULL))
        return TRUE;
    }
  return FALSE;
}

gboolean
rtcbotd_config_messages_routed_to (const RtcbotdConfig *self, RtcbotdNodeType node)
{
  for (guint i = 0; i < self->routes->len; i++)
    {
      const RtcbotdRouteConfig *r = self->routes->pdata[i];
      if (route_has_end (r->from, RTCBOTD_NODE_PEERS_MESSAGES, NULL)
          && route_has_end (r->to, node, NULL))
        return TRUE;
    }
  return FALSE;
}

const RtcbotdMediaSinkConfig *
rtcbotd_config_find_media_sink (const RtcbotdConfig *self, const char *name)
{
  for (guint i = 0; i < self->media_sinks->len; i++)
    {
      const RtcbotdMediaSinkConfig *k = self->media_sinks->pdata[i];
      if (g_str_equal (k->name, name))
        return k;
    }
  return NULL;
}

gboolean
rtcbotd_config_peers_media_routed (const RtcbotdConfig *self, RtcbotdKind kind)
{
  RtcbotdNodeType node
      = kind == RTCBOTD_KIND_VIDEO ? RTCBOTD_NODE_PEERS_VIDEO : RTCBOTD_NODE_PEERS_AUDIO;

  for (guint i = 0; i < self->routes->len; i++)
    if (route_has_end (((RtcbotdRouteConfig *)self->routes->pdata[i])->from, node, NULL))
      return TRUE;
  return FALSE;
}
