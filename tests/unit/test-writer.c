#define _GNU_SOURCE
/* test-writer.c — the bounded non-blocking writer: overflow policies, whole
 * frames only, stall detection, errors, flush. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <gio/gio.h>
#include <unistd.h>

#include "rtcbotd-writer.h"

typedef struct
{
  int fds[2]; /* [0] read end (the "device"), [1] the writer's fd */
  GError *error;
} Pipe;

static void
pipe_setup (Pipe *p, gconstpointer data)
{
  g_assert_no_errno (pipe2 (p->fds, O_NONBLOCK | O_CLOEXEC));
  /* The smallest pipe buffer, so that it fills at once. */
  fcntl (p->fds[1], F_SETPIPE_SZ, 4096);
  p->error = NULL;
}

static void
pipe_teardown (Pipe *p, gconstpointer data)
{
  if (p->fds[0] >= 0)
    close (p->fds[0]);
  close (p->fds[1]);
  g_clear_error (&p->error);
}

static void
on_error (GError *error, gpointer user_data)
{
  Pipe *p = user_data;

  g_clear_error (&p->error);
  p->error = g_error_copy (error);
}

static GBytes *
frame_of (char c, gsize size)
{
  return g_bytes_new_take (g_strnfill (size, c), size);
}

/* Reads everything the pipe holds now. */
static GByteArray *
drain (Pipe *p)
{
  GByteArray *all = g_byte_array_new ();
  guint8 buffer[8192];
  ssize_t n;

  while ((n = read (p->fds[0], buffer, sizeof buffer)) > 0)
    g_byte_array_append (all, buffer, n);
  return all;
}

