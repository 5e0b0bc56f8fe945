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

/* Every encoder rtcbotd can run, in the order auto tries them ("Hardware first"). */
static const struct
{
  RtcbotdEncoder encoder;
  RtcbotdCodec codec;
} candidates[] = {
  { RTCBOTD_ENCODER_H264_HW, RTCBOTD_CODEC_H264 },
  { RTCBOTD_ENCODER_X264, RTCBOTD_CODEC_H264 },
  { RTCBOTD_ENCODER_OPENH264, RTCBOTD_CODEC_H264 },
  { RTCBOTD_ENCODER_VP8, RTCBOTD_CODEC_VP8 },
};

gboolean
rtcbotd_encoder_usable (const char *factory, gpointer user_data)
{
  g_autoptr (GstElementFactory) found = gst_element_factory_find (factory);
  g_autoptr (GstElement) element = NULL;
  gboolean ok;

  if (!found)
    return FALSE;
  /* READY opens a V4L2 encoder's device: a Pi kernel without the codec
   * driver, or another process holding it, shows here, not at the first peer. */
  if (!(element = gst_element_factory_create (found, NULL)))
    return FALSE;
  gst_object_ref_sink (element);
  ok = gst_element_set_state (element, GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS;
  gst_element_set_state (element, GST_STATE_NULL);
  return ok;
}

RtcbotdEncoder
rtcbotd_encoder_pick_with (RtcbotdEncoder configured, RtcbotdCodec codec, RtcbotdEncoderProbe probe,
                           gpointer user_data)
{
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (candidates[i].codec == codec
        && (configured == RTCBOTD_ENCODER_AUTO || configured == candidates[i].encoder)
        && probe (rtcbotd_encoder_factory (candidates[i].encoder), user_data))
      return candidates[i].encoder;
  return RTCBOTD_ENCODER_AUTO;
}

RtcbotdEncoder
rtcbotd_encoder_pick (RtcbotdEncoder configured, RtcbotdCodec codec)
{
  return rtcbotd_encoder_pick_with (configured, codec, rtcbotd_encoder_usable, NULL);
}

/* "x264, vp8": the encoders @probe finds, by their config names. */
static char *
list_usable (RtcbotdEncoderProbe probe, gpointer user_data)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (probe (rtcbotd_encoder_factory (candidates[i].encoder), user_data))
      g_string_append_printf (s, "%s%s", s->len ? ", " : "",
                              rtcbotd_encoder_to_string (candidates[i].encoder));
  return s->len ? g_string_free (g_steal_pointer (&s), FALSE) : g_strdup ("none");
}

RtcbotdCodec
rtcbotd_encoder_choose (const RtcbotdSourceConfig *config, RtcbotdEncoderProbe probe,
                        gpointer user_data, RtcbotdEncoder encoders[RTCBOTD_ENCODER_N_CODECS],
                        GError **error)
{
  g_autofree char *usable = NULL;

  for (guint codec = 0; codec < RTCBOTD_ENCODER_N_CODECS; codec++)
    encoders[codec] = RTCBOTD_ENCODER_AUTO;
  encoders[RTCBOTD_CODEC_H264]
      = rtcbotd_encoder_pick_with (config->encoder, RTCBOTD_CODEC_H264, probe, user_data);
  encoders[RTCBOTD_CODEC_VP8]
      = rtcbotd_encoder_pick_with (config->encoder, RTCBOTD_CODEC_VP8, probe, user_data);
  if (encoders[RTCBOTD_CODEC_H264] != RTCBOTD_ENCODER_AUTO)
    return RTCBOTD_CODEC_H264;
  if (encoders[RTCBOTD_CODEC_VP8] != RTCBOTD_ENCODER_AUTO)
    return RTCBOTD_CODEC_VP8;
  usable = list_usable (probe, user_data);
  if (config->encoder == RTCBOTD_ENCODER_AUTO)
    g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                 "[source %s] encoder: auto found no H.264 or VP8 encoder (tried v4l2h264enc, "
                 "x264enc, openh264enc, vp8enc)",
                 config->name);
  else
    g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                 "[source %s] encoder: %s (the GStreamer element %s) is not installed%s; "
                 "installed: %s",
                 config->name, rtcbotd_encoder_to_string (config->encoder),
                 rtcbotd_encoder_factory (config->encoder),
                 config->encoder == RTCBOTD_ENCODER_H264_HW ? " or cannot open its device" : "",
                 usable);
  return RTCBOTD_CODEC_NONE;
}

/* V4L2 control values (linux/v4l2-controls.h) for the Pi's encoder. */
#define V4L2_H264_PROFILE_CONSTRAINED_BASELINE 1
#define V4L2_H264_LEVEL_4_0 11

/* The descriptions hold only numbers from the validated config, never peer
 * data. The encoder element is named "encoder": its bitrate changes later. */
