/* rtcbotd-sink-bin.c — a GstBin that keeps its children's errors and EOS to its owner. */
#include "rtcbotd-sink-bin.h"

struct _RtcbotdSinkBin
{
  GstBin parent;
  GMutex lock; /* guards the handler: set on the main context, called on streaming threads */
  RtcbotdSinkBinHandler handler;
  gpointer user_data;
};

G_DEFINE_FINAL_TYPE (RtcbotdSinkBin, rtcbotd_sink_bin, GST_TYPE_BIN)

/* The posting thread (a streaming thread, or the thread changing state). */
static void
rtcbotd_sink_bin_handle_message (GstBin *bin, GstMessage *message)
{
  RtcbotdSinkBin *self = RTCBOTD_SINK_BIN (bin);

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ERROR
      && GST_MESSAGE_TYPE (message) != GST_MESSAGE_EOS)
    {
      GST_BIN_CLASS (rtcbotd_sink_bin_parent_class)->handle_message (bin, message);
      return;
    }
  g_mutex_lock (&self->lock);
  if (self->handler)
    self->handler (message, self->user_data);
  g_mutex_unlock (&self->lock);
  gst_message_unref (message);
}

static void
rtcbotd_sink_bin_finalize (GObject *object)
{
  g_mutex_clear (&RTCBOTD_SINK_BIN (object)->lock);
  G_OBJECT_CLASS (rtcbotd_sink_bin_parent_class)->finalize (object);
}

static void
rtcbotd_sink_bin_class_init (RtcbotdSinkBinClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rtcbotd_sink_bin_finalize;
  GST_BIN_CLASS (klass)->handle_message = rtcbotd_sink_bin_handle_message;
}

static void
rtcbotd_sink_bin_init (RtcbotdSinkBin *self)
{
  g_mutex_init (&self->lock);
}

GstElement *
rtcbotd_sink_bin_new (const char *name)
{
  /* async-handling: a child that prerolls (splitmuxsink does) completes the
   * bin's own state change; nobody above would, the bin being locked. */
  GstElement *bin
      = g_object_new (RTCBOTD_TYPE_SINK_BIN, "name", name, "async-handling", TRUE, NULL);

  /* The pipeline's state changes pass it by: one failing sink never fails them. */
  gst_element_set_locked_state (bin, TRUE);
  return bin;
}

void
rtcbotd_sink_bin_set_handler (RtcbotdSinkBin *self, RtcbotdSinkBinHandler handler,
                              gpointer user_data)
{
  g_mutex_lock (&self->lock);
  self->handler = handler;
  self->user_data = user_data;
  g_mutex_unlock (&self->lock);
}
