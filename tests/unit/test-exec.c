/* test-exec.c — the exec endpoint against real worker processes: shell and
 * Python scripts written to a temporary directory. */
#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "rtcbotd-config.h"
#include "rtcbotd-error.h"
#include "rtcbotd-exec.h"
#include "rtcbotd-message-bus.h"
#include "test-utils.h"

typedef struct
{
  char *dir; /* worker scripts */
  RtcbotdConfig *config;
  RtcbotdEndpoint *exec;
  GPtrArray *messages; /* of char *: every message emitted, encoded */
  GPtrArray *logs;     /* of char *: what the daemon's log domain printed */
  GPtrArray *states;   /* of char *: "up", or the reason it went down */
  guint want;          /* for conditions that wait for a count */
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

  f->dir = g_dir_make_tmp ("test-exec-XXXXXX", &error);
  g_assert_no_error (error);
  f->messages = g_ptr_array_new_with_free_func (g_free);
  f->logs = g_ptr_array_new_with_free_func (g_free);
  f->states = g_ptr_array_new_with_free_func (g_free);
  f->log_handler
      = g_log_set_handler (G_LOG_DOMAIN, G_LOG_LEVEL_MASK & ~G_LOG_LEVEL_DEBUG, on_log, f);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  g_clear_object (&f->exec);
  g_clear_pointer (&f->config, rtcbotd_config_free);
  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
  g_log_remove_handler (G_LOG_DOMAIN, f->log_handler);
  g_ptr_array_unref (f->messages);
  g_ptr_array_unref (f->logs);
  g_ptr_array_unref (f->states);
}

/* Writes an executable script @name with @text; returns its path. */
static char *
write_script (Fixture *f, const char *name, const char *text)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (f->dir, name, NULL);

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0755), ==, 0);
  return path;
}

/* Main context: the endpoint emitted a message. */
static void
on_message (RtcbotdEndpoint *exec, JsonNode *message, Fixture *f)
{
  g_ptr_array_add (f->messages, rtcbotd_message_encode (message));
}

/* Main context: the endpoint went up or down. */
static void
on_state_changed (RtcbotdEndpoint *exec, Fixture *f)
{
  const char *reason = rtcbotd_endpoint_get_reason (exec);

  g_ptr_array_add (f->states, g_strdup (reason ? reason : "up"));
}

/* Loads "[sink worker] type = exec, command = @command" plus @extra keys. */
static void
make_exec (Fixture *f, const char *command, const char *extra)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("[sink worker]\ntype = exec\ncommand = %s\n%s"
                                           "[route r]\nfrom = worker\nto = log\n",
                                           command, extra ? extra : "");

  f->config = rtcbotd_config_load_data (text, "test.conf", &error);
  g_assert_no_error (error);
  f->exec = rtcbotd_exec_new (rtcbotd_config_find_endpoint (f->config, "worker"));
  g_signal_connect (f->exec, "message", G_CALLBACK (on_message), f);
  g_signal_connect (f->exec, "state-changed", G_CALLBACK (on_state_changed), f);
}

static void
start_exec (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (rtcbotd_endpoint_start (f->exec, &error));
  g_assert_no_error (error);
}

static gboolean
is_up (gpointer data)
{
  Fixture *f = data;
  return rtcbotd_endpoint_is_up (f->exec);
}

static gboolean
is_down (gpointer data)
{
  Fixture *f = data;
  return !rtcbotd_endpoint_is_up (f->exec);
}

static gboolean
has_messages (gpointer data)
{
  Fixture *f = data;
  return f->messages->len >= f->want;
}

static gboolean
has_log (Fixture *f, const char *pattern)
{
  for (guint i = 0; i < f->logs->len; i++)
    if (g_pattern_match_simple (pattern, f->logs->pdata[i]))
      return TRUE;
  return FALSE;
}

static guint
count_logs (Fixture *f, const char *pattern)
{
  guint n = 0;

  for (guint i = 0; i < f->logs->len; i++)
    n += g_pattern_match_simple (pattern, f->logs->pdata[i]);
  return n;
}

