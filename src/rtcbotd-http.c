/* rtcbotd-http.c — the HTTP surface: page, library, /connect, /healthz, /metrics, /api/robot,
 * access control.
 */
#include "rtcbotd-http.h"

#include <libsoup/soup.h>
#include <stdlib.h>
#include <string.h>

#include "rtcbotd-access.h"
#include "rtcbotd-daemon.h"
#include "rtcbotd-error.h"
#include "rtcbotd-http-limits.h"
#include "rtcbotd-http-request.h"
#include "rtcbotd-metrics.h"
#include "rtcbotd-robot-info.h"
#include "rtcbotd-signaling.h"
#include "rtcbotd-whep.h"

#define RESOURCE_PREFIX "/org/rtcbotd/web/"
#define BODY_KEY "rtcbotd-body"       /* GByteArray of the request body, capped */
#define TOO_LARGE_KEY "rtcbotd-large" /* set when the body passed the cap */
#define GONE_KEY "rtcbotd-gone"       /* set when the client went away */
#define ROLE_KEY "rtcbotd-role"       /* RtcbotdRole + 1 of a request that passed the gate */

struct _RtcbotdHttp
{
  RtcbotdDaemon *daemon;
  const RtcbotdConfig *config;
  SoupServer *server;
  RtcbotdWhep *whep;
  RtcbotdHttpLimits *limits;
};

gboolean
rtcbotd_http_is_gone (SoupServerMessage *msg)
{
  return g_object_get_data (G_OBJECT (msg), GONE_KEY) != NULL;
}

void
rtcbotd_http_reply (SoupServerMessage *msg, guint status, const char *content_type,
                    const char *body, gsize length)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, content_type, SOUP_MEMORY_COPY, body, length);
}

void
rtcbotd_http_reply_error (SoupServerMessage *msg, guint status, const char *message)
{
  g_autofree char *json = rtcbotd_signaling_error_json (message);

  rtcbotd_http_reply (msg, status, "application/json", json, strlen (json));
}

/* Before the body is read: refuse what is too large at once, and from then on
 * keep at most RTCBOTD_HTTP_MAX_BODY bytes of it, whatever the client sends. */
static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  GByteArray *body = g_object_get_data (G_OBJECT (msg), BODY_KEY);

  if (body->len + g_bytes_get_size (chunk) > RTCBOTD_HTTP_MAX_BODY)
    g_object_set_data (G_OBJECT (msg), TOO_LARGE_KEY, GINT_TO_POINTER (TRUE));
  else
    g_byte_array_append (body, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
}

static void
on_disconnected (SoupServerMessage *msg, gpointer user_data)
{
  g_object_set_data (G_OBJECT (msg), GONE_KEY, GINT_TO_POINTER (TRUE));
}

/* libsoup 3.2 (Debian 12) never closes a kept-alive connection that the
 * client closes while it is idle: each stays in CLOSE_WAIT, an fd lost per
 * client (fixed upstream in 3.3, libsoup commit d20c6601). So every reply
 * but a WebSocket upgrade closes its connection; a page makes few requests.
 * Set when the headers are in, before any handler: also for the 400s libsoup
 * gives itself (an absolute URI on plain http, an encoded "/.." path). */
static void
close_after_reply (SoupServerMessage *msg)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);

  if (!soup_message_headers_get_one (request, "Upgrade"))
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                  "close");
}

/* The one place where tokens are checked: every request, once its headers
 * are in, whichever handler serves it later (our own, a websocket endpoint's
 * /ws/NAME, one added later). A refusal replaces anything an early handler
 * answered, and keeps the body from being read and the websocket handshake
 * from being answered. Main context. */
