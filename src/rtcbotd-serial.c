/* rtcbotd-serial.c — a serial port as a message source and sink (RTCBot's SerialConnection). */
#include "rtcbotd-serial.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "rtcbotd-backoff.h"
#include "rtcbotd-writer.h"

#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 10000
/* A frame-marker frame waits this long for the next marker before the line
 * counts as idle and the frame is delivered (or dropped, when incomplete). */
#define IDLE_FLUSH_MS 20
#define READ_CHUNK 4096
/* Bytes the tty may hold unsent before commands wait in our queue, where the
 * overflow policy applies: at 9600 baud about 70 ms, not the seconds a full
 * 4 KiB tty buffer would add. */
#define TTY_BACKLOG 64
#define READS_PER_DISPATCH 16

struct _RtcbotdSerial
{
  RtcbotdEndpoint parent;
  const RtcbotdEndpointConfig *config;
  int fd;
  guint read_id;
  guint idle_id;
  guint delay_id;
  gboolean ready;
  RtcbotdSerialDecoder *decoder;
  RtcbotdWriter *writer;
  RtcbotdBackoff *backoff;
  guint64 opens;
  gboolean lost;         /* down since the last open, and logged */
  gint64 last_error_log; /* rate limit for encoding errors */
  guint64 errors_unlogged;
};

G_DEFINE_FINAL_TYPE (RtcbotdSerial, rtcbotd_serial, RTCBOTD_TYPE_ENDPOINT)

static gboolean try_open (gpointer user_data);

static speed_t
baud_to_speed (guint baudrate)
{
  static const struct
  {
    guint rate;
    speed_t speed;
  } table[] = { { 300, B300 },         { 600, B600 },         { 1200, B1200 },
                { 2400, B2400 },       { 4800, B4800 },       { 9600, B9600 },
                { 19200, B19200 },     { 38400, B38400 },     { 57600, B57600 },
                { 115200, B115200 },   { 230400, B230400 },   { 460800, B460800 },
                { 500000, B500000 },   { 576000, B576000 },   { 921600, B921600 },
                { 1000000, B1000000 }, { 1152000, B1152000 }, { 1500000, B1500000 },
                { 2000000, B2000000 }, { 2500000, B2500000 }, { 3000000, B3000000 },
                { 3500000, B3500000 }, { 4000000, B4000000 } };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (table[i].rate == baudrate)
      return table[i].speed;
  return B115200; /* the config layer accepts only the rates above */
}

/* Drops the open port; queued commands go with it (never replayed later). */
static void
close_port (RtcbotdSerial *self)
{
  g_clear_handle_id (&self->read_id, g_source_remove);
  g_clear_handle_id (&self->idle_id, g_source_remove);
  g_clear_handle_id (&self->delay_id, g_source_remove);
  if (self->writer)
    rtcbotd_endpoint_get_stats (RTCBOTD_ENDPOINT (self))->dropped
        += rtcbotd_writer_get_queued (self->writer);
  g_clear_pointer (&self->writer, rtcbotd_writer_free);
  if (self->fd >= 0)
    close (self->fd);
  self->fd = -1;
  self->ready = FALSE;
}

/* The port failed: report it once, close, and retry with backoff. */
static void
port_lost (RtcbotdSerial *self, const char *cause)
{
  g_autofree char *reason = g_strdup_printf ("%s: %s", self->config->device, cause);
  guint delay;

  close_port (self);
  /* Once per outage: what the retries meet next (the device node gone after
   * the hang-up) says nothing new. */
  if (!self->lost)
    rtcbotd_endpoint_set_down (RTCBOTD_ENDPOINT (self), reason);
  else
    g_debug ("%s: still down: %s", self->config->label, reason);
  self->lost = TRUE;
  delay = rtcbotd_backoff_schedule (self->backoff);
  g_debug ("%s: reopening in %u ms", self->config->label, delay);
}

