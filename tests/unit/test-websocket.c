/* test-websocket.c — the websocket endpoint on a real libsoup server, with
 * libsoup clients and a raw TCP client that completes the handshake by hand
 * and then never reads. Everything runs in the default main context. */
#include <gio/gio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "rtcbotd-message-bus.h"
#include "rtcbotd-websocket.h"
#include "test-utils.h"

#define CONFIG "[sink dash]\ntype = websocket\n[route r]\nfrom = dash\nto = log\n"
#define CONFIG_MOST_RECENT                                                                         \
  "[sink dash]\ntype = websocket\noverflow = most-recent\n[route r]\nfrom = dash\nto = log\n"
#define DEADLINE_S 10

typedef struct
{
  RtcbotdConfig *config;
  SoupServer *server;
  RtcbotdEndpoint *endpoint;
  SoupSession *session;
  char *url; /* ws://127.0.0.1:PORT/ws/dash */
  guint16 port;
  GPtrArray *received; /* of char *: what the endpoint emitted, encoded */
} Fixture;

/* A libsoup client. */
typedef struct
{
  SoupMessage *msg;
  SoupWebsocketConnection *conn;
  GError *error;
  gboolean done; /* the handshake finished, well or not */
  gboolean closed;
  gushort close_code;  /* the server's */
  GPtrArray *received; /* of char *: text frames */
} Client;

typedef gboolean (*Condition) (gpointer data);

