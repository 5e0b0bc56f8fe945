/* test-socket.c — the unix-socket endpoint against clients in this process:
 * plain sockets, read through the same main context. */
#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rtcbotd-config.h"
#include "rtcbotd-error.h"
#include "rtcbotd-message-bus.h"
#include "rtcbotd-socket.h"
#include "test-utils.h"

/* A program connected to the socket. */
typedef struct
{
  int fd;
  guint watch_id; /* 0 for a client that does not read */
  GString *received;
  guint lines;
  gboolean closed; /* the daemon hung up */
} Client;

typedef struct
{
  char *dir;
  char *path; /* the socket */
  RtcbotdConfig *config;
  RtcbotdEndpoint *socket;
  GPtrArray *messages; /* of char *: every message emitted, encoded */
  GPtrArray *logs;     /* of char *: what the daemon's log domain printed */
  Client clients[RTCBOTD_SOCKET_MAX_CLIENTS + 1];
  guint want;
  guint log_handler;
} Fixture;

/* Main context: a log line of the daemon's domain. */
static void
on_log (const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->logs, g_strdup (message));
  g_log_default_handler (domain, level, message, NULL);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("test-socket-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "bridge.sock", NULL);
  f->messages = g_ptr_array_new_with_free_func (g_free);
  f->logs = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (f->clients); i++)
    f->clients[i].fd = -1;
  f->log_handler
      = g_log_set_handler (G_LOG_DOMAIN, G_LOG_LEVEL_MASK & ~G_LOG_LEVEL_DEBUG, on_log, f);
}

static void
client_close (Client *client)
{
  g_clear_handle_id (&client->watch_id, g_source_remove);
  if (client->fd >= 0)
    close (client->fd);
  client->fd = -1;
  if (client->received)
    g_string_free (g_steal_pointer (&client->received), TRUE);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (f->clients); i++)
    client_close (&f->clients[i]);
  g_clear_object (&f->socket);
  g_clear_pointer (&f->config, rtcbotd_config_free);
  g_unlink (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
  g_log_remove_handler (G_LOG_DOMAIN, f->log_handler);
  g_ptr_array_unref (f->messages);
  g_ptr_array_unref (f->logs);
}

/* Main context: the endpoint emitted a message. */
static void
on_message (RtcbotdEndpoint *socket, JsonNode *message, Fixture *f)
{
  g_ptr_array_add (f->messages, rtcbotd_message_encode (message));
}

/* Loads "[sink bridge] type = socket, path = @path" plus @extra keys. */
static RtcbotdEndpoint *
make_socket (Fixture *f, const char *path, const char *extra)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("[sink bridge]\ntype = socket\npath = %s\n%s"
                                           "[route r]\nfrom = bridge\nto = log\n",
                                           path, extra ? extra : "");
  RtcbotdEndpoint *socket;

  if (!f->config)
    f->config = rtcbotd_config_load_data (text, "test.conf", &error);
  g_assert_no_error (error);
  socket = rtcbotd_socket_new (rtcbotd_config_find_endpoint (f->config, "bridge"));
  g_signal_connect (socket, "message", G_CALLBACK (on_message), f);
  return socket;
}

static void
start_socket (Fixture *f, const char *extra)
{
  g_autoptr (GError) error = NULL;

  f->socket = make_socket (f, f->path, extra);
  g_assert_true (rtcbotd_endpoint_start (f->socket, &error));
  g_assert_no_error (error);
  g_assert_true (rtcbotd_endpoint_is_up (f->socket));
}

/* Main context: the daemon sent a client something, or hung up. */
static gboolean
on_client_readable (int fd, GIOCondition condition, gpointer user_data)
{
  Client *client = user_data;
  char buffer[64 * 1024];
  ssize_t n = read (fd, buffer, sizeof buffer);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      client->closed = TRUE;
      client->watch_id = 0;
      return G_SOURCE_REMOVE;
    }
  g_string_append_len (client->received, buffer, n);
  for (ssize_t i = 0; i < n; i++)
    client->lines += buffer[i] == '\n';
  /* Only the tail is looked at; a reader of 100k messages keeps little. */
  if (client->received->len > 1024 * 1024)
    g_string_erase (client->received, 0, client->received->len - 64 * 1024);
  return G_SOURCE_CONTINUE;
}

