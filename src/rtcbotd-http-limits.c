/* rtcbotd-http-limits.c — what one HTTP client may make the daemon hold. */
#include "rtcbotd-http-limits.h"

#include "rtcbotd-http.h"

#define DEADLINE_KEY "rtcbotd-deadline" /* Deadline of a request not yet in */
#define SLOT_KEY "rtcbotd-offer-slot"   /* Slot of an offer not yet answered */
#define ACTIVE_KEY "rtcbotd-active"     /* a request's Hold on its Conn */
#define RETRY_AFTER "2"                 /* seconds: an answer takes about one */

struct _RtcbotdHttpLimits
{
  GHashTable *by_client; /* remote host -> GUINT_TO_POINTER (slots it holds) */
  GHashTable *conns;     /* GSocket -> Conn, the connections watched */
  guint pending;
  guint64 refused_all;    /* RTCBOTD_HTTP_MAX_PENDING_OFFERS reached */
  guint64 refused_client; /* RTCBOTD_HTTP_MAX_PENDING_OFFERS_PER_CLIENT reached */
  guint64 timed_out;
  guint64 idle_closed;
};

/* A client connection: between requests, a keep-alive connection may idle
 * for as long as a request may take. Kept in a table of ours, not as data
 * of the GSocket: libsoup 3.2 does not always finalize its sockets. */
typedef struct
{
  RtcbotdHttpLimits *limits; /* not owned: its table holds the Conn */
  GSocket *socket;
  guint active; /* requests started, not finished */
  guint idle_id;
  gboolean upgraded; /* a websocket now: its own keepalive applies */
} Conn;

typedef struct
{
  RtcbotdHttpLimits *limits;
  SoupServerMessage *msg; /* not owned: the deadline is its data */
  guint id;
} Deadline;

typedef struct
{
  RtcbotdHttpLimits *limits;
  char *client;
} Slot;

static void conn_unref (Conn *conn);

static void
clear (RtcbotdHttpLimits *self)
{
  g_hash_table_unref (self->by_client);
  g_hash_table_unref (self->conns);
}

RtcbotdHttpLimits *
rtcbotd_http_limits_new (void)
{
  RtcbotdHttpLimits *self = g_rc_box_new0 (RtcbotdHttpLimits);

  self->by_client = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->conns = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify)conn_unref);
  return self;
}

void
rtcbotd_http_limits_unref (RtcbotdHttpLimits *self)
{
  g_rc_box_release_full (self, (GDestroyNotify)clear);
}

static const char *
client_of (SoupServerMessage *msg)
{
  const char *host = soup_server_message_get_remote_host (msg);

  return host ? host : "(unknown)";
}

/* ---- the deadline ------------------------------------------------------- */

static void
deadline_free (Deadline *d)
{
  g_clear_handle_id (&d->id, g_source_remove);
  rtcbotd_http_limits_unref (d->limits);
  g_free (d);
}

/* Main context: the request is still not in. Shutting the socket down (not
 * closing it, which libsoup owns) makes libsoup's next read fail, and it
 * drops the connection and the message as for any client that left. */