static void
on_got_headers (SoupServerMessage *msg, RtcbotdHttp *self)
{
  GUri *uri = soup_server_message_get_uri (msg);
  const char *path = g_uri_get_path (uri);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  RtcbotdRole role = RTCBOTD_ROLE_VIEWER;
  gboolean checked = rtcbotd_http_request_need (path) != RTCBOTD_NEED_NOTHING;
  RtcbotdAccess access = rtcbotd_http_request_gate (
      self->config->token, self->config->viewer_token, soup_server_message_get_method (msg), path,
      soup_message_headers_get_one (headers, "Authorization"), g_uri_get_query (uri),
      soup_message_headers_get_one (headers, "Cookie"), &role);

  close_after_reply (msg);
  if (access == RTCBOTD_ACCESS_GRANTED)
    {
      /* Only a checked token gives a role; open paths and preflights keep the default. */
      if (checked && !g_str_equal (soup_server_message_get_method (msg), "OPTIONS"))
        g_object_set_data (G_OBJECT (msg), ROLE_KEY, GINT_TO_POINTER (role + 1));
      return;
    }
  g_debug ("%s %s: refused: %s", soup_server_message_get_method (msg), path,
           rtcbotd_access_describe (access));
  if (access == RTCBOTD_ACCESS_MISSING)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "WWW-Authenticate", "Bearer realm=\"rtcbotd\"");
  rtcbotd_http_reply_error (
      msg, access == RTCBOTD_ACCESS_MISSING ? SOUP_STATUS_UNAUTHORIZED : SOUP_STATUS_FORBIDDEN,
      rtcbotd_access_describe (access));
}

/* After the gate: an offer (/connect, a WHEP POST) that nothing refused yet
 * takes one of the slots of rtcbotd-http-limits.h, or gets 503. Main context. */
static void
on_got_offer_headers (SoupServerMessage *msg, RtcbotdHttp *self)
{
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));

  if (soup_server_message_get_status (msg) == SOUP_STATUS_NONE
      && g_str_equal (soup_server_message_get_method (msg), "POST")
      && (g_str_equal (path, "/connect") || rtcbotd_whep_owns_path (path)))
    rtcbotd_http_limits_admit_offer (self->limits, msg);
}

/* A new request, nothing read yet; main context. */
static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  RtcbotdHttp *self = user_data;

  rtcbotd_http_limits_watch (self->limits, msg);
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_got_headers), user_data);
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_got_offer_headers), user_data);
}

/* The role of a request that passed the gate. */
static RtcbotdRole
request_role (RtcbotdHttp *self, SoupServerMessage *msg)
{
  gint stored = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (msg), ROLE_KEY));

  if (stored)
    return stored - 1;
  return self->config->token ? RTCBOTD_ROLE_VIEWER : RTCBOTD_ROLE_DRIVER;
}

static void
early_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  guint status;

  /* Without "Expect: 100-continue" libsoup reads the whole body even after
   * the 413: never accumulate it, or Content-Length: 10 GB is 10 GB of memory. */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_object_set_data_full (G_OBJECT (msg), BODY_KEY, g_byte_array_new (),
                          (GDestroyNotify)g_byte_array_unref);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), NULL);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_disconnected), NULL);
  status = rtcbotd_http_request_check_length (soup_message_headers_get_encoding (headers),
                                              soup_message_headers_get_content_length (headers));
  if (status)
    {
      g_object_set_data (G_OBJECT (msg), TOO_LARGE_KEY, GINT_TO_POINTER (TRUE));
      rtcbotd_http_reply_error (msg, status,
                                status == SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE
                                    ? "request body over 64 KiB"
                                    : "Content-Length is not a size");
    }
}

static const char *
content_type_for (const char *name)
{
  static const char *const types[][2] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_has_suffix (name, types[i][0]))
      return types[i][1];
  return "application/octet-stream";
}

/* TRUE when @path is a regular file that, symbolic links resolved, lies inside the web root. */
static gboolean
inside_web_root (RtcbotdHttp *self, const char *path)
{
  g_autofree char *root = realpath (self->config->web_root, NULL);
  g_autofree char *real = realpath (path, NULL);

  return root && real && g_file_test (real, G_FILE_TEST_IS_REGULAR) && g_str_has_prefix (real, root)
         && real[strlen (root)] == '/';
}

/* Returns the asset @name (no leading '/') from the web root or the built-in set. */
static GBytes *
load_asset (RtcbotdHttp *self, const char *name)
{
  g_autofree char *resource = NULL;
  g_autofree char *path = NULL;
  char *data;
  gsize length;

  if (!name)
    return NULL;
  if (!self->config->web_root)
    {
      resource = g_strconcat (RESOURCE_PREFIX, name, NULL);
      return g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
    }
  path = g_build_filename (self->config->web_root, name, NULL);
  if (!inside_web_root (self, path) || !g_file_get_contents (path, &data, &length, NULL))
    return NULL;
  return g_bytes_new_take (data, length);
}