/* Returns the integer member @name of the endpoint's /healthz object, -1 for null. */
static gint64
get_health (RtcbotdEndpoint *endpoint, const char *name)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  JsonNode *member;

  rtcbotd_endpoint_add_health (endpoint, builder);
  root = json_builder_get_root (builder);
  member = json_object_get_member (json_node_get_object (root), name);
  g_assert_nonnull (member);
  return JSON_NODE_HOLDS_NULL (member) ? -1 : json_node_get_int (member);
}

static void
send_text (RtcbotdEndpoint *endpoint, const char *json)
{
  g_autoptr (JsonNode) message = rtcbotd_message_decode (json);

  rtcbotd_endpoint_send (endpoint, message);
}

static const char echo_py[] = "import sys\n"
                              "for line in sys.stdin:\n"
                              "    sys.stdout.write(line)\n";

/* Python without -u or flush(): only PYTHONUNBUFFERED makes its replies arrive. */
static void
test_echo (Fixture *f, gconstpointer data)
{
  g_autofree char *script = write_script (f, "echo.py", echo_py);
  g_autofree char *command = g_strdup_printf ("/usr/bin/python3 %s", script);
  gint64 started;

  make_exec (f, command, NULL);
  start_exec (f);
  g_assert_true (rtcbotd_endpoint_is_up (f->exec));
  g_assert_cmpint (get_health (f->exec, "pid"), >, 0);
  send_text (f->exec, "{\"a\": 1, \"text\": \"two\\nlines\"}");
  send_text (f->exec, "\"hello\"");
  send_text (f->exec, "42");
  f->want = 3;
  g_assert_true (rtcbotd_test_wait_until (has_messages, f, 5000));
  g_assert_cmpstr (f->messages->pdata[0], ==, "{\"a\":1,\"text\":\"two\\nlines\"}");
  g_assert_cmpstr (f->messages->pdata[1], ==, "\"hello\"");
  g_assert_cmpstr (f->messages->pdata[2], ==, "42");
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->exec)->received, ==, 3);
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->exec)->sent, ==, 3);
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->exec)->dropped, ==, 0);

  /* It exits on SIGTERM at once. */
  started = g_get_monotonic_time ();
  rtcbotd_endpoint_stop (f->exec);
  g_assert_cmpint (g_get_monotonic_time () - started, <, G_USEC_PER_SEC / 2);
  g_assert_false (rtcbotd_endpoint_is_up (f->exec));
  g_assert_cmpint (get_health (f->exec, "pid"), ==, -1);
  g_assert_false (has_log (f, "*ignored SIGTERM*"));
}

static void
test_text (Fixture *f, gconstpointer data)
{
  g_autofree char *script = write_script (
      f, "text.sh",
      "#!/bin/sh\nprintf 'hello world\\r\\n{\"x\": 2}\\n[1, 2]\\n'\nexec sleep 600\n");

  make_exec (f, script, NULL);
  start_exec (f);
  f->want = 3;
  g_assert_true (rtcbotd_test_wait_until (has_messages, f, 5000));
  g_assert_cmpstr (f->messages->pdata[0], ==, "\"hello world\"");
  g_assert_cmpstr (f->messages->pdata[1], ==, "{\"x\":2}");
  g_assert_cmpstr (f->messages->pdata[2], ==, "[1,2]");
}

static gboolean
has_suppressed_note (gpointer data)
{
  Fixture *f = data;
  return has_log (f, "[sink worker]: ... * lines suppressed");
}

static void
test_stderr (Fixture *f, gconstpointer data)
{
  g_autofree char *script = write_script (f, "stderr.sh",
                                          "#!/bin/sh\n"
                                          "echo 'oops: something failed' >&2\n"
                                          "i=0; while [ $i -lt 100 ]; do\n"
                                          "  echo \"line $i\" >&2; i=$((i+1))\n"
                                          "done\n"
                                          "exec sleep 600\n");
  guint lines, suppressed = 0;

  make_exec (f, script, NULL);
  start_exec (f);
  g_assert_true (rtcbotd_test_wait_until (has_suppressed_note, f, 5000));
  g_assert_true (has_log (f, "[sink worker]: oops: something failed"));
  /* About RTCBOTD_EXEC_STDERR_RATE lines a second reach the log, the rest are counted. */
  lines = count_logs (f, "[sink worker]: line *");
  g_assert_cmpuint (lines, >=, RTCBOTD_EXEC_STDERR_RATE - 2);
  g_assert_cmpuint (lines, <=, RTCBOTD_EXEC_STDERR_RATE + 2);
  for (guint i = 0; i < f->logs->len; i++)
    if (sscanf (f->logs->pdata[i], "[sink worker]: ... %u lines suppressed", &suppressed) == 1)
      break;
  g_assert_cmpuint (lines + suppressed, ==, 100);
  g_assert_cmpuint (f->messages->len, ==, 0);
}

