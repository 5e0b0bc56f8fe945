/* rtcbotd-encoder.h — which encoder and payloader elements to build, and how.
 *
 * Knows the encoder preference order (x264 > openh264 for H.264, vp8enc for
 * VP8, opusenc for audio), checks what the GStreamer registry has, and makes
 * small bins with the low-latency settings rtcbotd wants: constrained baseline
 * H.264 with SPS/PPS before every key frame, real-time VP8, 20 ms Opus. The
 * returned elements are floating; the caller adds them to its pipeline.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-config.h"
#include "rtcbotd-sdp.h"

G_BEGIN_DECLS

/** Returns the encoder that will make @codec for a source configured with @configured,
 * or RTCBOTD_ENCODER_AUTO when none can (not installed, or excluded by the config). */
RtcbotdEncoder rtcbotd_encoder_pick (RtcbotdEncoder configured, RtcbotdCodec codec);

/** Returns the codec a source configured with @configured prefers when a peer takes anything. */
RtcbotdCodec rtcbotd_encoder_preferred_codec (RtcbotdEncoder configured);

/** Makes "encoder ! parser" for @codec (H264/VP8 via @encoder, or OPUS) as one bin. */
GstElement *rtcbotd_encoder_make (RtcbotdCodec codec, RtcbotdEncoder encoder,
                                  const RtcbotdSourceConfig *config, GError **error);

/** Makes "payloader ! capsfilter" sending @codec with payload type @pt and @ssrc as one bin. */
GstElement *rtcbotd_encoder_make_payloader (RtcbotdCodec codec, guint pt, guint ssrc,
                                            GError **error);

/** Returns the RTP caps webrtcbin should negotiate for @codec with payload type @pt and @ssrc. */
GstCaps *rtcbotd_encoder_rtp_caps (RtcbotdCodec codec, guint pt, guint ssrc);

/** Returns the element name of @encoder ("x264enc", ...). */
const char *rtcbotd_encoder_factory (RtcbotdEncoder encoder);

G_END_DECLS
