/* rtcbotd-capture.c — the capture part of a source: from the device to raw media or parsed H.264.
 */
#include "rtcbotd-capture.h"

#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-stamp.h"

/* Keeps a description of what a device offers readable in one log line. */
#define MAX_DESCRIPTION 600

struct _RtcbotdCapture
{
  GstBin parent;
  GMutex lock; /* guards what follows: errors arrive on streaming threads */
  char *error; /* the first error posted inside */
  RtcbotdCaptureErrorFunc func;
  gpointer user_data;
};

G_DEFINE_FINAL_TYPE (RtcbotdCapture, rtcbotd_capture, GST_TYPE_BIN)

/* "MESSAGE (DETAIL)": GStreamer's message with the last line of its debug
 * text, where elements put the cause ("system error: No such file or directory"). */
static char *
error_text (GstMessage *message)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;
  const char *detail;

  gst_message_parse_error (message, &error, &debug);
  detail = debug ? strrchr (debug, '\n') : NULL;
  if (detail && detail[1])
    return g_strdup_printf ("%s (%s)", error->message, detail + 1);
  return g_strdup (error->message);
}

/* Main context, after an element posted the bin's first error. */
static gboolean
report_error (gpointer user_data)
{
  RtcbotdCapture *self = user_data;
  RtcbotdCaptureErrorFunc func;
  gpointer func_data;
  g_autofree char *text = NULL;

  g_mutex_lock (&self->lock);
  func = self->func;
  func_data = self->user_data;
  text = g_strdup (self->error);
  g_mutex_unlock (&self->lock);
  if (func && text)
    func (self, text, func_data);
  return G_SOURCE_REMOVE;
}

/* Any thread: keeps @text (taking it) if it is the first error, and reports it. */
static void
record_error (RtcbotdCapture *self, char *text)
{
  gboolean first;

  g_mutex_lock (&self->lock);
  first = self->error == NULL;
  if (first)
    self->error = text;
  g_mutex_unlock (&self->lock);
  if (!first)
    g_free (text);
  /* Always later, never inside the caller's set_state(). */
  if (first)
    g_idle_add_full (G_PRIORITY_DEFAULT, report_error, gst_object_ref (self), gst_object_unref);
}

/* Any thread (an element's streaming thread, or the one changing the bin's
 * state). Errors stop here: the owner hears the first and retries; the later
 * ones ("Internal data stream error" after the cause) say nothing new. */
static void
rtcbotd_capture_handle_message (GstBin *bin, GstMessage *message)
{
  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ERROR)
    {
      GST_BIN_CLASS (rtcbotd_capture_parent_class)->handle_message (bin, message);
      return;
    }
  record_error (RTCBOTD_CAPTURE (bin), error_text (message));
  gst_message_unref (message);
}

/* Streaming thread of the capture: a stream that ends (a sender gone, a file
 * played out) is a failure to retry, and its EOS must not reach the encoders
 * and peers, which would then take nothing more. */
static GstPadProbeReturn
on_output_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  record_error (user_data, g_strdup ("the stream ended"));
  return GST_PAD_PROBE_DROP;
}

static void
rtcbotd_capture_finalize (GObject *object)
{
  RtcbotdCapture *self = RTCBOTD_CAPTURE (object);

  g_free (self->error);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (rtcbotd_capture_parent_class)->finalize (object);
}

static void
rtcbotd_capture_class_init (RtcbotdCaptureClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rtcbotd_capture_finalize;
  GST_BIN_CLASS (klass)->handle_message = rtcbotd_capture_handle_message;
}

static void
rtcbotd_capture_init (RtcbotdCapture *self)
{
  g_mutex_init (&self->lock);
}

void
rtcbotd_capture_set_error_func (RtcbotdCapture *self, RtcbotdCaptureErrorFunc func,
                                gpointer user_data)
{
  g_mutex_lock (&self->lock);
  self->func = func;
  self->user_data = user_data;
  g_mutex_unlock (&self->lock);
}

