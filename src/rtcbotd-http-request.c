/* rtcbotd-http-request.c — what the HTTP surface decides about a request, without a server. */
#include "rtcbotd-http-request.h"

#include <string.h>

#include "rtcbotd-http.h"
#include "rtcbotd-whep.h"

RtcbotdNeed
rtcbotd_http_request_need (const char *path)
{
  /* Read once more decoded: whichever of the two the server routes by, a
   * protected path is never taken for an open one. */
  g_autofree char *decoded = g_uri_unescape_string (path, NULL);
  RtcbotdNeed need = rtcbotd_access_need_for (path);

  return decoded ? MAX (need, rtcbotd_access_need_for (decoded)) : MAX (need, RTCBOTD_NEED_VIEWER);
}

RtcbotdAccess
rtcbotd_http_request_gate (const char *token, const char *viewer_token, const char *method,
                           const char *path, const char *authorization, const char *query,
                           const char *cookie, RtcbotdRole *role)
{
  RtcbotdNeed need = rtcbotd_http_request_need (path);
  g_autoptr (GHashTable) form = NULL;
  g_autofree char *presented = NULL;

  /* A CORS preflight never carries credentials, and its reply gives nothing away. */
  if (need == RTCBOTD_NEED_NOTHING || g_str_equal (method, "OPTIONS"))
    return RTCBOTD_ACCESS_GRANTED;
  form = query ? soup_form_decode (query) : NULL;
  presented = rtcbotd_access_find_token (authorization,
                                         form ? g_hash_table_lookup (form, "token") : NULL, cookie);
  return rtcbotd_access_check (token, viewer_token, presented, need, role);
}

guint
rtcbotd_http_request_check_length (SoupEncoding encoding, goffset length)
{
  if (encoding != SOUP_ENCODING_CONTENT_LENGTH)
    return 0;
  if (length < 0)
    return SOUP_STATUS_BAD_REQUEST;
  return length > RTCBOTD_HTTP_MAX_BODY ? SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE : 0;
}

const char *
rtcbotd_http_request_asset_name (const char *path)
{
  const char *name;
  g_auto (GStrv) parts = NULL;

  if (g_str_equal (path, "/"))
    return "index.html";
  name = *path == '/' ? path + 1 : path;
  if (*name == '\0')
    return NULL;
  parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i]; i++)
    if (*parts[i] == '\0' || g_str_equal (parts[i], ".") || g_str_equal (parts[i], ".."))
      return NULL;
  return name;
}

gboolean
rtcbotd_http_request_is_builtin (const char *path)
{
  return rtcbotd_whep_owns_path (path) || g_str_equal (path, "/connect")
         || g_str_equal (path, "/healthz") || g_str_equal (path, "/metrics")
         || g_str_equal (path, "/api/robot");
}

RtcbotdHttpTarget
rtcbotd_http_request_route (const char *method, const char *path, gboolean too_large,
                            gboolean asset_found)
{
  gboolean is_get = g_str_equal (method, "GET") || g_str_equal (method, "HEAD");
  gboolean is_connect = g_str_equal (path, "/connect");

  if (rtcbotd_whep_owns_path (path))
    return too_large ? RTCBOTD_HTTP_TARGET_TOO_LARGE : RTCBOTD_HTTP_TARGET_WHEP;
  if (!rtcbotd_http_request_is_builtin (path) && !asset_found)
    return RTCBOTD_HTTP_TARGET_NOT_FOUND;
  if (too_large)
    return RTCBOTD_HTTP_TARGET_TOO_LARGE;
  if (is_connect ? !g_str_equal (method, "POST") : !is_get)
    return RTCBOTD_HTTP_TARGET_METHOD;
  if (is_connect)
    return RTCBOTD_HTTP_TARGET_CONNECT;
  if (g_str_equal (path, "/healthz"))
    return RTCBOTD_HTTP_TARGET_HEALTHZ;
  if (g_str_equal (path, "/api/robot"))
    return RTCBOTD_HTTP_TARGET_ROBOT_INFO;
  if (g_str_equal (path, "/metrics"))
    return RTCBOTD_HTTP_TARGET_METRICS;
  return RTCBOTD_HTTP_TARGET_ASSET;
}

const char *
rtcbotd_http_request_allow (const char *path)
{
  return g_str_equal (path, "/connect") ? "POST" : "GET, HEAD";
}
