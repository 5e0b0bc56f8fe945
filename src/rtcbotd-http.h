/* rtcbotd-http.h — the HTTP surface: page, library, /connect, /healthz, access control.
 *
 * A libsoup 3 server bound to [daemon] listen, over https with [daemon]
 * tls-certificate. It serves the built-in web assets (GResource) or a
 * web-root directory, hands /connect bodies to the daemon and maps its errors
 * to status codes (400, 503 + Retry-After, 500). With [daemon] token, one
 * gate checks every request's token as soon as its headers are in, whichever
 * handler would serve it (rtcbotd-access.h says which paths need what):
 * 401 without a token, 403 with a wrong one. Every error reply is JSON
 * {"error": "..."}; bodies over 64 KiB get 413 before they are read; a request
 * not in within 10 s loses its connection, and at most 8 offers (4 from one
 * address) are pending at once (rtcbotd-http-limits.h). Owned by
 * the daemon; main context only.
 */
#pragma once

#include <libsoup/soup.h>

#include "rtcbotd-config.h"
#include "rtcbotd-metrics.h"

G_BEGIN_DECLS

typedef struct _RtcbotdDaemon RtcbotdDaemon;
typedef struct _RtcbotdHttp RtcbotdHttp;

#define RTCBOTD_HTTP_MAX_BODY (64 * 1024)

/** Creates the server for @daemon; it does not listen yet. */
RtcbotdHttp *rtcbotd_http_new (RtcbotdDaemon *daemon, const RtcbotdConfig *config);

/** Returns the server, for handlers added by others (websocket endpoints). */
SoupServer *rtcbotd_http_get_server (RtcbotdHttp *self);

/** Starts listening on [daemon] listen (https with a certificate) and logs the page's URL;
 * warns once when it listens beyond loopback without a token. */
gboolean rtcbotd_http_listen (RtcbotdHttp *self, GError **error);

/** Serves @config from now on (a reload): listens anew if the address or
 * the scheme changed, else loads the certificate again (a renewed one serves
 * the next handshakes); on error nothing changes. */
gboolean rtcbotd_http_reload (RtcbotdHttp *self, const RtcbotdConfig *config, GError **error);

/** Replies @status with @body (@length bytes of @content_type), not to be cached. */
void rtcbotd_http_reply (SoupServerMessage *msg, guint status, const char *content_type,
                         const char *body, gsize length);

/** Replies @status with the JSON error {"error": @message}. */
void rtcbotd_http_reply_error (SoupServerMessage *msg, guint status, const char *message);

/** Returns the status an RTCBOTD_ERROR maps to: 400 for bad offers, 503 when busy, else 500. */
guint rtcbotd_http_status_for (const GError *error);

/** Returns TRUE when the client of @msg went away while it was paused. */
gboolean rtcbotd_http_is_gone (SoupServerMessage *msg);

/** Adds the HTTP limits' rtcbotd_http_* series (rtcbotd-http-limits.h) to @metrics. */
void rtcbotd_http_add_metrics (RtcbotdHttp *self, RtcbotdMetrics *metrics);

/** Stops listening and drops open connections. */
void rtcbotd_http_stop (RtcbotdHttp *self);

/** Frees @self. */
void rtcbotd_http_free (RtcbotdHttp *self);

G_END_DECLS