/* The page opened as /?token=T: the browser keeps T in a cookie, which the
 * page's own requests (/connect) then carry without the page seeing it. */
static void
remember_token (RtcbotdHttp *self, SoupServerMessage *msg, GHashTable *query)
{
  const char *token = query ? g_hash_table_lookup (query, "token") : NULL;
  g_autofree char *cookie = NULL;
  RtcbotdRole role;

  if (!self->config->token || !token
      || rtcbotd_access_check (self->config->token, self->config->viewer_token, token,
                               RTCBOTD_NEED_VIEWER, &role)
             != RTCBOTD_ACCESS_GRANTED)
    return;
  cookie = rtcbotd_access_cookie (token, self->config->tls_certificate != NULL);
  soup_message_headers_append (soup_server_message_get_response_headers (msg), "Set-Cookie",
                               cookie);
}

static void
serve_static (SoupServerMessage *msg, const char *name, GBytes *asset)
{
  gsize length;
  const char *data = g_bytes_get_data (asset, &length);

  rtcbotd_http_reply (msg, SOUP_STATUS_OK, content_type_for (name), data, length);
}

guint
rtcbotd_http_status_for (const GError *error)
{
  if (error->domain != RTCBOTD_ERROR)
    return SOUP_STATUS_INTERNAL_SERVER_ERROR;
  switch (error->code)
    {
      case RTCBOTD_ERROR_INVALID:
      case RTCBOTD_ERROR_UNSUPPORTED:
        return SOUP_STATUS_BAD_REQUEST;
      case RTCBOTD_ERROR_BUSY:
        return SOUP_STATUS_SERVICE_UNAVAILABLE;
      default:
        return SOUP_STATUS_INTERNAL_SERVER_ERROR;
    }
}

static void
on_connect_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SoupServerMessage) msg = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *answer = rtcbotd_daemon_connect_finish (RTCBOTD_DAEMON (object), result, &error);

  if (g_object_get_data (G_OBJECT (msg), GONE_KEY))
    return;
  if (answer)
    rtcbotd_http_reply (msg, SOUP_STATUS_OK, "application/json", answer, strlen (answer));
  else
    {
      if (rtcbotd_http_status_for (error) == SOUP_STATUS_SERVICE_UNAVAILABLE)
        soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                      "5");
      rtcbotd_http_reply_error (msg, rtcbotd_http_status_for (error), error->message);
    }
  soup_server_message_unpause (msg);
}

static void
serve_connect (RtcbotdHttp *self, SoupServerMessage *msg)
{
  GByteArray *body = g_object_get_data (G_OBJECT (msg), BODY_KEY);
  GSocketAddress *local = soup_server_message_get_local_address (msg);
  g_autoptr (GBytes) bytes = g_bytes_new (body->data, body->len);
  GInetAddress *address = NULL;

  if (G_IS_INET_SOCKET_ADDRESS (local))
    address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
  soup_server_message_pause (msg);
  rtcbotd_daemon_connect_async (self->daemon, bytes, address, request_role (self, msg),
                                on_connect_done, g_object_ref (msg));
}

