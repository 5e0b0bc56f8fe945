/* rtcbotd-peer-stats.c — what webrtcbin's statistics say about one peer's tracks. */
#include "rtcbotd-peer-stats.h"

#include <gst/webrtc/webrtc.h>

/* Readings closer together than this give no bitrate (noise, not a rate). */
#define MIN_RATE_INTERVAL_MS 500.0

typedef struct
{
  GstPad *pad; /* webrtcbin's sink pad of the track */
  char *source;
  char *kind;
  guint ssrc;          /* from the pad's caps, 0 until they are known */
  gboolean sent_known; /* outbound-rtp seen */
  double bytes_sent;
  double packets_sent;
  double sent_time;      /* the statistics' timestamp (ms) of bytes_sent */
  double bitrate;        /* bits/s between the last two readings, < 0 before the second */
  gboolean remote_known; /* remote-inbound-rtp seen: the peer has sent a receiver report */
  double round_trip;     /* seconds, < 0 until the peer's report carries one */
  double fraction_lost;
  double packets_lost;
} Track;

struct _RtcbotdPeerStats
{
  GMainContext *context;
  GstElement *webrtc; /* NULL once the owner has freed it */
  GPtrArray *tracks;  /* of Track */
  guint poll_id;
  gboolean pending; /* a request is in flight */
};

/* One request for the statistics; lives as long as its promise. */
typedef struct
{
  RtcbotdPeerStats *stats; /* a reference */
  GstPromise *promise;     /* set once it has replied, until the reply is read */
} Request;

static void
track_free (Track *track)
{
  g_clear_object (&track->pad);
  g_free (track->source);
  g_free (track->kind);
  g_free (track);
}

static void
stats_clear (RtcbotdPeerStats *self)
{
  g_ptr_array_unref (self->tracks);
  g_main_context_unref (self->context);
}

static void
stats_release (RtcbotdPeerStats *self)
{
  g_atomic_rc_box_release_full (self, (GDestroyNotify)stats_clear);
}

/* Reads any numeric field as a double; FALSE when it is missing or not a number. */
static gboolean
get_number (const GstStructure *s, const char *field, double *out)
{
  const GValue *value = gst_structure_get_value (s, field);
  g_auto (GValue) number = G_VALUE_INIT;

  if (!value || !g_value_type_transformable (G_VALUE_TYPE (value), G_TYPE_DOUBLE))
    return FALSE;
  g_value_init (&number, G_TYPE_DOUBLE);
  if (!g_value_transform (value, &number))
    return FALSE;
  *out = g_value_get_double (&number);
  return TRUE;
}

static void
read_outbound (Track *track, const GstStructure *s)
{
  double bytes = 0, packets = 0, time;

  if (!get_number (s, "timestamp", &time))
    time = g_get_monotonic_time () / 1000.0;
  get_number (s, "bytes-sent", &bytes);
  get_number (s, "packets-sent", &packets);
  if (track->sent_known && time - track->sent_time < MIN_RATE_INTERVAL_MS)
    return;
  if (track->sent_known && bytes >= track->bytes_sent)
    track->bitrate = (bytes - track->bytes_sent) * 8 * 1000 / (time - track->sent_time);
  track->sent_known = TRUE;
  track->bytes_sent = bytes;
  track->packets_sent = packets;
  track->sent_time = time;
}

static void
read_remote_inbound (Track *track, const GstStructure *s)
{
  double value;

  track->remote_known = TRUE;
  if (get_number (s, "round-trip-time", &value) && value >= 0)
    track->round_trip = value;
  if (get_number (s, "fraction-lost", &value))
    track->fraction_lost = value;
  if (get_number (s, "packets-lost", &value))
    track->packets_lost = value;
}

/* The track sending @ssrc. With max-bundle every stream shares one RTP
 * session, and webrtcbin 1.22 labels them all with one pad's codec: the
 * SSRC in the caps each payloader sets is what tells them apart. */
static Track *
find_track (RtcbotdPeerStats *self, guint ssrc)
{
  for (guint i = 0; i < self->tracks->len; i++)
    {
      Track *track = self->tracks->pdata[i];
      if (!track->ssrc)
        {
          g_autoptr (GstCaps) caps = gst_pad_get_current_caps (track->pad);
          if (caps && gst_caps_get_size (caps) > 0)
            gst_structure_get_uint (gst_caps_get_structure (caps, 0), "ssrc", &track->ssrc);
        }
      if (track->ssrc && track->ssrc == ssrc)
        return track;
    }
  return NULL;
}

/* Each member of the reply is one statistics object: {type, id, timestamp, ssrc, ...}. */
static gboolean
read_member (GQuark field, const GValue *value, gpointer user_data)
{
  RtcbotdPeerStats *self = user_data;
  const GstStructure *s;
  GstWebRTCStatsType type;
  Track *track;
  guint ssrc;

  if (!GST_VALUE_HOLDS_STRUCTURE (value) || !(s = gst_value_get_structure (value))
      || !gst_structure_get (s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, NULL)
      || (type != GST_WEBRTC_STATS_OUTBOUND_RTP && type != GST_WEBRTC_STATS_REMOTE_INBOUND_RTP)
      || !gst_structure_get_uint (s, "ssrc", &ssrc) || !(track = find_track (self, ssrc)))
    return TRUE;
  if (type == GST_WEBRTC_STATS_OUTBOUND_RTP)
    read_outbound (track, s);
  else
    read_remote_inbound (track, s);
  return TRUE;
}