static gboolean
on_deadline (gpointer user_data)
{
  Deadline *d = user_data;
  GSocket *socket = soup_server_message_get_socket (d->msg);

  d->id = 0;
  if (d->limits->timed_out++ == 0)
    g_message ("HTTP client %s: no complete request within %d s; closed its connection "
               "(later ones are logged at debug level and counted in /metrics)",
               client_of (d->msg), RTCBOTD_HTTP_REQUEST_TIMEOUT_S);
  else
    g_debug ("HTTP client %s: no complete request within %d s; closed its connection",
             client_of (d->msg), RTCBOTD_HTTP_REQUEST_TIMEOUT_S);
  if (socket)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

/* Main context: the request is in (or over); its deadline goes. */
static void
on_request_in (SoupServerMessage *msg, gpointer user_data)
{
  g_object_set_data (G_OBJECT (msg), DEADLINE_KEY, NULL);
}

/* ---- idle keep-alive connections ---------------------------------------- */

/* Reference-counted: the table (while the connection is watched) and each of
 * its requests' Holds. */
static void
conn_clear (Conn *conn)
{
  g_clear_handle_id (&conn->idle_id, g_source_remove);
  g_object_unref (conn->socket);
}

static void
conn_unref (Conn *conn)
{
  g_rc_box_release_full (conn, (GDestroyNotify)conn_clear);
}

/* Main context: no request on the connection for the whole timeout. libsoup
 * starts the next request of a keep-alive connection only when its first
 * bytes arrive, so the request deadline does not cover this wait. The
 * connection is forgotten either way: closed by the client (its socket is
 * then closed already) or by us. */
static gboolean
on_idle (gpointer user_data)
{
  Conn *conn = user_data;

  conn->idle_id = 0;
  if (!g_socket_is_closed (conn->socket))
    {
      conn->limits->idle_closed++;
      g_debug ("HTTP: closed a keep-alive connection idle for %d s",
               RTCBOTD_HTTP_REQUEST_TIMEOUT_S);
      g_socket_shutdown (conn->socket, TRUE, TRUE, NULL);
    }
  g_hash_table_remove (conn->limits->conns, conn->socket);
  return G_SOURCE_REMOVE;
}

/* A request's hold on its connection (the data of ACTIVE_KEY), until it finishes. */
typedef struct
{
  RtcbotdHttpLimits *limits;
  Conn *conn;
} Hold;

static void
hold_free (Hold *hold)
{
  Conn *conn = hold->conn;

  if (--conn->active == 0 && !conn->upgraded && !conn->idle_id)
    conn->idle_id = g_timeout_add (RTCBOTD_HTTP_REQUEST_TIMEOUT_S * 1000, on_idle, conn);
  conn_unref (conn);
  rtcbotd_http_limits_unref (hold->limits);
  g_free (hold);
}

/* Main context: @msg wrote its 101: the connection is a websocket's from now
 * on, with its own keepalive (libsoup takes it from the server without a
 * "finished" we could rely on); it is forgotten. */
static void
on_upgraded (SoupServerMessage *msg, gpointer user_data)
{
  Hold *hold = g_object_get_data (G_OBJECT (msg), ACTIVE_KEY);

  if (!hold || soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return;
  hold->conn->upgraded = TRUE;
  g_hash_table_remove (hold->limits->conns, hold->conn->socket);
}

/* Main context: the reply is out (or the client gone). */
static void
on_finished (SoupServerMessage *msg, gpointer user_data)
{
  on_upgraded (msg, NULL);
  g_object_set_data (G_OBJECT (msg), ACTIVE_KEY, NULL);
}

/* Counts @msg as a request of its connection until it finishes. */
static void
hold_conn (RtcbotdHttpLimits *self, SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  Hold *hold;
  Conn *conn;

  if (!socket)
    return;
  if (!(conn = g_hash_table_lookup (self->conns, socket)))
    {
      conn = g_rc_box_new0 (Conn);
      conn->limits = self;
      conn->socket = g_object_ref (socket);
      g_hash_table_insert (self->conns, socket, conn);
    }
  conn->active++;
  g_clear_handle_id (&conn->idle_id, g_source_remove);
  hold = g_new0 (Hold, 1);
  hold->limits = g_rc_box_acquire (self);
  hold->conn = g_rc_box_acquire (conn);
  g_object_set_data_full (G_OBJECT (msg), ACTIVE_KEY, hold, (GDestroyNotify)hold_free);
  g_signal_connect (msg, "finished", G_CALLBACK (on_finished), NULL);
  g_signal_connect (msg, "wrote-informational", G_CALLBACK (on_upgraded), NULL);
}

void
rtcbotd_http_limits_watch (RtcbotdHttpLimits *self, SoupServerMessage *msg)
{
  Deadline *d = g_new0 (Deadline, 1);

  d->limits = g_rc_box_acquire (self);
  d->msg = msg;
  d->id = g_timeout_add (RTCBOTD_HTTP_REQUEST_TIMEOUT_S * 1000, on_deadline, d);
  g_object_set_data_full (G_OBJECT (msg), DEADLINE_KEY, d, (GDestroyNotify)deadline_free);
  /* Not at "wrote-informational": libsoup emits it for "100 Continue" too,
   * before the body a client may then never send. A websocket's GET has its
   * (empty) body in before its 101. */
  g_signal_connect (msg, "got-body", G_CALLBACK (on_request_in), NULL);
  g_signal_connect (msg, "finished", G_CALLBACK (on_request_in), NULL);
  hold_conn (self, msg);
}

/* ---- offer slots -------------------------------------------------------- */

static void
slot_free (Slot *slot)
{
  RtcbotdHttpLimits *self = slot->limits;
  guint held = GPOINTER_TO_UINT (g_hash_table_lookup (self->by_client, slot->client));

  self->pending--;
  if (held <= 1)
    g_hash_table_remove (self->by_client, slot->client);
  else
    g_hash_table_insert (self->by_client, g_strdup (slot->client), GUINT_TO_POINTER (held - 1));
  g_free (slot->client);
  rtcbotd_http_limits_unref (self);
  g_free (slot);
}

/* Main context: the reply went out (or the client is gone): the slot is free. */
static void
on_offer_finished (SoupServerMessage *msg, gpointer user_data)
{
  g_object_set_data (G_OBJECT (msg), SLOT_KEY, NULL);
}

static void
refuse (RtcbotdHttpLimits *self, SoupServerMessage *msg, const char *why)
{
  g_autofree char *message
      = g_strdup_printf ("%s are being negotiated already; try again later", why);

  if (self->refused_all + self->refused_client == 1)
    g_message ("HTTP client %s: refused an offer with 503: %s (later ones are logged at debug "
               "level and counted in /metrics)",
               client_of (msg), message);
  else
    g_debug ("HTTP client %s: refused an offer with 503: %s", client_of (msg), message);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                RETRY_AFTER);
  rtcbotd_http_reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, message);
}

