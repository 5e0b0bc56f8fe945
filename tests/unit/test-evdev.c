/* test-evdev.c — the evdev message source: events read from a FIFO and a
 * unix socket (there is no /dev/uinput here), the causes it reports when the
 * device is missing or is not an input device, and its retries. */
#include "rtcbotd-evdev.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/input.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rtcbotd-config.h"

/* Generous: the machine is shared; the first retry comes after 500 ms. */
#define DEADLINE_MS 10000

typedef struct
{
  char *dir;
  char *path; /* the configured device, in @dir */
  RtcbotdConfig *config;
  RtcbotdEndpoint *endpoint;
  GPtrArray *messages; /* of JsonNode, as emitted */
  guint state_changes;
  GPtrArray *logs; /* of char *, the daemon's log lines */
  guint log_handler;
  gboolean stop_on_message;
} Fixture;

static void
on_log (const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->logs, g_strdup (message));
  g_test_message ("log: %s", message);
}

static void
on_message (RtcbotdEndpoint *endpoint, JsonNode *message, Fixture *f)
{
  g_ptr_array_add (f->messages, json_node_copy (message));
  if (f->stop_on_message)
    {
      rtcbotd_endpoint_stop (endpoint);
      g_clear_object (&f->endpoint);
    }
}

static void
on_state_changed (RtcbotdEndpoint *endpoint, Fixture *f)
{
  f->state_changes++;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const char *extra = data ? data : "";
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  f->dir = g_dir_make_tmp ("test-evdev-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "pad", NULL);
  text = g_strdup_printf ("[source pad]\ntype = evdev\ndevice = %s\n%s\n"
                          "[route r]\nfrom = pad\nto = log\n",
                          f->path, extra);
  f->config = rtcbotd_config_load_data (text, "test.conf", &error);
  g_assert_no_error (error);
  f->endpoint = rtcbotd_evdev_new (rtcbotd_config_find_endpoint (f->config, "pad"));
  g_assert_nonnull (f->endpoint);
  f->messages = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  f->logs = g_ptr_array_new_with_free_func (g_free);
  f->log_handler = g_log_set_handler (G_LOG_DOMAIN, G_LOG_LEVEL_MASK, on_log, f);
  g_signal_connect (f->endpoint, "message", G_CALLBACK (on_message), f);
  g_signal_connect (f->endpoint, "state-changed", G_CALLBACK (on_state_changed), f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->endpoint)
    rtcbotd_endpoint_stop (f->endpoint);
  g_clear_object (&f->endpoint);
  g_log_remove_handler (G_LOG_DOMAIN, f->log_handler);
  g_unlink (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
  rtcbotd_config_free (f->config);
  g_ptr_array_unref (f->messages);
  g_ptr_array_unref (f->logs);
}

typedef gboolean (*Predicate) (Fixture *f, guint n);

static gboolean
wake (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until @predicate holds or the deadline passes. */
static gboolean
wait_for (Fixture *f, Predicate predicate, guint n)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_MS * G_TIME_SPAN_MILLISECOND;
  guint tick = g_timeout_add (20, wake, NULL);

  while (!predicate (f, n) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  return predicate (f, n);
}

static gboolean
is_up (Fixture *f, guint n)
{
  return rtcbotd_endpoint_is_up (f->endpoint);
}

static gboolean
is_down (Fixture *f, guint n)
{
  return !rtcbotd_endpoint_is_up (f->endpoint);
}

static gboolean
has_messages (Fixture *f, guint n)
{
  return f->messages->len >= n;
}

/* Counts the log lines that are exactly @line. */
static guint
count_logs (Fixture *f, const char *line)
{
  guint n = 0;

  for (guint i = 0; i < f->logs->len; i++)
    n += g_str_equal (f->logs->pdata[i], line);
  return n;
}

static struct input_event
make_event (guint16 type, guint16 code, gint32 value, gint64 usec)
{
  struct input_event event = { 0 };

  event.input_event_sec = 1700000000;
  event.input_event_usec = usec;
  event.type = type;
  event.code = code;
  event.value = value;
  return event;
}

static void
write_bytes (int fd, const void *data, gsize size)
{
  g_assert_cmpint (write (fd, data, size), ==, (gssize)size);
}

static void
expect_message (Fixture *f, guint index, const char *code, gint64 state, const char *event,
                gint64 usec)
{
  JsonObject *object;

  g_assert_cmpuint (index, <, f->messages->len);
  object = json_node_get_object (f->messages->pdata[index]);
  g_assert_cmpstr (json_object_get_string_member (object, "code"), ==, code);
  g_assert_cmpint (json_object_get_int_member (object, "state"), ==, state);
  g_assert_cmpstr (json_object_get_string_member (object, "event"), ==, event);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (object, "timestamp"),
                                  1700000000 + usec / 1e6, 5e-7);
}

/* The reason must name the device and say why, e.g. "PATH: No such file or directory". */
static void
expect_reason (Fixture *f, const char *cause)
{
  g_autofree char *expected = g_strdup_printf ("%s: %s", f->path, cause);

  g_assert_false (rtcbotd_endpoint_is_up (f->endpoint));
  g_assert_cmpstr (rtcbotd_endpoint_get_reason (f->endpoint), ==, expected);
}

static int
open_writer (Fixture *f)
{
  int fd = open (f->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static void
test_fifo (Fixture *f, gconstpointer data)
{
  struct input_event first[] = {
    make_event (EV_MSC, MSC_SCAN, 589825, 1), make_event (EV_KEY, KEY_W, 1, 2),
    make_event (EV_SYN, SYN_REPORT, 0, 3),    make_event (EV_ABS, ABS_X, -253, 4),
    make_event (EV_SYN, SYN_REPORT, 0, 5),
  };
  struct input_event second = make_event (EV_KEY, KEY_W, 0, 6);
  g_autoptr (GError) error = NULL;
  g_autofree char *down = NULL;
  guint changes;
  int writer;

  g_assert_cmpint (mkfifo (f->path, 0600), ==, 0);
  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  g_assert_no_error (error);
  g_assert_true (rtcbotd_endpoint_is_up (f->endpoint));
  g_assert_cmpuint (count_logs (f, "[source pad]: up"), ==, 1);

  /* A record split across two writes is put back together. */
  writer = open_writer (f);
  write_bytes (writer, first, sizeof first - 10);
  write_bytes (writer, (guint8 *)first + sizeof first - 10, 10);
  g_assert_true (wait_for (f, has_messages, 3));
  expect_message (f, 0, "MSC_SCAN", 589825, "Misc", 1);
  expect_message (f, 1, "KEY_W", 1, "Key", 2);
  expect_message (f, 2, "ABS_X", -253, "Absolute", 4);
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->endpoint)->received, ==, 3);

  changes = f->state_changes;
  close (writer);
  g_assert_true (wait_for (f, is_down, 0));
  expect_reason (f, "the writer closed the FIFO");
  g_assert_cmpuint (f->state_changes, ==, changes + 1);
  down = g_strdup_printf ("[source pad]: down: %s: the writer closed the FIFO", f->path);
  g_assert_cmpuint (count_logs (f, down), ==, 1);

  /* It reopens the FIFO by itself; a new writer's events flow again. */
  g_assert_true (wait_for (f, is_up, 0));
  g_assert_cmpuint (f->state_changes, ==, changes + 2);
  writer = open_writer (f);
  write_bytes (writer, &second, sizeof second);
  g_assert_true (wait_for (f, has_messages, 4));
  expect_message (f, 3, "KEY_W", 0, "Key", 6);
  g_assert_cmpuint (f->messages->len, ==, 4);
  close (writer);
}

static void
test_missing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *down = NULL;

  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  g_assert_no_error (error);
  expect_reason (f, "No such file or directory");
  down = g_strdup_printf ("[source pad]: down: %s: No such file or directory", f->path);
  g_assert_cmpuint (count_logs (f, down), ==, 1);

  /* The device appears later (as a by-id link does on plugging in). */
  g_assert_cmpint (mkfifo (f->path, 0600), ==, 0);
  g_assert_true (wait_for (f, is_up, 0));
  g_assert_null (rtcbotd_endpoint_get_reason (f->endpoint));
  /* Failed retries with the same cause were not logged again. */
  g_assert_cmpuint (count_logs (f, down), ==, 1);
}

static void
test_regular_file (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (f->path, "not events", -1, &error));
  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  g_assert_no_error (error);
  expect_reason (f, "not an input device (a regular file)");
}