static void
test_stderr_long_line (Fixture *f, gconstpointer data)
{
  g_autofree char *script = write_script (f, "long.sh",
                                          "#!/bin/sh\n"
                                          "head -c 5000 /dev/zero | tr '\\0' x >&2; echo >&2\n"
                                          "printf 'partial' >&2\n"
                                          "exit 0\n");
  g_autofree char *xs = g_strnfill (RTCBOTD_EXEC_STDERR_MAX_LINE, 'x');
  g_autofree char *expected = g_strdup_printf ("[sink worker]: %s…", xs);

  make_exec (f, script, NULL);
  start_exec (f);
  g_assert_true (rtcbotd_test_wait_until (is_down, f, 5000));
  g_assert_cmpuint (count_logs (f, expected), ==, 1);
  /* What a worker printed before it exited is logged, a last line without "\n" too. */
  g_assert_true (has_log (f, "[sink worker]: partial"));
  g_assert_true (has_log (f, "[sink worker]: down: exited with status 0"));
}

static const char crash_sh[]
    = "#!/bin/sh\n"
      "while read -r line; do\n"
      "  if [ \"$line\" = '\"crash\"' ]; then echo 'crashing' >&2; exit 3; fi\n"
      "  printf '%s\\n' \"$line\"\n"
      "done\n";

static gboolean
went_down_and_up (gpointer data)
{
  Fixture *f = data;
  return f->states->len >= 2 && is_up (f);
}

static void
test_restart (Fixture *f, gconstpointer data)
{
  g_autofree char *script = write_script (f, "crash.sh", crash_sh);
  gint64 pid, down_at;

  make_exec (f, script, NULL);
  start_exec (f);
  pid = get_health (f->exec, "pid");
  g_assert_cmpint (get_health (f->exec, "restarts"), ==, 0);
  g_ptr_array_set_size (f->states, 0);
  send_text (f->exec, "\"crash\"");
  g_assert_true (rtcbotd_test_wait_until (is_down, f, 5000));
  down_at = g_get_monotonic_time ();
  g_assert_cmpstr (f->states->pdata[0], ==, "exited with status 3");
  g_assert_true (has_log (f, "[sink worker]: down: exited with status 3"));
  g_assert_true (has_log (f, "[sink worker]: crashing"));
  g_assert_cmpint (get_health (f->exec, "pid"), ==, -1);
  /* Messages meanwhile are dropped, not queued for the next worker. */
  send_text (f->exec, "\"lost\"");
  g_assert_cmpuint (rtcbotd_endpoint_get_stats (f->exec)->dropped, ==, 1);

  g_assert_true (rtcbotd_test_wait_until (went_down_and_up, f, 5000));
  g_assert_cmpint (g_get_monotonic_time () - down_at, >=, 400 * 1000);
  g_assert_cmpint (get_health (f->exec, "pid"), >, 0);
  g_assert_cmpint (get_health (f->exec, "pid"), !=, pid);
  g_assert_cmpint (get_health (f->exec, "restarts"), ==, 1);
  send_text (f->exec, "{\"b\": 2}");
  f->want = 1;
  g_assert_true (rtcbotd_test_wait_until (has_messages, f, 5000));
  g_assert_cmpstr (f->messages->pdata[0], ==, "{\"b\":2}");
}

static gboolean
has_down_reason (gpointer data)
{
  Fixture *f = data;
  return f->states->len > 0 && is_down (f);
}