char *
rtcbotd_capture_dup_error (RtcbotdCapture *self)
{
  char *text;

  g_mutex_lock (&self->lock);
  text = g_strdup (self->error);
  g_mutex_unlock (&self->lock);
  return text;
}

void
rtcbotd_capture_plan_clear (RtcbotdCapturePlan *plan)
{
  g_clear_pointer (&plan->caps, gst_caps_unref);
}

/* ---- names ---------------------------------------------------------------- */

char *
rtcbotd_capture_label (const RtcbotdSourceConfig *c)
{
  switch (c->type)
    {
      case RTCBOTD_SOURCE_TEST_VIDEO:
        return g_strdup ("test pattern");
      case RTCBOTD_SOURCE_TEST_AUDIO:
        return g_strdup ("test tone");
      case RTCBOTD_SOURCE_V4L2:
        return g_strdup_printf ("v4l2 camera %s", c->device);
      case RTCBOTD_SOURCE_LIBCAMERA:
        return c->camera_name ? g_strdup_printf ("libcamera camera %s", c->camera_name)
                              : g_strdup ("libcamera camera (the first)");
      case RTCBOTD_SOURCE_ALSA:
        return g_strdup_printf ("alsa microphone %s", c->device);
      case RTCBOTD_SOURCE_PULSE:
        return c->device ? g_strdup_printf ("pulse microphone %s", c->device)
                         : g_strdup ("pulse microphone (the default source)");
      case RTCBOTD_SOURCE_GST:
        return g_strdup ("gst pipeline");
    }
  return g_strdup ("capture");
}

char *
rtcbotd_capture_describe_input (const RtcbotdSourceConfig *c)
{
  static const char *const elements[] = {
    [RTCBOTD_SOURCE_TEST_VIDEO] = "videotestsrc",
    [RTCBOTD_SOURCE_TEST_AUDIO] = "audiotestsrc",
    [RTCBOTD_SOURCE_V4L2] = "v4l2src",
    [RTCBOTD_SOURCE_LIBCAMERA] = "libcamerasrc",
    [RTCBOTD_SOURCE_ALSA] = "alsasrc",
    [RTCBOTD_SOURCE_PULSE] = "pulsesrc",
    [RTCBOTD_SOURCE_GST] = "gst pipeline",
  };
  const char *device = c->type == RTCBOTD_SOURCE_LIBCAMERA ? c->camera_name : c->device;

  if (c->type >= G_N_ELEMENTS (elements))
    return g_strdup ("capture");
  return device ? g_strdup_printf ("%s %s", elements[c->type], device)
                : g_strdup (elements[c->type]);
}

static const char *
format_name (RtcbotdCaptureFormat format)
{
  return format == RTCBOTD_CAPTURE_FORMAT_H264    ? "H.264"
         : format == RTCBOTD_CAPTURE_FORMAT_MJPEG ? "MJPEG"
                                                  : "raw";
}

/* Where a missing element comes from, so the error says what to install. */
static const char *
package_of (const char *factory)
{
  static const struct
  {
    const char *factory;
    const char *package;
  } packages[] = {
    { "libcamerasrc", "gstreamer1.0-libcamera" }, { "pulsesrc", "gstreamer1.0-plugins-good" },
    { "alsasrc", "gstreamer1.0-alsa" },           { "v4l2src", "gstreamer1.0-plugins-good" },
    { "jpegdec", "gstreamer1.0-plugins-good" },   { "h264parse", "gstreamer1.0-plugins-bad" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (packages); i++)
    if (g_str_equal (packages[i].factory, factory))
      return packages[i].package;
  return "gstreamer1.0-plugins-base";
}

/* ---- probing and planning ------------------------------------------------------ */

GstCaps *
rtcbotd_capture_probe_v4l2 (const char *device, GError **error)
{
  g_autoptr (GstElement) src = gst_element_factory_make ("v4l2src", NULL);
  g_autoptr (GstBus) bus = gst_bus_new ();
  g_autoptr (GstPad) pad = NULL;
  GstCaps *caps;

  if (!src)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "the GStreamer element \"v4l2src\" is not installed (Debian: %s)",
                   package_of ("v4l2src"));
      return NULL;
    }
  gst_object_ref_sink (src);
  /* A bus of our own: the open error is read here, at once, not on the pipeline's. */
  gst_element_set_bus (src, bus);
  g_object_set (src, "device", device, NULL);
  if (gst_element_set_state (src, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE)
    {
      g_autoptr (GstMessage) message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
      g_autofree char *text = message ? error_text (message) : g_strdup ("cannot be opened");
      gst_element_set_state (src, GST_STATE_NULL);
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "%s", text);
      return NULL;
    }
  pad = gst_element_get_static_pad (src, "src");
  caps = gst_pad_query_caps (pad, NULL);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_element_set_bus (src, NULL);
  return caps;
}

