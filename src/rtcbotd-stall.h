/* rtcbotd-stall.h — notices a capture that stops giving buffers without an error.
 *
 * An RtcbotdStall watches one pad (a source's raw tee input, where every
 * capture bin it builds delivers) with a buffer probe that stores the time of
 * the last buffer. A capture is stalled when it was (re)started or gave its
 * last buffer longer than the timeout ago (RTCBOTD_STALL_MIN_MS, or
 * RTCBOTD_STALL_FRAMES frame intervals when that is longer) while every
 * element in it is meant to play: a sender of a udpsrc that went away, a
 * camera that hangs. An element someone set to PAUSED on purpose is not a
 * stall. Owned by the source, freed before the pad's element; the probe runs
 * on the capture's streaming thread, everything else on the main context.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-config.h"

G_BEGIN_DECLS

/* The shortest stall timeout: a live source's first buffer may take a second. */
#define RTCBOTD_STALL_MIN_MS 2000
/* Frame intervals without a buffer that make a slow source stalled (2 fps: 5 s). */
#define RTCBOTD_STALL_FRAMES 10

typedef struct _RtcbotdStall RtcbotdStall;

/** Returns @config's stall timeout in µs: max(RTCBOTD_STALL_MIN_MS, RTCBOTD_STALL_FRAMES frames).
 */
gint64 rtcbotd_stall_timeout_for (const RtcbotdSourceConfig *config);

/** Watches the buffers that pass @pad; stalled after @timeout_us without one. */
RtcbotdStall *rtcbotd_stall_new (GstPad *pad, gint64 timeout_us);

/** Removes the probe and frees @self (NULL is fine). */
void rtcbotd_stall_free (RtcbotdStall *self);

/** Returns the timeout in µs. */
gint64 rtcbotd_stall_get_timeout (RtcbotdStall *self);

/** Starts the wait again: a capture just (re)started has the whole timeout for its first buffer. */
void rtcbotd_stall_arm (RtcbotdStall *self);

/** Returns TRUE when a buffer has passed since the last rtcbotd_stall_arm(). */
gboolean rtcbotd_stall_is_flowing (RtcbotdStall *self);

/** Returns the monotonic µs of the last buffer that passed (0: none yet). */
gint64 rtcbotd_stall_get_last_buffer (RtcbotdStall *self);

/** Returns TRUE when @capture, every element of it meant to play, gave no buffer for the timeout.
 */
gboolean rtcbotd_stall_check (RtcbotdStall *self, GstElement *capture);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdStall, rtcbotd_stall_free)

G_END_DECLS