/* A worker that cannot be started is down with the cause, and retried. */
static void
test_spawn_failure (Fixture *f, gconstpointer data)
{
  g_autofree char *script = write_script (f, "worker.sh", "#!/bin/sh\nexec sleep 600\n");

  make_exec (f, script, NULL);
  g_assert_cmpint (g_chmod (script, 0644), ==, 0);
  start_exec (f);
  g_assert_true (rtcbotd_test_wait_until (has_down_reason, f, 1000));
  g_assert_nonnull (strstr (rtcbotd_endpoint_get_reason (f->exec), "Permission denied"));
  g_assert_cmpint (g_chmod (script, 0755), ==, 0);
  g_assert_true (rtcbotd_test_wait_until (is_up, f, 5000));
}

/* A worker that closed its stdin is terminated at the first write, and restarted. */
static void
test_stdin_closed (Fixture *f, gconstpointer data)
{
  g_autofree char *script
      = write_script (f, "closed.sh", "#!/bin/sh\nexec 0<&-\necho closed\nexec sleep 600\n");

  make_exec (f, script, NULL);
  start_exec (f);
  f->want = 1;
  g_assert_true (rtcbotd_test_wait_until (has_messages, f, 5000));
  g_ptr_array_set_size (f->states, 0);
  send_text (f->exec, "\"anyone?\"");
  g_assert_true (rtcbotd_test_wait_until (is_down, f, 5000));
  g_assert_true (
      has_log (f, "[sink worker]: cannot write to the worker: Broken pipe; terminating it"));
  g_assert_cmpstr (f->states->pdata[0], ==, "killed by signal 15 (Terminated)");
  g_assert_true (rtcbotd_test_wait_until (is_up, f, 5000));
  f->want = 2;
  g_assert_true (rtcbotd_test_wait_until (has_messages, f, 5000));
}

/* Gaps between the ticks of a 10 ms timeout: in wall-clock time, and in this
 * thread's CPU time, which a busy main loop spends but a descheduled test (two
 * cores, meson running tests side by side) does not. */
typedef struct
{
  gint64 last;
  gint64 last_cpu;
  gint64 max_gap;
  gint64 max_cpu_gap;
} Ticks;

