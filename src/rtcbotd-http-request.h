/* rtcbotd-http-request.h — what the HTTP surface decides about a request, without a server.
 *
 * Pure functions of a request's method, path, query, headers and body size,
 * extracted from rtcbotd-http.c so that every decision is unit-tested and
 * fuzzed with strings (fuzzing/fuzz-http.c): the token gate (which token a
 * request needs and whether it carries it), the body-size check made before
 * the body is read, the asset names that may be served, and which handler
 * (or which error status) a request gets. Nothing here keeps state.
 */
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include "rtcbotd-access.h"

G_BEGIN_DECLS

/* Who serves a request, or the error it gets. */
typedef enum
{
  RTCBOTD_HTTP_TARGET_WHEP,       /* /whep and /whep/...: rtcbotd-whep.h decides further */
  RTCBOTD_HTTP_TARGET_CONNECT,    /* POST /connect */
  RTCBOTD_HTTP_TARGET_HEALTHZ,    /* GET /healthz */
  RTCBOTD_HTTP_TARGET_ROBOT_INFO, /* GET /api/robot */
  RTCBOTD_HTTP_TARGET_METRICS,    /* GET /metrics */
  RTCBOTD_HTTP_TARGET_ASSET,      /* GET a page or library file */
  RTCBOTD_HTTP_TARGET_TOO_LARGE,  /* 413: the body passed RTCBOTD_HTTP_MAX_BODY */
  RTCBOTD_HTTP_TARGET_NOT_FOUND,  /* 404 */
  RTCBOTD_HTTP_TARGET_METHOD, /* 405, with the Allow header rtcbotd_http_request_allow() gives */
} RtcbotdHttpTarget;

/** Returns the gate's verdict for a request: granted when @path needs nothing (or @method is
 * OPTIONS), else rtcbotd_access_check() of the token in @authorization, @query (raw, may be NULL)
 * or @cookie; sets *role when granted with a token. */
RtcbotdAccess rtcbotd_http_request_gate (const char *token, const char *viewer_token,
                                         const char *method, const char *path,
                                         const char *authorization, const char *query,
                                         const char *cookie, RtcbotdRole *role);

/** Returns what @path needs, taking the stricter of it and its percent-decoded form. */
RtcbotdNeed rtcbotd_http_request_need (const char *path);

/** Returns 0 when a body of @length bytes sent with @encoding may be read, else the status
 * (413: over RTCBOTD_HTTP_MAX_BODY, 400: a negative Content-Length). */
guint rtcbotd_http_request_check_length (SoupEncoding encoding, goffset length);

/** Returns the asset name @path asks for ("/" is "index.html"), or NULL when it has an empty,
 * "." or ".." segment. */
const char *rtcbotd_http_request_asset_name (const char *path);

/** Returns TRUE when @path is one the server answers itself (not an asset): /connect, /whep,
 * /healthz, /metrics, /api/robot. */
gboolean rtcbotd_http_request_is_builtin (const char *path);

/** Returns who serves @method on @path; @too_large: the body passed the cap; @asset_found: the
 * asset @path names exists (only asked for paths that are not built in). */
RtcbotdHttpTarget rtcbotd_http_request_route (const char *method, const char *path,
                                              gboolean too_large, gboolean asset_found);

/** Returns the Allow header for a 405 on @path. */
const char *rtcbotd_http_request_allow (const char *path);

G_END_DECLS
