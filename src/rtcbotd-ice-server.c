/* rtcbotd-ice-server.c — one STUN or TURN server of [daemon] ice-servers. */
#include "rtcbotd-ice-server.h"

#include <gio/gio.h>
#include <string.h>

#include "rtcbotd-error.h"

static const char *const schemes[] = { "stun", "turn", "turns" };

void
rtcbotd_ice_server_free (RtcbotdIceServer *self)
{
  if (!self)
    return;
  g_free (self->host);
  g_free (self->username);
  g_free (self->credential);
  g_free (self->transport);
  g_free (self);
}

static gboolean
fail (GError **error, const char *text, const char *problem)
{
  /* TURN URLs carry a password: name the server by its scheme and host part only. */
  const char *at = strrchr (text, '@');
  const char *colon = strchr (text, ':');
  g_autofree char *scheme = g_strndup (text, colon && at && colon < at ? colon - text + 1 : 0);
  g_autofree char *shown = at ? g_strdup_printf ("%s…@%s", scheme, at + 1) : g_strdup (text);

  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "\"%s\": %s", shown, problem);
  return FALSE;
}

/* Splits "stun:", "turn://" ... off @text; returns what follows, or NULL. */
static const char *
parse_scheme (const char *text, RtcbotdIceServer *self)
{
  for (guint i = G_N_ELEMENTS (schemes); i-- > 0;) /* "turns" before "turn" */
    {
      gsize n = strlen (schemes[i]);
      if (g_ascii_strncasecmp (text, schemes[i], n) == 0 && text[n] == ':')
        {
          self->scheme = i;
          return g_str_has_prefix (text + n + 1, "//") ? text + n + 3 : text + n + 1;
        }
    }
  return NULL;
}

/* Reads "?transport=udp|tcp" at the end of @query (may be NULL). */
static gboolean
parse_query (const char *text, const char *query, RtcbotdIceServer *self, GError **error)
{
  if (!query)
    return TRUE;
  if (self->scheme == RTCBOTD_ICE_STUN)
    return fail (error, text, "a STUN server takes no ?query");
  if (g_str_equal (query, "transport=udp") || g_str_equal (query, "transport=tcp"))
    {
      self->transport = g_strdup (query + strlen ("transport="));
      return TRUE;
    }
  return fail (error, text, "the only query accepted is ?transport=udp or ?transport=tcp");
}

/* Reads "USER:PASSWORD" (percent-escapes allowed); TURN needs it, STUN refuses it. */
static gboolean
parse_credentials (const char *text, const char *userinfo, RtcbotdIceServer *self, GError **error)
{
  const char *colon = userinfo ? strchr (userinfo, ':') : NULL;

  if (self->scheme == RTCBOTD_ICE_STUN)
    return userinfo ? fail (error, text, "a STUN server takes no user name or password") : TRUE;
  if (!colon || colon == userinfo || !colon[1])
    return fail (error, text,
                 "a TURN server needs a user name and password: turn:USER:PASSWORD@HOST:PORT");
  self->username = g_uri_unescape_segment (userinfo, colon, NULL);
  self->credential = g_uri_unescape_string (colon + 1, NULL);
  if (!self->username || !self->credential)
    return fail (error, text, "the user name or password has a broken %-escape");
  return TRUE;
}

/* Reads "host", "host:port", "1.2.3.4:port" or "[v6]:port". */
static gboolean
parse_host_port (const char *text, const char *hostport, RtcbotdIceServer *self, GError **error)
{
  const char *port = NULL;
  guint64 number;

  if (*hostport == '[')
    {
      const char *close = strchr (hostport, ']');
      if (!close || (close[1] && close[1] != ':'))
        return fail (error, text, "an IPv6 address is written in brackets: turn:[::1]:3478");
      self->host = g_strndup (hostport + 1, close - hostport - 1);
      port = close[1] ? close + 2 : NULL;
    }
  else
    {
      port = strchr (hostport, ':');
      self->host = port ? g_strndup (hostport, port - hostport) : g_strdup (hostport);
      port = port ? port + 1 : NULL;
    }
  if (!*self->host || strpbrk (self->host, "/?#@ "))
    return fail (error, text, "no host name; write SCHEME:HOST[:PORT], e.g. stun:10.0.0.1:3478");
  self->port = self->scheme == RTCBOTD_ICE_TURNS ? 5349 : 3478;
  if (!port)
    return TRUE;
  if (!g_ascii_string_to_unsigned (port, 10, 1, 65535, &number, NULL))
    return fail (error, text, "the port is not a number in 1..65535");
  self->port = number;
  return TRUE;
}

RtcbotdIceServer *
rtcbotd_ice_server_parse (const char *text, GError **error)
{
  g_autoptr (RtcbotdIceServer) self = g_new0 (RtcbotdIceServer, 1);
  const char *rest = parse_scheme (text, self);
  g_autofree char *body = NULL;
  g_autofree char *userinfo = NULL;
  char *query, *at;

  if (!rest)
    {
      fail (error, text,
            "not a STUN or TURN server; write stun:HOST:PORT, turn:USER:PASSWORD@HOST:PORT "
            "or turns:…");
      return NULL;
    }
  body = g_strdup (rest);
  if ((query = strchr (body, '?')))
    *query++ = '\0';
  if ((at = strrchr (body, '@')))
    {
      *at = '\0';
      userinfo = g_strdup (body);
    }
  if (!parse_query (text, query, self, error) || !parse_credentials (text, userinfo, self, error)
      || !parse_host_port (text, at ? at + 1 : body, self, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* "host:port", with brackets around an IPv6 address. */
static char *
host_port (const RtcbotdIceServer *self)
{
  return strchr (self->host, ':') ? g_strdup_printf ("[%s]:%u", self->host, self->port)
                                  : g_strdup_printf ("%s:%u", self->host, self->port);
}

char *
rtcbotd_ice_server_to_gst_uri (const RtcbotdIceServer *self)
{
  g_autofree char *address = host_port (self);
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;

  if (self->scheme == RTCBOTD_ICE_STUN)
    return g_strdup_printf ("stun://%s", address);
  user = g_uri_escape_string (self->username, NULL, FALSE);
  password = g_uri_escape_string (self->credential, NULL, FALSE);
  return g_strdup_printf ("%s://%s:%s@%s%s%s", schemes[self->scheme], user, password, address,
                          self->transport ? "?transport=" : "",
                          self->transport ? self->transport : "");
}

char *
rtcbotd_ice_server_to_url (const RtcbotdIceServer *self)
{
  g_autofree char *address = host_port (self);

  return g_strdup_printf ("%s:%s%s%s", schemes[self->scheme], address,
                          self->transport ? "?transport=" : "",
                          self->transport ? self->transport : "");
}

void
rtcbotd_ice_server_add_json (const RtcbotdIceServer *self, JsonBuilder *builder)
{
  g_autofree char *url = rtcbotd_ice_server_to_url (self);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "urls");
  json_builder_add_string_value (builder, url);
  if (self->scheme != RTCBOTD_ICE_STUN)
    {
      json_builder_set_member_name (builder, "username");
      json_builder_add_string_value (builder, self->username);
      json_builder_set_member_name (builder, "credential");
      json_builder_add_string_value (builder, self->credential);
    }
  json_builder_end_object (builder);
}
