/* rtcbotd-outbound.c — one [peer NAME]: the daemon offers to a server and stays connected. */
#include "rtcbotd-outbound.h"

#include <libsoup/soup.h>
#include <string.h>

#include "rtcbotd-backoff.h"
#include "rtcbotd-error.h"
#include "rtcbotd-signaling.h"

/* A desktop that is down is tried again after 1 s, 2 s, 4 s, 8 s, then every 10 s:
 * when it comes back, the robot is there within 10 s. */
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 10000
/* The server answers once it has gathered its candidates: a second or two. */
#define POST_TIMEOUT_S 15
/* What of an error body goes into a log line. */
#define BODY_EXCERPT 200
/* The first dynamic payload type; tracks take every other one, leaving room
 * for the RTX payload types webrtcbin adds. */
#define FIRST_PT 96

typedef enum
{
  STATE_CONNECTING, /* the first attempt */
  STATE_CONNECTED,
  STATE_RETRYING, /* an attempt failed or the connection went: trying again */
} State;

static const char *const state_names[] = { "connecting", "connected", "retrying" };

typedef struct _Attempt Attempt;

struct _RtcbotdOutbound
{
  RtcbotdPeerConfig *config;
  RtcbotdOutboundPeerFunc func;
  gpointer user_data;
  SoupSession *session;
  RtcbotdBackoff *backoff;
  Attempt *attempt; /* the one under way, or NULL while waiting */
  State state;
  char *reason;           /* why it retries; NULL otherwise */
  char *logged;           /* the state and reason last logged: each change once */
  guint64 attempts;       /* since start */
  guint64 failures;       /* attempts that failed, connections that went */
  gint64 started_us;      /* when the attempt under way started */
  double connect_seconds; /* the last successful attempt's offer to connected */
};

/* One attempt, referenced by every callback it waits for: when the outbound
 * moves on (or is freed), owner is NULL and late callbacks do nothing. */
struct _Attempt
{
  RtcbotdOutbound *owner;
  RtcbotdPeer *peer;
  SoupMessage *message;
  GCancellable *cancellable;
};

static void
attempt_clear (Attempt *a)
{
  g_clear_object (&a->peer);
  g_clear_object (&a->message);
  g_clear_object (&a->cancellable);
}

static Attempt *
attempt_ref (Attempt *a)
{
  return g_rc_box_acquire (a);
}

