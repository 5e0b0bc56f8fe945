/* rtcbotd-exec.c — a worker process that speaks JSON lines. */
#include "rtcbotd-exec.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "rtcbotd-backoff.h"
#include "rtcbotd-message-bus.h"
#include "rtcbotd-writer.h"

#define RESTART_MIN_MS 500
#define RESTART_MAX_MS 30000
/* A worker up this long has worked: its next failure starts the backoff anew. */
#define STABLE_US (10 * G_USEC_PER_SEC)
/* After SIGTERM, this long before SIGKILL. */
#define TERM_TIMEOUT_MS 1000
/* Bytes read per pipe per main-loop dispatch: a flooding worker cannot starve the loop. */
#define READ_LIMIT (64 * 1024)
/* Bytes the worker's stdin pipe may hold unread before lines wait in our queue. */
#define STDIN_BACKLOG 4096
/* Bytes still read from the pipes of a worker that exited. */
#define DRAIN_LIMIT (1024 * 1024)

/* Admits at most @rate events a second (bursts of @rate) and logs how many
 * it refused, once a second at most. */
typedef struct
{
  const char *label;
  char what[64]; /* the refused events, for the log: "lines suppressed" */
  guint rate;
  double tokens;
  gint64 refilled_at;
  guint64 refused; /* since the last report */
  guint report_id;
} ExecLimit;

/* Where stdout is, in the line being read. */
typedef enum
{
  LINE_START,
  LINE_FED,     /* going to the decoder */
  LINE_SKIPPED, /* over the rate: dropped */
} LineState;

struct _RtcbotdExec
{
  RtcbotdEndpoint parent_instance;

  RtcbotdSerialFormat format; /* newline-delimited lines, for the stdout decoder */
  RtcbotdBackoff *backoff;
  gboolean started;
  guint spawns;
  guint64 written_before; /* stdin lines written to earlier workers */
  ExecLimit stdout_limit;
  ExecLimit stderr_limit;

  /* The running worker, all NULL/0/-1 while there is none. */
  GSubprocess *process;
  GCancellable *cancellable; /* the wait for its exit */
  int pid;
  gint64 spawned_at;
  RtcbotdWriter *writer;
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  guint stdout_id;
  guint stderr_id;
  guint kill_id; /* SIGKILL due: the worker was told to stop */
  RtcbotdSerialDecoder *decoder;
  LineState stdout_line;
  GString *stderr_line;
  gboolean stderr_truncated;
  gboolean stuck_logged; /* the worker's full queue was logged (once per worker) */
};

G_DEFINE_FINAL_TYPE (RtcbotdExec, rtcbotd_exec, RTCBOTD_TYPE_ENDPOINT)

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static void
limit_init (ExecLimit *limit, const char *label, guint rate, const char *what)
{
  limit->label = label;
  g_strlcpy (limit->what, what, sizeof limit->what);
  limit->rate = MAX (rate, 1);
  limit->tokens = limit->rate;
  limit->refilled_at = g_get_monotonic_time ();
}

static void
limit_report (ExecLimit *limit)
{
  if (limit->refused)
    g_message ("%s: ... %" G_GUINT64_FORMAT " %s", limit->label, limit->refused, limit->what);
  limit->refused = 0;
}

/* Main context: a second after the first refusal since the last report. */
static gboolean
on_limit_report (gpointer user_data)
{
  ExecLimit *limit = user_data;

  limit->report_id = 0;
  limit_report (limit);
  return G_SOURCE_REMOVE;
}

/* Returns TRUE if one more event fits in the rate now. */
static gboolean
limit_peek (ExecLimit *limit)
{
  gint64 now = g_get_monotonic_time ();

  limit->tokens += (double)(now - limit->refilled_at) * limit->rate / G_USEC_PER_SEC;
  limit->tokens = MIN (limit->tokens, limit->rate);
  limit->refilled_at = now;
  return limit->tokens >= 1;
}

/* Counts an event that did not fit, for the next report. */
static void
limit_refuse (ExecLimit *limit)
{
  limit->refused++;
  if (!limit->report_id)
    limit->report_id = g_timeout_add (1000, on_limit_report, limit);
}

