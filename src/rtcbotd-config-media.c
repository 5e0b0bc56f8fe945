/* rtcbotd-config-media.c — the config layer's parser for media sources and sinks. */
#include "rtcbotd-config-media.h"

#include <string.h>

const char *const rtcbotd_media_source_type_names[]
    = { "test-video", "test-audio", "v4l2", "libcamera", "alsa", "pulse", "gst", NULL };
const char *const rtcbotd_media_sink_type_names[]
    = { "record", "speaker", "display", "gst", "rtp", NULL };

/* The keys every video source has, besides its own. */
#define VIDEO_KEYS                                                                                 \
  "width", "height", "framerate", "overlay", "encoder", "bitrate", "keyframe-interval",            \
      "bitrate-mode", "on-demand"
#define ENCODING_KEYS "encoder", "bitrate", "keyframe-interval", "bitrate-mode", "on-demand"

static const char *const test_video_keys[]
    = { "type", VIDEO_KEYS, "pattern", "motion", "stamp", NULL };
static const char *const v4l2_keys[] = { "type", VIDEO_KEYS, "device", "format", NULL };
static const char *const libcamera_keys[] = { "type", VIDEO_KEYS, "camera-name", "format", NULL };
static const char *const test_audio_keys[] = { "type", "frequency", "volume", "on-demand", NULL };
static const char *const microphone_keys[]
    = { "type", "device", "rate", "channels", "on-demand", NULL };
static const char *const gst_source_keys[] = { "type", "pipeline", "media", ENCODING_KEYS, NULL };
static const char *const record_keys[]
    = { "type", "path", "format", "max-size", "max-duration", NULL };
static const char *const speaker_keys[] = { "type", "output", "device", NULL };
static const char *const display_keys[] = { "type", "output", NULL };
static const char *const gst_sink_keys[] = { "type", "pipeline", "media", NULL };
static const char *const rtp_keys[]
    = { "type", "host", "video-port", "audio-port", "video-pt", "audio-pt", NULL };

/* Indexed by RtcbotdEncoder. */
static const char *const encoders[] = { "auto", "x264", "openh264", "vp8", "h264-hw", NULL };
/* Indexed by RtcbotdCaptureFormat. */
static const char *const formats[] = { "auto", "h264", "mjpeg", "raw", NULL };
static const char *const bitrate_modes[] = { "fixed", "min-peer", NULL };
static const char *const overlays[] = { "none", "clock", NULL };
static const char *const booleans[] = { "no", "yes", NULL };
static const char *const media_kinds[] = { "video", "audio", NULL };
static const char *const record_formats[] = { "auto", "mkv", "mp4", NULL };
static const char *const speaker_outputs[] = { "auto", "alsa", "pulse", NULL };
static const char *const display_outputs[] = { "auto", "kms", NULL };
/* videotestsrc's patterns, by nick. */
/* clang-format off */
static const char *const patterns[] = {
  "smpte", "snow", "black", "white", "red", "green", "blue", "checkers-1", "checkers-2",
  "checkers-4", "checkers-8", "circular", "blink", "smpte75", "zone-plate", "gamut",
  "chroma-zone-plate", "solid-color", "ball", "smpte100", "bar", "pinwheel", "spokes",
  "gradient", "colors", "smpte-rp-219", NULL
};
/* clang-format on */

const char *
rtcbotd_encoder_to_string (RtcbotdEncoder encoder)
{
  return encoder < G_N_ELEMENTS (encoders) - 1 ? encoders[encoder] : "unknown";
}

void
rtcbotd_source_config_free (RtcbotdSourceConfig *source)
{
  if (!source)
    return;
  g_free (source->name);
  g_free (source->pattern);
  g_free (source->device);
  g_free (source->camera_name);
  g_free (source->pipeline);
  g_free (source->pipeline_where);
  g_free (source->fingerprint);
  g_free (source);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdSourceConfig, rtcbotd_source_config_free)

void
rtcbotd_media_sink_config_free (RtcbotdMediaSinkConfig *sink)
{
  if (!sink)
    return;
  g_free (sink->name);
  g_free (sink->label);
  g_free (sink->path);
  g_free (sink->device);
  g_free (sink->pipeline);
  g_free (sink->pipeline_where);
  g_free (sink->host);
  g_free (sink->fingerprint);
  g_free (sink);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdMediaSinkConfig, rtcbotd_media_sink_config_free)

/* Returns @type's index in @names; the caller has checked that it is there. */
static guint
type_index (const char *const *names, const char *type)
{
  guint i = 0;

  while (names[i] && !g_str_equal (names[i], type))
    i++;
  return i;
}

