/* rtcbotd-relay-client.c — the daemon's side of a relay: [daemon] relay = ws(s)://host/ID. */
#include "rtcbotd-relay-client.h"

#include <libsoup/soup.h>
#include <string.h>

#include "rtcbotd-access.h"
#include "rtcbotd-backoff.h"
#include "rtcbotd-daemon.h"
#include "rtcbotd-error.h"
#include "rtcbotd-relay-protocol.h"
#include "rtcbotd-signaling.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
/* Pings keep the 4G/NAT mapping open; a relay silent for DEAD_US is gone. */
#define KEEPALIVE_S 20
#define DEAD_US (65 * G_USEC_PER_SEC)
#define WATCH_S 5
/* A socket that lived this long, or answered an offer, was a healthy one: the
 * retries start again at BACKOFF_MIN_MS. A relay that closes every socket at
 * once goes through the backoff instead of being called again and again. */
#define HEALTHY_US (10 * G_USEC_PER_SEC)

typedef enum
{
  STATE_CONNECTING,
  STATE_CONNECTED,
  STATE_DOWN,
} State;

struct _RtcbotdRelayClient
{
  RtcbotdDaemon *daemon; /* not owned: it owns us */
  char *url;
  char *secret;
  char *ca;
  char *token;
  char *viewer_token;
  SoupSession *session;
  GCancellable *cancellable; /* of the connection attempt under way */
  SoupMessage *handshake;    /* ... and its request */
  SoupWebsocketConnection *conn;
  GInetAddress *local;    /* handed to the peers as the address offers came to */
  gboolean multiplex;     /* the relay granted RTCBOTD_RELAY_SUBPROTOCOL */
  gboolean exchanged;     /* RTCBot protocol: this socket's one exchange is done */
  gboolean answered_here; /* this socket carried an answer to an offer */
  gint64 opened;          /* when this socket's handshake completed */
  RtcbotdBackoff *backoff;
  State state;
  char *last_failure; /* the failure logged last, so that retries log nothing new */
  gboolean announced; /* "connected" is the state last logged */
  gint64 last_heard;
  guint watch_id;
  GPtrArray *exchanges; /* of Exchange: offers being answered */
  guint64 connects, offers, answered, refused;
};

/* One offer being answered; outlives the client if it is freed meanwhile. */
typedef struct
{
  RtcbotdRelayClient *owner; /* NULL once the client is gone */
  SoupWebsocketConnection *conn;
  char *request; /* NULL: RTCBot protocol, no envelope */
} Exchange;

static void connect_now (RtcbotdRelayClient *self);

static const char *
state_name (State state)
{
  return state == STATE_CONNECTED ? "connected" : state == STATE_CONNECTING ? "connecting" : "down";
}

static void
exchange_free (Exchange *x)
{
  if (x->owner)
    g_ptr_array_remove_fast (x->owner->exchanges, x);
  g_clear_object (&x->conn);
  g_free (x->request);
  g_free (x);
}