gboolean
rtcbotd_http_limits_admit_offer (RtcbotdHttpLimits *self, SoupServerMessage *msg)
{
  const char *client = client_of (msg);
  guint held = GPOINTER_TO_UINT (g_hash_table_lookup (self->by_client, client));
  Slot *slot;

  if (self->pending >= RTCBOTD_HTTP_MAX_PENDING_OFFERS)
    {
      self->refused_all++;
      refuse (self, msg, G_STRINGIFY (RTCBOTD_HTTP_MAX_PENDING_OFFERS) " offers");
      return FALSE;
    }
  if (held >= RTCBOTD_HTTP_MAX_PENDING_OFFERS_PER_CLIENT)
    {
      self->refused_client++;
      refuse (self, msg,
              G_STRINGIFY (RTCBOTD_HTTP_MAX_PENDING_OFFERS_PER_CLIENT) " offers from this address");
      return FALSE;
    }
  slot = g_new0 (Slot, 1);
  slot->limits = g_rc_box_acquire (self);
  slot->client = g_strdup (client);
  self->pending++;
  g_hash_table_insert (self->by_client, g_strdup (client), GUINT_TO_POINTER (held + 1));
  g_object_set_data_full (G_OBJECT (msg), SLOT_KEY, slot, (GDestroyNotify)slot_free);
  g_signal_connect (msg, "finished", G_CALLBACK (on_offer_finished), NULL);
  return TRUE;
}

guint
rtcbotd_http_limits_get_pending (RtcbotdHttpLimits *self)
{
  return self->pending;
}

void
rtcbotd_http_limits_add_metrics (RtcbotdHttpLimits *self, RtcbotdMetrics *m)
{
  rtcbotd_metrics_gauge (m, "rtcbotd_http_offers_pending",
                         "/connect and WHEP offers being received or answered now.", self->pending,
                         NULL);
#define REFUSED(reason, value)                                                                     \
  rtcbotd_metrics_counter (m, "rtcbotd_http_offers_refused_total",                                 \
                           "Offers refused with 503 because too many were pending: in all "        \
                           "(pending), from one address (pending-client).",                        \
                           value, "reason", reason, NULL)
  REFUSED ("pending", self->refused_all);
  REFUSED ("pending-client", self->refused_client);
#undef REFUSED
  rtcbotd_metrics_counter (m, "rtcbotd_http_idle_connections_closed_total",
                           "Keep-alive connections closed after " G_STRINGIFY (
                               RTCBOTD_HTTP_REQUEST_TIMEOUT_S) " s without a request.",
                           self->idle_closed, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_http_requests_timed_out_total",
                           "Connections closed because a request was not in (headers and body) "
                           "within " G_STRINGIFY (RTCBOTD_HTTP_REQUEST_TIMEOUT_S) " s.",
                           self->timed_out, NULL);
}
