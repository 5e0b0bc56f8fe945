/* rtcbotd-relay-server.c — `rtcbotd relay`: the rendezvous for robots behind NAT. */
#include "rtcbotd-relay-server.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "rtcbotd-access.h"
#include "rtcbotd-build-config.h"
#include "rtcbotd-error.h"
#include "rtcbotd-relay-protocol.h"
#include "rtcbotd-signaling.h"

#define BODY_KEY "rtcbotd-relay-body"       /* GByteArray of the request body, capped */
#define TOO_LARGE_KEY "rtcbotd-relay-large" /* set when the body passed the cap */
/* Pings keep NAT and proxy mappings alive; a robot silent for DEAD_US is gone. */
#define KEEPALIVE_S 20
#define DEAD_US (65 * G_USEC_PER_SEC)
/* An RTCBot robot reconnects after every exchange: a POST that arrives in
 * between waits for it rather than getting 404. */
#define GRACE_US (5 * G_USEC_PER_SEC)
#define SWEEP_S 1
#define CLOSE_REPLACED 4000
/* POSTs one id may have in flight; more get 503, so a flood cannot grow the queue. */
#define MAX_PENDING 32

typedef struct _Slot Slot;

/* One client's POST, from its arrival to its reply. */
typedef struct
{
  Slot *slot;
  SoupServerMessage *msg;
  char *request; /* our id for it, unique in the process */
  char *body;
  char *token; /* the token the client presented, for the robot to check; or NULL */
  guint timeout_id;
  gboolean gone; /* the client went away: nothing to reply to */
} Pending;

/* An id: its robot, if one holds it, and the POSTs for it. */
struct _Slot
{
  RtcbotdRelayServer *owner;
  char *id;
  SoupWebsocketConnection *conn; /* NULL: no robot now */
  char *peer;                    /* the robot's address, for the log */
  gboolean multiplex;            /* it speaks RTCBOTD_RELAY_SUBPROTOCOL */
  gint64 last_heard;             /* monotonic µs of its last frame or pong */
  gint64 left_at;                /* monotonic µs when the last robot left */
  GHashTable *sent;              /* request -> Pending sent to the robot, not answered yet */
  GQueue waiting;                /* of Pending not sent yet */
};

struct _RtcbotdRelayServer
{
  SoupServer *server;
  GHashTable *slots;   /* id -> Slot */
  GHashTable *secrets; /* id -> secret; NULL: every id is open */
  guint64 next_request;
  guint sweep_id;
  guint64 answered; /* replies the robots gave */
  guint64 failed;   /* POSTs that got 404, 502 or 504 */
};

static const char VIEWER_PAGE[]
    = "<!doctype html>\n<meta charset=\"utf-8\">\n<title>rtcbotd relay</title>\n"
      "<video id=\"video\" autoplay playsinline muted controls style=\"max-width:100%\"></video>\n"
      "<pre id=\"log\"></pre>\n<script type=\"module\">\n"
      "const log = (t) => { document.getElementById('log').textContent += t + '\\n'; };\n"
      "const pc = new RTCPeerConnection();\n"
      "const channel = pc.createDataChannel('default');\n"
      "channel.onmessage = (e) => log('message: ' + e.data);\n"
      "pc.addTransceiver('video', { direction: 'recvonly' });\n"
      "pc.addTransceiver('audio', { direction: 'recvonly' });\n"
      "pc.ontrack = (e) => { document.getElementById('video').srcObject = e.streams[0]; };\n"
      "pc.onconnectionstatechange = () => log('connection: ' + pc.connectionState);\n"
      "await pc.setLocalDescription(await pc.createOffer());\n"
      "while (pc.iceGatheringState !== 'complete')\n"
      "  await new Promise((r) => pc.addEventListener('icegatheringstatechange', r, { once: true "
      "}));\n"
      "const response = await fetch(location.pathname, { method: 'POST', cache: 'no-cache',\n"
      "  body: JSON.stringify(pc.localDescription) });\n"
      "if (response.ok) await pc.setRemoteDescription(await response.json());\n"
      "else log('relay: HTTP ' + response.status + ' ' + await response.text());\n"
      "window.rtcbotdRelay = { pc, channel };\n"
      "</script>\n";