static gboolean
get_boolean (RtcbotdConfigReader *reader, const char *g, const char *key, gboolean *out,
             GError **error)
{
  guint value;

  if (!rtcbotd_config_reader_get_choice (reader, g, key, booleans, 0, &value, error))
    return FALSE;
  *out = value == 1;
  return TRUE;
}

/* The encoding keys of a video source: encoder, bitrate, key frames, bitrate-mode, on-demand. */
static gboolean
parse_encoding (RtcbotdSourceConfig *s, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  guint encoder, mode;

  if (!rtcbotd_config_reader_get_choice (reader, g, "encoder", encoders, 0, &encoder, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "bitrate", 1500, 50, 50000, &s->bitrate, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "keyframe-interval", 2 * s->framerate, 1, 1000,
                                          &s->keyframe_interval, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "bitrate-mode", bitrate_modes, 0, &mode,
                                            error)
      || !get_boolean (reader, g, "on-demand", &s->on_demand, error))
    return FALSE;
  s->encoder = encoder;
  s->bitrate_mode = mode;
  return TRUE;
}

/* The keys every video source has: size, rate, overlay (default @overlay) and encoding. */
static gboolean
parse_video (RtcbotdSourceConfig *s, RtcbotdConfigReader *reader, const char *g, guint overlay,
             GError **error)
{
  s->kind = RTCBOTD_KIND_VIDEO;
  if (!rtcbotd_config_reader_get_uint (reader, g, "width", 640, 16, 3840, &s->width, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "height", 480, 16, 2160, &s->height, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "framerate", 30, 1, 120, &s->framerate, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "overlay", overlays, overlay, &overlay,
                                            error)
      || !parse_encoding (s, reader, g, error))
    return FALSE;
  if (s->width % 2 || s->height % 2)
    {
      rtcbotd_config_reader_error (reader, error, g, s->width % 2 ? "width" : "height",
                                   "%u is odd; H.264 and VP8 need an even size",
                                   s->width % 2 ? s->width : s->height);
      return FALSE;
    }
  s->clock_overlay = overlay == 1;
  return TRUE;
}

static gboolean
parse_test_video (RtcbotdSourceConfig *s, RtcbotdConfigReader *reader, const char *g,
                  GError **error)
{
  guint pattern;

  if (!rtcbotd_config_reader_check_keys (reader, g, test_video_keys, error)
      || !parse_video (s, reader, g, 1, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "pattern", patterns, 0, &pattern, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "motion", 2, 0, 64, &s->motion, error)
      || !get_boolean (reader, g, "stamp", &s->stamp, error))
    return FALSE;
  if (s->stamp && s->width % 40)
    {
      rtcbotd_config_reader_error (reader, error, g, "stamp",
                                   "needs a width that is a multiple of 40 (the stamp has 40 "
                                   "blocks); width is %u",
                                   s->width);
      return FALSE;
    }
  s->pattern = g_strdup (patterns[pattern]);
  return TRUE;
}

static gboolean
parse_camera_format (RtcbotdSourceConfig *s, RtcbotdConfigReader *reader, const char *g,
                     GError **error)
{
  guint format;

  if (!rtcbotd_config_reader_get_choice (reader, g, "format", formats, 0, &format, error))
    return FALSE;
  if (s->type == RTCBOTD_SOURCE_LIBCAMERA && format != RTCBOTD_CAPTURE_FORMAT_AUTO
      && format != RTCBOTD_CAPTURE_FORMAT_RAW)
    {
      rtcbotd_config_reader_error (reader, error, g, "format",
                                   "\"%s\": libcamera delivers raw frames; accepted: auto|raw",
                                   formats[format]);
      return FALSE;
    }
  s->format = format;
  return TRUE;
}

static gboolean
parse_camera (RtcbotdSourceConfig *s, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  gboolean v4l2 = s->type == RTCBOTD_SOURCE_V4L2;

  if (!rtcbotd_config_reader_check_keys (reader, g, v4l2 ? v4l2_keys : libcamera_keys, error)
      || !parse_video (s, reader, g, 0, error) || !parse_camera_format (s, reader, g, error))
    return FALSE;
  if (v4l2)
    return rtcbotd_config_reader_get_string (reader, g, "device", "/dev/video0", &s->device, error);
  return rtcbotd_config_reader_get_string (reader, g, "camera-name", NULL, &s->camera_name, error);
}