/* Returns TRUE if one more event fits in the rate; counts it otherwise. */
static gboolean
limit_admit (ExecLimit *limit)
{
  if (!limit_peek (limit))
    {
      limit_refuse (limit);
      return FALSE;
    }
  limit->tokens -= 1;
  return TRUE;
}

/* Reports what is still counted and stops the timer. */
static void
limit_clear (ExecLimit *limit)
{
  g_clear_handle_id (&limit->report_id, g_source_remove);
  limit_report (limit);
}

static RtcbotdEndpointStats *
get_stats (RtcbotdExec *self)
{
  return rtcbotd_endpoint_get_stats (RTCBOTD_ENDPOINT (self));
}

static const char *
get_label (RtcbotdExec *self)
{
  return rtcbotd_endpoint_get_label (RTCBOTD_ENDPOINT (self));
}

/* Copies the writer's count of lines written into the endpoint's counters. */
static void
sync_sent (RtcbotdExec *self)
{
  get_stats (self)->sent
      = self->written_before + (self->writer ? rtcbotd_writer_get_written (self->writer) : 0);
}

/* Main context, from the decoder inside feed(): one line of stdout. */
static void
on_stdout_message (JsonNode *message, gpointer user_data)
{
  RtcbotdExec *self = user_data;

  if (!limit_admit (&self->stdout_limit))
    {
      get_stats (self)->dropped++;
      return;
    }
  rtcbotd_endpoint_emit (RTCBOTD_ENDPOINT (self), message);
}

/* Feeds stdout to the decoder line by line. A line that begins while the
 * rate is used up is dropped unread: a flooding worker then costs a memchr()
 * per line rather than a JSON parse. */
static void
feed_stdout (RtcbotdExec *self, const guint8 *data, gsize size)
{
  const RtcbotdSerialStats *stats = rtcbotd_serial_decoder_get_stats (self->decoder);
  guint64 dropped = stats->dropped;

  while (size)
    {
      const guint8 *end = memchr (data, '\n', size);
      gsize n = end ? (gsize)(end - data) + 1 : size;

      if (self->stdout_line == LINE_START)
        self->stdout_line = limit_peek (&self->stdout_limit) ? LINE_FED : LINE_SKIPPED;
      if (self->stdout_line == LINE_FED)
        rtcbotd_serial_decoder_feed (self->decoder, data, n, on_stdout_message, self);
      if (end && self->stdout_line == LINE_SKIPPED)
        {
          limit_refuse (&self->stdout_limit);
          get_stats (self)->dropped++;
        }
      if (end)
        self->stdout_line = LINE_START;
      data += n;
      size -= n;
    }
  get_stats (self)->dropped += stats->dropped - dropped;
}

static void
log_stderr_line (RtcbotdExec *self)
{
  GString *line = self->stderr_line;
  g_autofree char *text = NULL;

  if (line->len && line->str[line->len - 1] == '\r')
    g_string_truncate (line, line->len - 1);
  if (limit_admit (&self->stderr_limit))
    {
      text = g_utf8_make_valid (line->str, line->len);
      g_message ("%s: %s%s", get_label (self), text, self->stderr_truncated ? "…" : "");
    }
  g_string_truncate (line, 0);
  self->stderr_truncated = FALSE;
}

/* Splits stderr into lines; the end of an over-long line is cut off. */
static void
feed_stderr (RtcbotdExec *self, const guint8 *data, gsize size)
{
  while (size)
    {
      const guint8 *end = memchr (data, '\n', size);
      gsize n = end ? (gsize)(end - data) : size;
      gsize room = RTCBOTD_EXEC_STDERR_MAX_LINE - self->stderr_line->len;

      g_string_append_len (self->stderr_line, (const char *)data, MIN (n, room));
      if (n > room)
        self->stderr_truncated = TRUE;
      if (end)
        log_stderr_line (self);
      data += end ? n + 1 : n;
      size -= end ? n + 1 : n;
    }
}

typedef void (*ChunkFunc) (RtcbotdExec *self, const guint8 *data, gsize size);

