/* rtcbotd-socket.c — a unix socket where local programs publish and subscribe. */
#include "rtcbotd-socket.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rtcbotd-error.h"
#include "rtcbotd-message-bus.h"
#include "rtcbotd-writer.h"

#define READ_LIMIT (64 * 1024) /* bytes read per client per main-loop dispatch */
#define CHECK_INTERVAL_MS 500  /* how often stalled and failed clients are looked for */
#define ACCEPT_PAUSE_MS 1000   /* after accept() failed (EMFILE): the listener stays readable */
/* Bytes a client may leave unread in its socket before messages wait in its queue. */
#define SOCKET_BACKLOG (64 * 1024)

/* One connected program. */
typedef struct
{
  RtcbotdSocket *owner;
  GSocket *socket;
  int fd;
  guint watch_id; /* reading, or waiting for the hang-up once the client shut its side */
  RtcbotdSerialDecoder *decoder;
  RtcbotdWriter *writer;
  gboolean overflowed; /* lost messages since it last kept up */
  gboolean failed;     /* a write failed: disconnected at the next check */
} SocketClient;

struct _RtcbotdSocket
{
  RtcbotdEndpoint parent_instance;

  RtcbotdSerialFormat format; /* newline-delimited lines, for the client decoders */
  GSocket *listener;
  GSource *accept_source;
  guint resume_id;
  dev_t dev; /* of the socket file made by start(), which stop() removes */
  ino_t ino;
  GPtrArray *clients; /* of SocketClient */
  guint check_id;
  guint64 written_before; /* lines written to clients that are gone */
  gint64 refused_logged_at;
};

G_DEFINE_FINAL_TYPE (RtcbotdSocket, rtcbotd_socket, RTCBOTD_TYPE_ENDPOINT)

static const char *
get_label (RtcbotdSocket *self)
{
  return rtcbotd_endpoint_get_label (RTCBOTD_ENDPOINT (self));
}

static const char *
get_path (RtcbotdSocket *self)
{
  return rtcbotd_endpoint_get_config (RTCBOTD_ENDPOINT (self))->device;
}

static RtcbotdEndpointStats *
get_stats (RtcbotdSocket *self)
{
  return rtcbotd_endpoint_get_stats (RTCBOTD_ENDPOINT (self));
}

static void
client_free (SocketClient *client)
{
  g_clear_handle_id (&client->watch_id, g_source_remove);
  g_clear_pointer (&client->writer, rtcbotd_writer_free);
  g_clear_pointer (&client->decoder, rtcbotd_serial_decoder_free);
  g_socket_close (client->socket, NULL);
  g_object_unref (client->socket);
  g_free (client);
}

/* Copies the writers' counts of lines written into the endpoint's counters. */
static void
sync_sent (RtcbotdSocket *self)
{
  guint64 sent = self->written_before;

  for (guint i = 0; i < self->clients->len; i++)
    sent += rtcbotd_writer_get_written (((SocketClient *)self->clients->pdata[i])->writer);
  get_stats (self)->sent = sent;
}

static void
remove_client (RtcbotdSocket *self, SocketClient *client)
{
  sync_sent (self);
  self->written_before += rtcbotd_writer_get_written (client->writer);
  g_ptr_array_remove_fast (self->clients, client);
  g_debug ("%s: a client left, %u connected", get_label (self), self->clients->len);
}

/* Main context, from the decoder inside feed(): one line from a client. */
static void
on_client_message (JsonNode *message, gpointer user_data)
{
  SocketClient *client = user_data;

  rtcbotd_endpoint_emit (RTCBOTD_ENDPOINT (client->owner), message);
}

/* Reads at most READ_LIMIT bytes; FALSE at end of file or on an error. */
static gboolean
read_client (SocketClient *client)
{
  const RtcbotdSerialStats *stats = rtcbotd_serial_decoder_get_stats (client->decoder);
  guint64 dropped = stats->dropped;
  guint8 buffer[16 * 1024];
  gsize total = 0;
  gboolean open = TRUE;

  while (open && total < READ_LIMIT)
    {
      ssize_t n = read (client->fd, buffer, sizeof buffer);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      open = n > 0;
      if (open)
        rtcbotd_serial_decoder_feed (client->decoder, buffer, n, on_client_message, client);
      total += MAX (n, 0);
    }
  get_stats (client->owner)->dropped += stats->dropped - dropped;
  return open;
}

/* Main context: a client that shut its sending side has hung up entirely. */
static gboolean
on_client_hup (int fd, GIOCondition condition, gpointer user_data)
{
  SocketClient *client = user_data;

  client->watch_id = 0;
  remove_client (client->owner, client);
  return G_SOURCE_REMOVE;
}