char *
rtcbotd_encoder_describe (RtcbotdCodec codec, RtcbotdEncoder encoder, const RtcbotdSourceConfig *c)
{
  if (codec == RTCBOTD_CODEC_OPUS)
    return g_strdup ("audioconvert ! audioresample ! audio/x-raw,rate=48000 ! "
                     "opusenc name=encoder bitrate=48000 frame-size=20");
  switch (encoder)
    {
      case RTCBOTD_ENCODER_H264_HW:
        /* repeat_sequence_header: SPS/PPS before every key frame, for viewers
         * that join late; level 4 is what the Pi's firmware needs beyond 720p. */
        return g_strdup_printf (
            "v4l2h264enc name=encoder extra-controls=\"controls,video_bitrate=%u,"
            "repeat_sequence_header=1,h264_i_frame_period=%u,h264_profile=%d,h264_level=%d\" "
            "! video/x-h264,level=(string)4,profile=constrained-baseline "
            "! " RTCBOTD_ENCODER_H264_OUTPUT,
            c->bitrate * 1000, c->keyframe_interval, V4L2_H264_PROFILE_CONSTRAINED_BASELINE,
            V4L2_H264_LEVEL_4_0);
      case RTCBOTD_ENCODER_X264:
        return g_strdup_printf (
            "x264enc name=encoder tune=zerolatency speed-preset=ultrafast bitrate=%u "
            "key-int-max=%u bframes=0 ! "
            "video/x-h264,profile=constrained-baseline,stream-format=byte-stream "
            "! " RTCBOTD_ENCODER_H264_OUTPUT,
            c->bitrate, c->keyframe_interval);
      case RTCBOTD_ENCODER_OPENH264:
        return g_strdup_printf (
            "openh264enc name=encoder bitrate=%u gop-size=%u complexity=low "
            "rate-control=bitrate usage-type=camera ! video/x-h264,profile=constrained-baseline "
            "! " RTCBOTD_ENCODER_H264_OUTPUT,
            c->bitrate * 1000, c->keyframe_interval);
      case RTCBOTD_ENCODER_VP8:
      case RTCBOTD_ENCODER_AUTO:
        break;
    }
  /* cpu-used 16: the fastest real-time setting, about 4 % of a core at 640x480@30. */
  return g_strdup_printf ("vp8enc name=encoder deadline=1 cpu-used=16 end-usage=cbr "
                          "target-bitrate=%u keyframe-max-dist=%u lag-in-frames=0 "
                          "error-resilient=default threads=2",
                          c->bitrate * 1000, c->keyframe_interval);
}

char *
rtcbotd_encoder_summary (RtcbotdCodec codec, RtcbotdEncoder encoder, const RtcbotdSourceConfig *c)
{
  g_autofree char *rate
      = c->bitrate_mode == RTCBOTD_BITRATE_MIN_PEER
            ? g_strdup_printf ("%u kbit/s or the slowest viewer's estimate", c->bitrate)
            : g_strdup_printf ("%u kbit/s", c->bitrate);

  if (codec == RTCBOTD_CODEC_OPUS)
    return g_strdup ("opusenc (48 kbit/s, 20 ms frames) → Opus");
  switch (encoder)
    {
      case RTCBOTD_ENCODER_H264_HW:
        return g_strdup_printf ("v4l2h264enc (hardware, constrained baseline, level 4, key-int "
                                "%u, %s) → H.264",
                                c->keyframe_interval, rate);
      case RTCBOTD_ENCODER_X264:
        return g_strdup_printf ("x264enc (zerolatency, ultrafast, key-int %u, %s) → H.264",
                                c->keyframe_interval, rate);
      case RTCBOTD_ENCODER_OPENH264:
        return g_strdup_printf ("openh264enc (camera, low complexity, key-int %u, %s) → H.264",
                                c->keyframe_interval, rate);
      case RTCBOTD_ENCODER_VP8:
      case RTCBOTD_ENCODER_AUTO:
        break;
    }
  return g_strdup_printf ("vp8enc (realtime, cpu-used 16, error-resilient, no lag, key-int %u, "
                          "%s) → VP8",
                          c->keyframe_interval, rate);
}

void
rtcbotd_encoder_set_bitrate (GstElement *bin, RtcbotdEncoder encoder, guint kbps)
{
  g_autoptr (GstElement) element = gst_bin_get_by_name (GST_BIN (bin), "encoder");
  g_autoptr (GstStructure) controls = NULL;

  if (!element)
    return;
  switch (encoder)
    {
      case RTCBOTD_ENCODER_H264_HW:
        /* Only the bitrate: v4l2 applies extra-controls to the open device at once. */
        controls = gst_structure_new ("controls", "video_bitrate", G_TYPE_INT, kbps * 1000, NULL);
        g_object_set (element, "extra-controls", controls, NULL);
        break;
      case RTCBOTD_ENCODER_X264:
        g_object_set (element, "bitrate", kbps, NULL);
        break;
      case RTCBOTD_ENCODER_OPENH264:
        g_object_set (element, "bitrate", kbps * 1000, NULL);
        break;
      case RTCBOTD_ENCODER_VP8:
        g_object_set (element, "target-bitrate", (gint)(kbps * 1000), NULL);
        break;
      case RTCBOTD_ENCODER_AUTO:
        break;
    }
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
  g_autofree char *description = rtcbotd_encoder_describe (codec, encoder, config);

  return make_bin (description, error);
}

static char *
rtp_caps_text (RtcbotdCodec codec, guint pt, guint ssrc)
{
  const char *media = codec == RTCBOTD_CODEC_OPUS ? "audio" : "video";
  const char *name = codec == RTCBOTD_CODEC_H264  ? "H264"
                     : codec == RTCBOTD_CODEC_VP8 ? "VP8"
                                                  : "OPUS";

  return g_strdup_printf (
      "application/x-rtp,media=%s,encoding-name=%s,payload=%u,clock-rate=%u,ssrc=(uint)%u", media,
      name, pt, codec == RTCBOTD_CODEC_OPUS ? 48000 : 90000, ssrc);
}

GstCaps *
rtcbotd_encoder_rtp_caps (RtcbotdCodec codec, guint pt, guint ssrc)
{
  g_autofree char *text = rtp_caps_text (codec, pt, ssrc);

  return gst_caps_from_string (text);
}

GstElement *
rtcbotd_encoder_make_payloader (RtcbotdCodec codec, guint pt, guint ssrc, GError **error)
{
  g_autofree char *caps_text = rtp_caps_text (codec, pt, ssrc);
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
