/* rtcbotd-rate-limit.h — a token bucket: at most @rate events a second, @burst at once.
 *
 * The bucket starts full (@burst tokens) and refills at @rate tokens a second
 * up to @burst; each admitted event takes one token, an event that finds the
 * bucket empty is refused and counted. Rate 0 admits everything. Time comes
 * from the caller (g_get_monotonic_time() in the daemon, a fake clock in
 * tests), so the bucket is pure arithmetic. A mutex makes it safe from any
 * thread: the data channels take from it on webrtcbin's SCTP threads and read
 * the count on the main context. Owned by one peer's RtcbotdChannels.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RtcbotdRateLimit RtcbotdRateLimit;

/** Creates a full bucket of @burst tokens refilled at @rate a second (0: unlimited). */
RtcbotdRateLimit *rtcbotd_rate_limit_new (guint rate, guint burst);

/** Frees @self. */
void rtcbotd_rate_limit_free (RtcbotdRateLimit *self);

/** Takes a token at monotonic time @now_us: TRUE if the event may pass, FALSE (counted) if not. */
gboolean rtcbotd_rate_limit_take (RtcbotdRateLimit *self, gint64 now_us);

/** Returns how many events were refused so far. */
guint64 rtcbotd_rate_limit_get_refused (RtcbotdRateLimit *self);

/** Returns the configured rate (events a second, 0 unlimited). */
guint rtcbotd_rate_limit_get_rate (RtcbotdRateLimit *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdRateLimit, rtcbotd_rate_limit_free)

G_END_DECLS
