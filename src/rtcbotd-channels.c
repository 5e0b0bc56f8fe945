/* rtcbotd-channels.c — one peer's data channels. */
#include "rtcbotd-channels.h"

#include <gst/webrtc/webrtc.h>
#include <string.h>

#include "rtcbotd-rate-limit.h"
#include "rtcbotd-sdp.h"

/* What one peer may make the daemon hold. */
#define MAX_CHANNELS 16
#define MAX_QUEUED_MESSAGES 256
#define MAX_QUEUED_BYTES (1024 * 1024) /* ... and bytes: 256 long serial lines stay in bounds */
/* Longer data-channel messages are dropped, not parsed. */
#define MAX_MESSAGE_BYTES RTCBOTD_SDP_MAX_MESSAGE_SIZE /* as the answers say */
/* A peer that reads slower than routes send to it has at most this much
 * waiting in its SCTP send buffer; more messages for it are dropped. */
#define MAX_BUFFERED_BYTES (1024 * 1024)
/* Messages on their way from the SCTP thread to a held-up main loop, at most
 * (beyond, a flooding peer loses its own newest ones, counted). */
#define MAX_IN_FLIGHT 1024
/* ... and at most this many bytes of them (1024 messages of 64 KiB would be 64 MiB). */
#define MAX_IN_FLIGHT_BYTES (4 * 1024 * 1024)

#define LABEL_KEY "rtcbotd-label" /* a channel's label, readable from any thread */

struct _RtcbotdChannels
{
  GObject parent;
  guint id;
  GMainContext *context;
  GstElement *webrtc;  /* not owned: the peer's, which outlives us while watched */
  GPtrArray *channels; /* GstWebRTCDataChannel, main context only */
  GstWebRTCDataChannel *default_channel;
  GQueue pending;         /* messages waiting for the default channel to open */
  gsize pending_bytes;    /* their bytes */
  guint64 dropped;        /* main context */
  guint refused_channels; /* main context: channels closed for MAX_CHANNELS */
  gint in_flight;         /* atomic: messages hopped, not yet delivered */
  gint in_flight_bytes;   /* atomic: their bytes */
  gint overflowed;        /* atomic: incoming messages dropped for MAX_IN_FLIGHT(_BYTES) */
  gint too_large;         /* atomic: incoming messages dropped for MAX_MESSAGE_BYTES */
  RtcbotdRateLimit *rate; /* NULL: unlimited; set before any channel exists */
  gint rate_logged;       /* atomic: the rate limit was logged */
  gboolean closed;
};

G_DEFINE_FINAL_TYPE (RtcbotdChannels, rtcbotd_channels, G_TYPE_OBJECT)