/* Reads at most @limit bytes from non-blocking @fd; FALSE at end of file or on an error. */
static gboolean
read_pipe (RtcbotdExec *self, int fd, gsize limit, ChunkFunc func)
{
  guint8 buffer[16 * 1024];
  gsize total = 0;

  while (total < limit)
    {
      ssize_t n = read (fd, buffer, MIN (sizeof buffer, limit - total));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return TRUE;
      if (n <= 0)
        return FALSE;
      func (self, buffer, n);
      total += n;
    }
  return TRUE;
}

/* Main context: the worker's stdout is readable or closed. */
static gboolean
on_stdout (int fd, GIOCondition condition, gpointer user_data)
{
  RtcbotdExec *self = user_data;

  if (read_pipe (self, fd, READ_LIMIT, feed_stdout))
    return G_SOURCE_CONTINUE;
  self->stdout_id = 0;
  return G_SOURCE_REMOVE;
}

/* Main context: the worker's stderr is readable or closed. */
static gboolean
on_stderr (int fd, GIOCondition condition, gpointer user_data)
{
  RtcbotdExec *self = user_data;

  if (read_pipe (self, fd, READ_LIMIT, feed_stderr))
    return G_SOURCE_CONTINUE;
  if (self->stderr_line->len)
    log_stderr_line (self);
  self->stderr_id = 0;
  return G_SOURCE_REMOVE;
}

/* Reads what a worker that ended left in its pipes. */
static void
drain_output (RtcbotdExec *self, gboolean with_stdout)
{
  if (with_stdout && self->stdout_id)
    read_pipe (self, self->stdout_fd, DRAIN_LIMIT, feed_stdout);
  if (self->stderr_id)
    read_pipe (self, self->stderr_fd, DRAIN_LIMIT, feed_stderr);
  if (self->stderr_line && self->stderr_line->len)
    log_stderr_line (self);
}

/* Forgets the worker process; its pipes close with it. */
static void
clear_worker (RtcbotdExec *self)
{
  g_clear_handle_id (&self->stdout_id, g_source_remove);
  g_clear_handle_id (&self->stderr_id, g_source_remove);
  g_clear_handle_id (&self->kill_id, g_source_remove);
  if (self->writer)
    self->written_before += rtcbotd_writer_get_written (self->writer);
  g_clear_pointer (&self->writer, rtcbotd_writer_free);
  g_clear_pointer (&self->decoder, rtcbotd_serial_decoder_free);
  if (self->stderr_line)
    g_string_free (g_steal_pointer (&self->stderr_line), TRUE);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->process);
  self->pid = 0;
  self->stuck_logged = FALSE;
  close_fd (&self->stdin_fd);
  close_fd (&self->stdout_fd);
  close_fd (&self->stderr_fd);
}

/* Signals the worker's process group: a shell script's children too. */
static void
signal_worker (RtcbotdExec *self, int signum)
{
  if (self->pid > 0 && kill (-self->pid, signum) < 0)
    g_subprocess_send_signal (self->process, signum);
}

static char *
describe_exit (GSubprocess *process)
{
  int signum;

  if (!g_subprocess_get_if_signaled (process))
    return g_strdup_printf ("exited with status %d", g_subprocess_get_exit_status (process));
  signum = g_subprocess_get_term_sig (process);
  return g_strdup_printf ("killed by signal %d (%s)", signum, g_strsignal (signum));
}

/* Main context: the worker process ended; cancelled (and not to be touched) after stop(). */
static void
on_worker_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  RtcbotdExec *self;
  gboolean stayed_up;

  /* Cancelled: the worker was stopped, and @user_data may be gone. */
  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error))
    return;
  self = user_data;
  drain_output (self, TRUE);
  reason = describe_exit (self->process);
  stayed_up = g_get_monotonic_time () - self->spawned_at >= STABLE_US;
  clear_worker (self);
  rtcbotd_endpoint_set_down (RTCBOTD_ENDPOINT (self), reason);
  if (stayed_up)
    rtcbotd_backoff_reset (self->backoff);
  rtcbotd_backoff_schedule (self->backoff);
}