static char *
without (const char *text, const char *needle)
{
  g_auto (GStrv) parts = g_strsplit (text, needle, -1);

  return g_strjoinv ("", parts);
}

/* A field's value as text, without the type names GStreamer puts in lists. */
static char *
field_text (const GstStructure *s, const char *field)
{
  const GValue *value = gst_structure_get_value (s, field);
  g_autofree char *text = value ? gst_value_serialize (value) : NULL;
  g_autofree char *plain = text ? without (text, "(fraction)") : NULL;

  return plain ? without (plain, "(string)") : NULL;
}

static void
describe_structure (GString *out, const GstStructure *s)
{
  const char *name = gst_structure_get_name (s);
  g_autofree char *format = field_text (s, "format");
  g_autofree char *width = field_text (s, "width");
  g_autofree char *height = field_text (s, "height");
  g_autofree char *rate = field_text (s, "framerate");

  if (g_str_equal (name, "video/x-h264"))
    g_string_append (out, "H.264");
  else if (g_str_equal (name, "image/jpeg"))
    g_string_append (out, "MJPEG");
  else if (g_str_equal (name, "video/x-raw") && format)
    g_string_append (out, format);
  else
    g_string_append (out, name);
  if (width && height)
    g_string_append_printf (out, " %sx%s", width, height);
  if (rate)
    g_string_append_printf (out, " %s", rate);
}

char *
rtcbotd_capture_describe_caps (const GstCaps *caps)
{
  g_autoptr (GString) out = g_string_new (NULL);

  if (!caps || gst_caps_is_empty (caps))
    return g_strdup ("nothing");
  if (gst_caps_is_any (caps))
    return g_strdup ("anything");
  for (guint i = 0; i < gst_caps_get_size (caps); i++)
    {
      if (i)
        g_string_append (out, "; ");
      describe_structure (out, gst_caps_get_structure (caps, i));
      if (out->len > MAX_DESCRIPTION)
        {
          g_string_append (out, "; …");
          break;
        }
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The caps a camera is asked for in @format at the configured size and rate. */
static GstCaps *
camera_caps (const RtcbotdSourceConfig *c, RtcbotdCaptureFormat format)
{
  const char *name = format == RTCBOTD_CAPTURE_FORMAT_H264    ? "video/x-h264"
                     : format == RTCBOTD_CAPTURE_FORMAT_MJPEG ? "image/jpeg"
                                                              : "video/x-raw";

  return gst_caps_new_simple (name, "width", G_TYPE_INT, c->width, "height", G_TYPE_INT, c->height,
                              "framerate", GST_TYPE_FRACTION, c->framerate, 1, NULL);
}

/* The formats a camera may be asked for, in order of preference. */
static guint
candidates (const RtcbotdSourceConfig *c, gboolean h264, RtcbotdCaptureFormat *out)
{
  if (h264)
    {
      out[0] = RTCBOTD_CAPTURE_FORMAT_H264;
      return 1;
    }
  if (c->format == RTCBOTD_CAPTURE_FORMAT_AUTO && c->type == RTCBOTD_SOURCE_V4L2)
    {
      out[0] = RTCBOTD_CAPTURE_FORMAT_MJPEG;
      out[1] = RTCBOTD_CAPTURE_FORMAT_RAW;
      return 2;
    }
  out[0] = c->format == RTCBOTD_CAPTURE_FORMAT_AUTO ? RTCBOTD_CAPTURE_FORMAT_RAW : c->format;
  return 1;
}

static void
set_no_match_error (const RtcbotdSourceConfig *c, GstCaps *probed,
                    const RtcbotdCaptureFormat *formats, guint n, GError **error)
{
  g_autofree char *offers = rtcbotd_capture_describe_caps (probed);
  g_autoptr (GString) wanted = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (wanted, "%s%s", i ? " or " : "", format_name (formats[i]));
  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
               "%s cannot deliver %ux%u at %u fps as %s; it offers: %s", c->device, c->width,
               c->height, c->framerate, wanted->str, offers);
}

gboolean
rtcbotd_capture_plan (const RtcbotdSourceConfig *c, GstCaps *probed, gboolean h264,
                      RtcbotdCapturePlan *plan, GError **error)
{
  RtcbotdCaptureFormat formats[2];
  guint n;

  plan->format = RTCBOTD_CAPTURE_FORMAT_RAW;
  plan->caps = NULL;
  if (c->type != RTCBOTD_SOURCE_V4L2 && c->type != RTCBOTD_SOURCE_LIBCAMERA)
    return TRUE;
  n = candidates (c, h264, formats);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GstCaps) caps = camera_caps (c, formats[i]);
      if (probed && !gst_caps_can_intersect (caps, probed))
        continue;
      plan->format = formats[i];
      plan->caps = g_steal_pointer (&caps);
      return TRUE;
    }
  set_no_match_error (c, probed, formats, n, error);
  return FALSE;
}

