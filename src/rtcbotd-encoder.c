/* rtcbotd-encoder.c — which encoder and payloader elements to build, and how. */
#include "rtcbotd-encoder.h"

#include "rtcbotd-error.h"

const char *
rtcbotd_encoder_factory (RtcbotdEncoder encoder)
{
  switch (encoder)
    {
      case RTCBOTD_ENCODER_X264:
        return "x264enc";
      case RTCBOTD_ENCODER_OPENH264:
        return "openh264enc";
      case RTCBOTD_ENCODER_VP8:
        return "vp8enc";
      case RTCBOTD_ENCODER_H264_HW:
        return "v4l2h264enc";
      case RTCBOTD_ENCODER_AUTO:
        break;
    }
  return NULL;
}

static gboolean
installed (RtcbotdEncoder encoder)
{
  g_autoptr (GstElementFactory) factory
      = gst_element_factory_find (rtcbotd_encoder_factory (encoder));

  return factory != NULL;
}

RtcbotdEncoder
rtcbotd_encoder_pick (RtcbotdEncoder configured, RtcbotdCodec codec)
{
  static const RtcbotdEncoder h264[] = { RTCBOTD_ENCODER_X264, RTCBOTD_ENCODER_OPENH264 };

  if (codec == RTCBOTD_CODEC_VP8)
    return (configured == RTCBOTD_ENCODER_AUTO || configured == RTCBOTD_ENCODER_VP8)
                   && installed (RTCBOTD_ENCODER_VP8)
               ? RTCBOTD_ENCODER_VP8
               : RTCBOTD_ENCODER_AUTO;
  if (codec != RTCBOTD_CODEC_H264 || configured == RTCBOTD_ENCODER_VP8)
    return RTCBOTD_ENCODER_AUTO;
  for (guint i = 0; i < G_N_ELEMENTS (h264); i++)
    if ((configured == RTCBOTD_ENCODER_AUTO || configured == h264[i]) && installed (h264[i]))
      return h264[i];
  return RTCBOTD_ENCODER_AUTO;
}

RtcbotdCodec
rtcbotd_encoder_preferred_codec (RtcbotdEncoder configured)
{
  if (rtcbotd_encoder_pick (configured, RTCBOTD_CODEC_H264) != RTCBOTD_ENCODER_AUTO)
    return RTCBOTD_CODEC_H264;
  if (rtcbotd_encoder_pick (configured, RTCBOTD_CODEC_VP8) != RTCBOTD_ENCODER_AUTO)
    return RTCBOTD_CODEC_VP8;
  return RTCBOTD_CODEC_NONE;
}

/* The descriptions hold only numbers from the validated config, never peer data. */
static char *
describe_encoder (RtcbotdCodec codec, RtcbotdEncoder encoder, const RtcbotdSourceConfig *c)
{
  if (codec == RTCBOTD_CODEC_OPUS)
    return g_strdup ("audioconvert ! audioresample ! audio/x-raw,rate=48000 ! "
                     "opusenc bitrate=48000 frame-size=20");
  if (encoder == RTCBOTD_ENCODER_X264)
    return g_strdup_printf (
        "x264enc tune=zerolatency speed-preset=ultrafast bitrate=%u key-int-max=%u bframes=0 "
        "! video/x-h264,profile=constrained-baseline,stream-format=byte-stream ! "
        "h264parse config-interval=-1",
        c->bitrate, c->keyframe_interval);
  if (encoder == RTCBOTD_ENCODER_OPENH264)
    return g_strdup_printf (
        "openh264enc bitrate=%u gop-size=%u complexity=low rate-control=bitrate "
        "usage-type=camera ! video/x-h264,profile=constrained-baseline ! "
        "h264parse config-interval=-1",
        c->bitrate * 1000, c->keyframe_interval);
  return g_strdup_printf ("vp8enc deadline=1 cpu-used=16 end-usage=cbr target-bitrate=%u "
                          "keyframe-max-dist=%u lag-in-frames=0 error-resilient=default threads=2",
                          c->bitrate * 1000, c->keyframe_interval);
}

static GstElement *
make_bin (const char *description, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GstElement *bin = gst_parse_bin_from_description (description, TRUE, &local_error);

  if (!bin)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "cannot build \"%s\": %s",
                   description, local_error->message);
      return NULL;
    }
  return bin;
}

GstElement *
rtcbotd_encoder_make (RtcbotdCodec codec, RtcbotdEncoder encoder, const RtcbotdSourceConfig *config,
                      GError **error)
{
  g_autofree char *description = describe_encoder (codec, encoder, config);

  return make_bin (description, error);
}

static char *
rtp_caps_text (RtcbotdCodec codec, guint pt)
{
  const char *media = codec == RTCBOTD_CODEC_OPUS ? "audio" : "video";
  const char *name = codec == RTCBOTD_CODEC_H264  ? "H264"
                     : codec == RTCBOTD_CODEC_VP8 ? "VP8"
                                                  : "OPUS";

  return g_strdup_printf ("application/x-rtp,media=%s,encoding-name=%s,payload=%u,clock-rate=%u",
                          media, name, pt, codec == RTCBOTD_CODEC_OPUS ? 48000 : 90000);
}

GstCaps *
rtcbotd_encoder_rtp_caps (RtcbotdCodec codec, guint pt)
{
  g_autofree char *text = rtp_caps_text (codec, pt);

  return gst_caps_from_string (text);
}

GstElement *
rtcbotd_encoder_make_payloader (RtcbotdCodec codec, guint pt, guint ssrc, GError **error)
{
  g_autofree char *caps_text = rtp_caps_text (codec, pt);
  g_autofree char *description = NULL;

  if (codec == RTCBOTD_CODEC_H264)
    description = g_strdup_printf ("rtph264pay pt=%u ssrc=%u mtu=1200 config-interval=-1 "
                                   "aggregate-mode=zero-latency ! capsfilter caps=\"%s\"",
                                   pt, ssrc, caps_text);
  else if (codec == RTCBOTD_CODEC_VP8)
    description = g_strdup_printf (
        "rtpvp8pay pt=%u ssrc=%u mtu=1200 picture-id-mode=15-bit ! capsfilter caps=\"%s\"", pt,
        ssrc, caps_text);
  else
    description = g_strdup_printf ("rtpopuspay pt=%u ssrc=%u mtu=1200 ! capsfilter caps=\"%s\"", pt,
                                   ssrc, caps_text);
  return make_bin (description, error);
}
