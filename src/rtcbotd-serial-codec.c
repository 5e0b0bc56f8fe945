/* rtcbotd-serial-codec.c — bytes on a serial line <-> JSON messages. */
#include "rtcbotd-serial-codec.h"

#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-message-bus.h"

/* Struct modes buffer a fed chunk this much at a time (or one frame and a
 * marker, if larger), so that a long read of garbage never piles up. */
#define SLICE_SIZE 4096

struct _RtcbotdSerialDecoder
{
  const RtcbotdSerialFormat *format;
  gboolean ready;
  gboolean skipping_line; /* inside an over-long line, until its newline */
  GByteArray *buffer;     /* read, not yet decoded: from head on */
  gsize head;
  guint generation; /* bumped by reset(), which a callback may call */
  RtcbotdSerialStats stats;
};

/* The bytes of @bytes, or none when it is NULL. */
static const guint8 *
bytes_data (GBytes *bytes, gsize *size)
{
  *size = 0;
  return bytes ? g_bytes_get_data (bytes, size) : NULL;
}

/* The offset of the first @needle in @haystack, or -1. */
static gssize
find_bytes (const guint8 *haystack, gsize size, const guint8 *needle, gsize length)
{
  if (length == 0 || size < length)
    return -1;
  for (gsize i = 0; i + length <= size; i++)
    if (haystack[i] == needle[0] && memcmp (haystack + i, needle, length) == 0)
      return i;
  return -1;
}

void
rtcbotd_serial_format_free (RtcbotdSerialFormat *format)
{
  if (!format)
    return;
  rtcbotd_struct_free (format->read_format);
  g_strfreev (format->read_keys);
  rtcbotd_struct_free (format->write_format);
  g_strfreev (format->write_keys);
  g_clear_pointer (&format->start_bytes, g_bytes_unref);
  g_clear_pointer (&format->frame_marker, g_bytes_unref);
  g_free (format);
}

static const char *
describe_type (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "an array";
  if (JSON_NODE_HOLDS_NULL (node))
    return "null";
  switch (json_node_get_value_type (node))
    {
      case G_TYPE_STRING:
        return "a string";
      case G_TYPE_BOOLEAN:
        return "a boolean";
      default:
        return "a number";
    }
}

/* The values of @message in the order of the write keys. */
static JsonArray *
values_by_key (char **keys, JsonNode *message, GError **error)
{
  guint n_keys = g_strv_length (keys);
  g_autoptr (JsonArray) values = NULL;
  JsonObject *object;

  if (JSON_NODE_HOLDS_ARRAY (message)
      && json_array_get_length (json_node_get_array (message)) == n_keys)
    return json_array_ref (json_node_get_array (message));
  if (JSON_NODE_HOLDS_ARRAY (message))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "the message array has %u values, the write keys name %u",
                   json_array_get_length (json_node_get_array (message)), n_keys);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (message))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "a struct message must be a JSON object with the write keys, got %s",
                   describe_type (message));
      return NULL;
    }
  object = json_node_get_object (message);
  values = json_array_sized_new (n_keys);
  for (guint i = 0; i < n_keys; i++)
    {
      JsonNode *member = json_object_get_member (object, keys[i]);
      if (!member)
        {
          g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                       "the message has no \"%s\" (a write key)", keys[i]);
          return NULL;
        }
      json_array_add_element (values, json_node_copy (member));
    }
  return g_steal_pointer (&values);
}

static GBytes *
encode_record (const RtcbotdSerialFormat *format, JsonNode *message, GError **error)
{
  g_autoptr (JsonArray) values = NULL;
  g_autoptr (GBytes) record = NULL;
  GByteArray *framed;
  gsize marker_size;
  const guint8 *marker = bytes_data (format->frame_marker, &marker_size);

  if (format->write_keys)
    values = values_by_key (format->write_keys, message, error);
  else if (JSON_NODE_HOLDS_ARRAY (message))
    values = json_array_ref (json_node_get_array (message));
  else
    g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                 "a struct message must be a JSON array, got %s", describe_type (message));
  if (!values)
    return NULL;
  record = rtcbotd_struct_pack (format->write_format, values, error);
  if (!record || marker_size == 0)
    return g_steal_pointer (&record);
  framed = g_byte_array_sized_new (marker_size + g_bytes_get_size (record));
  g_byte_array_append (framed, marker, marker_size);
  g_byte_array_append (framed, g_bytes_get_data (record, NULL), g_bytes_get_size (record));
  return g_byte_array_free_to_bytes (framed);
}