static gboolean
wake (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main context until @done holds, for @seconds at most; FALSE on timeout. */
static gboolean
run_until (Condition done, gpointer data, guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  guint id = g_timeout_add (20, wake, NULL);
  gboolean ok;

  while (!(ok = done (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  return ok;
}

static void
on_endpoint_message (RtcbotdEndpoint *endpoint, JsonNode *message, gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->received, rtcbotd_message_encode (message));
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->config = rtcbotd_config_load_data (data ? data : CONFIG, "test.conf", &error);
  g_assert_no_error (error);
  f->server = soup_server_new (NULL, NULL);
  f->port = rtcbotd_test_listen_local (f->server);
  f->url = g_strdup_printf ("ws://127.0.0.1:%u/ws/dash", f->port);
  f->session = soup_session_new_with_options ("max-conns-per-host", 64, "max-conns", 64, NULL);
  /* Clients offer permessage-deflate, as browsers do. */
  soup_session_add_feature_by_type (f->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  f->received = g_ptr_array_new_with_free_func (g_free);
  f->endpoint = rtcbotd_websocket_new (rtcbotd_config_find_endpoint (f->config, "dash"), f->server);
  g_signal_connect (f->endpoint, "message", G_CALLBACK (on_endpoint_message), f);
  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  g_assert_no_error (error);
  g_assert_true (rtcbotd_endpoint_is_up (f->endpoint));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  if (rtcbotd_endpoint_is_up (f->endpoint))
    rtcbotd_endpoint_stop (f->endpoint);
  g_clear_object (&f->endpoint);
  g_clear_object (&f->session);
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_clear_pointer (&f->received, g_ptr_array_unref);
  g_clear_pointer (&f->url, g_free);
  g_clear_pointer (&f->config, rtcbotd_config_free);
}

static void
on_client_message (SoupWebsocketConnection *conn, SoupWebsocketDataType type, GBytes *data,
                   gpointer user_data)
{
  Client *c = user_data;
  gsize length;
  const char *text = g_bytes_get_data (data, &length);

  g_ptr_array_add (c->received, g_strndup (text, length));
}

static void
on_client_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  Client *c = user_data;

  c->closed = TRUE;
  c->close_code = soup_websocket_connection_get_close_code (conn);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Client *c = user_data;

  c->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &c->error);
  c->done = TRUE;
  if (!c->conn)
    return;
  g_signal_connect (c->conn, "message", G_CALLBACK (on_client_message), c);
  g_signal_connect (c->conn, "closed", G_CALLBACK (on_client_closed), c);
}

static gboolean
client_done (gpointer data)
{
  return ((Client *)data)->done;
}

static gboolean
client_closed (gpointer data)
{
  return ((Client *)data)->closed;
}

/* Starts connecting a client; see client_done(). */
static Client *
client_start (Fixture *f)
{
  Client *c = g_new0 (Client, 1);

  c->received = g_ptr_array_new_with_free_func (g_free);
  c->msg = soup_message_new ("GET", f->url);
  soup_session_websocket_connect_async (f->session, c->msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_connected, c);
  return c;
}

static Client *
client_connect (Fixture *f)
{
  Client *c = client_start (f);

  g_assert_true (run_until (client_done, c, DEADLINE_S));
  g_assert_no_error (c->error);
  return c;
}

static void
client_free (Client *c)
{
  if (c->conn)
    {
      g_signal_handlers_disconnect_by_data (c->conn, c);
      if (soup_websocket_connection_get_state (c->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (c->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (c->conn);
    }
  g_clear_error (&c->error);
  g_clear_object (&c->msg);
  g_ptr_array_unref (c->received);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

typedef struct
{
  GPtrArray *array;
  guint length;
} Count;

static gboolean
has_length (gpointer data)
{
  Count *count = data;

  return count->array->len >= count->length;
}

/* Runs until @array holds @length items. */
static gboolean
wait_for_length (GPtrArray *array, guint length)
{
  Count count = { array, length };

  return run_until (has_length, &count, DEADLINE_S);
}

static JsonObject *
health (Fixture *f)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  JsonNode *root;

  rtcbotd_endpoint_add_health (f->endpoint, builder);
  root = json_builder_get_root (builder);
  g_object_set_data_full (G_OBJECT (f->endpoint), "health", root, (GDestroyNotify)json_node_unref);
  return json_node_get_object (root);
}

static void
test_receive (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_connect (f);
  static const guint8 binary[] = { 0x7b, 0x7d, 0x00, 0xff };

  /* No permessage-deflate: frames are counted as the bytes on the wire. */
  g_assert_null (soup_websocket_connection_get_extensions (c->conn));
  soup_websocket_connection_send_text (c->conn, "{\"speed\": 0.5, \"turn\": -1}");
  soup_websocket_connection_send_text (c->conn, "forward");
  soup_websocket_connection_send_binary (c->conn, binary, sizeof binary);
  soup_websocket_connection_send_text (c->conn, "[1, 2]");
  g_assert_true (wait_for_length (f->received, 3));
  g_assert_cmpuint (f->received->len, ==, 3);
  g_assert_cmpstr (f->received->pdata[0], ==, "{\"speed\":0.5,\"turn\":-1}");
  g_assert_cmpstr (f->received->pdata[1], ==, "\"forward\"");
  g_assert_cmpstr (f->received->pdata[2], ==, "[1,2]");
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->endpoint)->received, ==, 3);
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->endpoint)->dropped, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (health (f), "path"), ==, "/ws/dash");
  g_assert_cmpint (json_object_get_int_member (health (f), "clients"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (health (f), "state"), ==, "up");
}

static void
test_broadcast (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) a = client_connect (f);
  g_autoptr (Client) b = client_connect (f);
  g_autoptr (JsonNode) message = rtcbotd_message_decode ("{\"battery\": 12.1}");

  g_assert_cmpuint (rtcbotd_websocket_get_n_clients (RTCBOTD_WEBSOCKET (f->endpoint)), ==, 2);
  rtcbotd_endpoint_send (f->endpoint, message);
  g_assert_true (wait_for_length (a->received, 1));
  g_assert_true (wait_for_length (b->received, 1));
  g_assert_cmpstr (a->received->pdata[0], ==, "{\"battery\":12.1}");
  g_assert_cmpstr (b->received->pdata[0], ==, "{\"battery\":12.1}");
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->endpoint)->sent, ==, 2);

  /* Frames of every header size are counted right: what follows is not held. */
  {
    g_autofree char *pad = g_strnfill (80 * 1024, 'y');
    g_autofree char *text = g_strdup_printf ("\"%s\"", pad);
    g_autoptr (JsonNode) large = rtcbotd_message_decode (text);
    g_autoptr (JsonNode) small = rtcbotd_message_decode ("[300]");
    g_autoptr (JsonNode) binary = json_node_new (JSON_NODE_VALUE);

    /* Not UTF-8 (bytes from a serial port, say): refused, and nothing stalls. */
    json_node_set_string (binary, "\xff\xfe");
    rtcbotd_endpoint_send (f->endpoint, binary);
    g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->endpoint)->errors, ==, 1);
    rtcbotd_endpoint_send (f->endpoint, large);
    rtcbotd_endpoint_send (f->endpoint, small);
    rtcbotd_endpoint_send (f->endpoint, message);
    g_assert_true (wait_for_length (a->received, 4));
    g_assert_true (wait_for_length (b->received, 4));
    g_assert_cmpstr (a->received->pdata[1], ==, text);
    g_assert_cmpstr (a->received->pdata[2], ==, "[300]");
    g_assert_cmpstr (b->received->pdata[3], ==, "{\"battery\":12.1}");
  }

  /* Stopping says "going away" to every client and refuses new ones. */
  rtcbotd_endpoint_stop (f->endpoint);
  g_assert_false (rtcbotd_endpoint_is_up (f->endpoint));
  g_assert_cmpstr (rtcbotd_endpoint_get_reason (f->endpoint), ==, "stopped");
  g_assert_true (run_until (client_closed, a, DEADLINE_S));
  g_assert_true (run_until (client_closed, b, DEADLINE_S));
  g_assert_cmpuint (a->close_code, ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  g_assert_cmpuint (b->close_code, ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  {
    g_autoptr (Client) late = client_start (f);
    g_assert_true (run_until (client_done, late, DEADLINE_S));
    g_assert_null (late->conn);
    g_assert_nonnull (late->error);
  }
}

static void
test_limits (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func ((GDestroyNotify)client_free);
  g_autofree char *large = g_strnfill (RTCBOTD_WEBSOCKET_MAX_PAYLOAD + 1, 'x');
  Client *first;

  for (guint i = 0; i < RTCBOTD_WEBSOCKET_MAX_CLIENTS; i++)
    g_ptr_array_add (clients, client_connect (f));
  {
    g_autoptr (Client) extra = client_start (f);
    g_assert_true (run_until (client_done, extra, DEADLINE_S));
    g_assert_null (extra->conn);
    g_assert_cmpuint (soup_message_get_status (extra->msg), ==, SOUP_STATUS_SERVICE_UNAVAILABLE);
    g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (extra->msg),
                                                   "Retry-After"),
                     ==, "5");
  }
  g_assert_cmpint (json_object_get_int_member (health (f), "clients"), ==, 16);

  /* A frame over 64 KiB closes its connection, the others stay. libsoup 3.2
   * drops the connection without a close frame; later versions send 1009. */
  first = clients->pdata[0];
  soup_websocket_connection_send_text (first->conn, large);
  g_assert_true (run_until (client_closed, first, DEADLINE_S));
  g_assert_true (first->close_code == 0 || first->close_code == SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  g_assert_cmpuint (f->received->len, ==, 0);
  g_assert_cmpint (json_object_get_int_member (health (f), "clients"), ==, 15);

  /* The place it left is free again. */
  g_ptr_array_add (clients, client_connect (f));
  g_assert_cmpint (json_object_get_int_member (health (f), "clients"), ==, 16);
}