enum
{
  SIGNAL_MESSAGE,
  SIGNAL_OPENED,
  SIGNAL_CLOSED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
rtcbotd_channels_finalize (GObject *object)
{
  RtcbotdChannels *self = RTCBOTD_CHANNELS (object);

  g_queue_clear_full (&self->pending, g_free);
  g_clear_pointer (&self->rate, rtcbotd_rate_limit_free);
  g_ptr_array_unref (self->channels);
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (rtcbotd_channels_parent_class)->finalize (object);
}

static void
rtcbotd_channels_class_init (RtcbotdChannelsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rtcbotd_channels_finalize;
  /* A text message arrived on the channel with this label. */
  signals[SIGNAL_MESSAGE]
      = g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /* The peer opened a channel with this label. */
  signals[SIGNAL_OPENED] = g_signal_new ("opened", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* The peer closed its channel with this label. */
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
rtcbotd_channels_init (RtcbotdChannels *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->channels = g_ptr_array_new_with_free_func (g_object_unref);
  g_queue_init (&self->pending);
}

RtcbotdChannels *
rtcbotd_channels_new (guint id)
{
  RtcbotdChannels *self = g_object_new (RTCBOTD_TYPE_CHANNELS, NULL);

  self->id = id;
  return self;
}

static const char *
label_of (GstWebRTCDataChannel *channel)
{
  return g_object_get_data (G_OBJECT (channel), LABEL_KEY);
}

/* ---- sending ------------------------------------------------------------ */

/* Sends @text on @channel unless the peer has MAX_BUFFERED_BYTES unread there. */
static void
send_text (RtcbotdChannels *self, GstWebRTCDataChannel *channel, const char *text)
{
  g_autoptr (GError) error = NULL;
  guint64 buffered = 0;

  g_object_get (channel, "buffered-amount", &buffered, NULL);
  if (buffered > MAX_BUFFERED_BYTES)
    self->dropped++;
  else if (!gst_webrtc_data_channel_send_string_full (channel, text, &error))
    g_debug ("peer %u: cannot send a message: %s", self->id, error->message);
}

static void
flush_pending (RtcbotdChannels *self)
{
  GstWebRTCDataChannelState state;
  char *text;

  if (!self->default_channel)
    return;
  g_object_get (self->default_channel, "ready-state", &state, NULL);
  if (state != GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
    return;
  while ((text = g_queue_pop_head (&self->pending)))
    {
      self->pending_bytes -= strlen (text);
      send_text (self, self->default_channel, text);
      g_free (text);
    }
}

void
rtcbotd_channels_send (RtcbotdChannels *self, const char *label, const char *text)
{
  if (self->closed)
    return;
  if (!g_str_equal (label, "default"))
    {
      for (guint i = 0; i < self->channels->len; i++)
        if (g_strcmp0 (label_of (self->channels->pdata[i]), label) == 0)
          send_text (self, self->channels->pdata[i], text);
      return;
    }
  /* The oldest go first: what the robot says now matters more. */
  while (!g_queue_is_empty (&self->pending)
         && (g_queue_get_length (&self->pending) == MAX_QUEUED_MESSAGES
             || self->pending_bytes + strlen (text) > MAX_QUEUED_BYTES))
    {
      char *oldest = g_queue_pop_head (&self->pending);
      self->pending_bytes -= strlen (oldest);
      g_free (oldest);
      self->dropped++;
    }
  g_queue_push_tail (&self->pending, g_strdup (text));
  self->pending_bytes += strlen (text);
  flush_pending (self);
}

static guint64
rate_refused (RtcbotdChannels *self)
{
  return self->rate ? rtcbotd_rate_limit_get_refused (self->rate) : 0;
}

guint64
rtcbotd_channels_get_dropped (RtcbotdChannels *self)
{
  return self->dropped + (guint)g_atomic_int_get (&self->overflowed)
         + (guint)g_atomic_int_get (&self->too_large) + rate_refused (self);
}

void
rtcbotd_channels_set_rate_limit (RtcbotdChannels *self, guint per_second)
{
  g_clear_pointer (&self->rate, rtcbotd_rate_limit_free);
  /* The burst is one second's worth: a client that batches (a page catching
   * up after a stall) is not cut off, a flood gets the rate on average. */
  if (per_second)
    self->rate = rtcbotd_rate_limit_new (per_second, per_second);
}

void
rtcbotd_channels_add_metrics (RtcbotdChannels *self, RtcbotdMetrics *metrics, const char *id)
{
  const struct
  {
    const char *reason;
    guint64 value;
  } reasons[] = {
    { "send", self->dropped },
    { "in-flight", (guint)g_atomic_int_get (&self->overflowed) },
    { "too-large", (guint)g_atomic_int_get (&self->too_large) },
    { "rate", rate_refused (self) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    rtcbotd_metrics_counter (metrics, "rtcbotd_peer_messages_dropped_total",
                             "Data-channel messages to or from the peer that were dropped: "
                             "send (its queue or send buffer full), in-flight (held-up main "
                             "loop), too-large (over 64 KiB), rate ([daemon] "
                             "max-messages-per-second).",
                             reasons[i].value, "peer", id, "reason", reasons[i].reason, NULL);
  rtcbotd_metrics_counter (metrics, "rtcbotd_peer_data_channels_refused_total",
                           "Data channels the peer opened beyond the 16 it may have, closed at "
                           "once.",
                           self->refused_channels, "peer", id, NULL);
}

/* ---- receiving ---------------------------------------------------------- */

/* What an SCTP-thread callback hands to the main context. */
typedef struct
{
  RtcbotdChannels *self;
  GstWebRTCDataChannel *channel;
  char *text;
} Hop;

static void
hop_free (Hop *h)
{
  g_object_unref (h->self);
  g_clear_object (&h->channel);
  g_free (h->text);
  g_free (h);
}

/* Runs @func on the main context with a Hop that keeps @self and @channel alive. */
static void
hop (RtcbotdChannels *self, GstWebRTCDataChannel *channel, char *text, GSourceFunc func)
{
  Hop *h = g_new0 (Hop, 1);

  h->self = g_object_ref (self);
  h->channel = channel ? g_object_ref (channel) : NULL;
  h->text = text;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, func, h, (GDestroyNotify)hop_free);
}

static gboolean
deliver_message (gpointer user_data)
{
  Hop *h = user_data;

  g_atomic_int_dec_and_test (&h->self->in_flight);
  g_atomic_int_add (&h->self->in_flight_bytes, -(gint)strlen (h->text));
  if (!h->self->closed)
    g_signal_emit (h->self, signals[SIGNAL_MESSAGE], 0, label_of (h->channel), h->text);
  return G_SOURCE_REMOVE;
}

/* SCTP thread: FALSE (counted, the first time logged) when @self's peer sends
 * faster than its rate limit. */
static gboolean
within_rate (RtcbotdChannels *self)
{
  if (!self->rate || rtcbotd_rate_limit_take (self->rate, g_get_monotonic_time ()))
    return TRUE;
  if (g_atomic_int_compare_and_exchange (&self->rate_logged, FALSE, TRUE))
    g_message ("peer %u: sends more than %u messages/s; dropping the excess (counted in "
               "/metrics)",
               self->id, rtcbotd_rate_limit_get_rate (self->rate));
  return FALSE;
}

/* SCTP thread: everything a message from the peer may make the daemon hold is
 * checked here, before it hops, so that a flood costs the main loop nothing. */
static void
on_message_string (GstWebRTCDataChannel *channel, const char *text, RtcbotdChannels *self)
{
  gsize length = text ? strlen (text) : 0;
  gint messages, bytes;

  if (length > MAX_MESSAGE_BYTES)
    {
      if (g_atomic_int_add (&self->too_large, 1) == 0)
        g_message ("peer %u: dropped a message of %zu bytes (limit %d); dropping such messages "
                   "(counted in /metrics)",
                   self->id, length, MAX_MESSAGE_BYTES);
      return;
    }
  if (!within_rate (self))
    return;
  messages = g_atomic_int_add (&self->in_flight, 1);
  bytes = g_atomic_int_add (&self->in_flight_bytes, (gint)length);
  if (messages >= MAX_IN_FLIGHT || bytes + length > MAX_IN_FLIGHT_BYTES)
    {
      g_atomic_int_dec_and_test (&self->in_flight);
      g_atomic_int_add (&self->in_flight_bytes, -(gint)length);
      g_atomic_int_inc (&self->overflowed);
      return;
    }
  hop (self, channel, g_strdup (text ? text : ""), deliver_message);
}

/* SCTP thread. */
static void
on_message_data (GstWebRTCDataChannel *channel, GBytes *data, RtcbotdChannels *self)
{
  g_debug ("peer %u: ignored a binary message of %zu bytes", self->id,
           data ? g_bytes_get_size (data) : 0);
}

static gboolean
channel_opened (gpointer user_data)
{
  Hop *h = user_data;

  if (!h->self->closed)
    flush_pending (h->self);
  return G_SOURCE_REMOVE;
}

/* SCTP thread. */
static void
on_channel_open (GstWebRTCDataChannel *channel, RtcbotdChannels *self)
{
  hop (self, channel, NULL, channel_opened);
}

static gboolean
forget_channel (gpointer user_data)
{
  Hop *h = user_data;
  RtcbotdChannels *self = h->self;
  const char *label = label_of (h->channel);

  if (self->closed || !g_ptr_array_find (self->channels, h->channel, NULL))
    return G_SOURCE_REMOVE;
  g_debug ("peer %u: data channel \"%s\" closed", self->id, label);
  g_signal_handlers_disconnect_by_data (h->channel, self);
  if (self->default_channel == h->channel)
    self->default_channel = NULL;
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, label);
  g_ptr_array_remove (self->channels, h->channel);
  return G_SOURCE_REMOVE;
}

/* SCTP thread. */
static void
on_channel_close (GstWebRTCDataChannel *channel, RtcbotdChannels *self)
{
  hop (self, channel, NULL, forget_channel);
}

static gboolean
adopt_channel (gpointer user_data)
{
  Hop *h = user_data;
  RtcbotdChannels *self = h->self;
  const char *label = label_of (h->channel);

  if (self->closed)
    g_signal_handlers_disconnect_by_data (h->channel, self);
  else if (self->channels->len >= MAX_CHANNELS)
    {
      if (self->refused_channels++ == 0)
        g_message ("peer %u: closed data channel \"%s\": a peer may open %d (later ones are "
                   "logged at debug level and counted in /metrics)",
                   self->id, label, MAX_CHANNELS);
      else
        g_debug ("peer %u: closed data channel \"%s\": a peer may open %d", self->id, label,
                 MAX_CHANNELS);
      g_signal_handlers_disconnect_by_data (h->channel, self);
      gst_webrtc_data_channel_close (h->channel);
    }
  else
    {
      g_debug ("peer %u: data channel \"%s\" opened", self->id, label);
      g_ptr_array_add (self->channels, g_object_ref (h->channel));
      if (g_str_equal (label, "default") && !self->default_channel)
        self->default_channel = h->channel;
      flush_pending (self);
      g_signal_emit (self, signals[SIGNAL_OPENED], 0, label);
    }
  return G_SOURCE_REMOVE;
}

void
rtcbotd_channels_adopt (RtcbotdChannels *self, GstWebRTCDataChannel *channel)
{
  char *label = NULL;

  g_object_get (channel, "label", &label, NULL);
  g_object_set_data_full (G_OBJECT (channel), LABEL_KEY, label ? label : g_strdup (""), g_free);
  g_signal_connect (channel, "on-close", G_CALLBACK (on_channel_close), self);
  g_signal_connect (channel, "on-message-string", G_CALLBACK (on_message_string), self);
  g_signal_connect (channel, "on-message-data", G_CALLBACK (on_message_data), self);
  g_signal_connect (channel, "on-open", G_CALLBACK (on_channel_open), self);
  hop (self, channel, NULL, adopt_channel);
}

/* SCTP thread: the offerer's channels ("default" first) announce themselves. */
static void
on_data_channel (GstElement *webrtc, GstWebRTCDataChannel *channel, RtcbotdChannels *self)
{
  rtcbotd_channels_adopt (self, channel);
}

void
rtcbotd_channels_watch (RtcbotdChannels *self, GstElement *webrtc)
{
  self->webrtc = webrtc;
  g_signal_connect (webrtc, "on-data-channel", G_CALLBACK (on_data_channel), self);
}

gboolean
rtcbotd_channels_close (RtcbotdChannels *self)
{
  gboolean closed = FALSE;

  if (self->closed)
    return FALSE;
  self->closed = TRUE;
  self->default_channel = NULL;
  if (self->webrtc)
    g_signal_handlers_disconnect_by_data (self->webrtc, self);
  for (guint i = 0; i < self->channels->len; i++)
    {
      GstWebRTCDataChannel *channel = self->channels->pdata[i];
      GstWebRTCDataChannelState state;
      g_signal_handlers_disconnect_by_data (channel, self);
      g_object_get (channel, "ready-state", &state, NULL);
      if (state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
        {
          gst_webrtc_data_channel_close (channel);
          closed = TRUE;
        }
    }
  return closed;
}