static void
reply (SoupServerMessage *msg, guint status, const char *content_type, const char *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  /* Pages served anywhere may POST here, as they may to rtcbot.dev. */
  soup_message_headers_replace (headers, "Access-Control-Allow-Origin", "*");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, content_type, SOUP_MEMORY_COPY, body, strlen (body));
}

static void
reply_error (SoupServerMessage *msg, guint status, const char *message)
{
  g_autofree char *json = rtcbotd_signaling_error_json (message);

  reply (msg, status, "application/json", json);
}

/* ---- slots and pending requests -------------------------------------- */

static Slot *
slot_get (RtcbotdRelayServer *self, const char *id)
{
  Slot *slot = g_hash_table_lookup (self->slots, id);

  if (slot)
    return slot;
  slot = g_new0 (Slot, 1);
  slot->owner = self;
  slot->id = g_strdup (id);
  slot->sent = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&slot->waiting);
  g_hash_table_insert (self->slots, slot->id, slot);
  return slot;
}

/* Only when nothing refers to it any more (no robot, no request). */
static void
slot_free (Slot *slot)
{
  g_clear_object (&slot->conn);
  g_free (slot->peer);
  g_hash_table_unref (slot->sent);
  g_free (slot->id);
  g_free (slot);
}

/* Forgets @slot once no robot holds it, no request waits and the grace is over. */
static void
slot_maybe_remove (Slot *slot, gint64 now)
{
  if (slot->conn || g_hash_table_size (slot->sent) || !g_queue_is_empty (&slot->waiting)
      || now - slot->left_at < GRACE_US)
    return;
  g_hash_table_remove (slot->owner->slots, slot->id);
}

static void
pending_free (Pending *p)
{
  g_clear_handle_id (&p->timeout_id, g_source_remove);
  g_signal_handlers_disconnect_by_data (p->msg, p);
  g_object_unref (p->msg);
  g_free (p->request);
  g_free (p->body);
  g_free (p->token);
  g_free (p);
}

/* Replies to @p's client (unless it left) and forgets @p. */
static void
pending_finish (Pending *p, guint status, const char *content_type, const char *body)
{
  Slot *slot = p->slot;

  if (!g_hash_table_remove (slot->sent, p->request))
    g_queue_remove (&slot->waiting, p);
  if (status == SOUP_STATUS_OK)
    slot->owner->answered++;
  else
    slot->owner->failed++;
  if (!p->gone)
    {
      reply (p->msg, status, content_type, body);
      soup_server_message_unpause (p->msg);
    }
  pending_free (p);
  slot_maybe_remove (slot, g_get_monotonic_time ());
}

static void
pending_fail (Pending *p, guint status, const char *message)
{
  g_autofree char *json = rtcbotd_signaling_error_json (message);

  pending_finish (p, status, "application/json", json);
}

/* Main context: RTCBOTD_RELAY_ANSWER_TIMEOUT_S after the POST. */
/* A connection already closing (our close sent, or theirs received) must not
 * be closed again: libsoup checks that with g_return_if_fail. */
static void
close_if_open (SoupWebsocketConnection *conn, gushort code, const char *reason)
{
  if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (conn, code, reason);
}