static gboolean
on_write_delay_over (gpointer user_data)
{
  RtcbotdSerial *self = user_data;

  self->delay_id = 0;
  rtcbotd_writer_set_held (self->writer, FALSE);
  return G_SOURCE_REMOVE;
}

/* The start bytes arrived (or none are configured): writes may begin after the delay. */
static void
become_ready (RtcbotdSerial *self)
{
  if (!self->writer)
    return; /* the port went away meanwhile */
  self->ready = TRUE;
  if (self->config->format->start_bytes)
    g_message ("%s: ready (start bytes received)", self->config->label);
  if (self->config->delay_write_start)
    self->delay_id = g_timeout_add (self->config->delay_write_start, on_write_delay_over, self);
  else
    rtcbotd_writer_set_held (self->writer, FALSE);
}

static void
on_decoded (JsonNode *message, gpointer user_data)
{
  rtcbotd_endpoint_emit (RTCBOTD_ENDPOINT (user_data), message);
}

static gboolean
on_idle (gpointer user_data)
{
  RtcbotdSerial *self = user_data;

  self->idle_id = 0;
  rtcbotd_serial_decoder_flush (self->decoder, on_decoded, self);
  return G_SOURCE_REMOVE;
}

/* Feeds @size bytes to the decoder and follows what they changed; returns
 * FALSE when the port was lost meanwhile (a route from this port back to it
 * may write, and that write may fail). */
static gboolean
take_bytes (RtcbotdSerial *self, const guint8 *data, gsize size)
{
  const RtcbotdSerialStats *stats = rtcbotd_serial_decoder_get_stats (self->decoder);
  guint64 dropped = stats->dropped;
  guint64 opens = self->opens;

  rtcbotd_serial_decoder_feed (self->decoder, data, size, on_decoded, self);
  rtcbotd_endpoint_get_stats (RTCBOTD_ENDPOINT (self))->dropped += stats->dropped - dropped;
  if (self->fd < 0 || self->opens != opens)
    return FALSE;
  if (!self->ready && rtcbotd_serial_decoder_is_ready (self->decoder))
    become_ready (self);
  g_clear_handle_id (&self->idle_id, g_source_remove);
  if (rtcbotd_serial_decoder_has_pending (self->decoder))
    self->idle_id = g_timeout_add (IDLE_FLUSH_MS, on_idle, self);
  return self->fd >= 0 && self->opens == opens;
}

