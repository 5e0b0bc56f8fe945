/* rtcbotd-recorder.c — one splitmuxsink writing a record sink's files. */
#include "rtcbotd-recorder.h"
#include "rtcbotd-element.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rtcbotd-error.h"

#define RECORDER_KEY "rtcbotd-recorder"
/* How much a stalled disk may hold back before the recording drops data
 * (the encoder every viewer shares never waits for a file). */
#define QUEUE_TIME (3 * GST_SECOND)

struct _RtcbotdRecorder
{
  GstBin *bin;
  const RtcbotdMediaSinkConfig *config;
  char *suffix;
  GstElement *splitmux;
  GstElement *filesink;
  GPtrArray *elements; /* queues and parsers, a reference each */
  GPtrArray *inputs;   /* the queues' sink pads, one per stream */
  gboolean has_video;
  GMutex lock; /* guards location, written on the muxer's streaming thread */
  char *location;
  atomic_uint_least64_t files;
  atomic_uint_least64_t bytes;
  atomic_uint_least64_t buffers_in;
  atomic_int done;
};

static char *
insert_suffix (const char *path, const char *suffix)
{
  const char *slash = strrchr (path, '/');
  const char *dot = strrchr (slash ? slash : path, '.');

  if (!suffix || !*suffix)
    return g_strdup (path);
  if (!dot || dot == path || (slash && dot == slash + 1))
    return g_strconcat (path, suffix, NULL);
  return g_strdup_printf ("%.*s%s%s", (int)(dot - path), path, suffix, dot);
}

char *
rtcbotd_recorder_expand (const char *pattern, GDateTime *now, const char *suffix)
{
  time_t t = g_date_time_to_unix (now);
  struct tm tm;
  char buffer[4096];

  localtime_r (&t, &tm);
  /* 0 means too long (or empty): use the pattern as it is rather than nothing. */
  if (strftime (buffer, sizeof buffer, pattern, &tm) == 0)
    return insert_suffix (pattern, suffix);
  return insert_suffix (buffer, suffix);
}

gboolean
rtcbotd_recorder_check_path (const RtcbotdMediaSinkConfig *config, GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *path = rtcbotd_recorder_expand (config->path, now, NULL);
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_access (dir, W_OK | X_OK) == 0)
    return TRUE;
  /* The pattern, not today's file name: the message stays the same at each retry. */
  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
               "%s path: cannot write files %s into %s: %s", config->label, config->path, dir,
               g_strerror (errno));
  return FALSE;
}

/* The muxer's streaming thread, as each file starts. */
static gchar *
on_format_location (GstElement *splitmux, guint fragment, gpointer user_data)
{
  RtcbotdRecorder *self = user_data;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *base = rtcbotd_recorder_expand (self->config->path, now, self->suffix);
  char *path = g_strdup (base);

  /* Never overwrite: a pattern without seconds, or two peers in one second. */
  for (guint n = 1; g_file_test (path, G_FILE_TEST_EXISTS) && n < 10000; n++)
    {
      g_autofree char *number = g_strdup_printf ("-%u", n);
      g_free (path);
      path = insert_suffix (base, number);
    }
  g_mutex_lock (&self->lock);
  g_free (self->location);
  self->location = g_strdup (path);
  g_mutex_unlock (&self->lock);
  atomic_fetch_add (&self->files, 1);
  g_message ("%s: writing %s", self->config->label, path);
  return path;
}

/* The muxer's streaming thread: counts what reaches the file. */
static GstPadProbeReturn
on_written (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdRecorder *self = user_data;
  gsize bytes = info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST
                    ? gst_buffer_list_calculate_size (GST_PAD_PROBE_INFO_BUFFER_LIST (info))
                    : gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));

  atomic_fetch_add (&self->bytes, bytes);
  return GST_PAD_PROBE_OK;
}

/* A stream's streaming thread: counts what enters, so that finishing a
 * recorder that never saw data does not wait for a file that never comes. */
static GstPadProbeReturn
on_input (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdRecorder *self = user_data;

  atomic_fetch_add (&self->buffers_in, 1);
  return GST_PAD_PROBE_OK;
}

