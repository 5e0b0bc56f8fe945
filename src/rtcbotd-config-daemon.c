/* rtcbotd-config-daemon.c — the config layer's parser for the [daemon] group. */
#include "rtcbotd-config-daemon.h"

#include <gio/gio.h>
#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-ice-server.h"
#include "rtcbotd-relay-protocol.h"

/* One key a line, so that additions merge. */
/* clang-format off */
static const char *const daemon_keys[] = { "listen",
                                           "web-root",
                                           "max-peers",
                                           "peer-timeout",
                                           "max-messages-per-second",
                                           "control",
                                           "control-token",
                                           "token",
                                           "viewer-token",
                                           "tls-certificate",
                                           "tls-key",
                                           "ice-servers",
                                           "ice-transport-policy",
                                           "relay",
                                           "relay-secret",
                                           "relay-ca",
                                           NULL };
/* clang-format on */
static const char *const controls[] = { "single", "shared", NULL };

/* A token travels in an Authorization header, a URL and a cookie: printable
 * ASCII, and none of the characters a cookie value cannot hold (RFC 6265). */
static gboolean
check_token (RtcbotdConfigReader *reader, const char *g, const char *key, const char *token,
             GError **error)
{
  gsize length = strlen (token);

  if (length < RTCBOTD_CONFIG_TOKEN_MIN)
    {
      rtcbotd_config_reader_error (reader, error, g, key,
                                   "%" G_GSIZE_FORMAT " characters are too few; at least %d "
                                   "(e.g. the output of openssl rand -hex 16)",
                                   length, RTCBOTD_CONFIG_TOKEN_MIN);
      return FALSE;
    }
  for (gsize i = 0; i < length; i++)
    {
      guchar c = token[i];
      if (c > ' ' && c < 0x7f && !strchr ("\",;\\", c))
        continue;
      /* The token itself is a secret: say where, not what. */
      rtcbotd_config_reader_error (reader, error, g, key,
                                   "character %" G_GSIZE_FORMAT " is not accepted; use printable "
                                   "ASCII without spaces, '\"', ',', ';' or '\\'",
                                   i + 1);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_tokens (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  if (!rtcbotd_config_reader_get_string (reader, g, "token", NULL, &self->token, error)
      || !rtcbotd_config_reader_get_string (reader, g, "viewer-token", NULL, &self->viewer_token,
                                            error)
      || (self->token && !check_token (reader, g, "token", self->token, error))
      || (self->viewer_token
          && !check_token (reader, g, "viewer-token", self->viewer_token, error)))
    return FALSE;
  if (self->viewer_token && !self->token)
    {
      rtcbotd_config_reader_error (reader, error, g, "viewer-token",
                                   "needs token as well (without token everyone drives)");
      return FALSE;
    }
  if (self->viewer_token && g_str_equal (self->viewer_token, self->token))
    {
      rtcbotd_config_reader_error (reader, error, g, "viewer-token", "must differ from token");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_file (RtcbotdConfigReader *reader, const char *g, const char *key, const char *path,
            GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  rtcbotd_config_reader_error (reader, error, g, key, "\"%s\" is not a file", path);
  return FALSE;
}

/* Loads the pair now, so that --check-config (and a reload) catches a broken
 * certificate or key rather than the first https client. */
static gboolean
parse_tls (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autoptr (GError) local_error = NULL;
  char **cert = &self->tls_certificate, **key = &self->tls_key;

  if (!rtcbotd_config_reader_get_string (reader, g, "tls-certificate", NULL, cert, error)
      || !rtcbotd_config_reader_get_string (reader, g, "tls-key", NULL, key, error))
    return FALSE;
  if (!*cert && !*key)
    return TRUE;
  if (!*cert || !*key)
    {
      rtcbotd_config_reader_error (reader, error, g, *cert ? "tls-certificate" : "tls-key",
                                   "needs %s as well (both or neither)",
                                   *cert ? "tls-key" : "tls-certificate");
      return FALSE;
    }
  if (!check_file (reader, g, "tls-certificate", *cert, error)
      || !check_file (reader, g, "tls-key", *key, error))
    return FALSE;
  if (!(certificate = g_tls_certificate_new_from_file (*cert, &local_error)))
    {
      rtcbotd_config_reader_error (reader, error, g, "tls-certificate", "\"%s\": %s", *cert,
                                   local_error->message);
      return FALSE;
    }
  g_clear_object (&certificate);
  if (!(certificate = g_tls_certificate_new_from_files (*cert, *key, &local_error)))
    {
      rtcbotd_config_reader_error (reader, error, g, "tls-key", "\"%s\": %s", *key,
                                   local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* Reads the STUN/TURN servers (separated by spaces or ';') and the transport policy. */
static gboolean
parse_ice (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  static const char *const policies[] = { "all", "relay", NULL };
  g_autofree char *text = NULL;
  g_auto (GStrv) urls = NULL;
  guint policy;
  gboolean turn = FALSE;

  if (!rtcbotd_config_reader_get_string (reader, g, "ice-servers", NULL, &text, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "ice-transport-policy", policies, 0, &policy,
                                            error))
    return FALSE;
  urls = g_regex_split_simple ("[\\s;]+", text ? g_strstrip (text) : "", 0, 0);
  for (guint i = 0; urls[i]; i++)
    {
      g_autoptr (GError) local_error = NULL;
      RtcbotdIceServer *server;

      if (!*urls[i])
        continue;
      if (!(server = rtcbotd_ice_server_parse (urls[i], &local_error)))
        {
          rtcbotd_config_reader_error (reader, error, g, "ice-servers", "%s", local_error->message);
          return FALSE;
        }
      turn |= server->scheme != RTCBOTD_ICE_STUN;
      g_ptr_array_add (self->ice_servers, server);
    }
  self->ice_relay_only = policy == 1;
  if (self->ice_relay_only && !turn)
    {
      rtcbotd_config_reader_error (reader, error, g, "ice-transport-policy",
                                   "relay needs a TURN server (turn: or turns:) in ice-servers");
      return FALSE;
    }
  return TRUE;
}

/* Checks [daemon] relay: ws:// or wss://, a host, a path ending in the robot's
 * id; no user, query or fragment (the secret has a key of its own). */
static gboolean
check_relay_url (RtcbotdConfigReader *reader, const char *g, const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *path = uri ? g_uri_get_path (uri) : NULL;
  const char *id = path ? strrchr (path, '/') : NULL;
  g_autoptr (GError) local_error = NULL;

  if (!uri
      || (g_strcmp0 (g_uri_get_scheme (uri), "ws") != 0
          && g_strcmp0 (g_uri_get_scheme (uri), "wss") != 0))
    {
      rtcbotd_config_reader_error (reader, error, g, "relay",
                                   "\"%s\" is not a ws:// or wss:// URL (e.g. "
                                   "wss://relay.example.org/my-robot-id)",
                                   url);
      return FALSE;
    }
  if (!g_uri_get_host (uri) || !*g_uri_get_host (uri) || g_uri_get_userinfo (uri)
      || g_uri_get_query (uri) || g_uri_get_fragment (uri))
    {
      rtcbotd_config_reader_error (reader, error, g, "relay",
                                   "\"%s\": needs a host, and no user, query or fragment "
                                   "(the secret goes in relay-secret)",
                                   url);
      return FALSE;
    }
  if (!id || !rtcbotd_relay_check_id (id + 1, &local_error))
    {
      rtcbotd_config_reader_error (reader, error, g, "relay",
                                   "\"%s\": the path must end in the robot's id: %s", url,
                                   local_error ? local_error->message : "there is no path");
      return FALSE;
    }
  return TRUE;
}

/* Loads the CA file now, so that --check-config catches a broken one. */
static gboolean
parse_relay_ca (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!rtcbotd_config_reader_get_string (reader, g, "relay-ca", NULL, &self->relay_ca, error))
    return FALSE;
  if (!self->relay_ca)
    return TRUE;
  if (!self->relay || !g_str_has_prefix (self->relay, "wss://"))
    {
      rtcbotd_config_reader_error (reader, error, g, "relay-ca", "needs a wss:// relay");
      return FALSE;
    }
  if (!check_file (reader, g, "relay-ca", self->relay_ca, error))
    return FALSE;
  if (!(database = g_tls_file_database_new (self->relay_ca, &local_error)))
    {
      rtcbotd_config_reader_error (reader, error, g, "relay-ca", "\"%s\": %s", self->relay_ca,
                                   local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_relay (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  if (!rtcbotd_config_reader_get_string (reader, g, "relay", NULL, &self->relay, error)
      || !rtcbotd_config_reader_get_string (reader, g, "relay-secret", NULL, &self->relay_secret,
                                            error)
      || (self->relay && !check_relay_url (reader, g, self->relay, error))
      || (self->relay_secret
          && !check_token (reader, g, "relay-secret", self->relay_secret, error)))
    return FALSE;
  if (self->relay_secret && !self->relay)
    {
      rtcbotd_config_reader_error (reader, error, g, "relay-secret", "needs relay as well");
      return FALSE;
    }
  return parse_relay_ca (self, reader, g, error);
}

static gboolean
parse_web_root (RtcbotdConfig *self, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  g_autofree char *web_root = NULL;

  if (!rtcbotd_config_reader_get_string (reader, g, "web-root", "builtin", &web_root, error))
    return FALSE;
  if (g_str_equal (web_root, "builtin"))
    return TRUE;
  if (!g_file_test (web_root, G_FILE_TEST_IS_DIR))
    {
      rtcbotd_config_reader_error (reader, error, g, "web-root",
                                   "\"%s\" is not a directory; accepted: builtin or a directory",
                                   web_root);
      return FALSE;
    }
  self->web_root = g_steal_pointer (&web_root);
  return TRUE;
}

gboolean
rtcbotd_config_parse_daemon (RtcbotdConfig *self, RtcbotdConfigReader *reader, GError **error)
{
  const char *g = "daemon";
  g_autofree char *listen = NULL;
  g_autoptr (GError) local_error = NULL;
  guint control;

  if (!rtcbotd_config_reader_check_keys (reader, g, daemon_keys, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "control", controls, 0, &control, error)
      || !rtcbotd_config_reader_get_string (reader, g, "control-token", NULL, &self->control_token,
                                            error)
      || !parse_tokens (self, reader, g, error)
      /* Without a token anyone who reaches the port drives: by default, only this machine. */
      || !rtcbotd_config_reader_get_string (
          reader, g, "listen",
          self->token ? RTCBOTD_CONFIG_LISTEN_ALL : RTCBOTD_CONFIG_LISTEN_LOOPBACK, &listen, error)
      || !parse_web_root (self, reader, g, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "max-peers", 8, 1, 64, &self->max_peers, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "peer-timeout", 15, 5, 300,
                                          &self->peer_timeout, error)
      /* 1000/s is ten times what a gamepad at 60 Hz and a keyboard send. */
      || !rtcbotd_config_reader_get_uint (reader, g, "max-messages-per-second", 1000, 0, 1000000,
                                          &self->max_messages_per_second, error)
      || !parse_tls (self, reader, g, error) || !parse_ice (self, reader, g, error)
      || !parse_relay (self, reader, g, error))
    return FALSE;
  self->control = control;
  if (!rtcbotd_config_set_listen (self, listen, &local_error))
    {
      rtcbotd_config_reader_error (reader, error, g, "listen", "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}