/* Sends the reply of @x on the socket the offer came on, if it is still open. */
static void
exchange_reply (Exchange *x, const char *answer, guint status, const char *message)
{
  g_autofree char *text = NULL;

  if (soup_websocket_connection_get_state (x->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  if (answer && x->owner && x->owner->conn == x->conn)
    x->owner->answered_here = TRUE;
  if (x->request)
    text = answer ? rtcbotd_relay_answer_json (x->request, answer)
                  : rtcbotd_relay_error_json (x->request, status, message);
  else if (!answer)
    text = rtcbotd_signaling_error_json (message);
  soup_websocket_connection_send_text (x->conn, text ? text : answer);
  /* As RTCBot's robots do: one answer, then a new socket for the next client. */
  if (!x->request)
    soup_websocket_connection_close (x->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
}

static guint
status_for (const GError *error)
{
  if (g_error_matches (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID)
      || g_error_matches (error, RTCBOTD_ERROR, RTCBOTD_ERROR_UNSUPPORTED))
    return 400;
  return g_error_matches (error, RTCBOTD_ERROR, RTCBOTD_ERROR_BUSY) ? 503 : 500;
}

/* The daemon has answered (or refused) a relayed offer; main context. */
static void
on_answered (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Exchange *x = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *answer = rtcbotd_daemon_connect_finish (RTCBOTD_DAEMON (object), result, &error);

  if (x->owner)
    {
      if (answer)
        x->owner->answered++;
      else
        x->owner->refused++;
    }
  exchange_reply (x, answer, answer ? 200 : status_for (error), answer ? NULL : error->message);
  exchange_free (x);
}

/* The role a relayed client gets, as POST /connect would give it; FALSE with
 * the status and message that refuse it. */
static gboolean
role_for (RtcbotdRelayClient *self, const char *token, RtcbotdRole *role, guint *status,
          const char **message)
{
  RtcbotdAccess access;

  *role = RTCBOTD_ROLE_DRIVER;
  if (!self->token)
    return TRUE;
  access = rtcbotd_access_check (self->token, self->viewer_token, token, RTCBOTD_NEED_VIEWER, role);
  if (access == RTCBOTD_ACCESS_GRANTED)
    return TRUE;
  *status = access == RTCBOTD_ACCESS_MISSING ? 401 : 403;
  *message = rtcbotd_access_describe (access);
  return FALSE;
}

static void
answer_offer (RtcbotdRelayClient *self, const char *request, const char *body, const char *token)
{
  Exchange *x = g_new0 (Exchange, 1);
  g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));
  const char *message = NULL;
  RtcbotdRole role;
  guint status = 0;

  x->owner = self;
  x->conn = g_object_ref (self->conn);
  x->request = g_strdup (request);
  g_ptr_array_add (self->exchanges, x);
  self->offers++;
  if (!role_for (self, token, &role, &status, &message))
    {
      g_message ("relay: request %s refused: %s", request ? request : "(RTCBot)", message);
      self->refused++;
      exchange_reply (x, NULL, status, message);
      exchange_free (x);
      return;
    }
  g_debug ("relay: offer %s (%zu bytes)", request ? request : "(RTCBot)", strlen (body));
  rtcbotd_daemon_connect_async (self->daemon, bytes, self->local, role, on_answered, x);
}

/* A frame from the relay; main context. */
static void
on_message (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer user_data)
{
  RtcbotdRelayClient *self = user_data;
  gsize length;
  const char *data = g_bytes_get_data (message, &length);
  g_autofree char *text = NULL;
  g_autoptr (RtcbotdRelayMessage) m = NULL;
  g_autoptr (GError) error = NULL;

  self->last_heard = g_get_monotonic_time ();
  if (type != SOUP_WEBSOCKET_DATA_TEXT || !g_utf8_validate_len (data, length, NULL))
    {
      g_message ("relay: a frame that is not text; ignored");
      return;
    }
  text = g_strndup (data, length);
  if (!self->multiplex)
    {
      /* RTCBot's relay: the frame is a client's offer, verbatim; one per socket. */
      if (!self->exchanged)
        answer_offer (self, NULL, text, NULL);
      self->exchanged = TRUE;
      return;
    }
  if (!(m = rtcbotd_relay_message_parse (text, length, &error)) || m->kind != RTCBOTD_RELAY_OFFER)
    {
      g_message ("relay: %s; ignored", m ? "an envelope that is not an offer" : error->message);
      return;
    }
  answer_offer (self, m->request, m->body, m->token);
}

static void
on_pong (SoupWebsocketConnection *conn, GBytes *message, gpointer user_data)
{
  ((RtcbotdRelayClient *)user_data)->last_heard = g_get_monotonic_time ();
}

/* Goes down for @reason and schedules the retry; logs once per change: a
 * failure that repeats at every retry is news only once. */
static void
go_down (RtcbotdRelayClient *self, const char *reason)
{
  guint delay = rtcbotd_backoff_schedule (self->backoff);

  self->state = STATE_DOWN;
  if (g_strcmp0 (self->last_failure, reason) == 0)
    g_debug ("relay: %s; retrying in %u ms", reason, delay);
  else
    g_message ("relay: %s; retrying in %u ms", reason, delay);
  g_free (self->last_failure);
  self->last_failure = g_strdup (reason);
  self->announced = FALSE;
}

/* The socket is gone; main context. */
static void
on_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  RtcbotdRelayClient *self = user_data;
  g_autofree char *text = g_strdup_printf ("disconnected from %s (close code %u)", self->url,
                                           soup_websocket_connection_get_close_code (conn));
  gboolean healthy = self->answered_here || g_get_monotonic_time () - self->opened >= HEALTHY_US;

  g_signal_handlers_disconnect_by_data (conn, self);
  g_clear_object (&self->conn);
  if (healthy)
    rtcbotd_backoff_reset (self->backoff);
  /* RTCBot's protocol closes after every exchange: connect again at once,
   * quietly, after one that went well; else through the backoff. */
  if (!self->multiplex && self->exchanged && healthy)
    {
      self->state = STATE_CONNECTING;
      connect_now (self);
      return;
    }
  go_down (self, text);
}