static GBytes *
encode_line (const RtcbotdSerialFormat *format, JsonNode *message)
{
  g_autofree char *json = NULL;
  GString *line;

  /* RTCBot writes a str as str.encode(), anything else as JSON. */
  if (JSON_NODE_HOLDS_VALUE (message) && json_node_get_value_type (message) == G_TYPE_STRING)
    line = g_string_new (json_node_get_string (message));
  else
    line = g_string_new (json = rtcbotd_message_encode (message));
  switch (format->line_ending)
    {
      case RTCBOTD_LINE_ENDING_NONE:
        break;
      case RTCBOTD_LINE_ENDING_CRLF:
        g_string_append (line, "\r\n");
        break;
      default:
        g_string_append_c (line, '\n');
        break;
    }
  return g_string_free_to_bytes (line);
}

GBytes *
rtcbotd_serial_encode (const RtcbotdSerialFormat *format, JsonNode *message, GError **error)
{
  if (!message)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID, "no message to write");
      return NULL;
    }
  if (format->write_format)
    return encode_record (format, message, error);
  return encode_line (format, message);
}

RtcbotdSerialDecoder *
rtcbotd_serial_decoder_new (const RtcbotdSerialFormat *format)
{
  RtcbotdSerialDecoder *self = g_new0 (RtcbotdSerialDecoder, 1);

  self->format = format;
  /* Reserved, so that buffer->data is never NULL, not even when empty. */
  self->buffer = g_byte_array_sized_new (256);
  rtcbotd_serial_decoder_reset (self);
  return self;
}

void
rtcbotd_serial_decoder_free (RtcbotdSerialDecoder *self)
{
  if (!self)
    return;
  g_byte_array_unref (self->buffer);
  g_free (self);
}

void
rtcbotd_serial_decoder_reset (RtcbotdSerialDecoder *self)
{
  gsize start_size;

  bytes_data (self->format->start_bytes, &start_size);
  g_byte_array_set_size (self->buffer, 0);
  self->head = 0;
  self->skipping_line = FALSE;
  self->ready = start_size == 0;
  self->generation++;
}

gboolean
rtcbotd_serial_decoder_is_ready (RtcbotdSerialDecoder *self)
{
  return self->ready;
}

/* Drops the decoded bytes in front of the buffer. */
static void
compact (RtcbotdSerialDecoder *self)
{
  g_byte_array_remove_range (self->buffer, 0, MIN (self->head, self->buffer->len));
  self->head = 0;
}

/* Calls @func with @message, which it consumes; FALSE when @func reset the decoder. */
static gboolean
deliver (RtcbotdSerialDecoder *self, JsonNode *message, RtcbotdSerialMessageFunc func,
         gpointer user_data)
{
  guint generation = self->generation;

  self->stats.messages++;
  if (func)
    func (message, user_data);
  json_node_unref (message);
  return generation == self->generation;
}

/* Looks for the start bytes in what waited and @data; on finding them,
 * moves @data past them and returns TRUE. */
static gboolean
wait_for_start (RtcbotdSerialDecoder *self, const guint8 **data, gsize *size)
{
  gsize length;
  const guint8 *start = bytes_data (self->format->start_bytes, &length);
  gsize waited = self->buffer->len;
  gsize used;
  gssize found;

  g_byte_array_append (self->buffer, *data, *size);
  found = find_bytes (self->buffer->data, self->buffer->len, start, length);
  if (found < 0)
    {
      /* The start bytes may be split across reads: keep what could begin them. */
      gsize keep = MIN (self->buffer->len, length - 1);
      g_byte_array_remove_range (self->buffer, 0, self->buffer->len - keep);
      return FALSE;
    }
  /* What waited is shorter than the start bytes, so they end inside @data. */
  used = found + length - waited;
  *data += used;
  *size -= used;
  g_byte_array_set_size (self->buffer, 0);
  self->ready = TRUE;
  return TRUE;
}

/* Delivers the buffered line as a data-channel message would be; FALSE when reset. */
static gboolean
deliver_line (RtcbotdSerialDecoder *self, RtcbotdSerialMessageFunc func, gpointer user_data)
{
  gsize length = self->buffer->len;
  g_autofree char *text = NULL;

  if (length > 0 && self->buffer->data[length - 1] == '\r')
    length--;
  /* NUL bytes fail validation too: a JSON string could not hold them. */
  if (!g_utf8_validate_len ((const char *)self->buffer->data, length, NULL))
    {
      self->stats.dropped++;
      g_byte_array_set_size (self->buffer, 0);
      return TRUE;
    }
  text = g_strndup ((const char *)self->buffer->data, length);
  g_byte_array_set_size (self->buffer, 0);
  return deliver (self, rtcbotd_message_decode (text), func, user_data);
}