static void
test_directory (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir (f->path, 0700), ==, 0);
  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  expect_reason (f, "not an input device (a directory)");
}

/* A character device that is not an input device goes through libevdev. */
static void
test_not_input_device (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;

  if (!g_file_test ("/dev/null", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no /dev/null");
      return;
    }
  g_assert_cmpint (symlink ("/dev/null", f->path), ==, 0);
  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  expected = g_strdup_printf ("not an input device (%s)", g_strerror (ENOTTY));
  expect_reason (f, expected);
}

static int
listen_unix (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpuint (strlen (path), <, sizeof addr.sun_path);
  strcpy (addr.sun_path, path);
  g_assert_cmpint (bind (fd, (struct sockaddr *)&addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (fd, 4), ==, 0);
  return fd;
}

static void
test_socket (Fixture *f, gconstpointer data)
{
  struct input_event events[] = {
    make_event (EV_KEY, BTN_SOUTH, 1, 10),
    make_event (EV_SYN, SYN_REPORT, 0, 11),
    make_event (EV_REL, REL_X, 3, 12),
  };
  g_autoptr (GError) error = NULL;
  int listener = listen_unix (f->path);
  int peer;

  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  g_assert_true (rtcbotd_endpoint_is_up (f->endpoint));
  peer = accept (listener, NULL, NULL);
  g_assert_cmpint (peer, >=, 0);
  write_bytes (peer, events, sizeof events);
  g_assert_true (wait_for (f, has_messages, 2));
  expect_message (f, 0, "BTN_SOUTH", 1, "Key", 10);
  expect_message (f, 1, "REL_X", 3, "Relative", 12);

  close (peer);
  g_assert_true (wait_for (f, is_down, 0));
  expect_reason (f, "the other end closed the socket");
  g_assert_true (wait_for (f, is_up, 0));
  peer = accept (listener, NULL, NULL);
  g_assert_cmpint (peer, >=, 0);
  write_bytes (peer, events, sizeof (struct input_event));
  g_assert_true (wait_for (f, has_messages, 3));
  expect_message (f, 2, "BTN_SOUTH", 1, "Key", 10);
  close (peer);
  close (listener);
}

static void
test_socket_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;

  /* A socket file nobody listens on any more. */
  close (listen_unix (f->path));
  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  expected = g_strdup_printf ("cannot connect (%s)", g_strerror (ECONNREFUSED));
  expect_reason (f, expected);
}

static void
set_done (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
}

/* stop() cancels the retry: a device appearing afterwards is not opened. */
static void
test_stop_cancels_retry (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gboolean done = FALSE;

  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  g_assert_false (rtcbotd_endpoint_is_up (f->endpoint));
  rtcbotd_endpoint_stop (f->endpoint);
  g_assert_cmpint (mkfifo (f->path, 0600), ==, 0);
  /* Past the first retry (500 ms) by a margin. */
  g_timeout_add_once (1500, set_done, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (rtcbotd_endpoint_is_up (f->endpoint));
}

/* A "message" handler may stop and drop the source in the middle of a read. */
static void
test_stop_in_handler (Fixture *f, gconstpointer data)
{
  struct input_event events[] = {
    make_event (EV_KEY, KEY_A, 1, 1),
    make_event (EV_KEY, KEY_B, 1, 2),
    make_event (EV_KEY, KEY_C, 1, 3),
  };
  g_autoptr (GError) error = NULL;
  int writer;

  g_assert_cmpint (mkfifo (f->path, 0600), ==, 0);
  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  writer = open_writer (f);
  f->stop_on_message = TRUE;
  write_bytes (writer, events, sizeof events);
  while (f->endpoint)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (f->messages->len, ==, 1);
  expect_message (f, 0, "KEY_A", 1, "Key", 1);
  close (writer);
}

static void
test_health (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *health;

  g_assert_true (rtcbotd_endpoint_start (f->endpoint, &error));
  rtcbotd_endpoint_add_health (f->endpoint, builder);
  root = json_builder_get_root (builder);
  health = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (health, "type"), ==, "evdev");
  g_assert_cmpstr (json_object_get_string_member (health, "state"), ==, "down");
  g_assert_cmpstr (json_object_get_string_member (health, "device"), ==, f->path);
  /* Only a real input device has a name. */
  g_assert_false (json_object_has_member (health, "name"));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (health, "reason"),
                                   "No such file or directory"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* The source reports going down with g_warning(); the tests check those lines. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

#define ADD(path, func, data)                                                                      \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)
  ADD ("/evdev/fifo", test_fifo, NULL);
  ADD ("/evdev/fifo-grab", test_fifo, "grab = yes");
  ADD ("/evdev/missing", test_missing, NULL);
  ADD ("/evdev/regular-file", test_regular_file, NULL);
  ADD ("/evdev/directory", test_directory, NULL);
  ADD ("/evdev/not-input-device", test_not_input_device, NULL);
  ADD ("/evdev/socket", test_socket, NULL);
  ADD ("/evdev/socket-refused", test_socket_refused, NULL);
  ADD ("/evdev/stop-cancels-retry", test_stop_cancels_retry, NULL);
  ADD ("/evdev/stop-in-handler", test_stop_in_handler, NULL);
  ADD ("/evdev/health", test_health, NULL);
#undef ADD
  return g_test_run ();
}
