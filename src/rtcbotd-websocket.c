/* rtcbotd-websocket.c — a message source or sink served at GET /ws/NAME. */
#include "rtcbotd-websocket.h"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "rtcbotd-message-bus.h"
#include "rtcbotd-signaling.h"

#define RETRY_MS 20          /* how often waiting messages are retried */
#define CLOSE_TRY_AGAIN 1013 /* RFC 6455 registry: "Try Again Later"; not in libsoup 3.2 */
#define RETRY_AFTER "5"      /* seconds, for 503 */

typedef struct
{
  RtcbotdWebsocket *owner; /* not owned; outlives its clients */
  SoupWebsocketConnection *conn;
  GSocket *socket;
  char *peer;           /* "127.0.0.1:40312", for messages */
  GQueue waiting;       /* of GBytes: encoded messages not yet handed to libsoup */
  guint64 handed;       /* bytes handed to libsoup, the handshake and frame headers included */
  guint64 acked;        /* the client's TCP acknowledgements when last looked at */
  guint64 written;      /* the kernel's byte count when last looked at */
  gint64 blocked_since; /* monotonic µs since messages wait and nothing was acknowledged */
  guint retry_id;       /* timer while messages wait */
  gushort close_code;   /* sent when the endpoint lets the client go */
  gboolean abort;       /* close the socket now rather than after the close handshake */
} Client;

struct _RtcbotdWebsocket
{
  RtcbotdEndpoint parent_instance;
  SoupServer *server;
  char *path; /* "/ws/NAME" */
  gboolean serving;
  GPtrArray *clients; /* of Client */
  guint max_waiting;
};

G_DEFINE_FINAL_TYPE (RtcbotdWebsocket, rtcbotd_websocket, RTCBOTD_TYPE_ENDPOINT)

static const char *
label_of (RtcbotdWebsocket *self)
{
  return rtcbotd_endpoint_get_label (RTCBOTD_ENDPOINT (self));
}

/* Reads what the kernel has taken from libsoup on @socket (@written: the TCP
 * byte count) and how much of it the client's TCP has not acknowledged yet
 * (@queued); FALSE when @socket is not a TCP socket. The acknowledged count
 * is read first: an acknowledgement between the two reads makes @written
 * smaller, never larger, than it is, so nothing is handed too early. */
static gboolean
kernel_counts (GSocket *socket, guint64 *written, guint64 *acked, guint64 *queued)
{
  struct tcp_info info = { 0 };
  socklen_t length = sizeof info;
  int fd = g_socket_get_fd (socket);
  int outq = 0;

  if (fd < 0 || getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &length) < 0
      || length < offsetof (struct tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked
      || ioctl (fd, SIOCOUTQ, &outq) < 0 || outq < 0)
    return FALSE;
  *acked = info.tcpi_bytes_acked;
  *queued = (guint64)outq;
  *written = *acked + *queued;
  return TRUE;
}

/* The bytes libsoup writes for a text frame of @payload bytes (server frames are not masked). */
static gsize
frame_length (gsize payload)
{
  return payload + (payload < 126 ? 2 : payload <= G_MAXUINT16 ? 4 : 10);
}

