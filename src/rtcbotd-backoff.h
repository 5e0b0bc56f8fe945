/* rtcbotd-backoff.h — retry timing for devices and processes that fail.
 *
 * Schedules one retry at a time on the main context, doubling the delay from
 * @min_ms to @max_ms after each failure; reset() after a success starts again
 * at the minimum. Owned by the endpoint that retries; main context only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RtcbotdBackoff RtcbotdBackoff;

/** Creates a backoff that calls @func(@user_data) once per schedule(). */
RtcbotdBackoff *rtcbotd_backoff_new (guint min_ms, guint max_ms, GSourceFunc func,
                                     gpointer user_data);

/** Cancels any pending retry and frees @self. */
void rtcbotd_backoff_free (RtcbotdBackoff *self);

/** Schedules the retry after the current delay (unless one is pending); returns the delay. */
guint rtcbotd_backoff_schedule (RtcbotdBackoff *self);

/** Cancels a pending retry, if any. */
void rtcbotd_backoff_cancel (RtcbotdBackoff *self);

/** Forgets past failures: the next delay is the minimum again. */
void rtcbotd_backoff_reset (RtcbotdBackoff *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdBackoff, rtcbotd_backoff_free)

G_END_DECLS