static gboolean
parse_test_audio (RtcbotdSourceConfig *s, RtcbotdConfigReader *reader, const char *g,
                  GError **error)
{
  s->kind = RTCBOTD_KIND_AUDIO;
  return rtcbotd_config_reader_check_keys (reader, g, test_audio_keys, error)
         && rtcbotd_config_reader_get_double (reader, g, "frequency", 440, 20, 20000, &s->frequency,
                                              error)
         && rtcbotd_config_reader_get_double (reader, g, "volume", 0.2, 0, 1, &s->volume, error)
         && get_boolean (reader, g, "on-demand", &s->on_demand, error);
}

static gboolean
parse_microphone (RtcbotdSourceConfig *s, RtcbotdConfigReader *reader, const char *g,
                  GError **error)
{
  s->kind = RTCBOTD_KIND_AUDIO;
  return rtcbotd_config_reader_check_keys (reader, g, microphone_keys, error)
         && rtcbotd_config_reader_get_string (reader, g, "device",
                                              s->type == RTCBOTD_SOURCE_ALSA ? "default" : NULL,
                                              &s->device, error)
         && rtcbotd_config_reader_get_uint (reader, g, "rate", 48000, 8000, 192000, &s->rate, error)
         && rtcbotd_config_reader_get_uint (reader, g, "channels", 1, 1, 2, &s->channels, error)
         && get_boolean (reader, g, "on-demand", &s->on_demand, error);
}

/* Reads the required "pipeline" fragment and where it is written, for errors found later. */
static gboolean
get_pipeline (RtcbotdConfigReader *reader, const char *g, char **pipeline, char **where,
              GError **error)
{
  if (!rtcbotd_config_reader_get_string (reader, g, "pipeline", NULL, pipeline, error))
    return FALSE;
  if (!*pipeline)
    {
      rtcbotd_config_reader_error (
          reader, error, g, "pipeline",
          "missing; type = gst needs a GStreamer pipeline fragment in "
          "gst-launch syntax, e.g. pipeline = videotestsrc ! videoconvert");
      return FALSE;
    }
  g_strstrip (*pipeline);
  if (g_str_has_prefix (*pipeline, "!") || g_str_has_suffix (*pipeline, "!"))
    {
      rtcbotd_config_reader_error (reader, error, g, "pipeline",
                                   "\"%s\" starts or ends with '!'; rtcbotd links the fragment "
                                   "itself, leave the ends open",
                                   *pipeline);
      return FALSE;
    }
  *where = rtcbotd_config_reader_where (reader, g, "pipeline");
  return TRUE;
}

static gboolean
parse_gst_source (RtcbotdSourceConfig *s, RtcbotdConfigReader *reader, const char *g,
                  GError **error)
{
  guint media;

  s->framerate = 30; /* only for the key-frame interval's default */
  if (!rtcbotd_config_reader_check_keys (reader, g, gst_source_keys, error)
      || !get_pipeline (reader, g, &s->pipeline, &s->pipeline_where, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "media", media_kinds, 0, &media, error))
    return FALSE;
  s->kind = media == 0 ? RTCBOTD_KIND_VIDEO : RTCBOTD_KIND_AUDIO;
  if (s->kind == RTCBOTD_KIND_AUDIO)
    for (const char *const *key
         = (const char *const[]){ "encoder", "bitrate", "keyframe-interval", "bitrate-mode", NULL };
         *key; key++)
      if (rtcbotd_config_reader_has_key (reader, g, *key))
        {
          rtcbotd_config_reader_error (reader, error, g, *key,
                                       "applies to video; audio is always encoded to Opus");
          return FALSE;
        }
  return parse_encoding (s, reader, g, error);
}

RtcbotdSourceConfig *
rtcbotd_config_parse_media_source (RtcbotdConfigReader *reader, const char *group, const char *name,
                                   const char *type, GError **error)
{
  g_autoptr (RtcbotdSourceConfig) s = g_new0 (RtcbotdSourceConfig, 1);
  gboolean ok = FALSE;

  s->type = type_index (rtcbotd_media_source_type_names, type);
  switch (s->type)
    {
      case RTCBOTD_SOURCE_TEST_VIDEO:
        ok = parse_test_video (s, reader, group, error);
        break;
      case RTCBOTD_SOURCE_TEST_AUDIO:
        ok = parse_test_audio (s, reader, group, error);
        break;
      case RTCBOTD_SOURCE_V4L2:
      case RTCBOTD_SOURCE_LIBCAMERA:
        ok = parse_camera (s, reader, group, error);
        break;
      case RTCBOTD_SOURCE_ALSA:
      case RTCBOTD_SOURCE_PULSE:
        ok = parse_microphone (s, reader, group, error);
        break;
      case RTCBOTD_SOURCE_GST:
        ok = parse_gst_source (s, reader, group, error);
        break;
    }
  if (!ok)
    return NULL;
  s->name = g_strdup (name);
  s->fingerprint = rtcbotd_config_reader_fingerprint (reader, group);
  return g_steal_pointer (&s);
}