static gint64
get_cpu_time (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* Main context: every 10 ms while the flood test runs. */
static gboolean
on_tick (gpointer user_data)
{
  Ticks *ticks = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 cpu = get_cpu_time ();

  ticks->max_gap = MAX (ticks->max_gap, now - ticks->last);
  ticks->max_cpu_gap = MAX (ticks->max_cpu_gap, cpu - ticks->last_cpu);
  ticks->last = now;
  ticks->last_cpu = cpu;
  return G_SOURCE_CONTINUE;
}

static void
test_flood (Fixture *f, gconstpointer data)
{
  RtcbotdEndpointStats *stats;
  Ticks ticks = { 0 };
  gint64 started;
  double seconds;
  guint tick_id;

  make_exec (f, "/usr/bin/yes '{\"n\": 1}'", "max-rate = 100\n");
  ticks.last = started = g_get_monotonic_time ();
  ticks.last_cpu = get_cpu_time ();
  tick_id = g_timeout_add (10, on_tick, &ticks);
  start_exec (f);
  rtcbotd_test_run_for (2000);
  on_tick (&ticks);
  g_source_remove (tick_id);
  seconds = (g_get_monotonic_time () - started) / (double)G_USEC_PER_SEC;
  stats = rtcbotd_endpoint_get_stats (f->exec);
  g_test_message ("%.2f s: %" G_GUINT64_FORMAT " received, %" G_GUINT64_FORMAT
                  " dropped; longest gap between ticks %" G_GINT64_FORMAT " ms (%" G_GINT64_FORMAT
                  " ms of CPU)",
                  seconds, stats->received, stats->dropped, ticks.max_gap / 1000,
                  ticks.max_cpu_gap / 1000);
  /* A burst of one second's worth, then 100 a second. */
  g_assert_cmpuint (stats->received, <=, 100 * (seconds + 1) + 1);
  g_assert_cmpuint (stats->received, >=, 100 * seconds);
  g_assert_cmpuint (stats->dropped, >, 10 * stats->received);
  g_assert_cmpuint (stats->received, ==, f->messages->len);
  /* The loop never works 200 ms on end; the wall-clock bound only catches a
   * loop that stopped, as the test's scheduling is not ours to control. */
  g_assert_cmpint (ticks.max_cpu_gap, <, 200 * 1000);
  g_assert_cmpint (ticks.max_gap, <, 1000 * 1000);
  g_assert_true (has_log (f, "[sink worker]: ... * messages dropped (max-rate 100 per second)"));
}

/* A worker that never reads its stdin costs the daemon nothing but lost messages. */
static void
test_stdin_stalled (Fixture *f, gconstpointer data)
{
  g_autofree char *script = write_script (f, "deaf.sh", "#!/bin/sh\nexec sleep 600\n");
  g_autofree char *pad = g_strnfill (80, 'x');
  RtcbotdEndpointStats *stats;
  gint64 started;

  make_exec (f, script, "queue-length = 64\n");
  start_exec (f);
  started = g_get_monotonic_time ();
  for (guint i = 0; i < 10000; i++)
    {
      g_autofree char *json = g_strdup_printf ("{\"i\": %u, \"pad\": \"%s\"}", i, pad);
      send_text (f->exec, json);
    }
  /* Blocked on the pipe, this would take the worker's 600 s; a sanitizer build
   * on a busy machine takes about a second. */
  g_assert_cmpint (g_get_monotonic_time () - started, <, 5 * G_USEC_PER_SEC);
  stats = rtcbotd_endpoint_get_stats (f->exec);
  g_test_message ("%" G_GUINT64_FORMAT " written into the pipe, %" G_GUINT64_FORMAT " dropped",
                  stats->sent, stats->dropped);
  /* The pipe holds what it holds (64 KiB on Linux), the queue at most 64. */
  g_assert_cmpuint (stats->sent, <, 2000);
  g_assert_cmpuint (stats->sent + stats->dropped, >=, 10000 - 64);
  g_assert_cmpuint (stats->sent + stats->dropped, <=, 10000);
  g_assert_true (rtcbotd_endpoint_is_up (f->exec));
}

static gboolean
has_one_message (gpointer data)
{
  Fixture *f = data;
  return f->messages->len >= 1;
}

static void
test_stop_stubborn (Fixture *f, gconstpointer data)
{
  g_autofree char *script = write_script (f, "stubborn.sh",
                                          "#!/bin/sh\n"
                                          "trap '' TERM\n"
                                          "echo ready\n"
                                          "while :; do sleep 1; done\n");
  gint64 pid, started, took;

  make_exec (f, script, NULL);
  start_exec (f);
  g_assert_true (rtcbotd_test_wait_until (has_one_message, f, 5000));
  pid = get_health (f->exec, "pid");
  started = g_get_monotonic_time ();
  rtcbotd_endpoint_stop (f->exec);
  took = g_get_monotonic_time () - started;
  g_test_message ("stop() took %" G_GINT64_FORMAT " ms", took / 1000);
  g_assert_cmpint (took, >=, 900 * 1000);
  g_assert_cmpint (took, <, 1500 * 1000);
  g_assert_true (has_log (f, "[sink worker]: the worker ignored SIGTERM for 1000 ms; killing it"));
  g_assert_cmpint (kill (pid, 0), ==, -1);
  g_assert_cmpint (errno, ==, ESRCH);
  g_assert_false (rtcbotd_endpoint_is_up (f->exec));
  /* No restart after stop(). */
  rtcbotd_test_wait_until (is_up, f, 800);
  g_assert_false (rtcbotd_endpoint_is_up (f->exec));
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Endpoints report going down with g_warning, which these tests provoke;
   * criticals still abort. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  /* As the daemon does (main.c). */
  signal (SIGPIPE, SIG_IGN);
  ADD ("/exec/echo", test_echo);
  ADD ("/exec/text", test_text);
  ADD ("/exec/stderr", test_stderr);
  ADD ("/exec/stderr-long-line", test_stderr_long_line);
  ADD ("/exec/restart", test_restart);
  ADD ("/exec/spawn-failure", test_spawn_failure);
  ADD ("/exec/stdin-closed", test_stdin_closed);
  ADD ("/exec/flood", test_flood);
  ADD ("/exec/stdin-stalled", test_stdin_stalled);
  ADD ("/exec/stop-stubborn", test_stop_stubborn);
  return g_test_run ();
}
