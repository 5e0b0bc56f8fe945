/* rtcbotd-encoder.h — which encoder and payloader elements to build, and how.
 *
 * Knows the encoder preference order ("Hardware first": the Pi's v4l2h264enc
 * > x264enc > openh264enc for H.264, then vp8enc for VP8; opusenc for audio),
 * checks what the GStreamer registry has (through a probe function, so the
 * choice is testable without a Pi), and makes small bins with the
 * low-latency settings rtcbotd wants: constrained baseline H.264 with SPS/PPS
 * before every key frame, real-time VP8, 20 ms Opus, the encoder element
 * named "encoder" so its bitrate can follow the viewers. Stateless; the
 * returned elements are floating and the caller adds them to its pipeline.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-config.h"
#include "rtcbotd-sdp.h"

G_BEGIN_DECLS

/* The end of every H.264 branch before its tee: Annex B with SPS/PPS before
 * each key frame, whole access units. Fixed, so that no consumer linked when
 * the encoder negotiates (a payloader that prefers avc) changes it for all. */
#define RTCBOTD_ENCODER_H264_OUTPUT                                                                \
  "h264parse config-interval=-1 ! capsfilter "                                                     \
  "caps=video/x-h264,stream-format=byte-stream,alignment=au"

/* Arrays indexed by RtcbotdCodec. */
#define RTCBOTD_ENCODER_N_CODECS (RTCBOTD_CODEC_OPUS + 1)

/* Tells whether the GStreamer element @factory can be used; tests pass their
 * own to simulate a registry (a Pi's, or one missing an encoder). */
typedef gboolean (*RtcbotdEncoderProbe) (const char *factory, gpointer user_data);

/** The real registry: TRUE when GStreamer has @factory and an instance reaches READY. */
gboolean rtcbotd_encoder_usable (const char *factory, gpointer user_data);

/** Returns the first encoder in preference order (v4l2h264enc, x264enc, openh264enc
 * for H.264; vp8enc for VP8) that @configured allows and @probe finds, else AUTO. */
RtcbotdEncoder rtcbotd_encoder_pick_with (RtcbotdEncoder configured, RtcbotdCodec codec,
                                          RtcbotdEncoderProbe probe, gpointer user_data);

/** rtcbotd_encoder_pick_with() on the real registry. */
RtcbotdEncoder rtcbotd_encoder_pick (RtcbotdEncoder configured, RtcbotdCodec codec);

/** Fills @encoders (by codec; AUTO: none) for @config and returns the preferred codec
 * (H.264, else VP8), or NONE with an error naming the source, the key and what is installed. */
RtcbotdCodec rtcbotd_encoder_choose (const RtcbotdSourceConfig *config, RtcbotdEncoderProbe probe,
                                     gpointer user_data,
                                     RtcbotdEncoder encoders[RTCBOTD_ENCODER_N_CODECS],
                                     GError **error);

/** Returns the gst-launch description of the encoder bin for @codec via @encoder. */
char *rtcbotd_encoder_describe (RtcbotdCodec codec, RtcbotdEncoder encoder,
                                const RtcbotdSourceConfig *config);

/** Returns "x264enc (zerolatency, ultrafast, key-int 60, 1500 kbit/s) → H.264", for the log. */
char *rtcbotd_encoder_summary (RtcbotdCodec codec, RtcbotdEncoder encoder,
                               const RtcbotdSourceConfig *config);

/** Sets the bitrate of the running encoder in @bin (from rtcbotd_encoder_make()) to @kbps. */
void rtcbotd_encoder_set_bitrate (GstElement *bin, RtcbotdEncoder encoder, guint kbps);

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
