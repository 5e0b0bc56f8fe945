/* rtcbotd-evdev.c — a message source reading a Linux input device. */
#include "rtcbotd-evdev.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <libevdev/libevdev.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rtcbotd-backoff.h"
#include "rtcbotd-input-event.h"

#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 10000
/* Reads per wakeup before the main loop gets a turn; the watch fires again. */
#define MAX_EVENTS_PER_WAKEUP 1024
#define MAX_READS_PER_WAKEUP 16

struct _RtcbotdEvdev
{
  RtcbotdEndpoint parent_instance;

  int fd;                       /* -1 while closed */
  struct libevdev *dev;         /* for a character device; NULL for a FIFO or socket */
  RtcbotdInputRecords *records; /* for a FIFO or socket */
  gboolean is_socket;
  guint watch_id;
  guint generation; /* bumped by every close, so a reader sees it was closed under it */
  gboolean fresh;   /* opened, nothing read yet: the first event resets the backoff */
  gboolean started;
  RtcbotdBackoff *backoff;
  char *name; /* the device's own name, once known */
};

G_DEFINE_FINAL_TYPE (RtcbotdEvdev, rtcbotd_evdev, RTCBOTD_TYPE_ENDPOINT)

typedef enum
{
  READ_DRAINED, /* nothing more to read now */
  READ_MORE,    /* stopped early to let the main loop run */
  READ_CLOSED,  /* the input failed or was closed while reading */
} ReadResult;

static const char *
device_path (RtcbotdEvdev *self)
{
  return rtcbotd_endpoint_get_config (RTCBOTD_ENDPOINT (self))->device;
}

static void
close_input (RtcbotdEvdev *self)
{
  g_clear_handle_id (&self->watch_id, g_source_remove);
  g_clear_pointer (&self->dev, libevdev_free);
  g_clear_pointer (&self->records, rtcbotd_input_records_free);
  if (self->fd >= 0)
    close (self->fd);
  self->fd = -1;
  self->generation++;
}