static gboolean
on_pending_timeout (gpointer user_data)
{
  Pending *p = user_data;
  Slot *slot = p->slot;
  gboolean was_sent = g_hash_table_contains (slot->sent, p->request);
  /* An RTCBot robot serves one exchange per socket: a late answer would be taken for the next. */
  g_autoptr (SoupWebsocketConnection) stale
      = was_sent && slot->conn && !slot->multiplex ? g_object_ref (slot->conn) : NULL;

  p->timeout_id = 0;
  g_message ("%s: request %s: no answer within %d s", slot->id, p->request,
             RTCBOTD_RELAY_ANSWER_TIMEOUT_S);
  /* May forget the slot: not used after this. */
  pending_fail (p, SOUP_STATUS_GATEWAY_TIMEOUT,
                was_sent ? "the robot did not answer in time" : "no robot came back in time");
  if (stale)
    close_if_open (stale, SOUP_WEBSOCKET_CLOSE_NORMAL, "timeout");
  return G_SOURCE_REMOVE;
}

/* The client's connection went away; main context. */
static void
on_client_gone (SoupServerMessage *msg, gpointer user_data)
{
  ((Pending *)user_data)->gone = TRUE;
}

static gboolean
conn_open (Slot *slot)
{
  return slot->conn
         && soup_websocket_connection_get_state (slot->conn) == SOUP_WEBSOCKET_STATE_OPEN;
}

/* Hands waiting requests to the robot: all of them when it multiplexes, else
 * one at a time, as an RTCBot robot answers one offer per socket. */
static void
slot_dispatch (Slot *slot)
{
  while (conn_open (slot) && !g_queue_is_empty (&slot->waiting)
         && (slot->multiplex || g_hash_table_size (slot->sent) == 0))
    {
      Pending *p = g_queue_pop_head (&slot->waiting);
      g_autofree char *envelope = NULL;

      g_hash_table_insert (slot->sent, p->request, p);
      if (slot->multiplex)
        envelope = rtcbotd_relay_offer_json (p->request, p->body, p->token);
      soup_websocket_connection_send_text (slot->conn, envelope ? envelope : p->body);
      g_debug ("%s: request %s sent to the robot", slot->id, p->request);
    }
}

/* ---- robots ---------------------------------------------------------- */

static void
robot_message_multiplex (Slot *slot, const char *text, gsize length)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdRelayMessage) m = rtcbotd_relay_message_parse (text, length, &error);
  Pending *p;

  if (!m || m->kind == RTCBOTD_RELAY_OFFER)
    {
      g_message ("%s: robot %s: %s; ignored", slot->id, slot->peer,
                 m ? "sent an offer envelope" : error->message);
      return;
    }
  if (!(p = g_hash_table_lookup (slot->sent, m->request)))
    {
      g_debug ("%s: answer for request %s, which waits no more", slot->id, m->request);
      return;
    }
  if (m->kind == RTCBOTD_RELAY_ANSWER)
    pending_finish (p, SOUP_STATUS_OK, "application/json", m->body);
  else
    {
      /* max-peers: as the daemon says on /connect. */
      if (m->status == SOUP_STATUS_SERVICE_UNAVAILABLE)
        soup_message_headers_replace (soup_server_message_get_response_headers (p->msg),
                                      "Retry-After", "5");
      pending_fail (p, m->status, m->error);
    }
}