static void
use_connection (RtcbotdRelayClient *self, SoupWebsocketConnection *conn, SoupMessage *msg)
{
  GSocketAddress *remote = soup_message_get_remote_address (msg);
  const char *protocol = soup_websocket_connection_get_protocol (conn);

  self->conn = conn;
  self->multiplex = g_strcmp0 (protocol, RTCBOTD_RELAY_SUBPROTOCOL) == 0;
  self->exchanged = FALSE;
  self->answered_here = FALSE;
  self->state = STATE_CONNECTED;
  self->opened = self->last_heard = g_get_monotonic_time ();
  self->connects++;
  /* A relay on this machine (tests, or a tunnel): webrtcbin must offer
   * loopback candidates too, as for a /connect that came in on loopback. */
  g_clear_object (&self->local);
  if (G_IS_INET_SOCKET_ADDRESS (remote)
      && g_inet_address_get_is_loopback (
          g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))))
    self->local = g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  soup_websocket_connection_set_max_incoming_payload_size (conn, RTCBOTD_RELAY_MAX_MESSAGE);
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (conn), "max-total-message-size"))
    g_object_set (conn, "max-total-message-size", (guint64)RTCBOTD_RELAY_MAX_MESSAGE, NULL);
  soup_websocket_connection_set_keepalive_interval (conn, KEEPALIVE_S);
  g_signal_connect (conn, "message", G_CALLBACK (on_message), self);
  g_signal_connect (conn, "pong", G_CALLBACK (on_pong), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), self);
  /* The backoff is reset when the socket proves healthy (on_closed), not here:
   * a relay may accept the handshake and close at once. */
  /* RTCBot's protocol reconnects after each exchange: that is no news. */
  if (!self->announced)
    g_message ("relay: connected to %s (%s)", self->url,
               self->multiplex ? RTCBOTD_RELAY_SUBPROTOCOL ": one socket for many clients"
                               : "RTCBot protocol: one client per socket");
  g_clear_pointer (&self->last_failure, g_free);
  self->announced = TRUE;
}

/* The handshake is done or failed; main context. */
static void
on_connected (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *conn
      = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, &error);
  RtcbotdRelayClient *self;
  SoupMessage *msg;
  g_autofree char *text = NULL;
  guint status;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* freed or replaced: @user_data may be gone */
  self = user_data;
  msg = g_steal_pointer (&self->handshake);
  g_clear_object (&self->cancellable);
  if (conn)
    {
      use_connection (self, conn, msg);
      g_object_unref (msg);
      return;
    }
  status = soup_message_get_status (msg);
  text
      = g_strdup_printf ("cannot connect to %s: %s%s", self->url, error->message,
                         status == SOUP_STATUS_CONFLICT ? " (HTTP 409: another robot holds this id)"
                         : status == SOUP_STATUS_FORBIDDEN || status == SOUP_STATUS_UNAUTHORIZED
                             ? " (HTTP 401/403: check [daemon] relay-secret)"
                             : "");
  go_down (self, text);
  g_object_unref (msg);
}

/* ws://h/p -> http://h/p: libsoup's messages take http(s) URIs. */
static char *
http_url (const char *url)
{
  if (g_str_has_prefix (url, "wss://"))
    return g_strconcat ("https://", url + strlen ("wss://"), NULL);
  if (g_str_has_prefix (url, "ws://"))
    return g_strconcat ("http://", url + strlen ("ws://"), NULL);
  return g_strdup (url);
}

static void
connect_now (RtcbotdRelayClient *self)
{
  char *protocols[] = { (char *)RTCBOTD_RELAY_SUBPROTOCOL, NULL };
  g_autofree char *url = http_url (self->url);
  SoupMessage *msg;

  if (self->cancellable || self->conn)
    return; /* one socket at a time */
  if (!(msg = soup_message_new ("GET", url)))
    {
      go_down (self, "the URL is not valid");
      return;
    }
  if (self->secret)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", self->secret, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    bearer);
    }
  if (self->state != STATE_CONNECTED)
    self->state = STATE_CONNECTING;
  self->cancellable = g_cancellable_new ();
  self->handshake = msg;
  soup_session_websocket_connect_async (self->session, msg, NULL, protocols, G_PRIORITY_DEFAULT,
                                        self->cancellable, on_connected, self);
}

/* Backoff's timer; main context. */
static gboolean
on_retry (gpointer user_data)
{
  connect_now (user_data);
  return G_SOURCE_REMOVE;
}