typedef struct
{
  GBytes *body;
  gboolean done;
} Reply;

static void
on_http_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Reply *reply = user_data;

  reply->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  reply->done = TRUE;
}

static gboolean
reply_done (gpointer data)
{
  return ((Reply *)data)->done;
}

/* Plain HTTP to /ws/NAME gets the daemon's JSON errors, not libsoup's HTML. */
static void
test_not_websocket (Fixture *f, gconstpointer data)
{
  static const char *const paths[] = { "/ws/dash", "/ws/dash/more" };
  static const guint statuses[] = { SOUP_STATUS_BAD_REQUEST, SOUP_STATUS_NOT_FOUND };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", f->port, paths[i]);
      g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
      Reply reply = { NULL, FALSE };
      const char *type;
      g_autofree char *body = NULL;

      soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, on_http_reply,
                                        &reply);
      g_assert_true (run_until (reply_done, &reply, DEADLINE_S));
      g_assert_cmpuint (soup_message_get_status (msg), ==, statuses[i]);
      type = soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL);
      g_assert_cmpstr (type, ==, "application/json");
      g_assert_nonnull (reply.body);
      body = g_strndup (g_bytes_get_data (reply.body, NULL), g_bytes_get_size (reply.body));
      g_assert_true (g_str_has_prefix (body, "{\"error\":"));
      g_bytes_unref (reply.body);
    }
  g_assert_cmpuint (rtcbotd_websocket_get_n_clients (RTCBOTD_WEBSOCKET (f->endpoint)), ==, 0);
}

