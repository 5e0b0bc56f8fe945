/* rtcbotd-config-peer.c — the config layer's parser for [peer NAME] groups. */
#include "rtcbotd-config-peer.h"

#include <string.h>

#include "rtcbotd-error.h"

static const char *const peer_keys[] = { "offer-to", "token", "sources", NULL };

void
rtcbotd_peer_config_free (RtcbotdPeerConfig *peer)
{
  if (!peer)
    return;
  g_free (peer->name);
  g_free (peer->label);
  g_free (peer->offer_to);
  g_free (peer->token);
  g_strfreev (peer->sources);
  g_free (peer->fingerprint);
  g_free (peer);
}

RtcbotdPeerConfig *
rtcbotd_peer_config_copy (const RtcbotdPeerConfig *peer)
{
  RtcbotdPeerConfig *copy = g_new0 (RtcbotdPeerConfig, 1);

  copy->name = g_strdup (peer->name);
  copy->label = g_strdup (peer->label);
  copy->offer_to = g_strdup (peer->offer_to);
  copy->token = g_strdup (peer->token);
  copy->sources = g_strdupv (peer->sources);
  copy->fingerprint = g_strdup (peer->fingerprint);
  return copy;
}

/* An http:// or https:// URL with a host: the daemon POSTs its offer there. */
static gboolean
check_url (RtcbotdConfigReader *reader, const char *g, const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;

  if (uri && (g_str_equal (scheme, "http") || g_str_equal (scheme, "https")) && g_uri_get_host (uri)
      && *g_uri_get_host (uri))
    return TRUE;
  rtcbotd_config_reader_error (reader, error, g, "offer-to",
                               "\"%s\" is not an http:// or https:// URL with a host (e.g. "
                               "http://192.168.1.20:8080/connect)",
                               url);
  return FALSE;
}

/* The token goes in an Authorization header: printable ASCII, no spaces. */
static gboolean
check_token (RtcbotdConfigReader *reader, const char *g, const char *token, GError **error)
{
  for (guint i = 0; token[i]; i++)
    if ((guchar)token[i] <= ' ' || (guchar)token[i] >= 0x7f)
      {
        /* The token is a secret: say where, not what. */
        rtcbotd_config_reader_error (reader, error, g, "token",
                                     "character %u is not accepted; use printable ASCII without "
                                     "spaces",
                                     i + 1);
        return FALSE;
      }
  return TRUE;
}

RtcbotdPeerConfig *
rtcbotd_config_parse_peer (RtcbotdConfigReader *reader, const char *g, const char *name,
                           GError **error)
{
  g_autoptr (RtcbotdPeerConfig) peer = g_new0 (RtcbotdPeerConfig, 1);

  peer->name = g_strdup (name);
  peer->label = g_strdup_printf ("[peer %s]", name);
  if (!rtcbotd_config_reader_check_keys (reader, g, peer_keys, error)
      || !rtcbotd_config_reader_get_string (reader, g, "offer-to", NULL, &peer->offer_to, error)
      || !rtcbotd_config_reader_get_string (reader, g, "token", NULL, &peer->token, error))
    return NULL;
  if (!peer->offer_to)
    {
      rtcbotd_config_reader_error (reader, error, g, "offer-to",
                                   "missing; this key is required (the URL the daemon offers "
                                   "to, e.g. http://192.168.1.20:8080/connect)");
      return NULL;
    }
  if (!check_url (reader, g, peer->offer_to, error)
      || (peer->token && !check_token (reader, g, peer->token, error)))
    return NULL;
  if (rtcbotd_config_reader_has_key (reader, g, "sources")
      && !rtcbotd_config_reader_get_list (reader, g, "sources", &peer->sources, error))
    return NULL;
  peer->fingerprint = rtcbotd_config_reader_fingerprint (reader, g);
  return g_steal_pointer (&peer);
}

gboolean
rtcbotd_config_check_peer_sources (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g,
                                   const char *name, GError **error)
{
  const RtcbotdPeerConfig *peer = rtcbotd_config_find_peer (self, name);

  for (guint i = 0; peer && peer->sources && peer->sources[i]; i++)
    {
      const char *source = peer->sources[i];
      for (guint j = 0; j < i; j++)
        if (g_str_equal (peer->sources[j], source))
          {
            rtcbotd_config_reader_error (reader, error, g, "sources", "\"%s\" is named twice",
                                         source);
            return FALSE;
          }
      if (!rtcbotd_config_find_source (self, source))
        {
          rtcbotd_config_reader_error (reader, error, g, "sources", "no media source named \"%s\"",
                                       source);
          return FALSE;
        }
      if (!rtcbotd_config_source_routed_to_peers (self, source))
        {
          /* Only sources routed to peers run; the others are never started. */
          rtcbotd_config_reader_error (reader, error, g, "sources",
                                       "[source %s] is not routed to peers; add a route with "
                                       "from = %s and to = peers",
                                       source, source);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
rtcbotd_config_check_peer_end (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g,
                               const char *key, const char *end, gboolean from, GError **error)
{
  const char *rest = end + strlen ("peer.");
  gboolean messages = g_str_has_suffix (rest, ".messages");
  g_autofree char *name
      = messages ? g_strndup (rest, strlen (rest) - strlen (".messages")) : g_strdup (rest);

  if (!rtcbotd_config_find_peer (self, name))
    {
      rtcbotd_config_reader_error (reader, error, g, key, "\"%s\": there is no [peer %s]", end,
                                   name);
      return FALSE;
    }
  if (from && !messages)
    {
      rtcbotd_config_reader_error (reader, error, g, key,
                                   "\"%s\" only receives; what the peer sends is "
                                   "peer.%s.messages",
                                   end, name);
      return FALSE;
    }
  if (!from && messages)
    {
      rtcbotd_config_reader_error (reader, error, g, key,
                                   "\"%s\" is a source only; to send to the peer, use peer.%s", end,
                                   name);
      return FALSE;
    }
  return TRUE;
}

const RtcbotdPeerConfig *
rtcbotd_config_find_peer (const RtcbotdConfig *self, const char *name)
{
  for (guint i = 0; i < self->peers->len; i++)
    {
      const RtcbotdPeerConfig *p = self->peers->pdata[i];
      if (g_str_equal (p->name, name))
        return p;
    }
  return NULL;
}
