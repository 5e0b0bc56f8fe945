/* rtcbotd-access.c — who may use which part of the HTTP surface: tokens. */
#include "rtcbotd-access.h"

#include <string.h>

/* Paths under these prefixes are protected whether or not anything serves
 * them yet, so that an endpoint added later cannot forget its check. */
static const struct
{
  const char *path;
  gboolean prefix;
  RtcbotdNeed need;
} rules[] = {
  { "/connect", FALSE, RTCBOTD_NEED_VIEWER },
  { "/metrics", FALSE, RTCBOTD_NEED_VIEWER },
  { "/whep", FALSE, RTCBOTD_NEED_VIEWER },
  { "/whep/", TRUE, RTCBOTD_NEED_VIEWER },
  /* The page learns what the robot offers before it connects, as a viewer too. */
  { "/api/robot", FALSE, RTCBOTD_NEED_VIEWER },
  { "/api", FALSE, RTCBOTD_NEED_DRIVER },
  { "/api/", TRUE, RTCBOTD_NEED_DRIVER },
  { "/ws", FALSE, RTCBOTD_NEED_DRIVER },
  { "/ws/", TRUE, RTCBOTD_NEED_DRIVER },
};

RtcbotdNeed
rtcbotd_access_need_for (const char *path)
{
  for (guint i = 0; i < G_N_ELEMENTS (rules); i++)
    if (rules[i].prefix ? g_str_has_prefix (path, rules[i].path)
                        : g_str_equal (path, rules[i].path))
      return rules[i].need;
  return RTCBOTD_NEED_NOTHING;
}

/* "Bearer T" (the scheme in any case, RFC 9110); NULL for other schemes. */
static char *
bearer_token (const char *authorization)
{
  const char *rest;

  if (!authorization || g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0)
    return NULL;
  rest = authorization + 7;
  while (*rest == ' ' || *rest == '\t')
    rest++;
  return *rest ? g_strchomp (g_strdup (rest)) : NULL;
}

/* The value of the rtcbotd-token cookie in a Cookie header ("a=b; rtcbotd-token=T"). */
static char *
cookie_token (const char *cookie)
{
  g_auto (GStrv) pairs = NULL;

  if (!cookie)
    return NULL;
  pairs = g_strsplit (cookie, ";", -1);
  for (guint i = 0; pairs[i]; i++)
    {
      char *pair = g_strstrip (pairs[i]);
      gsize n = strlen (RTCBOTD_ACCESS_COOKIE);
      char *value;
      gsize length;

      if (strncmp (pair, RTCBOTD_ACCESS_COOKIE, n) != 0 || pair[n] != '=')
        continue;
      value = pair + n + 1;
      length = strlen (value);
      /* RFC 6265 allows a value in double quotes. */
      if (length >= 2 && value[0] == '"' && value[length - 1] == '"')
        return g_strndup (value + 1, length - 2);
      return *value ? g_strdup (value) : NULL;
    }
  return NULL;
}

char *
rtcbotd_access_find_token (const char *authorization, const char *query_token, const char *cookie)
{
  char *token = bearer_token (authorization);

  /* A ?token= comes before the cookie: opening the page with a new token
   * must replace the one a browser remembers. */
  if (!token && query_token && *query_token)
    token = g_strdup (query_token);
  if (!token)
    token = cookie_token (cookie);
  return token;
}

gboolean
rtcbotd_access_token_equal (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  guint8 diff = la != lb;

  /* Every byte of @a is compared, whatever the outcome so far: the time
   * tells at most the length of @a, which the sender knows anyway. */
  for (gsize i = 0; i < la; i++)
    diff |= (guint8)a[i] ^ (guint8)b[i % MAX (lb, 1)];
  return diff == 0;
}

RtcbotdAccess
rtcbotd_access_check (const char *token, const char *viewer_token, const char *presented,
                      RtcbotdNeed need, RtcbotdRole *role)
{
  gboolean is_driver, is_viewer;

  *role = RTCBOTD_ROLE_DRIVER;
  if (!token)
    return RTCBOTD_ACCESS_GRANTED; /* nothing configured: open, as before tokens */
  if (!presented || !*presented)
    {
      if (need != RTCBOTD_NEED_NOTHING)
        return RTCBOTD_ACCESS_MISSING;
      *role = RTCBOTD_ROLE_VIEWER;
      return RTCBOTD_ACCESS_GRANTED;
    }
  /* Both comparisons always run, so the time does not tell which one matched. */
  is_driver = rtcbotd_access_token_equal (presented, token);
  is_viewer = viewer_token && rtcbotd_access_token_equal (presented, viewer_token);
  if (is_driver)
    return RTCBOTD_ACCESS_GRANTED;
  *role = RTCBOTD_ROLE_VIEWER;
  if (!is_viewer)
    return need == RTCBOTD_NEED_NOTHING ? RTCBOTD_ACCESS_GRANTED : RTCBOTD_ACCESS_WRONG;
  return need == RTCBOTD_NEED_DRIVER ? RTCBOTD_ACCESS_VIEWER_ONLY : RTCBOTD_ACCESS_GRANTED;
}

const char *
rtcbotd_access_describe (RtcbotdAccess access)
{
  switch (access)
    {
      case RTCBOTD_ACCESS_GRANTED:
        return "granted";
      case RTCBOTD_ACCESS_MISSING:
        return "this robot needs a token: send \"Authorization: Bearer TOKEN\", or open the "
               "page as /?token=TOKEN";
      case RTCBOTD_ACCESS_WRONG:
        return "this token is not accepted here";
      case RTCBOTD_ACCESS_VIEWER_ONLY:
        return "this token may only watch; this needs the driver's token";
    }
  return "refused";
}

char *
rtcbotd_access_cookie (const char *token, gboolean secure)
{
  return g_strdup_printf (RTCBOTD_ACCESS_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s", token,
                          secure ? "; Secure" : "");
}

const char *
rtcbotd_role_to_string (RtcbotdRole role)
{
  return role == RTCBOTD_ROLE_DRIVER ? "driver" : "viewer";
}