/* Connects a client to @path; one that @reads takes what the daemon sends. */
static int
client_connect (Client *client, const char *path, gboolean reads)
{
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_strlcpy (address.sun_path, path, sizeof address.sun_path);
  if (connect (fd, (struct sockaddr *)&address, sizeof address) < 0)
    {
      int code = errno;
      close (fd);
      return -code;
    }
  g_assert_true (g_unix_set_fd_nonblocking (fd, TRUE, NULL));
  client->fd = fd;
  client->received = g_string_new (NULL);
  client->lines = 0;
  client->closed = FALSE;
  if (reads)
    client->watch_id
        = g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_client_readable, client);
  return fd;
}

static void
client_write (Client *client, const char *text)
{
  g_assert_cmpint (write (client->fd, text, strlen (text)), ==, strlen (text));
}

static gboolean
has_log (Fixture *f, const char *pattern)
{
  for (guint i = 0; i < f->logs->len; i++)
    if (g_pattern_match_simple (pattern, f->logs->pdata[i]))
      return TRUE;
  return FALSE;
}

/* Returns member @name of the endpoint's /healthz object. */
static JsonNode *
get_health (RtcbotdEndpoint *endpoint, const char *name)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  JsonNode *member;

  rtcbotd_endpoint_add_health (endpoint, builder);
  root = json_builder_get_root (builder);
  member = json_object_get_member (json_node_get_object (root), name);
  g_assert_nonnull (member);
  return json_node_copy (member);
}

static gint64
get_clients (Fixture *f)
{
  g_autoptr (JsonNode) clients = get_health (f->socket, "clients");

  return json_node_get_int (clients);
}

static gboolean
has_clients (gpointer data)
{
  Fixture *f = data;
  return get_clients (f) == f->want;
}

static gboolean
has_messages (gpointer data)
{
  Fixture *f = data;
  return f->messages->len >= f->want;
}

static gboolean
clients_got_lines (gpointer data)
{
  Fixture *f = data;
  return f->clients[0].lines >= f->want && f->clients[1].lines >= f->want;
}

static void
send_text (RtcbotdEndpoint *endpoint, const char *json)
{
  g_autoptr (JsonNode) message = rtcbotd_message_decode (json);

  rtcbotd_endpoint_send (endpoint, message);
}

static gboolean
client_0_closed (gpointer data)
{
  Fixture *f = data;
  return f->clients[0].closed;
}

static void
test_messages (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) path = NULL;
  struct stat st;

  start_socket (f, NULL);
  g_assert_cmpint (stat (f->path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0660);
  path = get_health (f->socket, "path");
  g_assert_cmpstr (json_node_get_string (path), ==, f->path);
  client_connect (&f->clients[0], f->path, TRUE);
  client_connect (&f->clients[1], f->path, TRUE);
  f->want = 2;
  g_assert_true (rtcbotd_test_wait_until (has_clients, f, 2000));

  client_write (&f->clients[0], "{\"a\": 1}\nhello\r\n[1, ");
  client_write (&f->clients[1], "{\"from\": \"b\"}\n");
  f->want = 3;
  g_assert_true (rtcbotd_test_wait_until (has_messages, f, 2000));
  client_write (&f->clients[0], "2]\n");
  f->want = 4;
  g_assert_true (rtcbotd_test_wait_until (has_messages, f, 2000));
  g_assert_true (g_ptr_array_find_with_equal_func (f->messages, "{\"a\":1}", g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (f->messages, "\"hello\"", g_str_equal, NULL));
  g_assert_true (
      g_ptr_array_find_with_equal_func (f->messages, "{\"from\":\"b\"}", g_str_equal, NULL));
  g_assert_cmpstr (f->messages->pdata[3], ==, "[1,2]");

  send_text (f->socket, "{\"to\": \"all\"}");
  send_text (f->socket, "\"text\"");
  f->want = 2;
  g_assert_true (rtcbotd_test_wait_until (clients_got_lines, f, 2000));
  g_assert_cmpstr (f->clients[0].received->str, ==, "{\"to\":\"all\"}\n\"text\"\n");
  g_assert_cmpstr (f->clients[1].received->str, ==, "{\"to\":\"all\"}\n\"text\"\n");
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->socket)->sent, ==, 4);

  rtcbotd_endpoint_stop (f->socket);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_true (rtcbotd_test_wait_until (client_0_closed, f, 2000));
}

static gboolean
client_0_got_line (gpointer data)
{
  Fixture *f = data;
  return f->clients[0].lines >= 1;
}