/* ---- building ---------------------------------------------------------------- */

static GstElement *
add (RtcbotdCapture *self, const char *prefix, const char *factory, const char *role,
     GError **error)
{
  g_autofree char *name = g_strdup_printf ("%s-%s", prefix, role);
  GstElement *element = gst_element_factory_make (factory, name);

  if (!element)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "the GStreamer element \"%s\" is not installed (Debian: %s)", factory,
                   package_of (factory));
      return NULL;
    }
  gst_bin_add (GST_BIN (self), element);
  return element;
}

static GstElement *
add_caps (RtcbotdCapture *self, const char *prefix, const char *role, GstCaps *caps, GError **error)
{
  GstElement *filter = add (self, prefix, "capsfilter", role, error);

  if (filter)
    g_object_set (filter, "caps", caps, NULL);
  return filter;
}

/* Links @chain in order and makes the last element's src pad the bin's. */
static gboolean
finish (RtcbotdCapture *self, GstElement **chain, guint n, GError **error)
{
  g_autoptr (GstPad) src = NULL;
  GstPad *ghost;

  for (guint i = 0; i + 1 < n; i++)
    if (!gst_element_link (chain[i], chain[i + 1]))
      {
        g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "cannot link %s to %s",
                     GST_ELEMENT_NAME (chain[i]), GST_ELEMENT_NAME (chain[i + 1]));
        return FALSE;
      }
  src = gst_element_get_static_pad (chain[n - 1], "src");
  ghost = gst_ghost_pad_new ("src", src);
  gst_pad_add_probe (ghost, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_output_event, self, NULL);
  return gst_element_add_pad (GST_ELEMENT (self), ghost);
}

/* ... ! videoconvert ! I420: what every encoder takes. */
static gboolean
add_to_i420 (RtcbotdCapture *self, const char *prefix, GstElement **chain, guint *n, GError **error)
{
  g_autoptr (GstCaps) i420
      = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "I420", NULL);

  return (chain[(*n)++] = add (self, prefix, "videoconvert", "convert", error))
         && (chain[(*n)++] = add_caps (self, prefix, "format", i420, error));
}