static void
client_free (Client *c)
{
  SoupWebsocketState state = soup_websocket_connection_get_state (c->conn);

  g_clear_handle_id (&c->retry_id, g_source_remove);
  g_signal_handlers_disconnect_by_data (c->conn, c);
  if (state == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (c->conn, c->close_code, NULL);
  /* libsoup lets go of a connection when the handler returns, so ours is the
   * last reference: dropping it closes the socket at once. Otherwise libsoup
   * finishes the close handshake, or gives up on it after 5 s. */
  if (c->abort || state == SOUP_WEBSOCKET_STATE_CLOSED)
    g_object_unref (c->conn);
  else
    g_signal_connect (c->conn, "closed", G_CALLBACK (g_object_unref), NULL);
  g_queue_clear_full (&c->waiting, (GDestroyNotify)g_bytes_unref);
  g_object_unref (c->socket);
  g_free (c->peer);
  g_free (c);
}

/* Hands waiting messages to libsoup while it has written all it was handed
 * and the kernel has room; returns TRUE when messages are left waiting. */
static gboolean
client_pump (Client *c)
{
  RtcbotdEndpointStats *stats = rtcbotd_endpoint_get_stats (RTCBOTD_ENDPOINT (c->owner));
  guint64 written, acked, queued;

  if (soup_websocket_connection_get_state (c->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    {
      stats->dropped += c->waiting.length;
      g_queue_clear_full (&c->waiting, (GDestroyNotify)g_bytes_unref);
    }
  while (!g_queue_is_empty (&c->waiting))
    {
      g_autoptr (GBytes) frame = NULL;

      if (!kernel_counts (c->socket, &written, &acked, &queued))
        return TRUE;
      /* libsoup writes frames of its own too (pongs, close). */
      c->handed = MAX (c->handed, written);
      if (c->handed > written || queued >= RTCBOTD_WEBSOCKET_KERNEL_QUEUE)
        return TRUE;
      frame = g_queue_pop_head (&c->waiting);
      soup_websocket_connection_send_message (c->conn, SOUP_WEBSOCKET_DATA_TEXT, frame);
      c->handed += frame_length (g_bytes_get_size (frame));
      stats->sent++;
    }
  return FALSE;
}

static void
drop_stalled (Client *c)
{
  RtcbotdWebsocket *self = c->owner;

  g_warning ("%s: dropped a client that stopped reading", label_of (self));
  g_debug ("%s: the client was %s, %u messages waiting", label_of (self), c->peer,
           c->waiting.length);
  c->close_code = SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION;
  c->abort = TRUE;
  g_ptr_array_remove_fast (self->clients, c);
}

/* Retries waiting messages and watches for progress; main context, every RETRY_MS while
 * messages wait. */
static gboolean
on_retry (gpointer user_data)
{
  Client *c = user_data;
  guint64 written, acked, queued;
  gint64 now = g_get_monotonic_time ();

  if (kernel_counts (c->socket, &written, &acked, &queued))
    {
      if (acked != c->acked)
        c->blocked_since = now;
      /* Nothing written for a whole tick though the kernel has room: libsoup
       * holds nothing, whatever the count says (a safety net, not a path). */
      if (queued == 0 && written == c->written && c->handed > written)
        c->handed = written;
      c->acked = acked;
      c->written = written;
    }
  if (!client_pump (c))
    {
      c->retry_id = 0;
      return G_SOURCE_REMOVE;
    }
  if (now - c->blocked_since >= RTCBOTD_WEBSOCKET_STALL_US)
    {
      c->retry_id = 0;
      drop_stalled (c);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* Queues @frame for @c under the overflow policy and writes what it can. */
static void
client_push (Client *c, GBytes *frame)
{
  RtcbotdEndpoint *endpoint = RTCBOTD_ENDPOINT (c->owner);
  const RtcbotdEndpointConfig *config = rtcbotd_endpoint_get_config (endpoint);
  guint room = config->overflow == RTCBOTD_OVERFLOW_MOST_RECENT ? 1 : MAX (config->queue_length, 1);
  guint64 queued;

  while (c->waiting.length >= room)
    {
      g_bytes_unref (g_queue_pop_head (&c->waiting));
      rtcbotd_endpoint_get_stats (endpoint)->dropped++;
    }
  g_queue_push_tail (&c->waiting, g_bytes_ref (frame));
  c->owner->max_waiting = MAX (c->owner->max_waiting, c->waiting.length);
  if (c->retry_id || !client_pump (c))
    return;
  c->blocked_since = g_get_monotonic_time ();
  if (!kernel_counts (c->socket, &c->written, &c->acked, &queued))
    c->acked = c->written = 0;
  c->retry_id = g_timeout_add (RETRY_MS, on_retry, c);
}

/* libsoup's "message": a frame from the client; main context. */
static void
on_message (SoupWebsocketConnection *conn, SoupWebsocketDataType type, GBytes *data,
            gpointer user_data)
{
  Client *c = user_data;
  RtcbotdEndpoint *endpoint = RTCBOTD_ENDPOINT (c->owner);
  gsize length = 0;
  const char *bytes = g_bytes_get_data (data, &length);
  g_autofree char *text = NULL;
  g_autoptr (JsonNode) message = NULL;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      g_debug ("%s: ignored a binary frame from %s", label_of (c->owner), c->peer);
      rtcbotd_endpoint_get_stats (endpoint)->dropped++;
      return;
    }
  text = g_strndup (bytes ? bytes : "", length);
  message = rtcbotd_message_decode (text);
  rtcbotd_endpoint_emit (endpoint, message);
}

/* libsoup's "error" (a frame over the limit, a broken connection); main context. */
static void
on_error (SoupWebsocketConnection *conn, GError *error, gpointer user_data)
{
  Client *c = user_data;

  g_message ("%s: client %s: %s", label_of (c->owner), c->peer, error->message);
}

/* libsoup's "closed": the connection is gone; main context. */
static void
on_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  Client *c = user_data;
  RtcbotdWebsocket *self = c->owner;

  g_message ("%s: client %s left (close code %u)", label_of (self), c->peer,
             soup_websocket_connection_get_close_code (conn));
  g_ptr_array_remove_fast (self->clients, c);
}

static char *
describe_address (GSocketAddress *address)
{
  g_autofree char *host = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("(unknown)");
  host = g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  return g_strdup_printf (strchr (host, ':') ? "[%s]:%u" : "%s:%u", host,
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
}

static void
refuse (SoupServerMessage *msg, guint status, const char *message)
{
  g_autofree char *json = rtcbotd_signaling_error_json (message);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                "no-cache");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, json, strlen (json));
}

/* Before the handshake is answered: the client limit; main context. */
static void
on_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  RtcbotdWebsocket *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr (GError) error = NULL;

  /* A handshake has no body; whatever a client sends as one is not kept. */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  /* Outgoing frames are counted as the bytes on the wire: no permessage-deflate. */
  soup_message_headers_remove (headers, "Sec-WebSocket-Extensions");
  /* Tokens are not checked here: rtcbotd-http.c's gate refuses a request
   * without the driver's token (401/403) after this runs, whatever it says. */
  if (!g_str_equal (path, self->path))
    refuse (msg, SOUP_STATUS_NOT_FOUND, "no such page");
  else if (!soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &error))
    refuse (msg, SOUP_STATUS_BAD_REQUEST, error->message);
  else if (self->clients->len >= RTCBOTD_WEBSOCKET_MAX_CLIENTS)
    {
      g_autofree char *peer = describe_address (soup_server_message_get_remote_address (msg));

      g_message ("%s: refused client %s: %u clients already", label_of (self), peer,
                 self->clients->len);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                    RETRY_AFTER);
      refuse (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "too many websocket clients; try again later");
    }
}

