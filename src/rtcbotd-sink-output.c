/* rtcbotd-sink-output.c — the elements speaker, display and gst sinks play through. */
#include "rtcbotd-sink-output.h"

#include "rtcbotd-error.h"

gboolean
rtcbotd_sink_output_is_audio (const RtcbotdMediaSinkConfig *config)
{
  return config->type == RTCBOTD_MEDIA_SINK_SPEAKER
         || (config->type == RTCBOTD_MEDIA_SINK_GST && config->takes_audio);
}

static const char *
output_factory (const RtcbotdMediaSinkConfig *config)
{
  switch (config->output)
    {
      case RTCBOTD_OUTPUT_ALSA:
        return "alsasink";
      case RTCBOTD_OUTPUT_PULSE:
        return "pulsesink";
      case RTCBOTD_OUTPUT_KMS:
        return "kmssink";
      case RTCBOTD_OUTPUT_AUTO:
        break;
    }
  return config->type == RTCBOTD_MEDIA_SINK_SPEAKER ? "autoaudiosink" : "autovideosink";
}

char *
rtcbotd_sink_output_describe (const RtcbotdMediaSinkConfig *config)
{
  if (config->type == RTCBOTD_MEDIA_SINK_GST)
    return g_strdup_printf ("the pipeline \"%s\"", config->pipeline);
  if (config->device)
    return g_strdup_printf ("%s device=%s", output_factory (config), config->device);
  return g_strdup (output_factory (config));
}

static const char *
h264_decoder (void)
{
  static const char *const decoders[] = { "avdec_h264", "openh264dec" };

  for (guint i = 0; i < G_N_ELEMENTS (decoders); i++)
    {
      g_autoptr (GstElementFactory) factory = gst_element_factory_find (decoders[i]);
      if (factory)
        return decoders[i];
    }
  return NULL;
}

static GstElement *
make_bin (const RtcbotdMediaSinkConfig *config, const char *description, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GstElement *bin = gst_parse_bin_from_description (description, TRUE, &local_error);

  if (!bin)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "%s: cannot build \"%s\": %s",
                   config->label, description, local_error->message);
      return NULL;
    }
  return gst_object_ref_sink (bin);
}

GstElement *
rtcbotd_sink_output_make_decoder (const RtcbotdMediaSinkConfig *config, RtcbotdCodec codec,
                                  GError **error)
{
  /* Leaky: a slow screen or speaker drops old media; it never holds back a peer or an encoder. */
  static const char queue[] = "queue name=entry leaky=downstream max-size-bytes=0 "
                              "max-size-buffers=0 max-size-time=200000000";
  g_autofree char *description = NULL;

  if (codec == RTCBOTD_CODEC_OPUS)
    description = g_strdup_printf ("%s ! opusdec plc=true ! audioconvert ! audioresample", queue);
  else if (codec == RTCBOTD_CODEC_VP8)
    description = g_strdup_printf ("%s ! vp8dec ! videoconvert", queue);
  else if (h264_decoder ())
    description = g_strdup_printf ("%s ! h264parse ! %s ! videoconvert", queue, h264_decoder ());
  else
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "%s: no H.264 decoder is installed (avdec_h264: gstreamer1.0-libav; "
                   "openh264dec: gstreamer1.0-plugins-bad)",
                   config->label);
      return NULL;
    }
  return make_bin (config, description, error);
}

/* The user's fragment, its errors named by where it was written. */
static GstElement *
make_fragment (const RtcbotdMediaSinkConfig *config, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GstElement *bin = gst_parse_bin_from_description (config->pipeline, TRUE, &local_error);

  if (!bin)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "%s: %s", config->pipeline_where,
                   local_error->message);
      return NULL;
    }
  return bin;
}

static gboolean
add_chain (GstBin *bin, GstElement **chain, guint n)
{
  for (guint i = 0; i < n; i++)
    gst_bin_add (bin, chain[i]);
  for (guint i = 0; i + 1 < n; i++)
    if (!gst_element_link (chain[i], chain[i + 1]))
      return FALSE;
  return TRUE;
}

GstElement *
rtcbotd_sink_output_make (const RtcbotdMediaSinkConfig *config, GError **error)
{
  gboolean audio = rtcbotd_sink_output_is_audio (config);
  g_autoptr (GstElement) bin = gst_object_ref_sink (gst_bin_new (NULL));
  GstElement *chain[3];
  g_autoptr (GstPad) first = NULL;
  guint n = 0;

  chain[n++] = gst_element_factory_make (audio ? "audioconvert" : "videoconvert", NULL);
  chain[n++] = gst_element_factory_make (audio ? "audioresample" : "videoscale", NULL);
  if (config->type == RTCBOTD_MEDIA_SINK_GST)
    chain[n++] = make_fragment (config, error);
  else if ((chain[n++] = gst_element_factory_make (output_factory (config), NULL)))
    {
      if (config->device)
        g_object_set (chain[n - 1], "device", config->device, NULL);
    }
  else
    g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                 "%s output: the GStreamer element \"%s\" is not installed", config->label,
                 output_factory (config));
  if (!chain[0] || !chain[1] || !chain[n - 1])
    {
      for (guint i = 0; i < n; i++)
        if (chain[i])
          gst_object_unref (gst_object_ref_sink (chain[i]));
      if (error && !*error)
        g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                     "%s: the converters are not installed (gstreamer1.0-plugins-base)",
                     config->label);
      return NULL;
    }
  if (!add_chain (GST_BIN (bin), chain, n))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "%s: cannot link %s raw %s to %s",
                   config->label, audio ? "audio" : "video", audio ? "audio" : "video",
                   config->type == RTCBOTD_MEDIA_SINK_GST ? config->pipeline_where
                                                          : output_factory (config));
      return NULL;
    }
  first = gst_element_get_static_pad (chain[0], "sink");
  gst_element_add_pad (bin, gst_ghost_pad_new ("sink", first));
  return g_steal_pointer (&bin);
}
