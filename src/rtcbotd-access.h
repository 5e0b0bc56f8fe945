/* rtcbotd-access.h — who may use which part of the HTTP surface: tokens.
 *
 * Stateless helpers with no libsoup in them, so that every rule is
 * unit-tested with strings: which paths need a token ([daemon] token, the
 * driver's, or [daemon] viewer-token, which may only watch), where a request
 * carries one (Authorization: Bearer, the rtcbotd-token cookie, ?token=), the
 * constant-time comparison, and the cookie the page gets. Without a
 * configured token everything is open and every request drives.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RTCBOTD_ACCESS_COOKIE "rtcbotd-token"

/* What a request (and the peer it creates) may do. */
typedef enum
{
  RTCBOTD_ROLE_VIEWER, /* may watch: media and messages to it; never drives */
  RTCBOTD_ROLE_DRIVER, /* may do everything the configuration allows */
} RtcbotdRole;

/* What a path needs, from least to most. */
typedef enum
{
  RTCBOTD_NEED_NOTHING, /* open: the page, its assets, /rtcbot.js, /healthz */
  RTCBOTD_NEED_VIEWER,  /* the driver or the viewer token */
  RTCBOTD_NEED_DRIVER,  /* the driver token */
} RtcbotdNeed;

typedef enum
{
  RTCBOTD_ACCESS_GRANTED,
  RTCBOTD_ACCESS_MISSING,     /* no token at all: HTTP 401 */
  RTCBOTD_ACCESS_WRONG,       /* a token that is not one of ours: HTTP 403 */
  RTCBOTD_ACCESS_VIEWER_ONLY, /* the viewer token where the driver's is needed: HTTP 403 */
} RtcbotdAccess;

/** Returns what @path (as decoded by the server) needs; unknown paths under a protected prefix
 * count. */
RtcbotdNeed rtcbotd_access_need_for (const char *path);

/** Returns the token a request carries: Authorization: Bearer, else @query_token, else the cookie.
 */
char *rtcbotd_access_find_token (const char *authorization, const char *query_token,
                                 const char *cookie);

/** Checks @presented (may be NULL) against the tokens for @need; sets *role when granted. */
RtcbotdAccess rtcbotd_access_check (const char *token, const char *viewer_token,
                                    const char *presented, RtcbotdNeed need, RtcbotdRole *role);

/** Returns the text of the JSON error for a refusal. */
const char *rtcbotd_access_describe (RtcbotdAccess access);

/** Returns the Set-Cookie value that stores @token for the page (Secure when @secure). */
char *rtcbotd_access_cookie (const char *token, gboolean secure);

/** Returns TRUE when @a equals @b, in a time that does not depend on where they differ. */
gboolean rtcbotd_access_token_equal (const char *a, const char *b);

/** Returns "driver" or "viewer". */
const char *rtcbotd_role_to_string (RtcbotdRole role);

G_END_DECLS
