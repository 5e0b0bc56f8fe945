/* rtcbotd-sink-output.h — the elements speaker, display and gst sinks play through.
 *
 * Makes, as bins with ghost pads (a new reference each, not floating), the decoder one input of a
 * sink needs (a leaky queue named "entry", then opusdec, vp8dec or h264parse and the installed
 * H.264 decoder, then a converter) and the output the sink's configuration names: autoaudiosink,
 * alsasink or pulsesink with its device; autovideosink or kmssink; or the user's gst fragment after
 * a converter. Stateless; the caller adds what it gets to its bin.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-config.h"
#include "rtcbotd-sdp.h"

G_BEGIN_DECLS

/** Makes "queue ! decoder ! converter" turning @codec into raw media, for @config's sink. */
GstElement *rtcbotd_sink_output_make_decoder (const RtcbotdMediaSinkConfig *config,
                                              RtcbotdCodec codec, GError **error);

/** Makes the converter and output of a speaker, display or gst sink (a "sink" ghost pad). */
GstElement *rtcbotd_sink_output_make (const RtcbotdMediaSinkConfig *config, GError **error);

/** Returns what @config plays through, for messages: "alsasink device=hw:1", "the pipeline ...". */
char *rtcbotd_sink_output_describe (const RtcbotdMediaSinkConfig *config);

/** Returns TRUE when @config's sink decodes audio (speaker, gst with media = audio). */
gboolean rtcbotd_sink_output_is_audio (const RtcbotdMediaSinkConfig *config);

G_END_DECLS