static void
iterate (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Fills the pipe so that further writes would block. */
static void
fill (Pipe *p)
{
  char junk[4096] = { 0 };

  while (write (p->fds[1], junk, sizeof junk) > 0)
    ;
  g_assert_cmpint (errno, ==, EAGAIN);
}

static void
test_writes_in_order (Pipe *p, gconstpointer data)
{
  g_autoptr (RtcbotdWriter) w
      = rtcbotd_writer_new (p->fds[1], RTCBOTD_OVERFLOW_DROP_OLDEST, 4, on_error, p);
  g_autoptr (GBytes) a = frame_of ('a', 3);
  g_autoptr (GBytes) b = frame_of ('b', 2);
  g_autoptr (GByteArray) got = NULL;

  g_assert_cmpuint (rtcbotd_writer_push (w, a), ==, 0);
  g_assert_cmpuint (rtcbotd_writer_push (w, b), ==, 0);
  got = drain (p);
  g_assert_cmpmem (got->data, got->len, "aaabb", 5);
  g_assert_cmpuint (rtcbotd_writer_get_written (w), ==, 2);
  g_assert_cmpuint (rtcbotd_writer_get_queued (w), ==, 0);
  g_assert_cmpint (rtcbotd_writer_get_stalled_since (w), ==, 0);
}

static void
test_drop_oldest (Pipe *p, gconstpointer data)
{
  g_autoptr (RtcbotdWriter) w
      = rtcbotd_writer_new (p->fds[1], RTCBOTD_OVERFLOW_DROP_OLDEST, 2, on_error, p);
  guint dropped = 0;
  g_autoptr (GByteArray) junk = NULL;
  g_autoptr (GByteArray) got = NULL;

  fill (p);
  for (char c = 'a'; c <= 'e'; c++)
    {
      g_autoptr (GBytes) f = frame_of (c, 4);
      dropped += rtcbotd_writer_push (w, f);
    }
  g_assert_cmpuint (dropped, ==, 3);
  g_assert_cmpuint (rtcbotd_writer_get_queued (w), ==, 2);
  g_assert_cmpint (rtcbotd_writer_get_stalled_since (w), >, 0);
  junk = drain (p);
  iterate ();
  got = drain (p);
  g_assert_cmpmem (got->data, got->len, "ddddeeee", 8);
}

static void
test_most_recent (Pipe *p, gconstpointer data)
{
  g_autoptr (RtcbotdWriter) w
      = rtcbotd_writer_new (p->fds[1], RTCBOTD_OVERFLOW_MOST_RECENT, 8, on_error, p);
  g_autoptr (GByteArray) junk = NULL;
  g_autoptr (GByteArray) got = NULL;

  fill (p);
  for (char c = 'a'; c <= 'e'; c++)
    {
      g_autoptr (GBytes) f = frame_of (c, 4);
      rtcbotd_writer_push (w, f);
    }
  g_assert_cmpuint (rtcbotd_writer_get_queued (w), ==, 1);
  junk = drain (p);
  iterate ();
  got = drain (p);
  g_assert_cmpmem (got->data, got->len, "eeee", 4);
}

/* A frame already half written is finished, never cut by an overflow. */
static void
test_whole_frames (Pipe *p, gconstpointer data)
{
  g_autoptr (RtcbotdWriter) w
      = rtcbotd_writer_new (p->fds[1], RTCBOTD_OVERFLOW_MOST_RECENT, 1, on_error, p);
  g_autoptr (GBytes) big = frame_of ('x', 10000);
  g_autoptr (GBytes) small = frame_of ('y', 3);
  g_autoptr (GBytes) last = frame_of ('z', 3);
  g_autoptr (GByteArray) all = g_byte_array_new ();
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  rtcbotd_writer_push (w, big); /* 4096 bytes go at once, the rest waits */
  g_assert_cmpuint (rtcbotd_writer_get_queued (w), ==, 1);
  rtcbotd_writer_push (w, small);
  rtcbotd_writer_push (w, last); /* replaces "yyy", not the half-written frame */
  g_assert_cmpuint (rtcbotd_writer_get_queued (w), ==, 2);
  while (all->len < 10003 && g_get_monotonic_time () < deadline)
    {
      g_autoptr (GByteArray) got = drain (p);
      g_byte_array_append (all, got->data, got->len);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_cmpuint (all->len, ==, 10003);
  for (guint i = 0; i < 10000; i++)
    g_assert_cmpint (all->data[i], ==, 'x');
  g_assert_cmpmem (all->data + 10000, 3, "zzz", 3);
}

static void
test_held_then_flush (Pipe *p, gconstpointer data)
{
  g_autoptr (RtcbotdWriter) w
      = rtcbotd_writer_new (p->fds[1], RTCBOTD_OVERFLOW_DROP_OLDEST, 4, on_error, p);
  g_autoptr (GBytes) a = frame_of ('a', 2);
  g_autoptr (GByteArray) none = NULL;
  g_autoptr (GByteArray) got = NULL;

  rtcbotd_writer_set_held (w, TRUE);
  rtcbotd_writer_push (w, a);
  iterate ();
  none = drain (p);
  g_assert_cmpuint (none->len, ==, 0);
  g_assert_true (rtcbotd_writer_flush (w, g_get_monotonic_time () + G_USEC_PER_SEC));
  got = drain (p);
  g_assert_cmpmem (got->data, got->len, "aa", 2);
}

static void
test_error (Pipe *p, gconstpointer data)
{
  g_autoptr (RtcbotdWriter) w
      = rtcbotd_writer_new (p->fds[1], RTCBOTD_OVERFLOW_DROP_OLDEST, 4, on_error, p);
  g_autoptr (GBytes) a = frame_of ('a', 2);

  close (p->fds[0]);
  p->fds[0] = -1;
  rtcbotd_writer_push (w, a);
  g_assert_error (p->error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  /* Failed: further frames are refused, not queued. */
  g_assert_cmpuint (rtcbotd_writer_push (w, a), ==, 1);
  g_assert_cmpuint (rtcbotd_writer_get_queued (w), ==, 0);
}

/* With a backlog limit, frames wait here while the fd holds that much unread. */
static void
test_backlog (Pipe *p, gconstpointer data)
{
  g_autoptr (RtcbotdWriter) w
      = rtcbotd_writer_new (p->fds[1], RTCBOTD_OVERFLOW_MOST_RECENT, 4, on_error, p);
  g_autoptr (GBytes) old = frame_of ('o', 100);
  g_autoptr (GBytes) a = frame_of ('a', 4);
  g_autoptr (GBytes) b = frame_of ('b', 4);
  g_autoptr (GByteArray) first = NULL;
  g_autoptr (GByteArray) got = g_byte_array_new ();
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  rtcbotd_writer_set_backlog_limit (w, 64, FIONREAD);
  rtcbotd_writer_push (w, old); /* 100 bytes nobody reads yet */
  rtcbotd_writer_push (w, a);
  rtcbotd_writer_push (w, b); /* most-recent: replaces "aaaa" while it waits */
  g_assert_cmpuint (rtcbotd_writer_get_queued (w), ==, 1);
  g_assert_cmpint (rtcbotd_writer_get_stalled_since (w), >, 0);
  first = drain (p);
  g_assert_cmpuint (first->len, ==, 100);
  while (got->len < 4 && g_get_monotonic_time () < deadline)
    {
      g_autoptr (GByteArray) more = NULL;
      g_main_context_iteration (NULL, TRUE);
      more = drain (p);
      g_byte_array_append (got, more->data, more->len);
    }
  g_assert_cmpmem (got->data, got->len, "bbbb", 4);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
#define ADD(path, func) g_test_add (path, Pipe, NULL, pipe_setup, func, pipe_teardown)
  ADD ("/writer/in-order", test_writes_in_order);
  ADD ("/writer/drop-oldest", test_drop_oldest);
  ADD ("/writer/most-recent", test_most_recent);
  ADD ("/writer/whole-frames", test_whole_frames);
  ADD ("/writer/held-then-flush", test_held_then_flush);
  ADD ("/writer/error", test_error);
  ADD ("/writer/backlog", test_backlog);
#undef ADD
  return g_test_run ();
}