/* Reads "500M", "2G", "64K" or a plain number of bytes (K, M, G: powers of 1024). */
static gboolean
get_size (RtcbotdConfigReader *reader, const char *g, const char *key, guint64 *out, GError **error)
{
  g_autofree char *text = NULL;
  char *end = NULL;
  guint64 value;
  int shift = 0;

  *out = 0;
  if (!rtcbotd_config_reader_get_string (reader, g, key, NULL, &text, error) || !text)
    return text == NULL && !(error && *error);
  value = g_ascii_strtoull (text, &end, 10);
  if (end != text && *end)
    shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : -1;
  if (shift > 0)
    end++;
  if (end == text || shift < 0 || *end || value == 0 || value > (G_MAXUINT64 >> 30)
      || (value << shift) < 1024 * 1024)
    {
      rtcbotd_config_reader_error (reader, error, g, key,
                                   "\"%s\" is not a size of at least 1M (a number of bytes, or "
                                   "with K, M or G, e.g. 500M or 2G)",
                                   text);
      return FALSE;
    }
  *out = value << shift;
  return TRUE;
}

/* Reads "30s", "10min", "1h" or "500ms" as nanoseconds, at least one second. */
static gboolean
get_duration (RtcbotdConfigReader *reader, const char *g, const char *key, guint64 *out,
              GError **error)
{
  static const struct
  {
    const char *unit;
    double seconds;
  } units[] = { { "ms", 0.001 }, { "s", 1 }, { "min", 60 }, { "h", 3600 } };
  g_autofree char *text = NULL;
  char *end = NULL;
  double amount;

  *out = 0;
  if (!rtcbotd_config_reader_get_string (reader, g, key, NULL, &text, error) || !text)
    return text == NULL && !(error && *error);
  amount = g_ascii_strtod (text, &end);
  for (guint i = 0; end != text && i < G_N_ELEMENTS (units); i++)
    if (g_str_equal (end, units[i].unit))
      {
        double seconds = amount * units[i].seconds;
        if (seconds >= 1 && seconds <= 7 * 24 * 3600)
          {
            *out = (guint64)(seconds * 1e9);
            return TRUE;
          }
      }
  rtcbotd_config_reader_error (reader, error, g, key,
                               "\"%s\" is not a duration of 1s..7 days (a number with ms, s, min "
                               "or h, e.g. 30s or 10min)",
                               text);
  return FALSE;
}

static gboolean
parse_record (RtcbotdMediaSinkConfig *k, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  guint format;

  k->takes_video = k->takes_audio = TRUE;
  if (!rtcbotd_config_reader_check_keys (reader, g, record_keys, error)
      || !rtcbotd_config_reader_get_string (reader, g, "path", NULL, &k->path, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "format", record_formats, 0, &format, error)
      || !get_size (reader, g, "max-size", &k->max_size, error)
      || !get_duration (reader, g, "max-duration", &k->max_duration, error))
    return FALSE;
  if (!k->path)
    {
      rtcbotd_config_reader_error (
          reader, error, g, "path",
          "missing; a record sink needs the file names to write, an "
          "strftime pattern such as /var/lib/rtcbotd/%%Y%%m%%d-%%H%%M%%S.mkv");
      return FALSE;
    }
  if (format == 0) /* auto: by the file name, Matroska unless it says .mp4 */
    k->format = g_str_has_suffix (k->path, ".mp4") ? RTCBOTD_RECORD_MP4 : RTCBOTD_RECORD_MKV;
  else
    k->format = format == 1 ? RTCBOTD_RECORD_MKV : RTCBOTD_RECORD_MP4;
  return TRUE;
}