static void
attempt_unref (Attempt *a)
{
  g_rc_box_release_full (a, (GDestroyNotify)attempt_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Attempt, attempt_unref)

static void start_attempt (RtcbotdOutbound *self);

/* Logs "[peer NAME] @text" unless it is what was logged last. */
static void
log_once (RtcbotdOutbound *self, const char *text)
{
  if (g_strcmp0 (self->logged, text) == 0)
    return;
  g_message ("%s %s", self->config->label, text);
  g_free (self->logged);
  self->logged = g_strdup (text);
}

/* Ends the attempt under way: its peer closes (for @reason), its POST stops. */
static void
end_attempt (RtcbotdOutbound *self, const char *reason)
{
  Attempt *a = g_steal_pointer (&self->attempt);

  if (!a)
    return;
  a->owner = NULL;
  g_cancellable_cancel (a->cancellable);
  g_signal_handlers_disconnect_by_data (a->peer, self);
  rtcbotd_peer_close (a->peer, reason);
  attempt_unref (a);
}

static gboolean
on_retry (gpointer user_data)
{
  start_attempt (user_data);
  return G_SOURCE_REMOVE;
}

/* The attempt failed, or the connection went, for @reason: try again later. */
static void
retry (RtcbotdOutbound *self, const char *reason)
{
  g_autofree char *text = NULL;
  guint delay;

  end_attempt (self, reason);
  self->failures++;
  self->state = STATE_RETRYING;
  g_free (self->reason);
  self->reason = g_strdup (reason);
  delay = rtcbotd_backoff_schedule (self->backoff);
  text = g_strdup_printf ("%s; retrying (in %u ms, then less often up to every %d s)", reason,
                          delay, RETRY_MAX_MS / 1000);
  /* The delay changes every retry; the line is logged once per reason. */
  if (g_strcmp0 (self->logged, reason) != 0)
    g_message ("%s %s", self->config->label, text);
  g_free (self->logged);
  self->logged = g_strdup (reason);
}

/* ---- the peer ----------------------------------------------------------- */

/* Every callback below runs on the main context: the peer emits its signals
 * there, and libsoup and GTask call back on the context they started on. */

static void
on_connected (RtcbotdPeer *peer, RtcbotdOutbound *self)
{
  g_autofree char *text = NULL;

  self->state = STATE_CONNECTED;
  rtcbotd_peer_set_quiet (peer, FALSE); /* losing a connection is news */
  g_clear_pointer (&self->reason, g_free);
  self->connect_seconds = (g_get_monotonic_time () - self->started_us) / (double)G_USEC_PER_SEC;
  rtcbotd_backoff_reset (self->backoff);
  text
      = g_strdup_printf ("connected to %s (peer %u, %.2f s after the offer began)",
                         self->config->offer_to, rtcbotd_peer_get_id (peer), self->connect_seconds);
  log_once (self, text);
}

/* The peer closes on its own (ICE or DTLS failed, silence, no connection in time). */
static void
on_closing (RtcbotdPeer *peer, RtcbotdOutbound *self)
{
  /* A failure names no peer: the same failure every retry is logged once. */
  g_autofree char *reason
      = self->state == STATE_CONNECTED
            ? g_strdup_printf ("the connection to %s went away (peer %u)", self->config->offer_to,
                               rtcbotd_peer_get_id (peer))
            : g_strdup_printf (
                "the connection to %s did not come up (ICE or DTLS; --verbose says why)",
                self->config->offer_to);

  retry (self, reason);
}

/* RTCBot's server closes its channels when it closes the connection. */
static void
on_channel_closed (RtcbotdPeer *peer, const char *label, RtcbotdOutbound *self)
{
  g_autofree char *reason = NULL;

  if (!g_str_equal (label, "default"))
    return;
  reason = g_strdup_printf ("%s closed the connection (data channel \"default\")",
                            self->config->offer_to);
  retry (self, reason);
}

/* ---- signalling --------------------------------------------------------- */

static void
on_accepted (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Attempt) a = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;

  if (rtcbotd_peer_accept_answer_finish (RTCBOTD_PEER (object), result, &error) || !a->owner)
    return; /* connected or not: the peer's signals tell */
  reason = g_strdup_printf ("the answer from %s: %s", a->owner->config->offer_to, error->message);
  retry (a->owner, reason);
}

/* Returns the answer's SDP, or NULL with @reason set to why the response is not one. */
static char *
read_answer (RtcbotdOutbound *self, SoupMessage *message, GBytes *body, char **reason)
{
  guint status = soup_message_get_status (message);
  gsize length = 0;
  const char *data = g_bytes_get_data (body, &length);
  g_autoptr (GError) error = NULL;
  char *sdp;

  if (status != SOUP_STATUS_OK && status != SOUP_STATUS_CREATED)
    {
      g_autofree char *excerpt = g_utf8_make_valid (data ? data : "", MIN (length, BODY_EXCERPT));
      *reason = g_strdup_printf ("%s answered %u %s%s%s", self->config->offer_to, status,
                                 soup_message_get_reason_phrase (message), length ? ": " : "",
                                 g_strstrip (excerpt));
      return NULL;
    }
  if (!(sdp = rtcbotd_signaling_parse_answer (data, length, &error)))
    *reason = g_strdup_printf ("the answer from %s: %s", self->config->offer_to, error->message);
  return sdp;
}

