/* rtcbotd-sink-bin.h — a GstBin that keeps its children's errors and EOS to its owner.
 *
 * A media sink's elements live in one RtcbotdSinkBin inside the daemon's
 * pipeline. The bin hands every ERROR and EOS message its children post to
 * the owner's callback, on the posting thread and before the poster goes on,
 * instead of passing them up: a sink whose device is missing or whose file
 * cannot be written is handled (and logged) by its owner, never seen as a
 * pipeline error, and the owner knows the moment a muxer has finished.
 * Other messages pass up as in any bin. Owned by its parent bin once added;
 * the callback's data must outlive it (clear it with
 * rtcbotd_sink_bin_set_handler (bin, NULL, NULL) before freeing that data).
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define RTCBOTD_TYPE_SINK_BIN (rtcbotd_sink_bin_get_type ())
G_DECLARE_FINAL_TYPE (RtcbotdSinkBin, rtcbotd_sink_bin, RTCBOTD, SINK_BIN, GstBin)

/* Called on the posting thread with an ERROR or EOS message of a child. */
typedef void (*RtcbotdSinkBinHandler) (GstMessage *message, gpointer user_data);

/** Creates an empty bin named @name, in locked state (its owner starts it). */
GstElement *rtcbotd_sink_bin_new (const char *name);

/** Sets the function that receives the children's ERROR and EOS messages; any thread. */
void rtcbotd_sink_bin_set_handler (RtcbotdSinkBin *self, RtcbotdSinkBinHandler handler,
                                   gpointer user_data);

G_END_DECLS
