/* fuzz-http.c — the HTTP request path up to the handlers: a request's
 * method, path, query and headers (Authorization, Cookie, Content-Type,
 * Content-Length, Transfer-Encoding) through the token gate, the body-size
 * check, the asset-name check and the routing (rtcbotd-http-request.h), then
 * the body through the handler it routes to.
 *
 * Input: "METHOD\nPATH\nQUERY\nName: value\n...\n\nBODY" (a missing line is empty). */
#include <string.h>

#include "fuzz-common.h"
#include "rtcbotd-http-request.h"
#include "rtcbotd-http.h"
#include "rtcbotd-sdpfrag.h"
#include "rtcbotd-signaling.h"

#define TOKEN "driver-token-1234"
#define VIEWER "viewer-token-5678"

/* Adds the "Name: value" lines of @lines (up to an empty one) to @headers; returns the next. */
static guint
add_headers (SoupMessageHeaders *headers, char **lines, guint i)
{
  for (; lines[i] && *lines[i]; i++)
    {
      char *colon = strchr (lines[i], ':');
      g_autofree char *name = colon ? g_strndup (lines[i], colon - lines[i]) : NULL;

      /* What libsoup's parser would have refused never reaches us. */
      if (!name || !*name || strpbrk (name, " \t\r:") || strchr (colon, '\r')
          || !g_utf8_validate (lines[i], -1, NULL))
        continue;
      soup_message_headers_append (headers, name, g_strstrip (colon + 1));
    }
  return lines[i] ? i + 1 : i;
}

static void
check_gate (const char *method, const char *path, const char *query, SoupMessageHeaders *headers)
{
  const char *authorization = soup_message_headers_get_one (headers, "Authorization");
  const char *cookie = soup_message_headers_get_one (headers, "Cookie");
  RtcbotdNeed need = rtcbotd_http_request_need (path);
  RtcbotdRole role = RTCBOTD_ROLE_VIEWER;
  RtcbotdAccess open
      = rtcbotd_http_request_gate (NULL, NULL, method, path, authorization, query, cookie, &role);
  RtcbotdAccess bare
      = rtcbotd_http_request_gate (TOKEN, VIEWER, method, path, NULL, NULL, NULL, &role);
  RtcbotdAccess access = rtcbotd_http_request_gate (TOKEN, VIEWER, method, path, authorization,
                                                    query, cookie, &role);

  /* Without tokens everything passes; with them, a protected path needs one. */
  if (open != RTCBOTD_ACCESS_GRANTED)
    abort ();
  if (need != RTCBOTD_NEED_NOTHING && !g_str_equal (method, "OPTIONS")
      && bare != RTCBOTD_ACCESS_MISSING)
    abort ();
  if (access == RTCBOTD_ACCESS_GRANTED && need == RTCBOTD_NEED_DRIVER
      && !g_str_equal (method, "OPTIONS") && role != RTCBOTD_ROLE_DRIVER)
    abort ();
  rtcbotd_access_describe (access);
}

static void
check_body (RtcbotdHttpTarget target, const char *path, SoupMessageHeaders *headers,
            const char *body, gsize length)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) params = NULL;
  const char *type = soup_message_headers_get_content_type (headers, &params);

  if (target == RTCBOTD_HTTP_TARGET_CONNECT)
    {
      g_autofree char *sdp = rtcbotd_signaling_parse_offer (body, length, &error);
      if (!sdp == !error)
        abort ();
    }
  else if (target == RTCBOTD_HTTP_TARGET_WHEP && type
           && g_str_equal (type, "application/trickle-ice-sdpfrag"))
    {
      g_autoptr (RtcbotdSdpfrag) frag = rtcbotd_sdpfrag_parse (body, length, &error);
      if (!frag == !error)
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = fuzz_text (data, size);
  const char *blank = strstr (text, "\n\n");
  g_autofree char *head = blank ? g_strndup (text, blank - text + 1) : g_strdup (text);
  g_auto (GStrv) lines = g_strsplit (head, "\n", -1);
  g_autoptr (SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  const char *method = lines[0] ? lines[0] : "";
  const char *path = lines[0] && lines[1] ? lines[1] : "/";
  const char *query = lines[0] && lines[1] && lines[2] && *lines[2] ? lines[2] : NULL;
  const char *body = blank ? (const char *)data + (blank - text) + 2 : "";
  gsize length = blank ? size - (blank - text) - 2 : 0;
  const char *asset;
  guint status;
  RtcbotdHttpTarget target;

  fuzz_quiet ();
  if (lines[0] && lines[1] && lines[2])
    add_headers (headers, lines, 3);
  check_gate (method, path, query, headers);
  status = rtcbotd_http_request_check_length (soup_message_headers_get_encoding (headers),
                                              soup_message_headers_get_content_length (headers));
  if (status != 0 && status != SOUP_STATUS_BAD_REQUEST
      && status != SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE)
    abort ();
  /* An asset name never climbs out of the web root. */
  asset = rtcbotd_http_request_asset_name (path);
  if (asset
      && (*asset == '/' || g_str_has_prefix (asset, "../") || strstr (asset, "/../")
          || g_str_has_suffix (asset, "/..") || g_str_equal (asset, "..")))
    abort ();
  target = rtcbotd_http_request_route (method, path, status != 0 || length > RTCBOTD_HTTP_MAX_BODY,
                                       asset && size % 2);
  if (target == RTCBOTD_HTTP_TARGET_ASSET && !asset)
    abort ();
  if (target == RTCBOTD_HTTP_TARGET_CONNECT && !g_str_equal (method, "POST"))
    abort ();
  if (target == RTCBOTD_HTTP_TARGET_METHOD)
    rtcbotd_http_request_allow (path);
  if (length <= RTCBOTD_HTTP_MAX_BODY)
    check_body (target, path, headers, body, length);
  return 0;
}