/* A frame from a robot; main context. */
static void
on_robot_message (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer user_data)
{
  Slot *slot = user_data;
  gsize length;
  const char *data = g_bytes_get_data (message, &length);
  g_autofree char *text = NULL;
  GHashTableIter iter;
  gpointer p = NULL;

  /* Frames that arrive after we closed (an RTCBot robot's extra frame) answer nothing. */
  if (conn != slot->conn || soup_websocket_connection_get_state (conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  slot->last_heard = g_get_monotonic_time ();
  if (type != SOUP_WEBSOCKET_DATA_TEXT || !g_utf8_validate_len (data, length, NULL))
    {
      g_message ("%s: robot %s sent a frame that is not text; ignored", slot->id, slot->peer);
      return;
    }
  text = g_strndup (data, length);
  if (slot->multiplex)
    {
      robot_message_multiplex (slot, text, length);
      return;
    }
  /* RTCBot's protocol: the one message is the answer, and ends the session. */
  g_hash_table_iter_init (&iter, slot->sent);
  if (g_hash_table_iter_next (&iter, NULL, &p))
    pending_finish (p, SOUP_STATUS_OK, "application/json", text);
  else
    g_message ("%s: robot %s answered no request; closing, as RTCBot's relay does", slot->id,
               slot->peer);
  close_if_open (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
}

static void
on_robot_pong (SoupWebsocketConnection *conn, GBytes *message, gpointer user_data)
{
  Slot *slot = user_data;

  if (conn == slot->conn)
    slot->last_heard = g_get_monotonic_time ();
}

static void
on_robot_error (SoupWebsocketConnection *conn, GError *error, gpointer user_data)
{
  Slot *slot = user_data;

  g_message ("%s: robot %s: %s", slot->id, slot->peer, error->message);
}

/* Fails what the robot was asked and has not answered. */
static void
fail_sent (Slot *slot, const char *message)
{
  GList *sent = g_hash_table_get_values (slot->sent);

  for (GList *l = sent; l; l = l->next)
    pending_fail (l->data, SOUP_STATUS_BAD_GATEWAY, message);
  g_list_free (sent);
}

/* A replaced robot's socket is gone; main context. */
static void
on_replaced_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  g_signal_handlers_disconnect_by_func (conn, on_replaced_closed, user_data);
  g_object_unref (conn);
}

/* A robot's socket is gone; main context. Its slot may outlive it (grace, waiting POSTs). */
static void
on_robot_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  Slot *slot = user_data;

  g_signal_handlers_disconnect_by_data (conn, slot);
  g_message ("%s: robot %s left (close code %u)", slot->id, slot->peer,
             soup_websocket_connection_get_close_code (conn));
  g_clear_object (&slot->conn);
  slot->left_at = g_get_monotonic_time ();
  /* Kept for a moment: the slot, and the robot's queue, may go with it. */
  fail_sent (slot, "the robot went away before answering");
  slot_maybe_remove (slot, slot->left_at);
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

/* A new robot for @slot while its old socket is still there: one with the
 * secret (only such a robot gets here while the id is held), or the old
 * socket is closing (an RTCBot robot that reconnects at once after its
 * exchange can be quicker than the close). */
static void
replace_robot (Slot *slot, const char *peer)
{
  SoupWebsocketConnection *old;

  if (conn_open (slot))
    g_message ("%s: robot %s replaces robot %s", slot->id, peer, slot->peer);
  /* While the slot still has a socket: failing the last request cannot forget it. */
  fail_sent (slot, "the robot went away before answering");
  old = g_steal_pointer (&slot->conn);
  g_signal_handlers_disconnect_by_data (old, slot);
  if (soup_websocket_connection_get_state (old) == SOUP_WEBSOCKET_STATE_CLOSED)
    {
      g_object_unref (old);
      return;
    }
  /* The reference goes when the old socket is closed. */
  g_signal_connect (old, "closed", G_CALLBACK (on_replaced_closed), NULL);
  if (soup_websocket_connection_get_state (old) == SOUP_WEBSOCKET_STATE_OPEN)
    close_if_open (old, CLOSE_REPLACED, "replaced");
}

static void
robot_arrived (RtcbotdRelayServer *self, const char *id, SoupWebsocketConnection *conn,
               const char *peer)
{
  Slot *slot = slot_get (self, id);
  const char *protocol = soup_websocket_connection_get_protocol (conn);

  if (slot->conn)
    replace_robot (slot, peer);
  slot->conn = g_object_ref (conn);
  g_free (slot->peer);
  slot->peer = g_strdup (peer);
  slot->multiplex = g_strcmp0 (protocol, RTCBOTD_RELAY_SUBPROTOCOL) == 0;
  slot->last_heard = g_get_monotonic_time ();
  soup_websocket_connection_set_max_incoming_payload_size (conn, RTCBOTD_RELAY_MAX_MESSAGE);
  /* libsoup 3.2 reassembles a message sent in fragments without a limit; 3.8 has one. */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (conn), "max-total-message-size"))
    g_object_set (conn, "max-total-message-size", (guint64)RTCBOTD_RELAY_MAX_MESSAGE, NULL);
  soup_websocket_connection_set_keepalive_interval (conn, KEEPALIVE_S);
  g_signal_connect (conn, "message", G_CALLBACK (on_robot_message), slot);
  g_signal_connect (conn, "pong", G_CALLBACK (on_robot_pong), slot);
  g_signal_connect (conn, "error", G_CALLBACK (on_robot_error), slot);
  g_signal_connect (conn, "closed", G_CALLBACK (on_robot_closed), slot);
  if (slot->multiplex || g_queue_is_empty (&slot->waiting))
    g_message ("%s: robot %s connected (%s)", id, peer,
               slot->multiplex ? RTCBOTD_RELAY_SUBPROTOCOL ": one socket for many clients"
                               : "RTCBot protocol: one exchange per socket");
  else
    g_debug ("%s: robot %s is back; %u request(s) wait", id, peer, slot->waiting.length);
  slot_dispatch (slot);
}