static GstElement *
add (RtcbotdRecorder *self, const char *factory, GError **error)
{
  GstElement *element = gst_element_factory_make (factory, NULL);

  if (!element)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "%s: the GStreamer element \"%s\" is not installed", self->config->label,
                   factory);
      return NULL;
    }
  gst_bin_add (self->bin, element);
  return element;
}

RtcbotdRecorder *
rtcbotd_recorder_new (GstBin *bin, const RtcbotdMediaSinkConfig *config, const char *suffix,
                      GError **error)
{
  RtcbotdRecorder *self = g_new0 (RtcbotdRecorder, 1);
  const char *muxer_name = config->format == RTCBOTD_RECORD_MP4 ? "mp4mux" : "matroskamux";
  GstElement *muxer = gst_element_factory_make (muxer_name, NULL);
  g_autoptr (GstPad) file_pad = NULL;

  self->bin = bin;
  self->config = config;
  self->suffix = g_strdup (suffix);
  self->elements = g_ptr_array_new_with_free_func (gst_object_unref);
  self->inputs = g_ptr_array_new_with_free_func (gst_object_unref);
  g_mutex_init (&self->lock);
  self->filesink = gst_element_factory_make ("filesink", NULL);
  if (!muxer || !self->filesink || !(self->splitmux = add (self, "splitmuxsink", error)))
    {
      if (!error || !*error)
        g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                     "%s: the GStreamer elements %s and filesink are needed (Debian: "
                     "gstreamer1.0-plugins-good)",
                     config->label, muxer_name);
      g_clear_pointer (&muxer, gst_object_unref);
      g_clear_pointer (&self->filesink, gst_object_unref);
      rtcbotd_recorder_free (self);
      return NULL;
    }
  if (config->format == RTCBOTD_RECORD_MKV)
    g_object_set (muxer, "offset-to-zero", TRUE, NULL);
  g_object_set (self->filesink, "sync", FALSE, "async", FALSE, NULL);
  file_pad = gst_element_get_static_pad (self->filesink, "sink");
  gst_pad_add_probe (file_pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     on_written, self, NULL);
  g_object_set (self->splitmux, "muxer", muxer, "sink", self->filesink, "max-size-bytes",
                config->max_size, "max-size-time", config->max_duration, NULL);
  /* A new file at the configured time, not at whatever key frame comes next. */
  if (config->max_duration && !config->max_size)
    g_object_set (self->splitmux, "send-keyframe-requests", TRUE, NULL);
  g_object_set_data (G_OBJECT (self->splitmux), RECORDER_KEY, self);
  g_signal_connect (self->splitmux, "format-location", G_CALLBACK (on_format_location), self);
  return self;
}

static gboolean
link_stream (RtcbotdRecorder *self, GstElement *queue, GstElement *parser, const char *pad_name,
             GError **error)
{
  g_autoptr (GstPad) mux_pad = gst_element_request_pad_simple (self->splitmux, pad_name);
  g_autoptr (GstPad) src = gst_element_get_static_pad (parser ? parser : queue, "src");

  if ((parser && !gst_element_link (queue, parser)) || !mux_pad
      || GST_PAD_LINK_FAILED (gst_pad_link (src, mux_pad)))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "%s: cannot link a %s stream",
                   self->config->label, pad_name);
      return FALSE;
    }
  return TRUE;
}