static gboolean
build_test_video (RtcbotdCapture *self, const RtcbotdSourceConfig *c, const char *prefix,
                  GError **error)
{
  GstElement *chain[4];
  guint n = 0;
  g_autoptr (GstCaps) caps = NULL;

  if (!(chain[n++] = add (self, prefix, "videotestsrc", "capture", error)))
    return FALSE;
  gst_util_set_object_arg (G_OBJECT (chain[0]), "pattern", c->pattern);
  g_object_set (chain[0], "is-live", TRUE, "horizontal-speed", (gint)c->motion, NULL);
  caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT,
                              c->width, "height", G_TYPE_INT, c->height, "framerate",
                              GST_TYPE_FRACTION, c->framerate, 1, NULL);
  if (!(chain[n++] = add_caps (self, prefix, "caps", caps, error)))
    return FALSE;
  if (c->clock_overlay)
    {
      if (!(chain[n++] = add (self, prefix, "clockoverlay", "clock", error)))
        return FALSE;
      g_object_set (chain[2], "time-format", "%Y-%m-%d %H:%M:%S", "halignment", 2, "valignment", 2,
                    "shaded-background", TRUE, "font-desc", "Sans 18", NULL);
    }
  if (c->stamp)
    {
      /* After the clock overlay, which would otherwise draw over the band. */
      g_autoptr (GstPad) pad = gst_element_get_static_pad (chain[n - 1], "src");
      rtcbotd_stamp_attach (pad);
    }
  return finish (self, chain, n, error);
}

static gboolean
build_test_audio (RtcbotdCapture *self, const RtcbotdSourceConfig *c, const char *prefix,
                  GError **error)
{
  GstElement *chain[1];

  if (!(chain[0] = add (self, prefix, "audiotestsrc", "capture", error)))
    return FALSE;
  g_object_set (chain[0], "is-live", TRUE, "freq", c->frequency, "volume", c->volume,
                "samplesperbuffer", 960, NULL);
  return finish (self, chain, 1, error);
}

/* The hardware JPEG decoder when the system has one (a Pi), else libjpeg. */
static const char *
jpeg_decoder (void)
{
  g_autoptr (GstElementFactory) hw = gst_element_factory_find ("v4l2jpegdec");

  return hw ? "v4l2jpegdec" : "jpegdec";
}

/* v4l2src or libcamerasrc ! the planned caps ! decoder and converter as needed. */
static gboolean
build_camera (RtcbotdCapture *self, const RtcbotdSourceConfig *c, const char *prefix,
              const RtcbotdCapturePlan *plan, GError **error)
{
  gboolean v4l2 = c->type == RTCBOTD_SOURCE_V4L2;
  GstElement *chain[6];
  guint n = 0;

  if (!(chain[n++] = add (self, prefix, v4l2 ? "v4l2src" : "libcamerasrc", "capture", error)))
    return FALSE;
  if (v4l2)
    g_object_set (chain[0], "device", c->device, NULL);
  else if (c->camera_name)
    g_object_set (chain[0], "camera-name", c->camera_name, NULL);
  if (plan && plan->caps && !(chain[n++] = add_caps (self, prefix, "caps", plan->caps, error)))
    return FALSE;
  /* H.264 goes out as the camera made it; the source's branch parses it. */
  if (plan && plan->format == RTCBOTD_CAPTURE_FORMAT_H264)
    return finish (self, chain, n, error);
  if (plan && plan->format == RTCBOTD_CAPTURE_FORMAT_MJPEG
      && !(chain[n++] = add (self, prefix, jpeg_decoder (), "decode", error)))
    return FALSE;
  return add_to_i420 (self, prefix, chain, &n, error) && finish (self, chain, n, error);
}