/* The 101 is written: the connection is the robot's websocket now; main context. */
static void
on_upgraded (SoupServerMessage *msg, gpointer user_data)
{
  RtcbotdRelayServer *self = user_data;
  GUri *uri = soup_server_message_get_uri (msg);
  g_autofree char *peer = describe_address (soup_server_message_get_remote_address (msg));
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (SoupWebsocketConnection) conn = NULL;
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);

  g_signal_handlers_disconnect_by_func (msg, on_upgraded, user_data);
  stream = soup_server_message_steal_connection (msg);
  conn = soup_websocket_connection_new (
      stream, uri, SOUP_WEBSOCKET_CONNECTION_SERVER,
      soup_message_headers_get_one (request, "Origin"),
      soup_message_headers_get_one (response, "Sec-WebSocket-Protocol"), NULL);
  robot_arrived (self, g_uri_get_path (uri) + 1, conn, peer);
}

/* ---- HTTP ------------------------------------------------------------ */

/* Who may hold @id: 0 when the robot may, else the HTTP status that refuses it. */
static guint
robot_allowed (RtcbotdRelayServer *self, SoupServerMessage *msg, const char *id, GHashTable *query,
               gboolean *proven)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *secret;
  g_autofree char *presented = NULL;

  *proven = FALSE;
  if (!self->secrets)
    return 0;
  if (!(secret = g_hash_table_lookup (self->secrets, id)))
    return SOUP_STATUS_FORBIDDEN;
  presented
      = rtcbotd_access_find_token (soup_message_headers_get_one (headers, "Authorization"),
                                   query ? g_hash_table_lookup (query, "secret") : NULL, NULL);
  if (!presented)
    return SOUP_STATUS_UNAUTHORIZED;
  if (!rtcbotd_access_token_equal (presented, secret))
    return SOUP_STATUS_FORBIDDEN;
  *proven = TRUE;
  return 0;
}