static void
serve_whep (RtcbotdHttp *self, SoupServerMessage *msg, const char *path)
{
  GByteArray *body = g_object_get_data (G_OBJECT (msg), BODY_KEY);
  GSocketAddress *local = soup_server_message_get_local_address (msg);
  g_autoptr (GBytes) bytes = g_bytes_new (body->data, body->len);
  GInetAddress *address = NULL;

  if (G_IS_INET_SOCKET_ADDRESS (local))
    address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
  rtcbotd_whep_handle (self->whep, msg, path, bytes, request_role (self, msg), address);
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  RtcbotdHttp *self = user_data;
  const char *asset_name = rtcbotd_http_request_asset_name (path);
  g_autoptr (GBytes) asset
      = rtcbotd_http_request_is_builtin (path) ? NULL : load_asset (self, asset_name);
  gboolean too_large = g_object_get_data (G_OBJECT (msg), TOO_LARGE_KEY) != NULL;

  switch (rtcbotd_http_request_route (soup_server_message_get_method (msg), path, too_large,
                                      asset != NULL))
    {
      case RTCBOTD_HTTP_TARGET_WHEP:
        serve_whep (self, msg, path);
        break;
      case RTCBOTD_HTTP_TARGET_CONNECT:
        serve_connect (self, msg);
        break;
      case RTCBOTD_HTTP_TARGET_HEALTHZ:
        {
          g_autofree char *json = rtcbotd_daemon_health_json (self->daemon);
          rtcbotd_http_reply (msg, SOUP_STATUS_OK, "application/json", json, strlen (json));
        }
        break;
      case RTCBOTD_HTTP_TARGET_ROBOT_INFO:
        {
          g_autofree char *json = rtcbotd_robot_info_json (self->config);
          rtcbotd_http_reply (msg, SOUP_STATUS_OK, "application/json", json, strlen (json));
        }
        break;
      case RTCBOTD_HTTP_TARGET_METRICS:
        {
          g_autofree char *text = rtcbotd_daemon_metrics_text (self->daemon);
          rtcbotd_http_reply (msg, SOUP_STATUS_OK, RTCBOTD_METRICS_CONTENT_TYPE, text,
                              strlen (text));
        }
        break;
      case RTCBOTD_HTTP_TARGET_ASSET:
        remember_token (self, msg, query);
        serve_static (msg, asset_name, asset);
        break;
      case RTCBOTD_HTTP_TARGET_TOO_LARGE:
        /* The early handler's status (413, or 400 for a bad Content-Length) stands. */
        if (soup_server_message_get_status (msg) == SOUP_STATUS_NONE)
          rtcbotd_http_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
                                    "request body over 64 KiB");
        break;
      case RTCBOTD_HTTP_TARGET_NOT_FOUND:
        rtcbotd_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "no such page");
        break;
      case RTCBOTD_HTTP_TARGET_METHOD:
        soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                      rtcbotd_http_request_allow (path));
        rtcbotd_http_reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed here");
        break;
    }
}

RtcbotdHttp *
rtcbotd_http_new (RtcbotdDaemon *daemon, const RtcbotdConfig *config)
{
  RtcbotdHttp *self = g_new0 (RtcbotdHttp, 1);

  self->daemon = daemon;
  self->config = config;
  self->server = soup_server_new ("server-header", "rtcbotd ", NULL);
  self->whep = rtcbotd_whep_new (daemon, config);
  self->limits = rtcbotd_http_limits_new ();
  g_signal_connect (self->server, "request-started", G_CALLBACK (on_request_started), self);
  soup_server_add_early_handler (self->server, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->server, NULL, handler, self, NULL);
  return self;
}

SoupServer *
rtcbotd_http_get_server (RtcbotdHttp *self)
{
  return self->server;
}

/* Without a token, whoever reaches the port drives the robot: say so once,
 * loudly, unless only this machine can reach it. */
static void
warn_if_open (RtcbotdHttp *self)
{
  const char *host = self->config->listen_host;
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (host);

  if (self->config->token || g_str_equal (host, "localhost")
      || (address && g_inet_address_get_is_loopback (address)))
    return;
  if (!address || g_inet_address_get_is_any (address))
    g_warning ("listening on all interfaces without a token: anyone on the network can drive "
               "this robot; set [daemon] token (see docs/security.md)");
  else
    g_warning ("listening on %s without a token: anyone who reaches it can drive this robot; "
               "set [daemon] token (see docs/security.md)",
               host);
}

/* The files were checked at load, but may have changed since. */
static GTlsCertificate *
load_certificate (const RtcbotdConfig *config, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GTlsCertificate *certificate
      = g_tls_certificate_new_from_files (config->tls_certificate, config->tls_key, &local_error);

  if (!certificate)
    g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG,
                 "[daemon] tls-certificate \"%s\" and tls-key \"%s\": %s", config->tls_certificate,
                 config->tls_key, local_error->message);
  return certificate;
}