/* A client that shut its sending side (socat at the end of its input) still receives. */
static void
test_half_closed (Fixture *f, gconstpointer data)
{
  start_socket (f, NULL);
  client_connect (&f->clients[0], f->path, TRUE);
  client_write (&f->clients[0], "{\"last\": true}\n");
  g_assert_cmpint (shutdown (f->clients[0].fd, SHUT_WR), ==, 0);
  f->want = 1;
  g_assert_true (rtcbotd_test_wait_until (has_messages, f, 2000));
  send_text (f->socket, "\"reply\"");
  g_assert_true (rtcbotd_test_wait_until (client_0_got_line, f, 2000));
  g_assert_cmpstr (f->clients[0].received->str, ==, "\"reply\"\n");
  g_assert_cmpint (get_clients (f), ==, 1);
  client_close (&f->clients[0]);
  f->want = 0;
  g_assert_true (rtcbotd_test_wait_until (has_clients, f, 2000));
}

static gboolean
has_drop_log (gpointer data)
{
  Fixture *f = data;
  return has_log (f, "[sink bridge]: dropped a client that stopped reading for 5 s");
}

static gboolean
client_0_got_after (gpointer data)
{
  Fixture *f = data;
  return g_str_has_suffix (f->clients[0].received->str, "{\"after\":1}\n");
}

/* A client that stops reading is dropped; the one that reads carries on. */
static void
test_stalled_client (Fixture *f, gconstpointer data)
{
  RtcbotdEndpointStats *stats;
  gint64 started, took;

  start_socket (f, "queue-length = 64\n");
  client_connect (&f->clients[0], f->path, TRUE);
  client_connect (&f->clients[1], f->path, FALSE);
  f->want = 2;
  g_assert_true (rtcbotd_test_wait_until (has_clients, f, 2000));
  started = g_get_monotonic_time ();
  for (guint i = 0; i < 100000; i++)
    {
      g_autofree char *json = g_strdup_printf ("{\"i\": %u}", i);
      send_text (f->socket, json);
    }
  /* Blocked on the stalled client, this would last until it is dropped (5 s). */
  if (rtcbotd_test_timing_is_meaningful ())
    g_assert_cmpint (g_get_monotonic_time () - started, <,
                     (RTCBOTD_SOCKET_STALL_SECONDS - 1) * G_USEC_PER_SEC);
  g_assert_true (rtcbotd_test_wait_until (has_drop_log, f, 8000));
  took = g_get_monotonic_time () - started;
  g_test_message ("dropped after %" G_GINT64_FORMAT " ms", took / 1000);
  g_assert_cmpint (took, >=, (RTCBOTD_SOCKET_STALL_SECONDS - 0.1) * G_USEC_PER_SEC);
  if (rtcbotd_test_timing_is_meaningful ())
    g_assert_cmpint (took, <, (RTCBOTD_SOCKET_STALL_SECONDS + 1.5) * G_USEC_PER_SEC);
  g_assert_cmpint (get_clients (f), ==, 1);
  stats = rtcbotd_endpoint_get_stats (f->socket);
  g_assert_cmpuint (stats->dropped, >, 100000);
  /* The reader got the newest of the burst, and what follows. */
  g_assert_true (g_strstr_len (f->clients[0].received->str, -1, "{\"i\":99999}\n"));
  send_text (f->socket, "{\"after\": 1}");
  g_assert_true (rtcbotd_test_wait_until (client_0_got_after, f, 2000));
}

/* An over-long line is dropped whole and counted; the next line arrives. */
static void
test_long_line (Fixture *f, gconstpointer data)
{
  g_autofree char *line = g_strnfill (RTCBOTD_SERIAL_MAX_LINE + 10, 'x');

  start_socket (f, NULL);
  client_connect (&f->clients[0], f->path, TRUE);
  client_write (&f->clients[0], line);
  client_write (&f->clients[0], "\n{\"ok\": true}\n");
  f->want = 1;
  g_assert_true (rtcbotd_test_wait_until (has_messages, f, 2000));
  g_assert_cmpstr (f->messages->pdata[0], ==, "{\"ok\":true}");
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->socket)->dropped, ==, 1);
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->socket)->received, ==, 1);
}