static void
serve_robot (RtcbotdRelayServer *self, SoupServerMessage *msg, const char *id, GHashTable *query)
{
  char *protocols[] = { (char *)RTCBOTD_RELAY_SUBPROTOCOL, NULL };
  g_autoptr (GError) error = NULL;
  Slot *slot = g_hash_table_lookup (self->slots, id);
  gboolean proven;
  guint refused;

  if (!soup_websocket_server_check_handshake (msg, NULL, protocols, NULL, &error))
    {
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, error->message);
      return;
    }
  if ((refused = robot_allowed (self, msg, id, query, &proven)))
    {
      g_autofree char *peer = describe_address (soup_server_message_get_remote_address (msg));
      g_message ("%s: refused robot %s: %s", id, peer,
                 refused == SOUP_STATUS_UNAUTHORIZED ? "no secret" : "wrong secret or id");
      if (refused == SOUP_STATUS_UNAUTHORIZED)
        soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                      "WWW-Authenticate", "Bearer realm=\"rtcbotd-relay\"");
      reply_error (msg, refused,
                   refused == SOUP_STATUS_UNAUTHORIZED
                       ? "this id needs its secret (Authorization: Bearer SECRET)"
                       : "wrong secret, or an id this relay does not serve");
      return;
    }
  /* Without a secret nothing proves the newcomer is the same robot: RTCBot's
   * 409. A socket that is closing holds the id no more. */
  if (slot && conn_open (slot) && !proven)
    {
      reply (msg, SOUP_STATUS_CONFLICT, "text/plain", "Already have a connection here");
      return;
    }
  soup_websocket_server_process_handshake (msg, NULL, protocols, NULL, NULL);
  if (soup_server_message_get_status (msg) == SOUP_STATUS_SWITCHING_PROTOCOLS)
    g_signal_connect (msg, "wrote-informational", G_CALLBACK (on_upgraded), self);
}

static void
serve_post (RtcbotdRelayServer *self, SoupServerMessage *msg, const char *id, GHashTable *query)
{
  GByteArray *body = g_object_get_data (G_OBJECT (msg), BODY_KEY);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  Slot *slot = g_hash_table_lookup (self->slots, id);
  Pending *p;

  if (!slot || (!slot->conn && g_get_monotonic_time () - slot->left_at >= GRACE_US))
    {
      self->failed++;
      reply_error (msg, SOUP_STATUS_NOT_FOUND, "No connection is active here");
      return;
    }
  if (!body || g_object_get_data (G_OBJECT (msg), TOO_LARGE_KEY))
    {
      reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "request body over 256 KiB");
      return;
    }
  if (slot->waiting.length + g_hash_table_size (slot->sent) >= MAX_PENDING)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                    "5");
      reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
                   "too many offers wait for this robot; try again later");
      return;
    }
  if (body->len == 0 || !g_utf8_validate_len ((const char *)body->data, body->len, NULL)
      || memchr (body->data, '\0', body->len))
    {
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, "the body must be an offer as UTF-8 text");
      return;
    }
  p = g_new0 (Pending, 1);
  p->slot = slot;
  p->msg = g_object_ref (msg);
  p->request = g_strdup_printf ("%" G_GUINT64_FORMAT, ++self->next_request);
  p->body = g_strndup ((const char *)body->data, body->len);
  p->token = rtcbotd_access_find_token (soup_message_headers_get_one (headers, "Authorization"),
                                        query ? g_hash_table_lookup (query, "token") : NULL, NULL);
  p->timeout_id = g_timeout_add_seconds (RTCBOTD_RELAY_ANSWER_TIMEOUT_S, on_pending_timeout, p);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_client_gone), p);
  soup_server_message_pause (msg);
  g_queue_push_tail (&slot->waiting, p);
  slot_dispatch (slot);
}

static void
serve_health (RtcbotdRelayServer *self, SoupServerMessage *msg)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;
  guint waiting = 0;
  GHashTableIter iter;
  gpointer slot;

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, &slot))
    waiting += ((Slot *)slot)->waiting.length + g_hash_table_size (((Slot *)slot)->sent);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, "ok");
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, RTCBOTD_VERSION);
  json_builder_set_member_name (b, "robots");
  json_builder_add_int_value (b, rtcbotd_relay_server_get_n_robots (self));
  json_builder_set_member_name (b, "requests-waiting");
  json_builder_add_int_value (b, waiting);
  json_builder_set_member_name (b, "answered");
  json_builder_add_int_value (b, self->answered);
  json_builder_set_member_name (b, "failed");
  json_builder_add_int_value (b, self->failed);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json = json_to_string (root, FALSE);
  reply (msg, SOUP_STATUS_OK, "application/json", json);
}