/* With [daemon] tls-certificate, the server speaks https only (wss:// for websockets). */
static gboolean
set_up_tls (RtcbotdHttp *self, SoupServerListenOptions *options, GError **error)
{
  g_autoptr (GTlsCertificate) certificate = NULL;

  if (!self->config->tls_certificate)
    return TRUE;
  if (!(certificate = load_certificate (self->config, error)))
    return FALSE;
  g_object_set (self->server, "tls-certificate", certificate, NULL);
  *options |= SOUP_SERVER_LISTEN_HTTPS;
  return TRUE;
}

gboolean
rtcbotd_http_listen (RtcbotdHttp *self, GError **error)
{
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string (
      self->config->listen_host, self->config->listen_port);
  g_autoptr (GError) local_error = NULL;
  SoupServerListenOptions options = 0;
  GSList *uris;

  gboolean listening;

  if (!set_up_tls (self, &options, error))
    return FALSE;
  if (!address) /* "localhost" */
    address = g_inet_socket_address_new_from_string ("127.0.0.1", self->config->listen_port);
  /* "::" means every address, IPv4 included, as people expect. */
  if (g_str_equal (self->config->listen_host, "::"))
    listening
        = soup_server_listen_all (self->server, self->config->listen_port, options, &local_error);
  else
    listening = soup_server_listen (self->server, address, options, &local_error);
  if (!listening)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INTERNAL, "cannot listen on %s:%u: %s",
                   self->config->listen_host, self->config->listen_port, local_error->message);
      return FALSE;
    }
  uris = soup_server_get_uris (self->server);
  for (GSList *l = uris; l; l = l->next)
    {
      g_autofree char *uri = g_uri_to_string (l->data);
      g_message ("listening on %s", uri);
    }
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  warn_if_open (self);
  return TRUE;
}

gboolean
rtcbotd_http_reload (RtcbotdHttp *self, const RtcbotdConfig *config, GError **error)
{
  const RtcbotdConfig *old = self->config;

  /* Same address and scheme: the listeners stay. They follow the server's
   * certificate, so a renewed one serves the next handshakes. */
  if (g_str_equal (old->listen_host, config->listen_host) && old->listen_port == config->listen_port
      && !old->tls_certificate == !config->tls_certificate)
    {
      g_autoptr (GTlsCertificate) certificate = NULL;
      if (config->tls_certificate && !(certificate = load_certificate (config, error)))
        return FALSE;
      if (certificate)
        g_object_set (self->server, "tls-certificate", certificate, NULL);
      self->config = config;
      rtcbotd_whep_set_config (self->whep, config);
      return TRUE;
    }
  /* Handlers stay; only the listening sockets and open connections go. */
  soup_server_disconnect (self->server);
  self->config = config;
  rtcbotd_whep_set_config (self->whep, config);
  if (rtcbotd_http_listen (self, error))
    return TRUE;
  self->config = old;
  rtcbotd_whep_set_config (self->whep, old);
  if (!rtcbotd_http_listen (self, NULL))
    g_warning ("cannot listen on %s:%u again", old->listen_host, old->listen_port);
  return FALSE;
}

void
rtcbotd_http_add_metrics (RtcbotdHttp *self, RtcbotdMetrics *metrics)
{
  rtcbotd_http_limits_add_metrics (self->limits, metrics);
}

void
rtcbotd_http_stop (RtcbotdHttp *self)
{
  gint64 deadline = g_get_monotonic_time () + 100 * G_TIME_SPAN_MILLISECOND;

  /* Offers still being answered get their 503 out before the connections go
   * (a few main-context turns write it; 0.1 s at most). */
  rtcbotd_whep_refuse_pending (self->whep);
  while (g_main_context_iteration (NULL, FALSE) && g_get_monotonic_time () < deadline)
    ;
  soup_server_disconnect (self->server);
}

void
rtcbotd_http_free (RtcbotdHttp *self)
{
  if (!self)
    return;
  /* First: it answers the offers still waiting while their server is there. */
  g_clear_pointer (&self->whep, rtcbotd_whep_free);
  g_clear_object (&self->server);
  g_clear_pointer (&self->limits, rtcbotd_http_limits_unref);
  g_free (self);
}