/* Main context: a client sent something, or closed. */
static gboolean
on_client_readable (int fd, GIOCondition condition, gpointer user_data)
{
  SocketClient *client = user_data;

  if (read_client (client))
    return G_SOURCE_CONTINUE;
  /* A client that only shut its sending side (socat at the end of its
   * input) still gets messages until it hangs up. */
  client->watch_id = 0;
  if (condition & (G_IO_HUP | G_IO_ERR))
    remove_client (client->owner, client);
  else
    client->watch_id = g_unix_fd_add (fd, G_IO_HUP | G_IO_ERR, on_client_hup, client);
  return G_SOURCE_REMOVE;
}

/* Main context: a write to a client failed (it hung up). */
static void
on_client_write_error (GError *error, gpointer user_data)
{
  SocketClient *client = user_data;

  /* Not freed here, inside its writer: the next check removes it. */
  client->failed = TRUE;
}

/* Returns TRUE when @client has to go: gone, or stalled with messages lost. */
static gboolean
client_is_dead (RtcbotdSocket *self, SocketClient *client, gint64 now)
{
  gint64 stalled_since = rtcbotd_writer_get_stalled_since (client->writer);

  if (client->failed)
    return TRUE;
  if (!stalled_since)
    client->overflowed = FALSE;
  if (!client->overflowed || now - stalled_since < RTCBOTD_SOCKET_STALL_SECONDS * G_USEC_PER_SEC)
    return FALSE;
  g_message ("%s: dropped a client that stopped reading for %d s", get_label (self),
             RTCBOTD_SOCKET_STALL_SECONDS);
  return TRUE;
}

/* Main context: every CHECK_INTERVAL_MS while clients are connected. */
static gboolean
on_check (gpointer user_data)
{
  RtcbotdSocket *self = user_data;
  gint64 now = g_get_monotonic_time ();

  for (guint i = self->clients->len; i > 0; i--)
    {
      SocketClient *client = self->clients->pdata[i - 1];
      if (client_is_dead (self, client, now))
        remove_client (self, client);
    }
  if (self->clients->len)
    return G_SOURCE_CONTINUE;
  self->check_id = 0;
  return G_SOURCE_REMOVE;
}

static void
add_client (RtcbotdSocket *self, GSocket *socket)
{
  const RtcbotdEndpointConfig *config = rtcbotd_endpoint_get_config (RTCBOTD_ENDPOINT (self));
  SocketClient *client = g_new0 (SocketClient, 1);

  client->owner = self;
  client->socket = g_object_ref (socket);
  client->fd = g_socket_get_fd (socket);
  g_unix_set_fd_nonblocking (client->fd, TRUE, NULL);
  client->writer = rtcbotd_writer_new (client->fd, config->overflow, config->queue_length,
                                       on_client_write_error, client);
  rtcbotd_writer_set_backlog_limit (client->writer, SOCKET_BACKLOG, TIOCOUTQ);
  client->decoder = rtcbotd_serial_decoder_new (&self->format);
  client->watch_id
      = g_unix_fd_add (client->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_client_readable, client);
  g_ptr_array_add (self->clients, client);
  if (!self->check_id)
    self->check_id = g_timeout_add (CHECK_INTERVAL_MS, on_check, self);
  g_debug ("%s: a client connected, %u connected", get_label (self), self->clients->len);
}

static void
refuse_client (RtcbotdSocket *self, GSocket *socket)
{
  gint64 now = g_get_monotonic_time ();

  g_socket_close (socket, NULL);
  /* Once a second at most: a program may retry in a loop. */
  if (now - self->refused_logged_at < G_USEC_PER_SEC)
    return;
  self->refused_logged_at = now;
  g_message ("%s: refused a client: %d clients are connected already", get_label (self),
             RTCBOTD_SOCKET_MAX_CLIENTS);
}

static gboolean on_incoming (GSocket *listener, GIOCondition condition, gpointer user_data);

static void
watch_listener (RtcbotdSocket *self)
{
  self->accept_source = g_socket_create_source (self->listener, G_IO_IN, NULL);
  g_source_set_callback (self->accept_source, G_SOURCE_FUNC (on_incoming), self, NULL);
  g_source_attach (self->accept_source, NULL);
}

/* Main context: the pause after a failed accept() is over. */
static gboolean
on_resume (gpointer user_data)
{
  RtcbotdSocket *self = user_data;

  self->resume_id = 0;
  watch_listener (self);
  return G_SOURCE_REMOVE;
}

