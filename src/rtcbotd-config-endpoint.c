/* rtcbotd-config-endpoint.c — the config layer's parser for message sources and sinks. */
#include "rtcbotd-config-endpoint.h"

#include <string.h>

#include "rtcbotd-error.h"

const char *const rtcbotd_endpoint_type_names[]
    = { "serial", "evdev", "exec", "websocket", "socket", NULL };

static const char *const serial_keys[]
    = { "type",      "device",       "baudrate",          "read-format", "write-format",
        "read-keys", "write-keys",   "line-ending",       "start-byte",  "frame-marker",
        "overflow",  "queue-length", "delay-write-start", NULL };
static const char *const evdev_keys[] = { "type", "device", "grab", NULL };
static const char *const exec_keys[]
    = { "type", "command", "max-rate", "overflow", "queue-length", NULL };
static const char *const websocket_keys[] = { "type", "overflow", "queue-length", NULL };
static const char *const socket_keys[] = { "type", "path", "overflow", "queue-length", NULL };

static const char *const overflows[] = { "drop-oldest", "most-recent", NULL };
static const char *const line_endings[] = { "lf", "crlf", "none", NULL };
static const char *const booleans[] = { "no", "yes", NULL };
static const guint baudrates[]
    = { 300,     600,     1200,    2400,    4800,    9600,    19200,  38400,
        57600,   115200,  230400,  460800,  500000,  576000,  921600, 1000000,
        1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000 };

gboolean
rtcbotd_config_is_endpoint_type (const char *type)
{
  return g_strv_contains (rtcbotd_endpoint_type_names, type);
}

void
rtcbotd_endpoint_config_free (RtcbotdEndpointConfig *e)
{
  if (!e)
    return;
  g_free (e->name);
  g_free (e->label);
  g_free (e->device);
  g_clear_pointer (&e->format, rtcbotd_serial_format_free);
  g_strfreev (e->argv);
  g_free (e->fingerprint);
  g_free (e);
}

/* Reads "192,105" or "0xC0, 0x69" into bytes; NULL (and TRUE) when absent. */
static gboolean
get_bytes (RtcbotdConfigReader *reader, const char *g, const char *key, GBytes **out,
           GError **error)
{
  g_autofree char *value = NULL;
  g_auto (GStrv) items = NULL;
  g_autoptr (GByteArray) bytes = g_byte_array_new ();

  *out = NULL;
  if (!rtcbotd_config_reader_get_string (reader, g, key, NULL, &value, error))
    return FALSE;
  if (!value)
    return TRUE;
  items = g_strsplit (value, ",", -1);
  for (guint i = 0; items[i]; i++)
    {
      char *item = g_strstrip (items[i]);
      gboolean hex = g_str_has_prefix (item, "0x") || g_str_has_prefix (item, "0X");
      guint64 byte;
      if (!g_ascii_string_to_unsigned (hex ? item + 2 : item, hex ? 16 : 10, 0, 255, &byte, NULL)
          || bytes->len >= 16)
        {
          rtcbotd_config_reader_error (reader, error, g, key,
                                       bytes->len >= 16 ? "more than 16 bytes"
                                                        : "\"%s\" is not a byte; write 1 to 16 "
                                                          "bytes 0..255 separated by commas, "
                                                          "e.g. 192,105 or 0xC0,0x69",
                                       item);
          return FALSE;
        }
      guint8 b = (guint8)byte;
      g_byte_array_append (bytes, &b, 1);
    }
  *out = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
  return TRUE;
}