/* alsasrc or pulsesrc at the configured rate and channels; the Opus branch resamples to 48 kHz. */
static gboolean
build_microphone (RtcbotdCapture *self, const RtcbotdSourceConfig *c, const char *prefix,
                  GError **error)
{
  gboolean alsa = c->type == RTCBOTD_SOURCE_ALSA;
  GstElement *chain[4];
  guint n = 0;
  g_autoptr (GstCaps) caps = gst_caps_new_simple ("audio/x-raw", "rate", G_TYPE_INT, c->rate,
                                                  "channels", G_TYPE_INT, c->channels, NULL);

  if (!(chain[n++] = add (self, prefix, alsa ? "alsasrc" : "pulsesrc", "capture", error)))
    return FALSE;
  if (c->device)
    g_object_set (chain[0], "device", c->device, NULL);
  return (chain[n++] = add_caps (self, prefix, "caps", caps, error))
         && (chain[n++] = add (self, prefix, "audioconvert", "convert", error))
         && (chain[n++] = add (self, prefix, "audioresample", "resample", error))
         && finish (self, chain, n, error);
}

/* Why a fragment that does not parse with our identity behind it fails:
 * alone it may parse, and then it has no output to link (it ends in a sink). */
static char *
parse_failure (const RtcbotdSourceConfig *c, const GError *with_identity)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GstElement) alone = gst_parse_bin_from_description_full (
      c->pipeline, TRUE, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &local_error);

  g_autoptr (GstPad) src = NULL;

  if (alone)
    {
      gst_object_ref_sink (alone);
      if (!(src = gst_element_get_static_pad (alone, "src")))
        return g_strdup ("has no open output: it ends in a sink");
    }
  return g_strdup (with_identity ? with_identity->message : "does not parse");
}

/* TRUE when @ghost, a parsed fragment's sink pad, is our identity's. */
static gboolean
ends_open (GstPad *ghost)
{
  g_autoptr (GstPad) target = gst_ghost_pad_get_target (GST_GHOST_PAD (ghost));
  g_autoptr (GstElement) element = target ? gst_pad_get_parent_element (target) : NULL;

  return element && g_str_equal (GST_ELEMENT_NAME (element), "fragment-end");
}

/* The user's fragment as a bin with one open src pad; a parse error names the key's line. */
static GstElement *
parse_fragment (const RtcbotdSourceConfig *c, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GstPad) sink = NULL;
  /* The identity lets a fragment end with caps (… ! video/x-raw,width=320) or
   * with an element whose pads come later (decodebin), as gst-launch allows. */
  g_autofree char *text
      = g_strdup_printf ("%s ! identity name=fragment-end silent=true", c->pipeline);
  GstElement *bin = gst_parse_bin_from_description_full (text, TRUE, NULL,
                                                         GST_PARSE_FLAG_FATAL_ERRORS, &local_error);

  if (!bin)
    {
      g_autofree char *why = parse_failure (c, local_error);
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "%s: %s", c->pipeline_where, why);
      return NULL;
    }
  gst_object_ref_sink (bin);
  if ((sink = gst_element_get_static_pad (bin, "sink")) && ends_open (sink))
    {
      /* Our identity waits for a pad the fragment adds later (decodebin): not an input. */
      gst_element_remove_pad (bin, sink);
      g_clear_object (&sink);
    }
  if (sink)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG,
                   "%s: its first element takes input, which nothing gives it; start with a "
                   "source element",
                   c->pipeline_where);
      gst_object_unref (bin);
      return NULL;
    }
  return bin;
}

/* TRUE when the fragment says it makes H.264 (its output caps are H.264 only). */
static gboolean
fragment_is_h264 (GstElement *fragment)
{
  g_autoptr (GstPad) src = gst_element_get_static_pad (fragment, "src");
  g_autoptr (GstCaps) caps = gst_pad_query_caps (src, NULL);

  if (gst_caps_is_any (caps) || gst_caps_is_empty (caps))
    return FALSE;
  for (guint i = 0; i < gst_caps_get_size (caps); i++)
    if (!gst_structure_has_name (gst_caps_get_structure (caps, i), "video/x-h264"))
      return FALSE;
  return TRUE;
}

