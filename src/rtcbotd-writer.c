/* rtcbotd-writer.c — a bounded queue of frames written to a non-blocking fd. */
#include "rtcbotd-writer.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "rtcbotd-error.h"

/* How often a writer held back by the kernel's backlog looks again. */
#define BACKLOG_CHECK_MS 5

struct _RtcbotdWriter
{
  int fd;
  RtcbotdOverflow overflow;
  guint max_frames;
  RtcbotdWriterErrorFunc func;
  gpointer user_data;
  GQueue frames;    /* of GBytes; the head may be partly written */
  gsize offset;     /* bytes of the head already written */
  guint watch_id;   /* G_IO_OUT watch while frames wait */
  guint backlog_id; /* retry while the kernel holds too much unsent */
  gsize backlog_limit;
  unsigned long backlog_request; /* TIOCOUTQ, FIONREAD */
  gboolean held;
  gboolean failed;
  guint64 written;
  gint64 stalled_since;
};

static void schedule (RtcbotdWriter *self);

RtcbotdWriter *
rtcbotd_writer_new (int fd, RtcbotdOverflow overflow, guint max_frames, RtcbotdWriterErrorFunc func,
                    gpointer user_data)
{
  RtcbotdWriter *self = g_new0 (RtcbotdWriter, 1);

  self->fd = fd;
  self->overflow = overflow;
  self->max_frames = MAX (max_frames, 1);
  self->func = func;
  self->user_data = user_data;
  g_queue_init (&self->frames);
  return self;
}

void
rtcbotd_writer_free (RtcbotdWriter *self)
{
  if (!self)
    return;
  g_clear_handle_id (&self->watch_id, g_source_remove);
  g_clear_handle_id (&self->backlog_id, g_source_remove);
  g_queue_clear_full (&self->frames, (GDestroyNotify)g_bytes_unref);
  g_free (self);
}

static void
fail (RtcbotdWriter *self, int code)
{
  g_autoptr (GError) error
      = g_error_new (G_IO_ERROR, g_io_error_from_errno (code), "%s", g_strerror (code));

  self->failed = TRUE;
  g_queue_clear_full (&self->frames, (GDestroyNotify)g_bytes_unref);
  self->offset = 0;
  if (self->func)
    self->func (error, self->user_data);
}

/* TRUE when the kernel already holds backlog_limit bytes not yet sent: a
 * frame written now would wait behind them (a slow baud rate, a worker that
 * stopped reading), so it waits here, where overflow can still drop it. */
static gboolean
backlogged (RtcbotdWriter *self)
{
  int queued = 0;

  if (!self->backlog_limit || ioctl (self->fd, self->backlog_request, &queued) < 0)
    return FALSE;
  return (gsize)queued >= self->backlog_limit;
}

static gboolean on_backlog_check (gpointer user_data);

/* Writes until the fd would block; returns FALSE after a write error. */
static gboolean
write_some (RtcbotdWriter *self)
{
  GBytes *head;

  while (!self->held && !self->failed && (head = g_queue_peek_head (&self->frames)))
    {
      gsize size;
      if (self->offset == 0 && backlogged (self))
        {
          if (!self->stalled_since)
            self->stalled_since = g_get_monotonic_time ();
          if (!self->backlog_id)
            self->backlog_id = g_timeout_add (BACKLOG_CHECK_MS, on_backlog_check, self);
          return TRUE;
        }
      const guint8 *data = g_bytes_get_data (head, &size);
      ssize_t n
          = size > self->offset ? write (self->fd, data + self->offset, size - self->offset) : 0;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          if (!self->stalled_since)
            self->stalled_since = g_get_monotonic_time ();
          return TRUE;
        }
      if (n < 0)
        {
          fail (self, errno);
          return FALSE;
        }
      self->stalled_since = 0;
      self->offset += n;
      if (self->offset == size)
        {
          g_bytes_unref (g_queue_pop_head (&self->frames));
          self->offset = 0;
          self->written++;
        }
    }
  return TRUE;
}

static gboolean
on_backlog_check (gpointer user_data)
{
  RtcbotdWriter *self = user_data;

  self->backlog_id = 0;
  if (write_some (self))
    schedule (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_writable (int fd, GIOCondition condition, gpointer user_data)
{
  RtcbotdWriter *self = user_data;

  self->watch_id = 0;
  if (write_some (self))
    schedule (self);
  return G_SOURCE_REMOVE;
}

/* Watches the fd while something waits to be written (and the kernel has room). */
static void
schedule (RtcbotdWriter *self)
{
  if (self->watch_id || self->backlog_id || self->held || self->failed
      || g_queue_is_empty (&self->frames))
    return;
  self->watch_id = g_unix_fd_add (self->fd, G_IO_OUT | G_IO_ERR | G_IO_HUP, on_writable, self);
}

/* Drops waiting frames (never a partly written head) until @room frames fit. */
static guint
make_room (RtcbotdWriter *self, guint room)
{
  guint dropped = 0;
  guint keep_head = self->offset > 0 ? 1 : 0;

  while (g_queue_get_length (&self->frames) + room > self->max_frames + keep_head
         && g_queue_get_length (&self->frames) > keep_head)
    {
      GList *victim = keep_head ? self->frames.head->next : self->frames.head;
      g_bytes_unref (victim->data);
      g_queue_delete_link (&self->frames, victim);
      dropped++;
    }
  return dropped;
}

guint
rtcbotd_writer_push (RtcbotdWriter *self, GBytes *frame)
{
  guint dropped;

  if (self->failed)
    return 1;
  if (self->overflow == RTCBOTD_OVERFLOW_MOST_RECENT)
    {
      guint max = self->max_frames;
      self->max_frames = 1;
      dropped = make_room (self, 1);
      self->max_frames = max;
    }
  else
    dropped = make_room (self, 1);
  g_queue_push_tail (&self->frames, g_bytes_ref (frame));
  if (!self->watch_id && !self->backlog_id && write_some (self))
    schedule (self);
  return dropped;
}

void
rtcbotd_writer_set_backlog_limit (RtcbotdWriter *self, gsize bytes, unsigned long request)
{
  self->backlog_limit = bytes;
  self->backlog_request = request;
}

void
rtcbotd_writer_set_held (RtcbotdWriter *self, gboolean held)
{
  self->held = held;
  if (held)
    g_clear_handle_id (&self->watch_id, g_source_remove);
  else if (write_some (self))
    schedule (self);
}

guint
rtcbotd_writer_get_queued (RtcbotdWriter *self)
{
  return g_queue_get_length (&self->frames);
}

guint64
rtcbotd_writer_get_written (RtcbotdWriter *self)
{
  return self->written;
}

gint64
rtcbotd_writer_get_stalled_since (RtcbotdWriter *self)
{
  return g_queue_is_empty (&self->frames) ? 0 : self->stalled_since;
}

gboolean
rtcbotd_writer_flush (RtcbotdWriter *self, gint64 deadline)
{
  gboolean held = self->held;
  gsize limit = self->backlog_limit;

  self->held = FALSE;
  self->backlog_limit = 0; /* at shutdown everything goes, backlog or not */
  while (!self->failed && !g_queue_is_empty (&self->frames))
    {
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
      struct pollfd p = { .fd = self->fd, .events = POLLOUT };

      if (left_ms <= 0)
        break;
      if (poll (&p, 1, (int)MIN (left_ms, G_MAXINT)) < 0 && errno != EINTR)
        break;
      if (!write_some (self))
        return FALSE; /* the error callback may have freed the writer */
    }
  self->held = held;
  self->backlog_limit = limit;
  return g_queue_is_empty (&self->frames);
}