static gboolean
on_kill_due (gpointer user_data)
{
  RtcbotdExec *self = user_data;

  self->kill_id = 0;
  g_message ("%s: the worker ignored SIGTERM for %d ms; killing it", get_label (self),
             TERM_TIMEOUT_MS);
  signal_worker (self, SIGKILL);
  return G_SOURCE_REMOVE;
}

/* Main context: a write to the worker's stdin failed (EPIPE: it closed it). */
static void
on_stdin_error (GError *error, gpointer user_data)
{
  RtcbotdExec *self = user_data;

  /* The writer is unusable; restart the worker, as if it had exited (its
   * exit brings the restart), killing it if it will not go. */
  g_message ("%s: cannot write to the worker: %s; terminating it", get_label (self),
             error->message);
  signal_worker (self, SIGTERM);
  if (!self->kill_id)
    self->kill_id = g_timeout_add (TERM_TIMEOUT_MS, on_kill_due, self);
}

/* Child process, between fork and exec: async-signal-safe calls only. */
static void
child_setup (gpointer user_data)
{
  /* The daemon ignores SIGPIPE; a worker gets the usual behaviour back. */
  signal (SIGPIPE, SIG_DFL);
  /* Its own process group: a terminal's Ctrl-C goes to the daemon, which
   * stops its workers in order, and stop() reaches the worker's children. */
  setpgid (0, 0);
  /* A worker that drives motors must not outlive a daemon that crashed. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Opens the worker's stdin, stdout and stderr pipes: the daemon keeps the
 * non-blocking ends in @self, @launcher takes the worker's. */
static gboolean
open_pipes (RtcbotdExec *self, GSubprocessLauncher *launcher, GError **error)
{
  int in[2], out[2], err[2];

  if (!g_unix_open_pipe (in, FD_CLOEXEC, error))
    return FALSE;
  g_subprocess_launcher_take_stdin_fd (launcher, in[0]);
  self->stdin_fd = in[1];
  if (!g_unix_open_pipe (out, FD_CLOEXEC, error))
    return FALSE;
  g_subprocess_launcher_take_stdout_fd (launcher, out[1]);
  self->stdout_fd = out[0];
  if (!g_unix_open_pipe (err, FD_CLOEXEC, error))
    return FALSE;
  g_subprocess_launcher_take_stderr_fd (launcher, err[1]);
  self->stderr_fd = err[0];
  return g_unix_set_fd_nonblocking (self->stdin_fd, TRUE, error)
         && g_unix_set_fd_nonblocking (self->stdout_fd, TRUE, error)
         && g_unix_set_fd_nonblocking (self->stderr_fd, TRUE, error);
}

/* Watches the new worker's pipes and its exit. */
static void
attach_worker (RtcbotdExec *self)
{
  const RtcbotdEndpointConfig *config = rtcbotd_endpoint_get_config (RTCBOTD_ENDPOINT (self));

  /* NULL once GLib has reaped a worker that exited at once; the pending
   * wait then reports the exit. */
  const char *identifier = g_subprocess_get_identifier (self->process);

  self->pid = identifier ? atoi (identifier) : 0;
  self->spawned_at = g_get_monotonic_time ();
  self->writer = rtcbotd_writer_new (self->stdin_fd, config->overflow, config->queue_length,
                                     on_stdin_error, self);
  /* A worker that stops reading sees at most this much stale input later. */
  rtcbotd_writer_set_backlog_limit (self->writer, STDIN_BACKLOG, FIONREAD);
  self->decoder = rtcbotd_serial_decoder_new (&self->format);
  self->stdout_line = LINE_START;
  self->stderr_line = g_string_new (NULL);
  self->stdout_id = g_unix_fd_add (self->stdout_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdout, self);
  self->stderr_id = g_unix_fd_add (self->stderr_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stderr, self);
  self->cancellable = g_cancellable_new ();
  g_subprocess_wait_async (self->process, self->cancellable, on_worker_exited, self);
}

static gboolean
spawn_worker (RtcbotdExec *self, GError **error)
{
  const RtcbotdEndpointConfig *config = rtcbotd_endpoint_get_config (RTCBOTD_ENDPOINT (self));
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);

  /* Python block-buffers stdout into a pipe: a worker's messages would wait. */
  g_subprocess_launcher_setenv (launcher, "PYTHONUNBUFFERED", "1", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  if (open_pipes (self, launcher, error))
    self->process
        = g_subprocess_launcher_spawnv (launcher, (const char *const *)config->argv, error);
  if (!self->process)
    {
      clear_worker (self);
      return FALSE;
    }
  attach_worker (self);
  if (self->spawns++)
    g_debug ("%s: worker restarted, pid %d", get_label (self), self->pid);
  return TRUE;
}

/* Spawns the worker, or reports why not and schedules another try. */
static void
try_spawn (RtcbotdExec *self)
{
  g_autoptr (GError) error = NULL;

  if (spawn_worker (self, &error))
    {
      rtcbotd_endpoint_set_up (RTCBOTD_ENDPOINT (self));
      return;
    }
  rtcbotd_endpoint_set_down (RTCBOTD_ENDPOINT (self), error->message);
  rtcbotd_backoff_schedule (self->backoff);
}

/* Main context: the restart delay has passed. */
static gboolean
on_retry (gpointer user_data)
{
  RtcbotdExec *self = user_data;

  if (self->started && !self->process)
    try_spawn (self);
  return G_SOURCE_REMOVE;
}

static gboolean
rtcbotd_exec_start (RtcbotdEndpoint *endpoint, GError **error)
{
  RtcbotdExec *self = RTCBOTD_EXEC (endpoint);
  const RtcbotdEndpointConfig *config = rtcbotd_endpoint_get_config (endpoint);
  g_autofree char *what
      = g_strdup_printf ("messages dropped (max-rate %u per second)", config->max_rate);

  if (self->started)
    return TRUE;
  self->started = TRUE;
  limit_init (&self->stdout_limit, config->label, config->max_rate, what);
  limit_init (&self->stderr_limit, config->label, RTCBOTD_EXEC_STDERR_RATE, "lines suppressed");
  rtcbotd_backoff_reset (self->backoff);
  try_spawn (self);
  return TRUE;
}

typedef struct
{
  gboolean exited;
  gboolean expired;
} ExitWait;

/* terminate_worker()'s private context: the worker exited (or the wait was cancelled). */
static void
on_exit_waited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ExitWait *wait = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  wait->exited = TRUE;
}