/* Main context: clients wait to be accepted. */
static gboolean
on_incoming (GSocket *listener, GIOCondition condition, gpointer user_data)
{
  RtcbotdSocket *self = user_data;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < RTCBOTD_SOCKET_MAX_CLIENTS; i++)
    {
      g_autoptr (GSocket) socket = g_socket_accept (listener, NULL, &error);

      if (!socket && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      if (!socket)
        {
          g_message ("%s: cannot accept a client: %s", get_label (self), error->message);
          g_clear_pointer (&self->accept_source, g_source_unref);
          self->resume_id = g_timeout_add (ACCEPT_PAUSE_MS, on_resume, self);
          return G_SOURCE_REMOVE;
        }
      if (self->clients->len >= RTCBOTD_SOCKET_MAX_CLIENTS)
        refuse_client (self, socket);
      else
        add_client (self, socket);
    }
  return G_SOURCE_CONTINUE;
}

G_GNUC_PRINTF (3, 4)
static gboolean
listen_error (RtcbotdSocket *self, GError **error, const char *format, ...)
{
  g_autofree char *cause = NULL;
  va_list args;

  va_start (args, format);
  cause = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INTERNAL, "%s: cannot listen on %s: %s",
               get_label (self), get_path (self), cause);
  return FALSE;
}

/* Returns TRUE when nobody listens on the socket at @path (a daemon died). */
static gboolean
probe_stale (RtcbotdSocket *self, const char *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr (GSocket) probe = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_DEFAULT, &local_error);

  if (!probe)
    return listen_error (self, error, "%s", local_error->message);
  g_socket_set_blocking (probe, FALSE);
  if (g_socket_connect (probe, address, NULL, &local_error)
      || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PENDING)
      || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return listen_error (self, error, "another program is listening on it");
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
      || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return TRUE;
  return listen_error (self, error, "%s", local_error->message);
}

/* Makes room for the socket: a stale one is removed, anything else is an error. */
static gboolean
prepare_path (RtcbotdSocket *self, const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct stat st;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return listen_error (self, error, "the directory %s does not exist", dir);
  if (lstat (path, &st) < 0)
    return errno == ENOENT || listen_error (self, error, "%s", g_strerror (errno));
  if (!S_ISSOCK (st.st_mode))
    return listen_error (self, error,
                         "the path exists and is not a socket; remove it or choose another path");
  if (!probe_stale (self, path, error))
    return FALSE;
  if (unlink (path) < 0 && errno != ENOENT)
    return listen_error (self, error, "cannot remove the stale socket: %s", g_strerror (errno));
  g_message ("%s: removed the stale socket %s", get_label (self), path);
  return TRUE;
}

static gboolean
bind_and_listen (RtcbotdSocket *self, const char *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_DEFAULT, &local_error);
  struct stat st;

  if (!socket || !g_socket_bind (socket, address, FALSE, &local_error))
    return listen_error (self, error, "%s", local_error->message);
  if (chmod (path, 0660) < 0 || lstat (path, &st) < 0)
    {
      int code = errno;
      unlink (path);
      return listen_error (self, error, "%s", g_strerror (code));
    }
  if (!g_socket_listen (socket, &local_error))
    {
      unlink (path);
      return listen_error (self, error, "%s", local_error->message);
    }
  g_socket_set_blocking (socket, FALSE);
  self->dev = st.st_dev;
  self->ino = st.st_ino;
  self->listener = g_steal_pointer (&socket);
  return TRUE;
}

static gboolean
rtcbotd_socket_start (RtcbotdEndpoint *endpoint, GError **error)
{
  RtcbotdSocket *self = RTCBOTD_SOCKET (endpoint);
  const char *path = get_path (self);

  if (self->listener)
    return TRUE;
  if (!prepare_path (self, path, error) || !bind_and_listen (self, path, error))
    return FALSE;
  watch_listener (self);
  g_debug ("%s: listening on %s", get_label (self), path);
  rtcbotd_endpoint_set_up (endpoint);
  return TRUE;
}

/* Removes the socket file, unless another program has replaced it since. */
static void
remove_socket_file (RtcbotdSocket *self)
{
  const char *path = get_path (self);
  struct stat st;

  if (lstat (path, &st) == 0 && st.st_dev == self->dev && st.st_ino == self->ino)
    unlink (path);
}