static gboolean
build_fragment (RtcbotdCapture *self, const RtcbotdSourceConfig *c, const char *prefix,
                GError **error)
{
  GstElement *chain[3];
  guint n = 0;
  GstElement *fragment = parse_fragment (c, error);
  g_autofree char *name = g_strdup_printf ("%s-fragment", prefix);
  gboolean h264;

  if (!fragment)
    return FALSE;
  gst_object_set_name (GST_OBJECT (fragment), name);
  h264 = c->kind == RTCBOTD_KIND_VIDEO && fragment_is_h264 (fragment);
  gst_bin_add (GST_BIN (self), fragment);
  gst_object_unref (fragment); /* the bin holds it now */
  chain[n++] = fragment;
  if (h264)
    return finish (self, chain, n, error);
  if (c->kind == RTCBOTD_KIND_VIDEO)
    return add_to_i420 (self, prefix, chain, &n, error) && finish (self, chain, n, error);
  return (chain[n++] = add (self, prefix, "audioconvert", "convert", error))
         && (chain[n++] = add (self, prefix, "audioresample", "resample", error))
         && finish (self, chain, n, error);
}

RtcbotdCapture *
rtcbotd_capture_new (const RtcbotdSourceConfig *c, const char *prefix,
                     const RtcbotdCapturePlan *plan, GError **error)
{
  g_autofree char *name = g_strdup_printf ("%s-input", prefix);
  RtcbotdCapture *self = g_object_new (RTCBOTD_TYPE_CAPTURE, "name", name, NULL);
  gboolean ok = FALSE;

  gst_object_ref_sink (self);
  switch (c->type)
    {
      case RTCBOTD_SOURCE_TEST_VIDEO:
        ok = build_test_video (self, c, prefix, error);
        break;
      case RTCBOTD_SOURCE_TEST_AUDIO:
        ok = build_test_audio (self, c, prefix, error);
        break;
      case RTCBOTD_SOURCE_V4L2:
      case RTCBOTD_SOURCE_LIBCAMERA:
        ok = build_camera (self, c, prefix, plan, error);
        break;
      case RTCBOTD_SOURCE_ALSA:
      case RTCBOTD_SOURCE_PULSE:
        ok = build_microphone (self, c, prefix, error);
        break;
      case RTCBOTD_SOURCE_GST:
        ok = build_fragment (self, c, prefix, error);
        break;
    }
  if (!ok)
    g_clear_object (&self);
  return self;
}

gboolean
rtcbotd_capture_decide (const RtcbotdSourceConfig *c, gboolean *h264, GError **error)
{
  *h264 = FALSE;
  if (c->type == RTCBOTD_SOURCE_V4L2 && c->format == RTCBOTD_CAPTURE_FORMAT_H264)
    *h264 = TRUE;
  else if (c->type == RTCBOTD_SOURCE_V4L2 && c->format == RTCBOTD_CAPTURE_FORMAT_AUTO)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (GstCaps) probed = rtcbotd_capture_probe_v4l2 (c->device, &local_error);
      g_auto (RtcbotdCapturePlan) plan = { 0 };
      /* A camera absent at start-up is encoded (MJPEG or raw) when it comes. */
      if (!probed)
        g_debug ("[source %s]: %s: %s", c->name, c->device, local_error->message);
      *h264 = probed && rtcbotd_capture_plan (c, probed, TRUE, &plan, NULL);
    }
  else if (c->type == RTCBOTD_SOURCE_GST)
    {
      g_autoptr (GstElement) fragment = parse_fragment (c, error);
      if (!fragment)
        return FALSE;
      *h264 = c->kind == RTCBOTD_KIND_VIDEO && fragment_is_h264 (fragment);
    }
  return TRUE;
}

gboolean
rtcbotd_capture_check_config (const RtcbotdConfig *config, GError **error)
{
  for (guint i = 0; i < config->sources->len; i++)
    {
      const RtcbotdSourceConfig *c = config->sources->pdata[i];
      g_autoptr (GstElement) fragment = NULL;
      if (c->type == RTCBOTD_SOURCE_GST && !(fragment = parse_fragment (c, error)))
        return FALSE;
    }
  return TRUE;
}