/* Main context, every WATCH_S: a relay that answers no ping is gone. */
static gboolean
on_watch (gpointer user_data)
{
  RtcbotdRelayClient *self = user_data;

  if (self->conn && soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN
      && g_get_monotonic_time () - self->last_heard > DEAD_US)
    {
      g_message ("relay: %s silent for %d s; reconnecting", self->url,
                 (int)(DEAD_US / G_USEC_PER_SEC));
      soup_websocket_connection_close (self->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    }
  return G_SOURCE_CONTINUE;
}

RtcbotdRelayClient *
rtcbotd_relay_client_new (RtcbotdDaemon *daemon, const char *url, const char *secret,
                          const char *ca)
{
  RtcbotdRelayClient *self = g_new0 (RtcbotdRelayClient, 1);
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GError) error = NULL;

  self->daemon = daemon;
  self->url = g_strdup (url);
  self->secret = g_strdup (secret);
  self->ca = g_strdup (ca);
  self->session = soup_session_new_with_options ("user-agent", "rtcbotd ", NULL);
  /* Checked at load; a file broken since then leaves the system's CAs. */
  if (ca && !(database = g_tls_file_database_new (ca, &error)))
    g_warning ("[daemon] relay-ca \"%s\": %s", ca, error->message);
  if (database)
    soup_session_set_tls_database (self->session, database);
  self->backoff = rtcbotd_backoff_new (BACKOFF_MIN_MS, BACKOFF_MAX_MS, on_retry, self);
  self->exchanges = g_ptr_array_new ();
  self->watch_id = g_timeout_add_seconds (WATCH_S, on_watch, self);
  connect_now (self);
  return self;
}

void
rtcbotd_relay_client_free (RtcbotdRelayClient *self)
{
  if (!self)
    return;
  for (guint i = 0; i < self->exchanges->len; i++)
    ((Exchange *)self->exchanges->pdata[i])->owner = NULL;
  g_ptr_array_unref (self->exchanges);
  g_clear_handle_id (&self->watch_id, g_source_remove);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->handshake);
  if (self->conn)
    {
      g_signal_handlers_disconnect_by_data (self->conn, self);
      soup_websocket_connection_close (self->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      g_clear_object (&self->conn);
      g_message ("relay: disconnected from %s", self->url);
    }
  g_clear_pointer (&self->backoff, rtcbotd_backoff_free);
  g_clear_object (&self->session);
  g_clear_object (&self->local);
  g_free (self->url);
  g_free (self->secret);
  g_free (self->ca);
  g_free (self->token);
  g_free (self->viewer_token);
  g_free (self->last_failure);
  g_free (self);
}

void
rtcbotd_relay_client_set_tokens (RtcbotdRelayClient *self, const char *token,
                                 const char *viewer_token)
{
  g_free (self->token);
  g_free (self->viewer_token);
  self->token = g_strdup (token);
  self->viewer_token = g_strdup (viewer_token);
}

gboolean
rtcbotd_relay_client_is_for (RtcbotdRelayClient *self, const char *url, const char *secret,
                             const char *ca)
{
  return g_strcmp0 (self->url, url) == 0 && g_strcmp0 (self->secret, secret) == 0
         && g_strcmp0 (self->ca, ca) == 0;
}

const char *
rtcbotd_relay_client_get_state (RtcbotdRelayClient *self)
{
  return state_name (self->state);
}

void
rtcbotd_relay_client_add_health (RtcbotdRelayClient *self, JsonBuilder *b)
{
  json_builder_set_member_name (b, "relay");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, self->url);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, state_name (self->state));
  json_builder_set_member_name (b, "mode");
  json_builder_add_string_value (b, self->multiplex ? RTCBOTD_RELAY_SUBPROTOCOL : "rtcbot");
  json_builder_set_member_name (b, "connects");
  json_builder_add_int_value (b, self->connects);
  json_builder_set_member_name (b, "offers");
  json_builder_add_int_value (b, self->offers);
  json_builder_set_member_name (b, "answered");
  json_builder_add_int_value (b, self->answered);
  json_builder_end_object (b);
}

void
rtcbotd_relay_client_add_metrics (RtcbotdRelayClient *self, RtcbotdMetrics *m)
{
  rtcbotd_metrics_gauge (m, "rtcbotd_relay_connected",
                         "1 while the daemon holds its websocket to [daemon] relay.",
                         self->state == STATE_CONNECTED, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_relay_connects_total",
                           "Websockets to the relay opened (RTCBot's protocol: one per client).",
                           self->connects, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_relay_offers_total",
                           "Offers that arrived through the relay, by outcome.", self->answered,
                           "outcome", "answered", NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_relay_offers_total",
                           "Offers that arrived through the relay, by outcome.", self->refused,
                           "outcome", "refused", NULL);
}
