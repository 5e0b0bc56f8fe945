/* rtcbotd-http-limits.h — what one HTTP client may make the daemon hold.
 *
 * Two limits libsoup does not have. A deadline: every request must be in,
 * headers and body, within RTCBOTD_HTTP_REQUEST_TIMEOUT_S of its start (for a
 * keep-alive connection, the end of the previous reply), else the connection's
 * socket is shut down and libsoup drops the connection itself; a websocket is
 * in once its upgrade request is, and a /connect that is being answered once
 * its body is. A keep-alive connection may idle between requests for as long
 * (libsoup starts the next request only when its first bytes arrive); a
 * websocket's connection is left to the websocket. And offer slots: a /connect or WHEP POST holds
 * one from its headers to the end of its reply (or until the client is gone and the daemon done
 * with it), at most RTCBOTD_HTTP_MAX_PENDING_OFFERS in all and
 * RTCBOTD_HTTP_MAX_PENDING_OFFERS_PER_CLIENT from one address; the excess gets
 * 503 with Retry-After. Both are counted for /metrics and logged once at
 * message level (later ones at debug level). Owned by RtcbotdHttp; every
 * message it watches holds a reference, so it lives until the last one is
 * gone. Main context only.
 */
#pragma once

#include <libsoup/soup.h>

#include "rtcbotd-metrics.h"

G_BEGIN_DECLS

/* Seconds from a request's start until its headers and body are in: a browser
 * or RTCBot client sends an offer (a few KiB) in milliseconds; ten seconds
 * leave room for a slow link and still free a half-open connection soon. */
#define RTCBOTD_HTTP_REQUEST_TIMEOUT_S 10
/* Offers being received or answered at once: each answer costs a webrtcbin
 * and ICE gathering; real clients send one at a time, a page reload two. */
#define RTCBOTD_HTTP_MAX_PENDING_OFFERS 8
#define RTCBOTD_HTTP_MAX_PENDING_OFFERS_PER_CLIENT 4

typedef struct _RtcbotdHttpLimits RtcbotdHttpLimits;

/** Creates the limits, with nothing pending. */
RtcbotdHttpLimits *rtcbotd_http_limits_new (void);

/** Drops the owner's reference to @self. */
void rtcbotd_http_limits_unref (RtcbotdHttpLimits *self);

/** Starts the deadline of @msg, a request nothing of which has been read yet. */
void rtcbotd_http_limits_watch (RtcbotdHttpLimits *self, SoupServerMessage *msg);

/** Takes an offer slot for @msg until its reply; none free: replies 503, returns FALSE. */
gboolean rtcbotd_http_limits_admit_offer (RtcbotdHttpLimits *self, SoupServerMessage *msg);

/** Returns how many offers hold a slot now. */
guint rtcbotd_http_limits_get_pending (RtcbotdHttpLimits *self);

/** Adds the rtcbotd_http_* series (pending offers, refusals, timeouts) to @metrics. */
void rtcbotd_http_limits_add_metrics (RtcbotdHttpLimits *self, RtcbotdMetrics *metrics);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdHttpLimits, rtcbotd_http_limits_unref)

G_END_DECLS