static gboolean
parse_speaker (RtcbotdMediaSinkConfig *k, RtcbotdConfigReader *reader, const char *g,
               GError **error)
{
  guint output;

  k->takes_audio = TRUE;
  if (!rtcbotd_config_reader_check_keys (reader, g, speaker_keys, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "output", speaker_outputs, 0, &output, error)
      || !rtcbotd_config_reader_get_string (reader, g, "device", NULL, &k->device, error))
    return FALSE;
  k->output = output == 0   ? RTCBOTD_OUTPUT_AUTO
              : output == 1 ? RTCBOTD_OUTPUT_ALSA
                            : RTCBOTD_OUTPUT_PULSE;
  if (k->device && k->output == RTCBOTD_OUTPUT_AUTO)
    {
      rtcbotd_config_reader_error (reader, error, g, "device",
                                   "needs output = alsa or output = pulse (auto picks the "
                                   "system's default device)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_display (RtcbotdMediaSinkConfig *k, RtcbotdConfigReader *reader, const char *g,
               GError **error)
{
  guint output;

  k->takes_video = TRUE;
  if (!rtcbotd_config_reader_check_keys (reader, g, display_keys, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "output", display_outputs, 0, &output,
                                            error))
    return FALSE;
  k->output = output == 0 ? RTCBOTD_OUTPUT_AUTO : RTCBOTD_OUTPUT_KMS;
  return TRUE;
}

static gboolean
parse_gst_sink (RtcbotdMediaSinkConfig *k, RtcbotdConfigReader *reader, const char *g,
                GError **error)
{
  guint media;

  if (!rtcbotd_config_reader_check_keys (reader, g, gst_sink_keys, error)
      || !get_pipeline (reader, g, &k->pipeline, &k->pipeline_where, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "media", media_kinds, 0, &media, error))
    return FALSE;
  k->takes_video = media == 0;
  k->takes_audio = media == 1;
  return TRUE;
}

static gboolean
parse_rtp (RtcbotdMediaSinkConfig *k, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  if (!rtcbotd_config_reader_check_keys (reader, g, rtp_keys, error)
      || !rtcbotd_config_reader_get_string (reader, g, "host", NULL, &k->host, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "video-port", 0, 0, 65535, &k->video_port,
                                          error)
      || !rtcbotd_config_reader_get_uint (reader, g, "audio-port", 0, 0, 65535, &k->audio_port,
                                          error)
      || !rtcbotd_config_reader_get_uint (reader, g, "video-pt", 96, 96, 127, &k->video_pt, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "audio-pt", 111, 96, 127, &k->audio_pt, error))
    return FALSE;
  if (!k->host)
    {
      rtcbotd_config_reader_error (reader, error, g, "host",
                                   "missing; an rtp sink needs the address of the SFU that "
                                   "receives the stream (e.g. host = 10.0.0.2)");
      return FALSE;
    }
  if (!k->video_port && !k->audio_port)
    {
      rtcbotd_config_reader_error (reader, error, g, "video-port",
                                   "an rtp sink needs video-port, audio-port or both (the "
                                   "mountpoint's UDP ports)");
      return FALSE;
    }
  if (k->video_port && k->video_port == k->audio_port)
    {
      rtcbotd_config_reader_error (reader, error, g, "audio-port",
                                   "%u is video-port too; each stream needs a port of its own",
                                   k->audio_port);
      return FALSE;
    }
  k->takes_video = k->video_port != 0;
  k->takes_audio = k->audio_port != 0;
  return TRUE;
}

RtcbotdMediaSinkConfig *
rtcbotd_config_parse_media_sink (RtcbotdConfigReader *reader, const char *group, const char *name,
                                 const char *type, GError **error)
{
  g_autoptr (RtcbotdMediaSinkConfig) k = g_new0 (RtcbotdMediaSinkConfig, 1);
  gboolean ok = FALSE;

  k->type = type_index (rtcbotd_media_sink_type_names, type);
  switch (k->type)
    {
      case RTCBOTD_MEDIA_SINK_RECORD:
        ok = parse_record (k, reader, group, error);
        break;
      case RTCBOTD_MEDIA_SINK_SPEAKER:
        ok = parse_speaker (k, reader, group, error);
        break;
      case RTCBOTD_MEDIA_SINK_DISPLAY:
        ok = parse_display (k, reader, group, error);
        break;
      case RTCBOTD_MEDIA_SINK_GST:
        ok = parse_gst_sink (k, reader, group, error);
        break;
      case RTCBOTD_MEDIA_SINK_RTP:
        ok = parse_rtp (k, reader, group, error);
        break;
    }
  if (!ok)
    return NULL;
  k->name = g_strdup (name);
  k->label = g_strdup_printf ("[sink %s]", name);
  k->fingerprint = rtcbotd_config_reader_fingerprint (reader, group);
  return g_steal_pointer (&k);
}