static void
serve_preflight (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "Access-Control-Allow-Methods", "POST");
  soup_message_headers_replace (headers, "Access-Control-Allow-Headers",
                                "Content-Type, Authorization");
  soup_message_headers_replace (headers, "Access-Control-Max-Age", "600");
  reply (msg, SOUP_STATUS_NO_CONTENT, "text/plain", "");
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  RtcbotdRelayServer *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *id = path + 1;
  gboolean is_get = g_str_equal (method, "GET") || g_str_equal (method, "HEAD");

  if (g_str_equal (path, "/healthz") && is_get)
    serve_health (self, msg);
  else if (g_str_equal (path, "/") && is_get)
    reply (msg, SOUP_STATUS_OK, "text/plain; charset=utf-8",
           "rtcbotd relay: robots hold a websocket at /ID, clients POST offers to /ID "
           "(docs/protocol.md)\n");
  else if (*path != '/' || !rtcbotd_relay_check_id (id, NULL) || g_str_equal (path, "/favicon.ico"))
    reply_error (msg, SOUP_STATUS_NOT_FOUND, "no such page");
  else if (g_str_equal (method, "POST"))
    serve_post (self, msg, id, query);
  else if (g_str_equal (method, "OPTIONS"))
    serve_preflight (msg);
  else if (is_get && soup_message_headers_header_contains (headers, "Connection", "Upgrade"))
    serve_robot (self, msg, id, query);
  else if (is_get)
    reply (msg, SOUP_STATUS_OK, "text/html; charset=utf-8", VIEWER_PAGE);
  else
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "GET, POST, OPTIONS");
      reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed here");
    }
}

/* Keeps at most RTCBOTD_RELAY_MAX_MESSAGE bytes of a body, whatever the client sends. */
static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  GByteArray *body = g_object_get_data (G_OBJECT (msg), BODY_KEY);

  if (body->len + g_bytes_get_size (chunk) > RTCBOTD_RELAY_MAX_MESSAGE)
    g_object_set_data (G_OBJECT (msg), TOO_LARGE_KEY, GINT_TO_POINTER (TRUE));
  else
    g_byte_array_append (body, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
}

/* Headers are in, the body is not: refuse what is too large before reading it. */
static void
early_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  /* Without "Expect: 100-continue" libsoup reads the whole body even after
   * the 413: never accumulate it, or Content-Length: 10 GB is 10 GB of memory. */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_object_set_data_full (G_OBJECT (msg), BODY_KEY, g_byte_array_new (),
                          (GDestroyNotify)g_byte_array_unref);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), NULL);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (headers) > RTCBOTD_RELAY_MAX_MESSAGE)
    {
      g_object_set_data (G_OBJECT (msg), TOO_LARGE_KEY, GINT_TO_POINTER (TRUE));
      reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "request body over 256 KiB");
    }
}

/* No robot came back to @slot: what waits for one gets RTCBot's 404 now.
 * Frees @slot. */
static void
refuse_waiting (Slot *slot, gint64 now)
{
  GList *waiting = g_list_copy (slot->waiting.head);

  if (!waiting)
    slot_maybe_remove (slot, now);
  /* The last one's reply forgets the slot. */
  for (GList *l = waiting; l; l = l->next)
    pending_fail (l->data, SOUP_STATUS_NOT_FOUND, "No connection is active here");
  g_list_free (waiting);
}

/* Main context, every SWEEP_S: closes robots that stopped answering pings,
 * refuses what waits for a robot that did not come back, forgets ids whose
 * grace is over. */