static void
feed_lines (RtcbotdSerialDecoder *self, const guint8 *data, gsize size,
            RtcbotdSerialMessageFunc func, gpointer user_data)
{
  while (size > 0)
    {
      const guint8 *newline = memchr (data, '\n', size);
      gsize length = newline ? (gsize)(newline - data) : size;
      gsize used = newline ? length + 1 : length;

      if (self->skipping_line)
        self->stats.discarded += used;
      else if (self->buffer->len + length > RTCBOTD_SERIAL_MAX_LINE)
        {
          self->stats.discarded += self->buffer->len + used;
          self->stats.dropped++;
          g_byte_array_set_size (self->buffer, 0);
          self->skipping_line = TRUE;
        }
      else
        {
          g_byte_array_append (self->buffer, data, length);
          if (newline && !deliver_line (self, func, user_data))
            return;
        }
      if (newline)
        self->skipping_line = FALSE;
      data += used;
      size -= used;
    }
}

static void
deliver_raw (RtcbotdSerialDecoder *self, const guint8 *data, gsize size,
             RtcbotdSerialMessageFunc func, gpointer user_data)
{
  g_autofree char *text = g_utf8_make_valid ((const char *)data, size);
  JsonNode *message = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (message, text);
  deliver (self, message, func, user_data);
}

/* Delivers @values (NULL: undecodable) as an array, or an object by the read keys. */
static gboolean
deliver_values (RtcbotdSerialDecoder *self, JsonArray *values, RtcbotdSerialMessageFunc func,
                gpointer user_data)
{
  char **keys = self->format->read_keys;
  g_autoptr (JsonObject) object = NULL;

  if (!values || (keys && g_strv_length (keys) != json_array_get_length (values)))
    {
      self->stats.dropped++;
      return TRUE;
    }
  if (!keys)
    return deliver (self, json_node_init_array (json_node_alloc (), values), func, user_data);
  object = json_object_new ();
  for (guint i = 0; keys[i]; i++)
    json_object_set_member (object, keys[i], json_node_copy (json_array_get_element (values, i)));
  return deliver (self, json_node_init_object (json_node_alloc (), object), func, user_data);
}

/* Decodes the record @skip bytes after the head and moves the head past it. */
static gboolean
take_record (RtcbotdSerialDecoder *self, gsize skip, RtcbotdSerialMessageFunc func,
             gpointer user_data)
{
  const RtcbotdStruct *format = self->format->read_format;
  gsize size = rtcbotd_struct_get_size (format);
  g_autoptr (JsonArray) values
      = rtcbotd_struct_unpack (format, self->buffer->data + self->head + skip, size, NULL);

  self->head += skip + size;
  return deliver_values (self, values, func, user_data);
}

/* RTCBot's bare records: every whole record in the buffer, no resync. */
static void
split_records (RtcbotdSerialDecoder *self, RtcbotdSerialMessageFunc func, gpointer user_data)
{
  gsize size = rtcbotd_struct_get_size (self->format->read_format);

  while (self->buffer->len - self->head >= size)
    if (!take_record (self, 0, func, user_data))
      return;
  compact (self);
}

/* How many bytes at the end of @data begin @marker (fewer than all of it). */
static gsize
partial_marker (const guint8 *data, gsize size, const guint8 *marker, gsize marker_size)
{
  for (gsize k = MIN (size, marker_size - 1); k > 0; k--)
    if (memcmp (data + size - k, marker, k) == 0)
      return k;
  return 0;
}

/* Moves the head to the next marker, counting what it skips; FALSE when
 * there is none, keeping what could begin one. */
static gboolean
skip_to_marker (RtcbotdSerialDecoder *self, const guint8 *marker, gsize marker_size)
{
  const guint8 *data = self->buffer->data + self->head;
  gsize size = self->buffer->len - self->head;
  gssize found = find_bytes (data, size, marker, marker_size);
  gsize skip = found >= 0 ? (gsize)found : size - partial_marker (data, size, marker, marker_size);

  self->stats.discarded += skip;
  self->head += skip;
  return found >= 0;
}

typedef enum
{
  FRAME_WAIT,    /* more bytes will tell */
  FRAME_DELIVER, /* the next marker (or idleness) confirms it */
  FRAME_DROP,    /* incomplete at idle, or not followed by a marker */
} FrameVerdict;