static void
on_posted (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Attempt) a = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body
      = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);
  g_autofree char *reason = NULL;
  g_autofree char *sdp = NULL;

  if (!a->owner)
    return;
  if (!body)
    reason = g_strdup_printf ("cannot reach %s: %s", a->owner->config->offer_to, error->message);
  else
    sdp = read_answer (a->owner, a->message, body, &reason);
  if (!sdp)
    {
      retry (a->owner, reason);
      return;
    }
  rtcbotd_peer_accept_answer_async (a->peer, sdp, on_accepted, attempt_ref (a));
}

/* POSTs @sdp as RTCBot's JSON offer to offer-to. */
static void
post_offer (RtcbotdOutbound *self, Attempt *a, const char *sdp)
{
  char *json = rtcbotd_signaling_offer_json (sdp);
  g_autoptr (GBytes) body = g_bytes_new_take (json, strlen (json));
  g_autofree char *reason = NULL;

  if (!(a->message = soup_message_new (SOUP_METHOD_POST, self->config->offer_to)))
    {
      reason = g_strdup_printf ("libsoup cannot POST to %s", self->config->offer_to);
      retry (self, reason);
      return;
    }
  if (self->config->token)
    {
      g_autofree char *value = g_strdup_printf ("Bearer %s", self->config->token);
      soup_message_headers_replace (soup_message_get_request_headers (a->message), "Authorization",
                                    value);
    }
  soup_message_set_request_body_from_bytes (a->message, "application/json", body);
  soup_session_send_and_read_async (self->session, a->message, G_PRIORITY_DEFAULT, a->cancellable,
                                    on_posted, attempt_ref (a));
}

static void
on_offered (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Attempt) a = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = rtcbotd_peer_offer_finish (RTCBOTD_PEER (object), result, &error);
  g_autofree char *reason = NULL;

  if (!a->owner)
    return;
  if (!sdp)
    {
      reason = g_strdup_printf ("cannot make an offer: %s", error->message);
      retry (a->owner, reason);
      return;
    }
  post_offer (a->owner, a, sdp);
}

/* The address the server is reached on, when it is a loopback one: libnice
 * gathers no loopback candidate unless told (rtcbotd_ice_configure()). */
static GInetAddress *
loopback_of (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GInetAddress) address
      = uri && g_uri_get_host (uri) ? g_inet_address_new_from_string (g_uri_get_host (uri)) : NULL;

  if (!address && uri && g_strcmp0 (g_uri_get_host (uri), "localhost") == 0)
    address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  return address && g_inet_address_get_is_loopback (address) ? g_steal_pointer (&address) : NULL;
}

static void
start_attempt (RtcbotdOutbound *self)
{
  g_autoptr (GArray) tracks = g_array_new (FALSE, TRUE, sizeof (RtcbotdPeerTrack));
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) local = loopback_of (self->config->offer_to);
  RtcbotdPeer *peer = self->func (self->config, tracks, self->user_data, &error);
  Attempt *a;

  self->attempts++;
  self->started_us = g_get_monotonic_time ();
  if (!peer)
    {
      g_autofree char *reason = g_strdup_printf ("cannot create a peer: %s", error->message);
      retry (self, reason);
      return;
    }
  /* A server that is down fails every retry; the outbound logs that once. */
  rtcbotd_peer_set_quiet (peer, TRUE);
  a = g_rc_box_new0 (Attempt);
  a->owner = self;
  a->peer = peer;
  a->cancellable = g_cancellable_new ();
  self->attempt = a;
  g_signal_connect (peer, "connected", G_CALLBACK (on_connected), self);
  g_signal_connect (peer, "closing", G_CALLBACK (on_closing), self);
  g_signal_connect (peer, "channel-closed", G_CALLBACK (on_channel_closed), self);
  rtcbotd_peer_offer_async (peer, tracks, local, on_offered, attempt_ref (a));
}

/* ---- the object --------------------------------------------------------- */

