/* rtcbotd-recorder.h — one splitmuxsink writing a record sink's files.
 *
 * A recorder muxes encoded, parsed streams (H.264, VP8, Opus) without
 * decoding them: per stream a queue and a parser, then splitmuxsink with
 * matroskamux or mp4mux and a filesink. File names come from the sink's
 * strftime pattern, expanded when each file starts (a suffix before the
 * extension tells peers' files apart; a name already taken gets "-1", "-2"
 * ...). max-size and max-duration start a new file at the next key frame.
 * The recorder's elements live in the owner's bin; it is finished by EOS on
 * every stream (rtcbotd_recorder_finish()), and done once the muxer has
 * written its last file, which the owner learns from splitmuxsink's EOS
 * message (rtcbotd_recorder_from_message()). Owned by a media sink; the
 * counters and the current file name may be read from any thread.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-config.h"
#include "rtcbotd-sdp.h"

G_BEGIN_DECLS

typedef struct _RtcbotdRecorder RtcbotdRecorder;

/** Adds a recorder of @config's files to @bin; @suffix (or NULL) goes before the extension. */
RtcbotdRecorder *rtcbotd_recorder_new (GstBin *bin, const RtcbotdMediaSinkConfig *config,
                                       const char *suffix, GError **error);

/** Adds a stream of @codec (before the recorder starts); returns the pad to feed it. */
GstPad *rtcbotd_recorder_add_stream (RtcbotdRecorder *self, RtcbotdCodec codec, GError **error);

/** Brings the recorder's elements to the state of its bin (a recorder added later). */
void rtcbotd_recorder_start (RtcbotdRecorder *self);

/** Sends EOS into every stream, whose upstream must be unlinked: the files get finished. */
void rtcbotd_recorder_finish (RtcbotdRecorder *self);

/** Returns the recorder that @message (an EOS a bin caught) comes from, or NULL; any thread. */
RtcbotdRecorder *rtcbotd_recorder_from_message (GstMessage *message);

/** Marks @self done: its muxer has written the end of its last file; any thread. */
void rtcbotd_recorder_set_done (RtcbotdRecorder *self);

/** Returns TRUE once the last file is complete; any thread. */
gboolean rtcbotd_recorder_is_done (RtcbotdRecorder *self);

/** Returns TRUE when @object is one of the recorder's elements or inside one. */
gboolean rtcbotd_recorder_owns (RtcbotdRecorder *self, GstObject *object);

/** Returns the file being written (or the last one), NULL before the first; any thread. */
char *rtcbotd_recorder_get_location (RtcbotdRecorder *self);

/** Returns how many files the recorder has started; any thread. */
guint64 rtcbotd_recorder_get_files (RtcbotdRecorder *self);

/** Returns how many bytes the muxer has written; any thread. */
guint64 rtcbotd_recorder_get_bytes (RtcbotdRecorder *self);

/** Stops the recorder's elements, removes them from the bin and frees @self. */
void rtcbotd_recorder_free (RtcbotdRecorder *self);

/** Expands the strftime @pattern for @now, with @suffix (or NULL) before the extension. */
char *rtcbotd_recorder_expand (const char *pattern, GDateTime *now, const char *suffix);

/** Fails, naming @config's sink and path, unless the directory of the next file can be written. */
gboolean rtcbotd_recorder_check_path (const RtcbotdMediaSinkConfig *config, GError **error);

G_END_DECLS