/* terminate_worker()'s private context: the wait for the exit timed out. */
static gboolean
on_exit_expired (gpointer user_data)
{
  ExitWait *wait = user_data;

  wait->expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates @context until the pending wait ends or @timeout_ms passes. */
static gboolean
wait_exit (GMainContext *context, ExitWait *wait, guint timeout_ms)
{
  g_autoptr (GSource) timeout = g_timeout_source_new (timeout_ms);

  wait->expired = FALSE;
  g_source_set_callback (timeout, on_exit_expired, wait, NULL);
  g_source_attach (timeout, context);
  while (!wait->exited && !wait->expired)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  return wait->exited;
}

/* SIGTERM, up to a second to exit, then SIGKILL; waits on a private context
 * so that nothing else of the daemon runs meanwhile. */
static void
terminate_worker (RtcbotdExec *self)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  ExitWait wait = { 0 };

  g_main_context_push_thread_default (context);
  g_subprocess_wait_async (self->process, cancellable, on_exit_waited, &wait);
  signal_worker (self, SIGTERM);
  if (!wait_exit (context, &wait, TERM_TIMEOUT_MS))
    {
      g_message ("%s: the worker ignored SIGTERM for %d ms; killing it", get_label (self),
                 TERM_TIMEOUT_MS);
      signal_worker (self, SIGKILL);
      if (!wait_exit (context, &wait, TERM_TIMEOUT_MS))
        {
          g_warning ("%s: pid %d did not exit after SIGKILL", get_label (self), self->pid);
          g_cancellable_cancel (cancellable);
          while (!wait.exited)
            g_main_context_iteration (context, TRUE);
        }
    }
  g_main_context_pop_thread_default (context);
}