RtcbotdOutbound *
rtcbotd_outbound_new (const RtcbotdPeerConfig *config, RtcbotdOutboundPeerFunc func,
                      gpointer user_data)
{
  RtcbotdOutbound *self = g_new0 (RtcbotdOutbound, 1);

  self->config = rtcbotd_peer_config_copy (config);
  self->func = func;
  self->user_data = user_data;
  self->session
      = soup_session_new_with_options ("timeout", POST_TIMEOUT_S, "user-agent", "rtcbotd", NULL);
  self->backoff = rtcbotd_backoff_new (RETRY_MIN_MS, RETRY_MAX_MS, on_retry, self);
  return self;
}

void
rtcbotd_outbound_start (RtcbotdOutbound *self)
{
  g_autofree char *text = g_strdup_printf ("offering to %s", self->config->offer_to);

  self->state = STATE_CONNECTING;
  log_once (self, text);
  start_attempt (self);
}

void
rtcbotd_outbound_free (RtcbotdOutbound *self)
{
  if (!self)
    return;
  end_attempt (self, "its [peer] group stops");
  rtcbotd_backoff_free (self->backoff);
  soup_session_abort (self->session);
  g_object_unref (self->session);
  g_free (self->reason);
  g_free (self->logged);
  rtcbotd_peer_config_free (self->config);
  g_free (self);
}

const RtcbotdPeerConfig *
rtcbotd_outbound_get_config (RtcbotdOutbound *self)
{
  return self->config;
}

RtcbotdPeer *
rtcbotd_outbound_get_peer (RtcbotdOutbound *self)
{
  return self->attempt ? self->attempt->peer : NULL;
}

GArray *
rtcbotd_outbound_plan_tracks (const RtcbotdPeerConfig *config, GPtrArray *sources)
{
  GArray *tracks = g_array_new (FALSE, TRUE, sizeof (RtcbotdPeerTrack));

  for (guint i = 0; i < sources->len; i++)
    {
      RtcbotdSource *source = sources->pdata[i];
      const char *name = rtcbotd_source_get_config (source)->name;
      RtcbotdPeerTrack track = { .mline = tracks->len, .source = source };
      if (config->sources && !g_strv_contains ((const char *const *)config->sources, name))
        continue;
      track.codec = rtcbotd_source_get_preferred_codec (source);
      track.pt = FIRST_PT + 2 * tracks->len;
      g_array_append_val (tracks, track);
    }
  return tracks;
}

void
rtcbotd_outbound_add_health (RtcbotdOutbound *self, JsonBuilder *b)
{
  RtcbotdPeer *peer = rtcbotd_outbound_get_peer (self);

  json_builder_set_member_name (b, self->config->name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, state_names[self->state]);
  json_builder_set_member_name (b, "offer-to");
  json_builder_add_string_value (b, self->config->offer_to);
  if (self->reason)
    {
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, self->reason);
    }
  if (peer)
    {
      json_builder_set_member_name (b, "peer");
      json_builder_add_int_value (b, rtcbotd_peer_get_id (peer));
    }
  json_builder_end_object (b);
}

void
rtcbotd_outbound_add_metrics (RtcbotdOutbound *self, RtcbotdMetrics *m)
{
  const char *name = self->config->name;

  rtcbotd_metrics_gauge (m, "rtcbotd_outbound_connected",
                         "1 while the daemon is connected to this [peer] it offers to.",
                         self->state == STATE_CONNECTED, "peer", name, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_outbound_attempts_total",
                           "Offers the daemon made to this [peer] since start.", self->attempts,
                           "peer", name, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_outbound_failures_total",
                           "Attempts that failed and connections that went away.", self->failures,
                           "peer", name, NULL);
  if (self->connect_seconds > 0)
    rtcbotd_metrics_gauge (m, "rtcbotd_outbound_connect_seconds",
                           "From the start of the last successful attempt to connected.",
                           self->connect_seconds, "peer", name, NULL);
}