/* Main context: the reply hopped from webrtcbin's thread. */
static gboolean
reply_arrived (gpointer user_data)
{
  Request *r = user_data;
  RtcbotdPeerStats *self = r->stats;
  const GstStructure *reply;

  self->pending = FALSE;
  if (self->webrtc && gst_promise_wait (r->promise) == GST_PROMISE_RESULT_REPLIED
      && (reply = gst_promise_get_reply (r->promise)))
    gst_structure_foreach (reply, read_member, self);
  gst_promise_unref (r->promise); /* @r goes with the promise (request_free) */
  return G_SOURCE_REMOVE;
}

/* webrtcbin's thread (or the caller's, if it answers at once). */
static void
on_reply (GstPromise *promise, gpointer user_data)
{
  Request *r = user_data;

  r->promise = gst_promise_ref (promise);
  g_main_context_invoke (r->stats->context, reply_arrived, r);
}

/* Whichever thread drops the promise last. */
static void
request_free (gpointer user_data)
{
  Request *r = user_data;

  stats_release (r->stats);
  g_free (r);
}

/* Main context, every RTCBOTD_PEER_STATS_INTERVAL_S. */
static gboolean
on_poll (gpointer user_data)
{
  RtcbotdPeerStats *self = user_data;
  Request *r;
  GstPromise *promise;

  if (self->pending || self->tracks->len == 0)
    return G_SOURCE_CONTINUE; /* webrtcbin is busy: no pile of requests */
  r = g_new0 (Request, 1);
  r->stats = g_atomic_rc_box_acquire (self);
  self->pending = TRUE;
  promise = gst_promise_new_with_change_func (on_reply, r, request_free);
  g_signal_emit_by_name (self->webrtc, "get-stats", NULL, promise);
  gst_promise_unref (promise);
  return G_SOURCE_CONTINUE;
}

RtcbotdPeerStats *
rtcbotd_peer_stats_new (GstElement *webrtc)
{
  RtcbotdPeerStats *self = g_atomic_rc_box_new0 (RtcbotdPeerStats);

  self->context = g_main_context_ref_thread_default ();
  self->webrtc = gst_object_ref (webrtc);
  self->tracks = g_ptr_array_new_with_free_func ((GDestroyNotify)track_free);
  self->poll_id = g_timeout_add_seconds (RTCBOTD_PEER_STATS_INTERVAL_S, on_poll, self);
  return self;
}

void
rtcbotd_peer_stats_add_track (RtcbotdPeerStats *self, GstPad *pad, const char *source,
                              const char *kind)
{
  Track *track = g_new0 (Track, 1);

  track->pad = gst_object_ref (pad);
  track->source = g_strdup (source);
  track->kind = g_strdup (kind);
  track->bitrate = -1;
  track->round_trip = -1;
  g_ptr_array_add (self->tracks, track);
}

void
rtcbotd_peer_stats_add_metrics (RtcbotdPeerStats *self, RtcbotdMetrics *m, const char *peer)
{
  for (guint i = 0; i < self->tracks->len; i++)
    {
      Track *t = self->tracks->pdata[i];
#define LABELS "peer", peer, "source", t->source, "kind", t->kind, NULL
      if (t->sent_known)
        {
          rtcbotd_metrics_counter (m, "rtcbotd_peer_sent_bytes_total",
                                   "RTP payload bytes sent to the peer (outbound-rtp bytesSent).",
                                   t->bytes_sent, LABELS);
          rtcbotd_metrics_counter (m, "rtcbotd_peer_sent_packets_total",
                                   "RTP packets sent to the peer (outbound-rtp packetsSent).",
                                   t->packets_sent, LABELS);
        }
      if (t->bitrate >= 0)
        rtcbotd_metrics_gauge (m, "rtcbotd_peer_send_bitrate_bits_per_second",
                               "Bitrate sent to the peer between the last two readings.",
                               t->bitrate, LABELS);
      if (t->round_trip >= 0)
        rtcbotd_metrics_gauge (m, "rtcbotd_peer_round_trip_seconds",
                               "Round-trip time from the peer's last RTCP receiver report "
                               "(remote-inbound-rtp roundTripTime).",
                               t->round_trip, LABELS);
      if (t->remote_known)
        {
          rtcbotd_metrics_gauge (m, "rtcbotd_peer_fraction_lost",
                                 "Fraction of packets lost (0 to 1) since the peer's previous "
                                 "receiver report (remote-inbound-rtp fractionLost).",
                                 t->fraction_lost, LABELS);
          rtcbotd_metrics_gauge (m, "rtcbotd_peer_packets_lost",
                                 "Packets lost in all, as the peer reports (remote-inbound-rtp "
                                 "packetsLost; duplicates can make it go down).",
                                 t->packets_lost, LABELS);
        }
#undef LABELS
    }
}

void
rtcbotd_peer_stats_free (RtcbotdPeerStats *self)
{
  if (!self)
    return;
  g_clear_handle_id (&self->poll_id, g_source_remove);
  gst_clear_object (&self->webrtc);
  stats_release (self);
}