static gboolean
get_struct (RtcbotdConfigReader *reader, const char *g, const char *key, const char *text,
            RtcbotdStruct **out, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (!(*out = rtcbotd_struct_new (text, &local_error)))
    {
      rtcbotd_config_reader_error (reader, error, g, key, "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* Reads @key ("read-keys"/"write-keys") and checks it names one field per value. */
static gboolean
get_keys (RtcbotdConfigReader *reader, const char *g, const char *key, const RtcbotdStruct *s,
          char ***out, GError **error)
{
  guint n;

  if (!rtcbotd_config_reader_has_key (reader, g, key))
    return TRUE;
  if (!s)
    {
      rtcbotd_config_reader_error (reader, error, g, key, "needs %s (a struct format)",
                                   g_str_equal (key, "read-keys") ? "read-format" : "write-format");
      return FALSE;
    }
  if (!rtcbotd_config_reader_get_list (reader, g, key, out, error))
    return FALSE;
  n = g_strv_length (*out);
  if (n != rtcbotd_struct_get_n_values (s))
    {
      rtcbotd_config_reader_error (reader, error, g, key,
                                   "names %u field(s), but \"%s\" holds %u value(s)", n,
                                   rtcbotd_struct_get_format (s), rtcbotd_struct_get_n_values (s));
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    for (guint j = 0; j < i; j++)
      if (g_str_equal ((*out)[i], (*out)[j]))
        {
          rtcbotd_config_reader_error (reader, error, g, key, "\"%s\" is named twice", (*out)[i]);
          return FALSE;
        }
  return TRUE;
}

static gboolean
parse_serial_format (RtcbotdEndpointConfig *e, RtcbotdConfigReader *reader, const char *g,
                     GError **error)
{
  RtcbotdSerialFormat *f = e->format = g_new0 (RtcbotdSerialFormat, 1);
  g_autofree char *read = NULL;
  g_autofree char *write = NULL;
  guint ending;

  if (!rtcbotd_config_reader_get_string (reader, g, "read-format", NULL, &read, error)
      || !rtcbotd_config_reader_get_string (reader, g, "write-format", NULL, &write, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "line-ending", line_endings, 0, &ending,
                                            error))
    return FALSE;
  f->read_mode = !read                       ? RTCBOTD_SERIAL_READ_LINES
                 : g_str_equal (read, "raw") ? RTCBOTD_SERIAL_READ_RAW
                                             : RTCBOTD_SERIAL_READ_STRUCT;
  f->line_ending = ending;
  if ((f->read_mode == RTCBOTD_SERIAL_READ_STRUCT
       && !get_struct (reader, g, "read-format", read, &f->read_format, error))
      || (write && !get_struct (reader, g, "write-format", write, &f->write_format, error))
      || !get_keys (reader, g, "read-keys", f->read_format, &f->read_keys, error)
      || !get_keys (reader, g, "write-keys", f->write_format, &f->write_keys, error)
      || !get_bytes (reader, g, "start-byte", &f->start_bytes, error)
      || !get_bytes (reader, g, "frame-marker", &f->frame_marker, error))
    return FALSE;
  if (f->write_format && rtcbotd_config_reader_has_key (reader, g, "line-ending"))
    {
      rtcbotd_config_reader_error (reader, error, g, "line-ending",
                                   "applies to text writes, but write-format makes this port "
                                   "write struct records");
      return FALSE;
    }
  if (f->frame_marker && !f->read_format && !f->write_format)
    {
      rtcbotd_config_reader_error (reader, error, g, "frame-marker",
                                   "frames struct records; set read-format or write-format to a "
                                   "struct format");
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_baudrate (RtcbotdEndpointConfig *e, RtcbotdConfigReader *reader, const char *g,
                GError **error)
{
  g_autoptr (GString) accepted = g_string_new (NULL);

  if (!rtcbotd_config_reader_get_uint (reader, g, "baudrate", 115200, 1, G_MAXUINT, &e->baudrate,
                                       error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (baudrates); i++)
    {
      if (baudrates[i] == e->baudrate)
        return TRUE;
      g_string_append_printf (accepted, "%s%u", i ? "|" : "", baudrates[i]);
    }
  rtcbotd_config_reader_error (reader, error, g, "baudrate", "%u is not accepted; accepted: %s",
                               e->baudrate, accepted->str);
  return FALSE;
}

static gboolean
parse_serial (RtcbotdEndpointConfig *e, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  double delay;

  if (!rtcbotd_config_reader_check_keys (reader, g, serial_keys, error)
      || !rtcbotd_config_reader_get_string (reader, g, "device", NULL, &e->device, error)
      || !parse_baudrate (e, reader, g, error)
      || !rtcbotd_config_reader_get_double (reader, g, "delay-write-start", 0, 0, 60, &delay, error)
      || !parse_serial_format (e, reader, g, error))
    return FALSE;
  e->delay_write_start = (guint)(delay * 1000 + 0.5);
  return TRUE;
}

static gboolean
parse_evdev (RtcbotdEndpointConfig *e, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  guint grab;

  if (!rtcbotd_config_reader_check_keys (reader, g, evdev_keys, error)
      || !rtcbotd_config_reader_get_string (reader, g, "device", NULL, &e->device, error)
      || !rtcbotd_config_reader_get_choice (reader, g, "grab", booleans, 0, &grab, error))
    return FALSE;
  e->grab = grab == 1;
  return TRUE;
}

static gboolean
parse_exec (RtcbotdEndpointConfig *e, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  g_autofree char *command = NULL;
  g_autofree char *program = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!rtcbotd_config_reader_check_keys (reader, g, exec_keys, error)
      || !rtcbotd_config_reader_get_string (reader, g, "command", NULL, &command, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "max-rate", 1000, 1, 100000, &e->max_rate,
                                          error))
    return FALSE;
  if (!command)
    {
      rtcbotd_config_reader_error (reader, error, g, "command",
                                   "missing; this key is required: the program and its "
                                   "arguments, e.g. /usr/bin/python3 -u /etc/rtcbotd/sensor.py");
      return FALSE;
    }
  if (!g_shell_parse_argv (command, NULL, &e->argv, &local_error))
    {
      rtcbotd_config_reader_error (reader, error, g, "command", "\"%s\": %s", command,
                                   local_error->message);
      return FALSE;
    }
  program = g_find_program_in_path (e->argv[0]);
  if (!program)
    {
      rtcbotd_config_reader_error (
          reader, error, g, "command",
          "\"%s\" is not an executable program (give its absolute path, or a name on PATH)",
          e->argv[0]);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_socket (RtcbotdEndpointConfig *e, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  if (!rtcbotd_config_reader_check_keys (reader, g, socket_keys, error)
      || !rtcbotd_config_reader_get_string (reader, g, "path", NULL, &e->device, error))
    return FALSE;
  if (!e->device || !g_path_is_absolute (e->device) || strlen (e->device) > 100)
    {
      rtcbotd_config_reader_error (reader, error, g, "path", "%s",
                                   e->device ? "must be an absolute path of at most 100 bytes"
                                             : "missing; this key is required, e.g. "
                                               "/run/rtcbotd/NAME.sock");
      return FALSE;
    }
  return TRUE;
}

/* The keys every writable endpoint shares. */
static gboolean
parse_queue (RtcbotdEndpointConfig *e, RtcbotdConfigReader *reader, const char *g, GError **error)
{
  guint overflow;

  if (!rtcbotd_config_reader_get_choice (reader, g, "overflow", overflows, 0, &overflow, error)
      || !rtcbotd_config_reader_get_uint (reader, g, "queue-length", 64, 1, 10000, &e->queue_length,
                                          error))
    return FALSE;
  e->overflow = overflow;
  return TRUE;
}

static gboolean
require_device (RtcbotdEndpointConfig *e, RtcbotdConfigReader *reader, const char *g,
                const char *example, GError **error)
{
  if (e->device)
    return TRUE;
  rtcbotd_config_reader_error (reader, error, g, "device", "missing; this key is required, e.g. %s",
                               example);
  return FALSE;
}

RtcbotdEndpointConfig *
rtcbotd_config_parse_endpoint (RtcbotdConfigReader *reader, const char *g, const char *section,
                               const char *name, const char *type, GError **error)
{
  RtcbotdEndpointConfig *e = g_new0 (RtcbotdEndpointConfig, 1);
  gboolean ok = FALSE;

  e->name = g_strdup (name);
  e->label = g_strdup_printf ("[%s]", g);
  e->sink_group = g_str_equal (section, "sink");
  for (guint i = 0; rtcbotd_endpoint_type_names[i]; i++)
    if (g_str_equal (type, rtcbotd_endpoint_type_names[i]))
      e->type = i;
  e->readable = TRUE;
  e->writable = e->type != RTCBOTD_ENDPOINT_EVDEV;
  if (e->type == RTCBOTD_ENDPOINT_EVDEV && g_str_equal (section, "sink"))
    rtcbotd_config_reader_error (reader, error, g, "type",
                                 "evdev reads input devices; declare it as [source %s]", name);
  else if (e->type == RTCBOTD_ENDPOINT_SERIAL)
    ok = parse_serial (e, reader, g, error) && require_device (e, reader, g, "/dev/ttyACM0", error);
  else if (e->type == RTCBOTD_ENDPOINT_EVDEV)
    ok = parse_evdev (e, reader, g, error)
         && require_device (e, reader, g, "/dev/input/by-id/usb-...-event-joystick", error);
  else if (e->type == RTCBOTD_ENDPOINT_EXEC)
    ok = parse_exec (e, reader, g, error);
  else if (e->type == RTCBOTD_ENDPOINT_SOCKET)
    ok = parse_socket (e, reader, g, error);
  else
    ok = rtcbotd_config_reader_check_keys (reader, g, websocket_keys, error);
  if (ok && e->writable)
    ok = parse_queue (e, reader, g, error);
  if (!ok)
    g_clear_pointer (&e, rtcbotd_endpoint_config_free);
  else
    e->fingerprint = rtcbotd_config_reader_fingerprint (reader, g);
  return e;
}