/* The handshake is done and @conn open; main context. */
static void
on_websocket (SoupServer *server, SoupServerMessage *msg, const char *path,
              SoupWebsocketConnection *conn, gpointer user_data)
{
  RtcbotdWebsocket *self = user_data;
  g_autofree char *peer = describe_address (soup_server_message_get_remote_address (msg));
  GSocket *socket = soup_server_message_get_socket (msg);
  guint64 written, acked, queued;
  Client *c;

  /* Handshakes that passed on_request together can still overshoot. */
  if (self->clients->len >= RTCBOTD_WEBSOCKET_MAX_CLIENTS)
    {
      g_message ("%s: refused client %s: %u clients already", label_of (self), peer,
                 self->clients->len);
      soup_websocket_connection_close (conn, CLOSE_TRY_AGAIN, "too many clients");
      return;
    }
  if (!socket || !kernel_counts (socket, &written, &acked, &queued))
    {
      g_warning ("%s: refused client %s: not a TCP connection", label_of (self), peer);
      soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR, "not TCP");
      return;
    }
  c = g_new0 (Client, 1);
  c->owner = self;
  c->conn = g_object_ref (conn);
  c->socket = g_object_ref (socket);
  c->peer = g_steal_pointer (&peer);
  c->handed = written;
  c->acked = acked;
  c->close_code = SOUP_WEBSOCKET_CLOSE_GOING_AWAY;
  g_queue_init (&c->waiting);
  soup_websocket_connection_set_max_incoming_payload_size (conn, RTCBOTD_WEBSOCKET_MAX_PAYLOAD);
  /* libsoup 3.2 reassembles a message sent in fragments without a limit; 3.8 has one. */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (conn), "max-total-message-size"))
    g_object_set (conn, "max-total-message-size", (guint64)RTCBOTD_WEBSOCKET_MAX_PAYLOAD, NULL);
  g_signal_connect (conn, "message", G_CALLBACK (on_message), c);
  g_signal_connect (conn, "error", G_CALLBACK (on_error), c);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), c);
  g_ptr_array_add (self->clients, c);
  g_message ("%s: client %s connected (%u of %u)", label_of (self), c->peer, self->clients->len,
             RTCBOTD_WEBSOCKET_MAX_CLIENTS);
}

static gboolean
rtcbotd_websocket_start (RtcbotdEndpoint *endpoint, GError **error)
{
  RtcbotdWebsocket *self = RTCBOTD_WEBSOCKET (endpoint);

  if (self->serving)
    return TRUE;
  soup_server_add_early_handler (self->server, self->path, on_request, self, NULL);
  soup_server_add_websocket_handler (self->server, self->path, NULL, NULL, on_websocket, self,
                                     NULL);
  self->serving = TRUE;
  self->max_waiting = 0;
  rtcbotd_endpoint_set_up (endpoint);
  return TRUE;
}

static void
rtcbotd_websocket_stop (RtcbotdEndpoint *endpoint)
{
  RtcbotdWebsocket *self = RTCBOTD_WEBSOCKET (endpoint);

  if (!self->serving)
    return;
  soup_server_remove_handler (self->server, self->path);
  self->serving = FALSE;
  g_ptr_array_set_size (self->clients, 0);
}

