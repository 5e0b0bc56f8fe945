/* rtcbotd-sink-input.h — one stream feeding a media sink: a source's or a peer's pad.
 *
 * An input holds the upstream pad (a request pad of a source's encoded tee,
 * or a pad of a peer's incoming stream) and links it to a ghost pad of the
 * sink's bin while the bin runs. Linking asks for a key frame and drops the
 * delta frames before it; a probe drops buffers once the input's first queue
 * has seen a failure downstream, so that failure never reaches a tee every
 * viewer shares. Unlinking waits (briefly) for the gap between two buffers.
 * The sink that owns the input manages the fields after "codec" (the
 * elements it feeds); this file only links and unlinks. Main context, except
 * the probes.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-recorder.h"
#include "rtcbotd-sdp.h"
#include "rtcbotd-source.h"

G_BEGIN_DECLS

typedef struct
{
  RtcbotdSource *source; /* NULL for a peer's stream */
  guint peer_id;
  RtcbotdCodec codec;
  GstPad *upstream;          /* a reference */
  GstPad *target;            /* record, a source: its recorder's stream pad while the bin runs */
  GstElement *chain;         /* speaker, display, gst: the decoder (a reference) */
  GstPad *mixer_pad;         /* speaker, gst audio: its audiomixer pad */
  RtcbotdRecorder *recorder; /* record: a peer's own file */
  /* private */
  GstPad *ghost; /* our pad on the bin, while linked */
  GstPad *guard; /* the src pad of the first queue: its flow tells if downstream failed */
} RtcbotdSinkInput;

/** Creates an input of @upstream (a reference is taken) in @codec, from @source or @peer_id. */
RtcbotdSinkInput *rtcbotd_sink_input_new (RtcbotdSource *source, guint peer_id, RtcbotdCodec codec,
                                          GstPad *upstream);

/** Links the input to @target, a pad inside @bin (which plays), through a ghost pad of @bin. */
gboolean rtcbotd_sink_input_link (RtcbotdSinkInput *self, GstElement *bin, GstPad *target,
                                  const char *label, GError **error);

/** Returns TRUE while the input is linked to a bin. */
gboolean rtcbotd_sink_input_is_linked (RtcbotdSinkInput *self);

/** Unlinks the input from @bin between two buffers (waiting 0.5 s at most) and drops the ghost pad.
 */
void rtcbotd_sink_input_unlink (RtcbotdSinkInput *self, GstElement *bin);

/** Returns the codec of @pad's caps (current, else queried), or RTCBOTD_CODEC_NONE. */
RtcbotdCodec rtcbotd_sink_input_codec_of (GstPad *pad);

/** Frees an unlinked input (its chain, recorder and target must be gone). */
void rtcbotd_sink_input_free (RtcbotdSinkInput *self);

G_END_DECLS