static gboolean
on_sweep (gpointer user_data)
{
  RtcbotdRelayServer *self = user_data;
  gint64 now = g_get_monotonic_time ();
  GList *slots = g_hash_table_get_values (self->slots);

  for (GList *l = slots; l; l = l->next)
    {
      Slot *slot = l->data;
      if (conn_open (slot) && now - slot->last_heard > DEAD_US)
        {
          g_message ("%s: robot %s silent for %d s; closing", slot->id, slot->peer,
                     (int)(DEAD_US / G_USEC_PER_SEC));
          close_if_open (slot->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
        }
      else if (!slot->conn && now - slot->left_at >= GRACE_US)
        refuse_waiting (slot, now);
    }
  g_list_free (slots);
  return G_SOURCE_CONTINUE;
}

RtcbotdRelayServer *
rtcbotd_relay_server_new (void)
{
  RtcbotdRelayServer *self = g_new0 (RtcbotdRelayServer, 1);

  self->server = soup_server_new ("server-header", "rtcbotd-relay ", NULL);
  self->slots = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)slot_free);
  soup_server_add_early_handler (self->server, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->server, NULL, handler, self, NULL);
  self->sweep_id = g_timeout_add_seconds (SWEEP_S, on_sweep, self);
  return self;
}

/* GHFunc over a slot's sent table (request id → Pending): frees the value. */
static void
free_sent (gpointer request, gpointer pending, gpointer user_data)
{
  pending_free (pending);
}

void
rtcbotd_relay_server_free (RtcbotdRelayServer *self)
{
  GList *slots;

  if (!self)
    return;
  g_clear_handle_id (&self->sweep_id, g_source_remove);
  soup_server_disconnect (self->server);
  slots = g_hash_table_get_values (self->slots);
  for (GList *l = slots; l; l = l->next)
    {
      Slot *slot = l->data;
      while (!g_queue_is_empty (&slot->waiting))
        pending_free (g_queue_pop_head (&slot->waiting));
      g_hash_table_foreach (slot->sent, free_sent, NULL);
      g_hash_table_remove_all (slot->sent);
      if (slot->conn)
        {
          g_signal_handlers_disconnect_by_data (slot->conn, slot);
          close_if_open (slot->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
        }
    }
  g_list_free (slots);
  g_hash_table_unref (self->slots);
  g_clear_pointer (&self->secrets, g_hash_table_unref);
  g_clear_object (&self->server);
  g_free (self);
}

gboolean
rtcbotd_relay_server_load_secrets (RtcbotdRelayServer *self, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local_error = NULL;
  GHashTable *secrets;

  if (!g_file_get_contents (path, &text, NULL, &local_error))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "--secrets: %s",
                   local_error->message);
      return FALSE;
    }
  if (!(secrets = rtcbotd_relay_parse_secrets (text, path, error)))
    return FALSE;
  g_clear_pointer (&self->secrets, g_hash_table_unref);
  self->secrets = secrets;
  g_message ("%s: %u robot id(s) with a secret; other ids are refused", path,
             g_hash_table_size (secrets));
  return TRUE;
}

gboolean
rtcbotd_relay_server_listen (RtcbotdRelayServer *self, const char *host, guint16 port,
                             GTlsCertificate *certificate, GError **error)
{
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string (host, port);
  g_autoptr (GError) local_error = NULL;
  SoupServerListenOptions options = 0;
  GSList *uris;

  if (!address)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_USAGE,
                   "--listen: \"%s\" is not an IP address", host);
      return FALSE;
    }
  if (certificate)
    {
      g_object_set (self->server, "tls-certificate", certificate, NULL);
      options |= SOUP_SERVER_LISTEN_HTTPS;
    }
  if (!soup_server_listen (self->server, address, options, &local_error))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INTERNAL, "cannot listen on %s:%u: %s", host,
                   port, local_error->message);
      return FALSE;
    }
  uris = soup_server_get_uris (self->server);
  for (GSList *l = uris; l; l = l->next)
    {
      g_autofree char *uri = g_uri_to_string (l->data);
      g_message ("listening on %s", uri);
    }
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  return TRUE;
}

guint
rtcbotd_relay_server_get_n_robots (RtcbotdRelayServer *self)
{
  GHashTableIter iter;
  gpointer slot;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, &slot))
    n += ((Slot *)slot)->conn != NULL;
  return n;
}