static void
rtcbotd_socket_stop (RtcbotdEndpoint *endpoint)
{
  RtcbotdSocket *self = RTCBOTD_SOCKET (endpoint);

  if (!self->listener)
    return;
  sync_sent (self);
  for (guint i = 0; i < self->clients->len; i++)
    self->written_before
        += rtcbotd_writer_get_written (((SocketClient *)self->clients->pdata[i])->writer);
  g_ptr_array_set_size (self->clients, 0);
  g_clear_handle_id (&self->check_id, g_source_remove);
  g_clear_handle_id (&self->resume_id, g_source_remove);
  if (self->accept_source)
    g_source_destroy (self->accept_source);
  g_clear_pointer (&self->accept_source, g_source_unref);
  g_socket_close (self->listener, NULL);
  g_clear_object (&self->listener);
  remove_socket_file (self);
}

/* Every client gets the message; one that cannot keep up loses its oldest. */
static void
rtcbotd_socket_send (RtcbotdEndpoint *endpoint, JsonNode *message)
{
  RtcbotdSocket *self = RTCBOTD_SOCKET (endpoint);
  g_autoptr (GBytes) line = NULL;

  if (!self->clients->len)
    return;
  line = rtcbotd_message_encode_line (message);
  for (guint i = 0; i < self->clients->len; i++)
    {
      SocketClient *client = self->clients->pdata[i];
      guint dropped = client->failed ? 0 : rtcbotd_writer_push (client->writer, line);

      if (dropped)
        client->overflowed = TRUE;
      get_stats (self)->dropped += dropped;
    }
  sync_sent (self);
}

static void
rtcbotd_socket_flush (RtcbotdEndpoint *endpoint, gint64 deadline)
{
  RtcbotdSocket *self = RTCBOTD_SOCKET (endpoint);

  for (guint i = 0; i < self->clients->len; i++)
    {
      SocketClient *client = self->clients->pdata[i];
      /* A stalled client would take the whole deadline from the others. */
      if (!client->failed && !rtcbotd_writer_get_stalled_since (client->writer))
        rtcbotd_writer_flush (client->writer, deadline);
    }
  sync_sent (self);
}

static void
rtcbotd_socket_add_health (RtcbotdEndpoint *endpoint, JsonBuilder *builder)
{
  RtcbotdSocket *self = RTCBOTD_SOCKET (endpoint);

  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, get_path (self));
  json_builder_set_member_name (builder, "clients");
  json_builder_add_int_value (builder, self->clients->len);
}

static void
rtcbotd_socket_add_metrics (RtcbotdEndpoint *endpoint, RtcbotdMetrics *m)
{
  RtcbotdSocket *self = RTCBOTD_SOCKET (endpoint);

  rtcbotd_metrics_gauge (m, "rtcbotd_endpoint_clients", "Clients connected now.",
                         self->clients->len, "endpoint", rtcbotd_endpoint_get_name (endpoint),
                         "type", "socket", NULL);
}

static void
rtcbotd_socket_dispose (GObject *object)
{
  RtcbotdSocket *self = RTCBOTD_SOCKET (object);

  rtcbotd_socket_stop (RTCBOTD_ENDPOINT (self));
  G_OBJECT_CLASS (rtcbotd_socket_parent_class)->dispose (object);
}

static void
rtcbotd_socket_finalize (GObject *object)
{
  RtcbotdSocket *self = RTCBOTD_SOCKET (object);

  g_ptr_array_unref (self->clients);
  G_OBJECT_CLASS (rtcbotd_socket_parent_class)->finalize (object);
}

static void
rtcbotd_socket_class_init (RtcbotdSocketClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  RtcbotdEndpointClass *endpoint_class = RTCBOTD_ENDPOINT_CLASS (klass);

  object_class->dispose = rtcbotd_socket_dispose;
  object_class->finalize = rtcbotd_socket_finalize;
  endpoint_class->start = rtcbotd_socket_start;
  endpoint_class->stop = rtcbotd_socket_stop;
  endpoint_class->send = rtcbotd_socket_send;
  endpoint_class->flush = rtcbotd_socket_flush;
  endpoint_class->add_health = rtcbotd_socket_add_health;
  endpoint_class->add_metrics = rtcbotd_socket_add_metrics;
}

static void
rtcbotd_socket_init (RtcbotdSocket *self)
{
  self->format.read_mode = RTCBOTD_SERIAL_READ_LINES;
  self->format.line_ending = RTCBOTD_LINE_ENDING_LF;
  self->clients = g_ptr_array_new_with_free_func ((GDestroyNotify)client_free);
}

RtcbotdEndpoint *
rtcbotd_socket_new (const RtcbotdEndpointConfig *config)
{
  return g_object_new (RTCBOTD_TYPE_SOCKET, "config", config, NULL);
}
