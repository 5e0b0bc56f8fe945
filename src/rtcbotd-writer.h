/* rtcbotd-writer.h — a bounded queue of frames written to a non-blocking fd.
 *
 * Serial ports, worker stdins and unix-socket clients can stall; a writer
 * keeps at most @max_frames whole frames for its fd and writes them when the
 * fd is writable, so no caller ever blocks. On overflow it drops the oldest
 * waiting frame (RTCBOTD_OVERFLOW_DROP_OLDEST) or keeps only the newest
 * (RTCBOTD_OVERFLOW_MOST_RECENT, RTCBot's MostRecentSubscription); a frame
 * that is partly written is always finished, so the byte stream never carries
 * half a record. Optionally it also keeps frames back while the kernel holds
 * more than a few unsent bytes, so that a slow line never hides seconds of
 * stale commands where the overflow policy cannot reach them. A write error
 * is reported once through the error callback and the writer stops writing. It does not own the fd.
 * Main context only.
 */
#pragma once

#include <glib.h>

#include "rtcbotd-config.h"

G_BEGIN_DECLS

typedef struct _RtcbotdWriter RtcbotdWriter;

/* Called on the main context when a write fails (the fd is then unusable);
 * it may free the writer. */
typedef void (*RtcbotdWriterErrorFunc) (GError *error, gpointer user_data);

/** Creates a writer for non-blocking @fd; @func reports write errors. */
RtcbotdWriter *rtcbotd_writer_new (int fd, RtcbotdOverflow overflow, guint max_frames,
                                   RtcbotdWriterErrorFunc func, gpointer user_data);

/** Stops watching the fd and frees @self and every queued frame. */
void rtcbotd_writer_free (RtcbotdWriter *self);

/** Queues @frame; returns how many frames were dropped to make room (0 or more). */
guint rtcbotd_writer_push (RtcbotdWriter *self, GBytes *frame);

/** Keeps frames here while the kernel holds @bytes or more unsent on the fd,
 * as the ioctl @request (TIOCOUTQ for a tty, FIONREAD for a pipe) tells. */
void rtcbotd_writer_set_backlog_limit (RtcbotdWriter *self, gsize bytes, unsigned long request);

/** While held, frames are queued but not written (a port not ready yet). */
void rtcbotd_writer_set_held (RtcbotdWriter *self, gboolean held);

/** Returns the number of frames waiting, the one being written included. */
guint rtcbotd_writer_get_queued (RtcbotdWriter *self);

/** Returns the number of frames written completely. */
guint64 rtcbotd_writer_get_written (RtcbotdWriter *self);

/** Returns since when (monotonic µs) frames have waited without any byte
 * being written, or 0 when the writer is keeping up. */
gint64 rtcbotd_writer_get_stalled_since (RtcbotdWriter *self);

/** Writes what is queued, polling the fd until @deadline (monotonic µs); TRUE if all went. */
gboolean rtcbotd_writer_flush (RtcbotdWriter *self, gint64 deadline);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdWriter, rtcbotd_writer_free)

G_END_DECLS