static void
rtcbotd_websocket_send (RtcbotdEndpoint *endpoint, JsonNode *message)
{
  RtcbotdWebsocket *self = RTCBOTD_WEBSOCKET (endpoint);
  g_autoptr (GBytes) frame = NULL;
  char *text;

  if (self->clients->len == 0)
    return;
  text = rtcbotd_message_encode (message);
  /* A string read from a serial port need not be UTF-8; a text frame must. */
  if (!g_utf8_validate_len (text, strlen (text), NULL))
    {
      g_debug ("%s: not sent: the message is not UTF-8", label_of (self));
      rtcbotd_endpoint_get_stats (endpoint)->errors++;
      g_free (text);
      return;
    }
  frame = g_bytes_new_take (text, strlen (text));
  for (guint i = 0; i < self->clients->len; i++)
    client_push (self->clients->pdata[i], frame);
}

static void
rtcbotd_websocket_add_health (RtcbotdEndpoint *endpoint, JsonBuilder *builder)
{
  RtcbotdWebsocket *self = RTCBOTD_WEBSOCKET (endpoint);
  guint waiting = 0;

  for (guint i = 0; i < self->clients->len; i++)
    waiting += ((Client *)self->clients->pdata[i])->waiting.length;
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, self->path);
  json_builder_set_member_name (builder, "clients");
  json_builder_add_int_value (builder, self->clients->len);
  json_builder_set_member_name (builder, "waiting");
  json_builder_add_int_value (builder, waiting);
}

static void
rtcbotd_websocket_add_metrics (RtcbotdEndpoint *endpoint, RtcbotdMetrics *m)
{
  RtcbotdWebsocket *self = RTCBOTD_WEBSOCKET (endpoint);
  const char *name = rtcbotd_endpoint_get_name (endpoint);
  guint waiting = 0;

  for (guint i = 0; i < self->clients->len; i++)
    waiting += ((Client *)self->clients->pdata[i])->waiting.length;
  rtcbotd_metrics_gauge (m, "rtcbotd_endpoint_clients", "Clients connected now.",
                         self->clients->len, "endpoint", name, "type", "websocket", NULL);
  rtcbotd_metrics_gauge (m, "rtcbotd_websocket_waiting_messages",
                         "Messages waiting in the per-client queues, all clients together.",
                         waiting, "endpoint", name, NULL);
}

static void
rtcbotd_websocket_dispose (GObject *object)
{
  RtcbotdWebsocket *self = RTCBOTD_WEBSOCKET (object);

  if (self->serving)
    {
      soup_server_remove_handler (self->server, self->path);
      self->serving = FALSE;
    }
  if (self->clients)
    g_ptr_array_set_size (self->clients, 0);
  g_clear_object (&self->server);
  G_OBJECT_CLASS (rtcbotd_websocket_parent_class)->dispose (object);
}

static void
rtcbotd_websocket_finalize (GObject *object)
{
  RtcbotdWebsocket *self = RTCBOTD_WEBSOCKET (object);

  g_clear_pointer (&self->clients, g_ptr_array_unref);
  g_free (self->path);
  G_OBJECT_CLASS (rtcbotd_websocket_parent_class)->finalize (object);
}

static void
rtcbotd_websocket_class_init (RtcbotdWebsocketClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  RtcbotdEndpointClass *endpoint_class = RTCBOTD_ENDPOINT_CLASS (klass);

  object_class->dispose = rtcbotd_websocket_dispose;
  object_class->finalize = rtcbotd_websocket_finalize;
  endpoint_class->start = rtcbotd_websocket_start;
  endpoint_class->stop = rtcbotd_websocket_stop;
  endpoint_class->send = rtcbotd_websocket_send;
  endpoint_class->add_health = rtcbotd_websocket_add_health;
  endpoint_class->add_metrics = rtcbotd_websocket_add_metrics;
}

static void
rtcbotd_websocket_init (RtcbotdWebsocket *self)
{
  self->clients = g_ptr_array_new_with_free_func ((GDestroyNotify)client_free);
}

RtcbotdEndpoint *
rtcbotd_websocket_new (const RtcbotdEndpointConfig *config, SoupServer *server)
{
  RtcbotdWebsocket *self = g_object_new (RTCBOTD_TYPE_WEBSOCKET, "config", config, NULL);

  self->server = g_object_ref (server);
  self->path = g_strconcat ("/ws/", config->name, NULL);
  return RTCBOTD_ENDPOINT (self);
}

guint
rtcbotd_websocket_get_n_clients (RtcbotdWebsocket *self)
{
  return self->clients->len;
}

guint
rtcbotd_websocket_get_max_waiting (RtcbotdWebsocket *self)
{
  return self->max_waiting;
}