/* Main context: the port is readable, or hung up. */
static gboolean
on_readable (int fd, GIOCondition condition, gpointer user_data)
{
  RtcbotdSerial *self = user_data;
  guint8 buffer[READ_CHUNK];

  for (guint i = 0; i < READS_PER_DISPATCH; i++)
    {
      ssize_t n = read (fd, buffer, sizeof buffer);
      if (n > 0 && take_bytes (self, buffer, n))
        continue;
      if (n > 0)
        return G_SOURCE_REMOVE; /* lost, and the watch removed with the port */
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      self->read_id = 0; /* the source goes away with G_SOURCE_REMOVE */
      port_lost (self, n == 0 ? "the device hung up" : g_strerror (errno));
      return G_SOURCE_REMOVE;
    }
  if (condition & (G_IO_HUP | G_IO_ERR))
    {
      self->read_id = 0;
      port_lost (self, "the device hung up (unplugged?)");
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
on_write_error (GError *error, gpointer user_data)
{
  RtcbotdSerial *self = user_data;
  g_autofree char *cause = g_strdup_printf ("write failed: %s", error->message);

  port_lost (self, cause);
}

/* Puts the tty in raw mode at the configured rate; FALSE with errno set. */
static gboolean
configure_tty (int fd, guint baudrate)
{
  struct termios tio;
  int bits = TIOCM_RTS;

  if (tcgetattr (fd, &tio) < 0)
    return FALSE;
  cfmakeraw (&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~(CSTOPB | CRTSCTS);
  /* VMIN 0 would make an empty read return 0, which means "hung up" here;
   * with VMIN 1 and O_NONBLOCK an empty port says EAGAIN. */
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  cfsetispeed (&tio, baud_to_speed (baudrate));
  cfsetospeed (&tio, baud_to_speed (baudrate));
  if (tcsetattr (fd, TCSANOW, &tio) < 0)
    return FALSE;
  /* As RTCBot (pyserial rts = False); ptys have no modem lines, so no error. */
  ioctl (fd, TIOCMBIC, &bits);
  return TRUE;
}

/* Opens the device; returns the fd, or -1 with *cause set. */
static int
open_device (RtcbotdSerial *self, char **cause)
{
  int fd = open (self->config->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0)
    {
      *cause = g_strdup_printf ("%s%s", g_strerror (errno),
                                errno == EACCES ? " (add the daemon's user to the 'dialout' "
                                                  "group)"
                                                : "");
      return -1;
    }
  if (!isatty (fd) || !configure_tty (fd, self->config->baudrate))
    {
      *cause = g_strdup_printf ("not a serial port (%s)", g_strerror (errno));
      close (fd);
      return -1;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      *cause = g_strdup ("in use by another program (it holds a lock on it)");
      close (fd);
      return -1;
    }
  return fd;
}

static gboolean
try_open (gpointer user_data)
{
  RtcbotdSerial *self = user_data;
  g_autofree char *cause = NULL;
  int fd = open_device (self, &cause);

  if (fd < 0)
    {
      port_lost (self, cause);
      return G_SOURCE_REMOVE;
    }
  self->fd = fd;
  self->opens++;
  self->lost = FALSE;
  rtcbotd_backoff_reset (self->backoff);
  rtcbotd_serial_decoder_reset (self->decoder);
  self->writer = rtcbotd_writer_new (fd, self->config->overflow, self->config->queue_length,
                                     on_write_error, self);
  rtcbotd_writer_set_backlog_limit (self->writer, TTY_BACKLOG, TIOCOUTQ);
  rtcbotd_writer_set_held (self->writer, TRUE);
  self->read_id = g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, self);
  rtcbotd_endpoint_set_up (RTCBOTD_ENDPOINT (self));
  if (rtcbotd_serial_decoder_is_ready (self->decoder))
    become_ready (self);
  else
    g_message ("%s: %s open, waiting for the start bytes", self->config->label,
               self->config->device);
  return G_SOURCE_REMOVE;
}

static gboolean
rtcbotd_serial_start (RtcbotdEndpoint *endpoint, GError **error)
{
  try_open (endpoint);
  return TRUE;
}

static void
rtcbotd_serial_stop (RtcbotdEndpoint *endpoint)
{
  RtcbotdSerial *self = RTCBOTD_SERIAL (endpoint);

  rtcbotd_backoff_cancel (self->backoff);
  close_port (self);
}

/* Logs an encoding error, at most once a second (a driver may send 50 a second). */
static void
log_refused (RtcbotdSerial *self, GError *error)
{
  gint64 now = g_get_monotonic_time ();

  if (now - self->last_error_log < G_USEC_PER_SEC)
    {
      self->errors_unlogged++;
      return;
    }
  g_warning ("%s: refused a message: %s%s", self->config->label, error->message,
             self->errors_unlogged ? " (and earlier ones, not logged)" : "");
  self->last_error_log = now;
  self->errors_unlogged = 0;
}

static void
rtcbotd_serial_send (RtcbotdEndpoint *endpoint, JsonNode *message)
{
  RtcbotdSerial *self = RTCBOTD_SERIAL (endpoint);
  RtcbotdEndpointStats *stats = rtcbotd_endpoint_get_stats (endpoint);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) frame = NULL;

  if (!(frame = rtcbotd_serial_encode (self->config->format, message, &error)))
    {
      stats->errors++;
      log_refused (self, error);
      return;
    }
  if (!self->writer)
    {
      stats->dropped++; /* down: a command must not wait for the port to come back */
      return;
    }
  stats->dropped += rtcbotd_writer_push (self->writer, frame);
}

static void
rtcbotd_serial_flush (RtcbotdEndpoint *endpoint, gint64 deadline)
{
  RtcbotdSerial *self = RTCBOTD_SERIAL (endpoint);

  if (self->writer)
    rtcbotd_writer_flush (self->writer, deadline);
}

static void
rtcbotd_serial_add_health (RtcbotdEndpoint *endpoint, JsonBuilder *builder)
{
  RtcbotdSerial *self = RTCBOTD_SERIAL (endpoint);
  const RtcbotdSerialStats *stats = rtcbotd_serial_decoder_get_stats (self->decoder);

  json_builder_set_member_name (builder, "device");
  json_builder_add_string_value (builder, self->config->device);
  json_builder_set_member_name (builder, "ready");
  json_builder_add_boolean_value (builder, self->ready);
  json_builder_set_member_name (builder, "opens");
  json_builder_add_int_value (builder, self->opens);
  json_builder_set_member_name (builder, "bytes-discarded");
  json_builder_add_int_value (builder, stats->discarded);
  json_builder_set_member_name (builder, "frames-dropped");
  json_builder_add_int_value (builder, stats->dropped);
  json_builder_set_member_name (builder, "written");
  json_builder_add_int_value (builder,
                              self->writer ? rtcbotd_writer_get_written (self->writer) : 0);
}

static void
rtcbotd_serial_add_metrics (RtcbotdEndpoint *endpoint, RtcbotdMetrics *m)
{
  RtcbotdSerial *self = RTCBOTD_SERIAL (endpoint);
  const RtcbotdSerialStats *stats = rtcbotd_serial_decoder_get_stats (self->decoder);
  const char *name = self->config->name;

  rtcbotd_metrics_gauge (m, "rtcbotd_serial_ready",
                         "1 once the port is open and its start bytes have arrived.", self->ready,
                         "endpoint", name, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_serial_opens_total", "Times the port was opened.",
                           self->opens, "endpoint", name, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_serial_discarded_bytes_total",
                           "Bytes skipped: garbage between frames, over-long lines.",
                           stats->discarded, "endpoint", name, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_serial_frames_dropped_total",
                           "Frames or lines read that could not be decoded (short or bad "
                           "frames).",
                           stats->dropped, "endpoint", name, NULL);
}

static void
rtcbotd_serial_finalize (GObject *object)
{
  RtcbotdSerial *self = RTCBOTD_SERIAL (object);

  close_port (self);
  g_clear_pointer (&self->backoff, rtcbotd_backoff_free);
  g_clear_pointer (&self->decoder, rtcbotd_serial_decoder_free);
  G_OBJECT_CLASS (rtcbotd_serial_parent_class)->finalize (object);
}

static void
rtcbotd_serial_class_init (RtcbotdSerialClass *klass)
{
  RtcbotdEndpointClass *endpoint_class = RTCBOTD_ENDPOINT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = rtcbotd_serial_finalize;
  endpoint_class->start = rtcbotd_serial_start;
  endpoint_class->stop = rtcbotd_serial_stop;
  endpoint_class->send = rtcbotd_serial_send;
  endpoint_class->flush = rtcbotd_serial_flush;
  endpoint_class->add_health = rtcbotd_serial_add_health;
  endpoint_class->add_metrics = rtcbotd_serial_add_metrics;
}

static void
rtcbotd_serial_init (RtcbotdSerial *self)
{
  self->fd = -1;
}

RtcbotdEndpoint *
rtcbotd_serial_new (const RtcbotdEndpointConfig *config)
{
  RtcbotdSerial *self = g_object_new (RTCBOTD_TYPE_SERIAL, "config", config, NULL);

  self->config = config;
  self->decoder = rtcbotd_serial_decoder_new (config->format);
  self->backoff = rtcbotd_backoff_new (RETRY_MIN_MS, RETRY_MAX_MS, try_open, self);
  return RTCBOTD_ENDPOINT (self);
}