/* Judges the frame at the head, which starts with the marker. */
static FrameVerdict
judge_frame (RtcbotdSerialDecoder *self, const guint8 *marker, gsize marker_size, gboolean idle)
{
  const guint8 *data = self->buffer->data + self->head;
  gsize size = self->buffer->len - self->head;
  gsize frame = marker_size + rtcbotd_struct_get_size (self->format->read_format);
  gsize after;

  if (size < frame)
    return idle ? FRAME_DROP : FRAME_WAIT;
  after = MIN (size - frame, marker_size);
  if (memcmp (data + frame, marker, after) != 0)
    return FRAME_DROP;
  if (after == marker_size || idle)
    return FRAME_DELIVER;
  return FRAME_WAIT;
}

/* Delivers the confirmed frames in the buffer; at @idle the last complete
 * one needs no marker after it, and an incomplete one is dropped. */
static void
scan_frames (RtcbotdSerialDecoder *self, gboolean idle, RtcbotdSerialMessageFunc func,
             gpointer user_data)
{
  gsize marker_size;
  const guint8 *marker = bytes_data (self->format->frame_marker, &marker_size);

  while (skip_to_marker (self, marker, marker_size))
    {
      FrameVerdict verdict = judge_frame (self, marker, marker_size, idle);
      if (verdict == FRAME_WAIT)
        break;
      if (verdict == FRAME_DELIVER && !take_record (self, marker_size, func, user_data))
        return;
      if (verdict == FRAME_DROP)
        {
          /* Look again from the byte after this marker: the next frame's
           * marker may be inside this short frame. */
          self->stats.dropped++;
          self->stats.discarded++;
          self->head++;
        }
    }
  compact (self);
}

static void
feed_records (RtcbotdSerialDecoder *self, const guint8 *data, gsize size,
              RtcbotdSerialMessageFunc func, gpointer user_data)
{
  gsize marker_size;
  guint generation = self->generation;

  bytes_data (self->format->frame_marker, &marker_size);
  if (!self->format->read_format)
    {
      self->stats.discarded += size;
      return;
    }
  while (size > 0 && generation == self->generation)
    {
      gsize slice
          = MAX (SLICE_SIZE, rtcbotd_struct_get_size (self->format->read_format) + 2 * marker_size);
      slice = MIN (slice, size);
      g_byte_array_append (self->buffer, data, slice);
      data += slice;
      size -= slice;
      if (marker_size > 0)
        scan_frames (self, FALSE, func, user_data);
      else
        split_records (self, func, user_data);
    }
}

void
rtcbotd_serial_decoder_feed (RtcbotdSerialDecoder *self, const guint8 *data, gsize size,
                             RtcbotdSerialMessageFunc func, gpointer user_data)
{
  if (!data || size == 0)
    return;
  if (!self->ready && !wait_for_start (self, &data, &size))
    return;
  if (size == 0)
    return;
  switch (self->format->read_mode)
    {
      case RTCBOTD_SERIAL_READ_RAW:
        deliver_raw (self, data, size, func, user_data);
        break;
      case RTCBOTD_SERIAL_READ_STRUCT:
        feed_records (self, data, size, func, user_data);
        break;
      default:
        feed_lines (self, data, size, func, user_data);
        break;
    }
}

static gboolean
uses_frames (RtcbotdSerialDecoder *self)
{
  gsize marker_size;

  bytes_data (self->format->frame_marker, &marker_size);
  return self->ready && marker_size > 0 && self->format->read_format
         && self->format->read_mode == RTCBOTD_SERIAL_READ_STRUCT;
}

void
rtcbotd_serial_decoder_flush (RtcbotdSerialDecoder *self, RtcbotdSerialMessageFunc func,
                              gpointer user_data)
{
  if (uses_frames (self))
    scan_frames (self, TRUE, func, user_data);
}

gboolean
rtcbotd_serial_decoder_has_pending (RtcbotdSerialDecoder *self)
{
  gsize marker_size;
  const guint8 *marker = bytes_data (self->format->frame_marker, &marker_size);

  /* After a scan the buffer starts with a marker, or holds part of one. */
  return uses_frames (self) && self->buffer->len - self->head >= marker_size
         && memcmp (self->buffer->data + self->head, marker, marker_size) == 0;
}

const RtcbotdSerialStats *
rtcbotd_serial_decoder_get_stats (RtcbotdSerialDecoder *self)
{
  return &self->stats;
}