static void
rtcbotd_exec_stop (RtcbotdEndpoint *endpoint)
{
  RtcbotdExec *self = RTCBOTD_EXEC (endpoint);

  if (!self->started)
    return;
  self->started = FALSE;
  rtcbotd_backoff_cancel (self->backoff);
  if (self->process)
    {
      terminate_worker (self);
      drain_output (self, FALSE);
      sync_sent (self);
      clear_worker (self);
    }
  limit_clear (&self->stdout_limit);
  limit_clear (&self->stderr_limit);
}

static void
rtcbotd_exec_send (RtcbotdEndpoint *endpoint, JsonNode *message)
{
  RtcbotdExec *self = RTCBOTD_EXEC (endpoint);
  g_autoptr (GBytes) line = NULL;
  guint dropped;

  if (!self->writer)
    {
      get_stats (self)->dropped++;
      return;
    }
  line = rtcbotd_message_encode_line (message);
  dropped = rtcbotd_writer_push (self->writer, line);
  get_stats (self)->dropped += dropped;
  /* A worker that hangs (never reads) or lags is not an error to restart it
   * for, but its user must hear once why what it is sent gets lost. */
  if (dropped && !self->stuck_logged)
    {
      self->stuck_logged = TRUE;
      g_warning ("%s: pid %d does not keep up with its input (%u messages queued): dropping "
                 "messages",
                 get_label (self), self->pid, rtcbotd_endpoint_get_config (endpoint)->queue_length);
    }
  sync_sent (self);
}

static void
rtcbotd_exec_flush (RtcbotdEndpoint *endpoint, gint64 deadline)
{
  RtcbotdExec *self = RTCBOTD_EXEC (endpoint);

  if (self->writer)
    rtcbotd_writer_flush (self->writer, deadline);
  sync_sent (self);
}

static void
rtcbotd_exec_add_health (RtcbotdEndpoint *endpoint, JsonBuilder *builder)
{
  RtcbotdExec *self = RTCBOTD_EXEC (endpoint);

  json_builder_set_member_name (builder, "pid");
  if (self->pid > 0)
    json_builder_add_int_value (builder, self->pid);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "restarts");
  json_builder_add_int_value (builder, self->spawns ? self->spawns - 1 : 0);
}

static void
rtcbotd_exec_add_metrics (RtcbotdEndpoint *endpoint, RtcbotdMetrics *m)
{
  RtcbotdExec *self = RTCBOTD_EXEC (endpoint);

  rtcbotd_metrics_counter (m, "rtcbotd_exec_restarts_total", "Times the worker was restarted.",
                           self->spawns ? self->spawns - 1 : 0, "endpoint",
                           rtcbotd_endpoint_get_name (endpoint), NULL);
}

static void
rtcbotd_exec_dispose (GObject *object)
{
  RtcbotdExec *self = RTCBOTD_EXEC (object);

  rtcbotd_exec_stop (RTCBOTD_ENDPOINT (self));
  g_clear_pointer (&self->backoff, rtcbotd_backoff_free);
  G_OBJECT_CLASS (rtcbotd_exec_parent_class)->dispose (object);
}

static void
rtcbotd_exec_class_init (RtcbotdExecClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  RtcbotdEndpointClass *endpoint_class = RTCBOTD_ENDPOINT_CLASS (klass);

  object_class->dispose = rtcbotd_exec_dispose;
  endpoint_class->start = rtcbotd_exec_start;
  endpoint_class->stop = rtcbotd_exec_stop;
  endpoint_class->send = rtcbotd_exec_send;
  endpoint_class->flush = rtcbotd_exec_flush;
  endpoint_class->add_health = rtcbotd_exec_add_health;
  endpoint_class->add_metrics = rtcbotd_exec_add_metrics;
}

static void
rtcbotd_exec_init (RtcbotdExec *self)
{
  self->format.read_mode = RTCBOTD_SERIAL_READ_LINES;
  self->format.line_ending = RTCBOTD_LINE_ENDING_LF;
  self->backoff = rtcbotd_backoff_new (RESTART_MIN_MS, RESTART_MAX_MS, on_retry, self);
  self->stdin_fd = self->stdout_fd = self->stderr_fd = -1;
}

RtcbotdEndpoint *
rtcbotd_exec_new (const RtcbotdEndpointConfig *config)
{
  return g_object_new (RTCBOTD_TYPE_EXEC, "config", config, NULL);
}