/* A TCP client that does the handshake by hand and then reads nothing. */
typedef struct
{
  GSocket *socket;
  GString *response; /* the handshake reply, as far as read */
  guint64 drained;   /* bytes read after the reply, once draining */
  gboolean eof;
} RawClient;

static gboolean
raw_read_reply (gpointer data)
{
  RawClient *raw = data;
  char buffer[256];
  gssize n;

  while (!strstr (raw->response->str, "\r\n\r\n")
         && (n = g_socket_receive_with_blocking (raw->socket, buffer, 1, FALSE, NULL, NULL)) > 0)
    g_string_append_len (raw->response, buffer, n);
  return strstr (raw->response->str, "\r\n\r\n") != NULL;
}

static gboolean
raw_drain (gpointer data)
{
  RawClient *raw = data;
  char buffer[16384];
  g_autoptr (GError) error = NULL;
  gssize n;

  while (
      (n = g_socket_receive_with_blocking (raw->socket, buffer, sizeof buffer, FALSE, NULL, &error))
      > 0)
    raw->drained += n;
  if (n == 0 || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    raw->eof = TRUE;
  return raw->eof;
}

static RawClient *
raw_connect (Fixture *f)
{
  RawClient *raw = g_new0 (RawClient, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", f->port);
  static const char request[] = "GET /ws/dash HTTP/1.1\r\n"
                                "Host: 127.0.0.1\r\n"
                                "Upgrade: websocket\r\n"
                                "Connection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n";

  raw->response = g_string_new (NULL);
  raw->socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_connect (raw->socket, address, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_socket_send (raw->socket, request, strlen (request), NULL, &error), ==,
                   strlen (request));
  g_assert_true (run_until (raw_read_reply, raw, DEADLINE_S));
  g_assert_true (g_str_has_prefix (raw->response->str, "HTTP/1.1 101"));
  return raw;
}

static void
raw_free (RawClient *raw)
{
  g_object_unref (raw->socket);
  g_string_free (raw->response, TRUE);
  g_free (raw);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RawClient, raw_free)

#define FLOOD_MESSAGES 20000
#define FLOOD_PER_TICK 100

/* Sends 1 KiB messages from a timer, as a fast source would. */
typedef struct
{
  Fixture *f;
  guint sent;
  guint target;
  guint max_waiting; /* in any client's queue, seen after each batch */
} Flood;

static gboolean
on_flood_tick (gpointer data)
{
  Flood *flood = data;
  g_autofree char *pad = g_strnfill (1000, 'x');

  for (guint i = 0; i < FLOOD_PER_TICK && flood->sent < flood->target; i++, flood->sent++)
    {
      g_autofree char *text = g_strdup_printf ("{\"i\":%u,\"pad\":\"%s\"}", flood->sent, pad);
      g_autoptr (JsonNode) message = rtcbotd_message_decode (text);
      rtcbotd_endpoint_send (flood->f->endpoint, message);
    }
  flood->max_waiting
      = MAX (flood->max_waiting,
             rtcbotd_websocket_get_max_waiting (RTCBOTD_WEBSOCKET (flood->f->endpoint)));
  return flood->sent < flood->target ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
one_client_left (gpointer data)
{
  Fixture *f = data;

  return rtcbotd_websocket_get_n_clients (RTCBOTD_WEBSOCKET (f->endpoint)) == 1;
}

static gboolean
flood_done (gpointer data)
{
  Flood *flood = data;

  return flood->sent == flood->target;
}

static gboolean
received_last (gpointer data)
{
  Client *c = data;
  g_autofree char *expected = g_strdup_printf ("{\"i\":%u,", FLOOD_MESSAGES - 1);

  return c->received->len
         && g_str_has_prefix (g_ptr_array_index (c->received, c->received->len - 1), expected);
}

static void
test_stalled (Fixture *f, gconstpointer data)
{
  g_autoptr (RawClient) raw = raw_connect (f);
  g_autoptr (Client) good = client_connect (f);
  const RtcbotdEndpointConfig *config = rtcbotd_config_find_endpoint (f->config, "dash");
  Flood flood = { f, 0, FLOOD_MESSAGES, 0 };
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed;
  guint handed;

  g_assert_cmpuint (rtcbotd_websocket_get_n_clients (RTCBOTD_WEBSOCKET (f->endpoint)), ==, 2);
  g_timeout_add (10, on_flood_tick, &flood);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "[sink dash]: dropped a client that stopped reading");
  g_assert_true (run_until (one_client_left, f, 2 * DEADLINE_S));
  elapsed = g_get_monotonic_time () - start;
  g_test_assert_expected_messages ();
  g_test_message ("the raw client was dropped after %.1f s", elapsed / 1e6);
  g_assert_cmpint (elapsed, <, 7 * G_USEC_PER_SEC);
  g_assert_cmpuint (flood.max_waiting, <=, config->queue_length);

  /* The good client kept up, and gets the rest too. */
  g_assert_true (run_until (flood_done, &flood, 2 * DEADLINE_S));
  g_assert_true (run_until (received_last, good, DEADLINE_S));
  g_test_message ("the good client received %u of %u", good->received->len, FLOOD_MESSAGES);
  g_assert_cmpuint (good->received->len, >, FLOOD_MESSAGES / 2);
  g_assert_false (good->closed);

  /* What the raw client was sent is bounded by its window and ours, not by the flood. */
  g_assert_true (run_until (raw_drain, raw, DEADLINE_S));
  g_test_message ("the raw client could read %" G_GUINT64_FORMAT " bytes", raw->drained);
  g_assert_cmpuint (raw->drained, <, 2 * 1024 * 1024);
  /* And libsoup held next to nothing for it: what was handed over reached its
   * socket (each message is 1016 to 1020 bytes on the wire). */
  handed = rtcbotd_endpoint_get_stats (f->endpoint)->sent - good->received->len;
  g_test_message ("%u messages were handed over for the raw client", handed);
  g_assert_cmpuint (handed * 1016, <=, raw->drained + 2 * 1020);
}

/* With overflow = most-recent a client that cannot keep up has one message waiting at most. */
static void
test_most_recent (Fixture *f, gconstpointer data)
{
  g_autoptr (RawClient) raw = raw_connect (f);
  Flood flood = { f, 0, 2000, 0 };

  g_timeout_add (10, on_flood_tick, &flood);
  g_assert_true (run_until (flood_done, &flood, DEADLINE_S));
  g_assert_cmpuint (flood.max_waiting, ==, 1);
  g_assert_cmpint (json_object_get_int_member (health (f), "waiting"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (health (f), "dropped"), >, 1000);
  g_assert_true (g_socket_is_connected (raw->socket));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func, config)                                                                    \
  g_test_add (path, Fixture, config, fixture_set_up, func, fixture_tear_down)
  ADD ("/websocket/receive", test_receive, NULL);
  ADD ("/websocket/broadcast", test_broadcast, NULL);
  ADD ("/websocket/limits", test_limits, NULL);
  ADD ("/websocket/not-websocket", test_not_websocket, NULL);
  ADD ("/websocket/stalled", test_stalled, NULL);
  ADD ("/websocket/most-recent", test_most_recent, CONFIG_MOST_RECENT);
#undef ADD
  return g_test_run ();
}