GstPad *
rtcbotd_recorder_add_stream (RtcbotdRecorder *self, RtcbotdCodec codec, GError **error)
{
  const char *parser_name = codec == RTCBOTD_CODEC_H264   ? "h264parse"
                            : codec == RTCBOTD_CODEC_OPUS ? "opusparse"
                                                          : NULL;
  GstElement *queue, *parser = NULL;
  GstPad *input;

  if (codec != RTCBOTD_CODEC_OPUS && self->has_video)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "%s: a file holds one video stream; route one video source to it",
                   self->config->label);
      return NULL;
    }
  if (codec == RTCBOTD_CODEC_VP8 && self->config->format == RTCBOTD_RECORD_MP4)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "%s: mp4 cannot hold VP8 video; use format = mkv (or an H.264 encoder)",
                   self->config->label);
      return NULL;
    }
  if (!(queue = add (self, "queue", error)))
    return NULL;
  g_ptr_array_add (self->elements, gst_object_ref (queue));
  g_object_set (queue, "leaky", 2, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
                QUEUE_TIME, NULL);
  if (parser_name && !(parser = add (self, parser_name, error)))
    return NULL;
  if (parser)
    g_ptr_array_add (self->elements, gst_object_ref (parser));
  if (!link_stream (self, queue, parser, codec == RTCBOTD_CODEC_OPUS ? "audio_%u" : "video", error))
    return NULL;
  self->has_video |= codec != RTCBOTD_CODEC_OPUS;
  input = gst_element_get_static_pad (queue, "sink");
  gst_pad_add_probe (input, GST_PAD_PROBE_TYPE_BUFFER, on_input, self, NULL);
  g_ptr_array_add (self->inputs, gst_object_ref (input));
  return input;
}

void
rtcbotd_recorder_start (RtcbotdRecorder *self)
{
  gst_element_sync_state_with_parent (self->splitmux);
  for (guint i = self->elements->len; i > 0; i--)
    gst_element_sync_state_with_parent (self->elements->pdata[i - 1]);
}

void
rtcbotd_recorder_finish (RtcbotdRecorder *self)
{
  if (atomic_load (&self->buffers_in) == 0)
    {
      rtcbotd_recorder_set_done (self);
      return;
    }
  for (guint i = 0; i < self->inputs->len; i++)
    gst_pad_send_event (self->inputs->pdata[i], gst_event_new_eos ());
}

RtcbotdRecorder *
rtcbotd_recorder_from_message (GstMessage *message)
{
  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_EOS || !GST_IS_ELEMENT (GST_MESSAGE_SRC (message)))
    return NULL;
  return g_object_get_data (G_OBJECT (GST_MESSAGE_SRC (message)), RECORDER_KEY);
}

void
rtcbotd_recorder_set_done (RtcbotdRecorder *self)
{
  atomic_store (&self->done, 1);
}

gboolean
rtcbotd_recorder_is_done (RtcbotdRecorder *self)
{
  return atomic_load (&self->done) != 0;
}

gboolean
rtcbotd_recorder_owns (RtcbotdRecorder *self, GstObject *object)
{
  if (self->splitmux && gst_object_has_as_ancestor (object, GST_OBJECT (self->splitmux)))
    return TRUE;
  for (guint i = 0; i < self->elements->len; i++)
    if (gst_object_has_as_ancestor (object, self->elements->pdata[i]))
      return TRUE;
  return FALSE;
}

char *
rtcbotd_recorder_get_location (RtcbotdRecorder *self)
{
  char *location;

  g_mutex_lock (&self->lock);
  location = g_strdup (self->location);
  g_mutex_unlock (&self->lock);
  return location;
}

guint64
rtcbotd_recorder_get_files (RtcbotdRecorder *self)
{
  return atomic_load (&self->files);
}

guint64
rtcbotd_recorder_get_bytes (RtcbotdRecorder *self)
{
  return atomic_load (&self->bytes);
}

static void
remove_element (RtcbotdRecorder *self, GstElement *element)
{
  rtcbotd_element_discard (self->bin, element);
}

void
rtcbotd_recorder_free (RtcbotdRecorder *self)
{
  if (!self)
    return;
  /* Upstream first: the queues' threads stop before the muxer goes. */
  for (guint i = 0; i < self->elements->len; i++)
    remove_element (self, self->elements->pdata[i]);
  if (self->splitmux)
    {
      g_autoptr (GstElement) splitmux = gst_object_ref (self->splitmux);
      remove_element (self, splitmux);
      g_signal_handlers_disconnect_by_data (splitmux, self);
      g_object_set_data (G_OBJECT (splitmux), RECORDER_KEY, NULL);
    }
  g_ptr_array_unref (self->inputs);
  g_ptr_array_unref (self->elements);
  g_mutex_clear (&self->lock);
  g_free (self->location);
  g_free (self->suffix);
  g_free (self);
}