/* A socket file left by a daemon that died is replaced. */
static void
test_stale_socket (Fixture *f, gconstpointer data)
{
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);

  g_strlcpy (address.sun_path, f->path, sizeof address.sun_path);
  g_assert_cmpint (bind (fd, (struct sockaddr *)&address, sizeof address), ==, 0);
  close (fd);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_EXISTS));
  start_socket (f, NULL);
  g_assert_true (has_log (f, "[sink bridge]: removed the stale socket *"));
  g_assert_cmpint (client_connect (&f->clients[0], f->path, TRUE), >=, 0);
  f->want = 1;
  g_assert_true (rtcbotd_test_wait_until (has_clients, f, 2000));
}

static void
expect_start_error (Fixture *f, const char *path, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdEndpoint) socket = make_socket (f, path, NULL);

  g_assert_false (rtcbotd_endpoint_start (socket, &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INTERNAL);
  g_assert_cmpstr (error->message, ==, message);
  g_assert_false (rtcbotd_endpoint_is_up (socket));
}

static void
test_not_a_socket (Fixture *f, gconstpointer data)
{
  g_autofree char *message = g_strdup_printf (
      "[sink bridge]: cannot listen on %s: the path exists and is not a socket; remove it or "
      "choose another path",
      f->path);
  g_autofree char *contents = NULL;

  g_assert_true (g_file_set_contents (f->path, "precious", -1, NULL));
  expect_start_error (f, f->path, message);
  g_assert_true (g_file_get_contents (f->path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "precious");
}

static void
test_missing_directory (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "missing", "bridge.sock", NULL);
  g_autofree char *message = g_strdup_printf (
      "[sink bridge]: cannot listen on %s: the directory %s/missing does not exist", path, f->dir);

  expect_start_error (f, path, message);
}

/* A second daemon on the same path fails and leaves the first one alone. */
static void
test_in_use (Fixture *f, gconstpointer data)
{
  g_autofree char *message = g_strdup_printf (
      "[sink bridge]: cannot listen on %s: another program is listening on it", f->path);

  start_socket (f, NULL);
  expect_start_error (f, f->path, message);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (client_connect (&f->clients[0], f->path, TRUE), >=, 0);
  f->want = 1;
  g_assert_true (rtcbotd_test_wait_until (has_clients, f, 2000));
}

static gboolean
has_refusal (gpointer data)
{
  Fixture *f = data;
  return has_log (f, "[sink bridge]: refused a client: 16 clients are connected already")
         && f->clients[RTCBOTD_SOCKET_MAX_CLIENTS].closed;
}

static void
test_client_limit (Fixture *f, gconstpointer data)
{
  start_socket (f, NULL);
  /* One at a time: connect() blocks while the listen backlog is full. */
  for (guint i = 0; i < RTCBOTD_SOCKET_MAX_CLIENTS; i++)
    {
      client_connect (&f->clients[i], f->path, TRUE);
      f->want = i + 1;
      g_assert_true (rtcbotd_test_wait_until (has_clients, f, 2000));
    }
  client_connect (&f->clients[RTCBOTD_SOCKET_MAX_CLIENTS], f->path, TRUE);
  g_assert_true (rtcbotd_test_wait_until (has_refusal, f, 2000));
  g_assert_cmpint (get_clients (f), ==, RTCBOTD_SOCKET_MAX_CLIENTS);
  /* One leaves: there is room again. */
  client_close (&f->clients[0]);
  f->want = RTCBOTD_SOCKET_MAX_CLIENTS - 1;
  g_assert_true (rtcbotd_test_wait_until (has_clients, f, 2000));
  client_close (&f->clients[RTCBOTD_SOCKET_MAX_CLIENTS]);
  client_connect (&f->clients[RTCBOTD_SOCKET_MAX_CLIENTS], f->path, TRUE);
  f->want = RTCBOTD_SOCKET_MAX_CLIENTS;
  g_assert_true (rtcbotd_test_wait_until (has_clients, f, 2000));
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Endpoints report going down with g_warning; criticals still abort. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  /* As the daemon does (main.c). */
  signal (SIGPIPE, SIG_IGN);
  ADD ("/socket/messages", test_messages);
  ADD ("/socket/half-closed", test_half_closed);
  ADD ("/socket/long-line", test_long_line);
  ADD ("/socket/stalled-client", test_stalled_client);
  ADD ("/socket/stale-socket", test_stale_socket);
  ADD ("/socket/not-a-socket", test_not_a_socket);
  ADD ("/socket/missing-directory", test_missing_directory);
  ADD ("/socket/in-use", test_in_use);
  ADD ("/socket/client-limit", test_client_limit);
  return g_test_run ();
}