/* Closes the input, reports the reason and retries later. */
static void fail (RtcbotdEvdev *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
fail (RtcbotdEvdev *self, const char *format, ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  close_input (self);
  rtcbotd_endpoint_set_down (RTCBOTD_ENDPOINT (self), reason);
  if (self->started)
    rtcbotd_backoff_schedule (self->backoff);
}

static char *
errno_reason (const char *path, int err)
{
  if (err == EACCES || err == EPERM)
    return g_strdup_printf ("%s: %s; add the daemon's user to the 'input' group", path,
                            g_strerror (err));
  return g_strdup_printf ("%s: %s", path, g_strerror (err));
}

static void
emit_event (RtcbotdEvdev *self, const struct input_event *event)
{
  g_autoptr (JsonNode) node = rtcbotd_input_event_to_json (event);

  if (self->fresh)
    rtcbotd_backoff_reset (self->backoff);
  self->fresh = FALSE;
  if (node)
    rtcbotd_endpoint_emit (RTCBOTD_ENDPOINT (self), node);
}

/* After SYN_DROPPED libevdev hands out the events that bring a reader back to
 * the device's state; those are read (unbounded: they are pending in libevdev,
 * the fd will not wake us for them) until -EAGAIN. */
static ReadResult
read_evdev (RtcbotdEvdev *self, guint generation)
{
  unsigned int flag = LIBEVDEV_READ_FLAG_NORMAL;
  guint n = 0;

  while (n < MAX_EVENTS_PER_WAKEUP)
    {
      struct input_event event;
      int rc = libevdev_next_event (self->dev, flag, &event);

      if (rc == -EAGAIN && flag == LIBEVDEV_READ_FLAG_SYNC)
        {
          flag = LIBEVDEV_READ_FLAG_NORMAL;
          continue;
        }
      if (rc == -EAGAIN)
        return READ_DRAINED;
      if (rc == -ENODEV)
        {
          fail (self, "%s: the device was unplugged (%s)", device_path (self), g_strerror (-rc));
          return READ_CLOSED;
        }
      if (rc < 0)
        {
          fail (self, "%s: read failed (%s)", device_path (self), g_strerror (-rc));
          return READ_CLOSED;
        }
      if (rc == LIBEVDEV_READ_STATUS_SYNC)
        flag = LIBEVDEV_READ_FLAG_SYNC;
      else
        n++;
      emit_event (self, &event);
      if (generation != self->generation)
        return READ_CLOSED;
    }
  return READ_MORE;
}

/* Raw struct input_event records from a FIFO or a socket. */
static ReadResult
read_stream (RtcbotdEvdev *self, guint generation)
{
  guint8 buffer[64 * sizeof (struct input_event)];

  for (guint n = 0; n < MAX_READS_PER_WAKEUP; n++)
    {
      gssize size = read (self->fd, buffer, sizeof buffer);
      g_autoptr (GArray) records = NULL;

      if (size < 0 && errno == EINTR)
        continue;
      if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return READ_DRAINED;
      if (size < 0)
        fail (self, "%s: read failed (%s)", device_path (self), g_strerror (errno));
      else if (size == 0)
        fail (self, "%s: %s", device_path (self),
              self->is_socket ? "the other end closed the socket" : "the writer closed the FIFO");
      if (size <= 0)
        return READ_CLOSED;
      records = rtcbotd_input_records_feed (self->records, buffer, size);
      for (guint i = 0; i < records->len; i++)
        {
          emit_event (self, &g_array_index (records, struct input_event, i));
          if (generation != self->generation)
            return READ_CLOSED;
        }
    }
  return READ_MORE;
}

/* Main context. */
static gboolean
on_readable (int fd, GIOCondition condition, gpointer user_data)
{
  /* A "message" handler may drop the last other reference. */
  g_autoptr (RtcbotdEvdev) self = g_object_ref (user_data);
  guint generation = self->generation;
  ReadResult result = self->dev ? read_evdev (self, generation) : read_stream (self, generation);

  if (result == READ_CLOSED)
    return G_SOURCE_REMOVE;
  /* A hang-up with nothing left to read; read() normally reports it first. */
  if (result == READ_DRAINED && (condition & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)))
    {
      self->watch_id = 0;
      fail (self, "%s: the device hung up", device_path (self));
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static int
connect_socket (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;

  if (strlen (path) >= sizeof addr.sun_path)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    {
      int err = errno;

      close (fd);
      errno = err;
      return -1;
    }
  return fd;
}

static void on_libevdev_log (const struct libevdev *dev, enum libevdev_log_priority priority,
                             void *data, const char *file, int line, const char *func,
                             const char *format, va_list args) G_GNUC_PRINTF (7, 0);

/* libevdev's own messages (a kernel bug it works around, a full buffer) go
 * to our log rather than to stderr. Main context. */
static void
on_libevdev_log (const struct libevdev *dev, enum libevdev_log_priority priority, void *data,
                 const char *file, int line, const char *func, const char *format, va_list args)
{
  g_autofree char *text = g_strdup_vprintf (format, args);
  GLogLevelFlags level = priority == LIBEVDEV_LOG_ERROR  ? G_LOG_LEVEL_WARNING
                         : priority == LIBEVDEV_LOG_INFO ? G_LOG_LEVEL_INFO
                                                         : G_LOG_LEVEL_DEBUG;

  g_log (G_LOG_DOMAIN, level, "%s: libevdev: %s",
         rtcbotd_endpoint_get_label (RTCBOTD_ENDPOINT (data)), g_strchomp (text));
}

/* Sets up libevdev on the open character device; @reason on failure. */
static gboolean
open_evdev (RtcbotdEvdev *self, char **reason)
{
  const RtcbotdEndpointConfig *config = rtcbotd_endpoint_get_config (RTCBOTD_ENDPOINT (self));
  const char *name;
  int rc;

  self->dev = libevdev_new ();
  libevdev_set_device_log_function (self->dev, on_libevdev_log, LIBEVDEV_LOG_INFO, self);
  if ((rc = libevdev_set_fd (self->dev, self->fd)) < 0)
    {
      *reason = g_strdup_printf ("%s: not an input device (%s)", config->device, g_strerror (-rc));
      return FALSE;
    }
  name = libevdev_get_name (self->dev);
  if (g_strcmp0 (name, self->name) != 0)
    {
      g_free (self->name);
      self->name = g_strdup (name);
      g_message ("%s: %s", config->label, name);
    }
  if (config->grab && (rc = libevdev_grab (self->dev, LIBEVDEV_GRAB)) < 0)
    {
      *reason = g_strdup_printf ("%s: cannot grab it (%s); another program holds it grabbed",
                                 config->device, g_strerror (-rc));
      return FALSE;
    }
  return TRUE;
}

/* Opens the path as what it is: an input device, a FIFO or a unix socket. */
static gboolean
open_input (RtcbotdEvdev *self, char **reason)
{
  const char *path = device_path (self);
  struct stat st;

  if (stat (path, &st) < 0)
    {
      *reason = errno_reason (path, errno);
      return FALSE;
    }
  self->is_socket = S_ISSOCK (st.st_mode);
  if (self->is_socket)
    self->fd = connect_socket (path);
  else
    self->fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (self->fd < 0)
    {
      *reason = self->is_socket
                    ? g_strdup_printf ("%s: cannot connect (%s)", path, g_strerror (errno))
                    : errno_reason (path, errno);
      return FALSE;
    }
  if (fstat (self->fd, &st) < 0)
    {
      *reason = errno_reason (path, errno);
      return FALSE;
    }
  if (S_ISCHR (st.st_mode))
    return open_evdev (self, reason);
  if (S_ISFIFO (st.st_mode) || S_ISSOCK (st.st_mode))
    {
      self->records = rtcbotd_input_records_new ();
      return TRUE;
    }
  *reason = g_strdup_printf ("%s: not an input device (%s)", path,
                             S_ISDIR (st.st_mode) ? "a directory" : "a regular file");
  return FALSE;
}

/* Routes map axes from their latest value, which starts at 0; for a pad whose
 * sticks rest at 128 that would read as full travel until each axis first
 * moves. So an opened device first reports where every axis is now. */
static void
emit_axis_state (RtcbotdEvdev *self)
{
  struct input_event event = { .type = EV_ABS };
  gint64 now = g_get_real_time ();

  event.input_event_sec = now / G_USEC_PER_SEC;
  event.input_event_usec = now % G_USEC_PER_SEC;
  for (guint code = 0; self->dev && code <= ABS_MAX; code++)
    {
      g_autoptr (JsonNode) node = NULL;
      if (!libevdev_has_event_code (self->dev, EV_ABS, code))
        continue;
      event.code = code;
      event.value = libevdev_get_event_value (self->dev, EV_ABS, code);
      if ((node = rtcbotd_input_event_to_json (&event)))
        rtcbotd_endpoint_emit (RTCBOTD_ENDPOINT (self), node);
    }
}

static void
try_open (RtcbotdEvdev *self)
{
  g_autofree char *reason = NULL;

  close_input (self);
  if (!open_input (self, &reason))
    {
      fail (self, "%s", reason);
      return;
    }
  self->fresh = TRUE;
  self->watch_id = g_unix_fd_add (self->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, self);
  rtcbotd_endpoint_set_up (RTCBOTD_ENDPOINT (self));
  emit_axis_state (self);
}

static gboolean
on_retry (gpointer user_data)
{
  try_open (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
rtcbotd_evdev_start (RtcbotdEndpoint *endpoint, GError **error)
{
  RtcbotdEvdev *self = RTCBOTD_EVDEV (endpoint);

  if (self->started)
    return TRUE;
  self->started = TRUE;
  try_open (self);
  return TRUE;
}

static void
rtcbotd_evdev_stop (RtcbotdEndpoint *endpoint)
{
  RtcbotdEvdev *self = RTCBOTD_EVDEV (endpoint);

  self->started = FALSE;
  rtcbotd_backoff_cancel (self->backoff);
  close_input (self);
}

static void
rtcbotd_evdev_add_health (RtcbotdEndpoint *endpoint, JsonBuilder *builder)
{
  RtcbotdEvdev *self = RTCBOTD_EVDEV (endpoint);

  json_builder_set_member_name (builder, "device");
  json_builder_add_string_value (builder, device_path (self));
  if (self->name)
    {
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, self->name);
    }
}

static void
rtcbotd_evdev_dispose (GObject *object)
{
  RtcbotdEvdev *self = RTCBOTD_EVDEV (object);

  self->started = FALSE;
  rtcbotd_backoff_cancel (self->backoff);
  close_input (self);
  G_OBJECT_CLASS (rtcbotd_evdev_parent_class)->dispose (object);
}

static void
rtcbotd_evdev_finalize (GObject *object)
{
  RtcbotdEvdev *self = RTCBOTD_EVDEV (object);

  rtcbotd_backoff_free (self->backoff);
  g_free (self->name);
  G_OBJECT_CLASS (rtcbotd_evdev_parent_class)->finalize (object);
}

static void
rtcbotd_evdev_class_init (RtcbotdEvdevClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  RtcbotdEndpointClass *endpoint_class = RTCBOTD_ENDPOINT_CLASS (klass);

  object_class->dispose = rtcbotd_evdev_dispose;
  object_class->finalize = rtcbotd_evdev_finalize;
  endpoint_class->start = rtcbotd_evdev_start;
  endpoint_class->stop = rtcbotd_evdev_stop;
  endpoint_class->add_health = rtcbotd_evdev_add_health;
}

static void
rtcbotd_evdev_init (RtcbotdEvdev *self)
{
  self->fd = -1;
  self->backoff = rtcbotd_backoff_new (RETRY_MIN_MS, RETRY_MAX_MS, on_retry, self);
}

RtcbotdEndpoint *
rtcbotd_evdev_new (const RtcbotdEndpointConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (config->type == RTCBOTD_ENDPOINT_EVDEV, NULL);
  g_return_val_if_fail (config->device != NULL, NULL);

  return g_object_new (RTCBOTD_TYPE_EVDEV, "config", config, NULL);
}
