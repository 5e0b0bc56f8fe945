/* rtcbotd-struct.c — Python struct format strings: parse, pack and unpack. */
#include "rtcbotd-struct.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "rtcbotd-error.h"

#define STRUCT_CODES "xcbB?hHiIlLqQfds"
#define BYTE_ORDERS "@=<>!"
/* Longest string value quoted in an error message, in characters. */
#define QUOTE_MAX 32

/* Values are moved through a guint64 and floats through guint32/guint64. */
G_STATIC_ASSERT (sizeof (long long) <= 8);
G_STATIC_ASSERT (sizeof (float) == 4 && sizeof (double) == 8);

/* Python measures native alignment as the offset of a field after a char
 * (not _Alignof: on i386 a long long is aligned to 4 inside a struct). */
typedef struct
{
  char c;
  short x;
} AlignShort;
typedef struct
{
  char c;
  int x;
} AlignInt;
typedef struct
{
  char c;
  long x;
} AlignLong;
typedef struct
{
  char c;
  long long x;
} AlignLongLong;
typedef struct
{
  char c;
  float x;
} AlignFloat;
typedef struct
{
  char c;
  double x;
} AlignDouble;
typedef struct
{
  char c;
  _Bool x;
} AlignBool;

typedef struct
{
  char code;
  guint count;  /* repeat count, or the length of an 's' field */
  guint width;  /* bytes of one value: 1 for 's' and 'x' */
  gsize offset; /* of the item's first byte in a record */
} Item;

struct _RtcbotdStruct
{
  char *format;
  gboolean big_endian;
  gsize size;
  guint n_values;
  GArray *items; /* of Item */
};

static guint
code_width (char code, gboolean native)
{
  switch (code)
    {
      case 'h':
      case 'H':
        return native ? sizeof (short) : 2;
      case 'i':
      case 'I':
        return native ? sizeof (int) : 4;
      case 'l':
      case 'L':
        return native ? sizeof (long) : 4;
      case 'q':
      case 'Q':
        return native ? sizeof (long long) : 8;
      case 'f':
        return 4;
      case 'd':
        return 8;
      case '?':
        return native ? sizeof (_Bool) : 1;
      default:
        return 1;
    }
}

static gsize
native_alignment (char code)
{
  switch (code)
    {
      case 'h':
      case 'H':
        return offsetof (AlignShort, x);
      case 'i':
      case 'I':
        return offsetof (AlignInt, x);
      case 'l':
      case 'L':
        return offsetof (AlignLong, x);
      case 'q':
      case 'Q':
        return offsetof (AlignLongLong, x);
      case 'f':
        return offsetof (AlignFloat, x);
      case 'd':
        return offsetof (AlignDouble, x);
      case '?':
        return offsetof (AlignBool, x);
      default:
        return 1;
    }
}

static gboolean
code_is_signed (char code)
{
  return code == 'b' || code == 'h' || code == 'i' || code == 'l' || code == 'q';
}

static gboolean parse_error (GError **error, const char *format, const char *message, ...)
    G_GNUC_PRINTF (3, 4);

/* Sets an error quoting @format in front of @message. */
static gboolean
parse_error (GError **error, const char *format, const char *message, ...)
{
  g_autofree char *quoted = g_strescape (format, NULL);
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, message);
  text = g_strdup_vprintf (message, args);
  va_end (args);
  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID, "\"%s\": %s", quoted, text);
  return FALSE;
}

static char *
describe_char (char c)
{
  if (g_ascii_isprint (c))
    return g_strdup_printf ("'%c'", c);
  return g_strdup_printf ("'\\x%02x'", (guchar)c);
}

/* Parses one [count]code item at *@cursor, advancing it past the code. */
static gboolean
parse_item (RtcbotdStruct *self, gboolean native, const char **cursor, GError **error)
{
  const char *start = *cursor;
  const char *p = start;
  guint position = start - self->format + 1;
  guint64 count = 1;
  Item item = { 0 };
  g_autofree char *shown = NULL;

  if (g_ascii_isdigit (*p))
    for (count = 0; g_ascii_isdigit (*p); p++)
      {
        count = count * 10 + (guint64)(*p - '0');
        if (count > RTCBOTD_STRUCT_MAX_SIZE)
          return parse_error (error, self->format, "the count at position %u is above %d", position,
                              RTCBOTD_STRUCT_MAX_SIZE);
      }
  if (*p == '\0')
    return parse_error (error, self->format, "the count at position %u has no code after it",
                        position);
  shown = describe_char (*p);
  position = p - self->format + 1;
  if (strchr (BYTE_ORDERS, *p))
    return parse_error (error, self->format,
                        "%s at position %u: a byte order may only be the first character", shown,
                        position);
  if (!strchr (STRUCT_CODES, *p))
    return parse_error (error, self->format,
                        "%s at position %u is not a struct code; "
                        "accepted: x c b B ? h H i I l L q Q f d s",
                        shown, position);
  item.code = *p;
  item.count = count;
  item.width = code_width (item.code, native);
  if (native && self->size % native_alignment (item.code))
    self->size += native_alignment (item.code) - self->size % native_alignment (item.code);
  item.offset = self->size;
  self->size += (gsize)item.count * item.width;
  self->n_values += item.code == 'x' ? 0 : item.code == 's' ? 1 : item.count;
  if (self->size > RTCBOTD_STRUCT_MAX_SIZE)
    return parse_error (error, self->format, "a record would be longer than %d bytes",
                        RTCBOTD_STRUCT_MAX_SIZE);
  if (self->n_values > RTCBOTD_STRUCT_MAX_VALUES)
    return parse_error (error, self->format, "a record would hold more than %d values",
                        RTCBOTD_STRUCT_MAX_VALUES);
  g_array_append_val (self->items, item);
  *cursor = p + 1;
  return TRUE;
}

RtcbotdStruct *
rtcbotd_struct_new (const char *format, GError **error)
{
  g_autoptr (RtcbotdStruct) self = g_new0 (RtcbotdStruct, 1);
  const char *p;
  gboolean native = TRUE;

  self->format = g_strdup (format ? format : "");
  self->items = g_array_new (FALSE, FALSE, sizeof (Item));
  self->big_endian = G_BYTE_ORDER == G_BIG_ENDIAN;
  p = self->format;
  if (*p != '\0' && strchr (BYTE_ORDERS, *p))
    {
      native = *p == '@';
      if (*p == '<')
        self->big_endian = FALSE;
      else if (*p == '>' || *p == '!')
        self->big_endian = TRUE;
      p++;
    }
  while (*p != '\0')
    {
      if (g_ascii_isspace (*p))
        p++;
      else if (!parse_item (self, native, &p, error))
        return NULL;
    }
  if (self->items->len == 0)
    {
      parse_error (error, self->format, "a struct format needs at least one field");
      return NULL;
    }
  if (self->size == 0)
    {
      parse_error (error, self->format, "a record of zero bytes cannot be framed");
      return NULL;
    }
  return g_steal_pointer (&self);
}

void
rtcbotd_struct_free (RtcbotdStruct *self)
{
  if (!self)
    return;
  g_free (self->format);
  if (self->items)
    g_array_unref (self->items);
  g_free (self);
}

const char *
rtcbotd_struct_get_format (const RtcbotdStruct *self)
{
  return self->format;
}

gsize
rtcbotd_struct_get_size (const RtcbotdStruct *self)
{
  return self->size;
}

guint
rtcbotd_struct_get_n_values (const RtcbotdStruct *self)
{
  return self->n_values;
}

/* The shortest text that reads back as @value. */
static char *
format_double (double value)
{
  static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buffer, sizeof buffer, formats[i], value);
      if (g_ascii_strtod (buffer, NULL) == value)
        break;
    }
  return g_strdup (buffer);
}

static char *
describe_string (JsonNode *node)
{
  const char *text = json_node_get_string (node);
  g_autoptr (JsonNode) shortened = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *quoted = NULL;

  if (!text || !g_utf8_validate (text, -1, NULL) || g_utf8_strlen (text, -1) <= QUOTE_MAX)
    return json_to_string (node, FALSE);
  shortened = json_node_new (JSON_NODE_VALUE);
  prefix = g_utf8_substring (text, 0, QUOTE_MAX);
  json_node_set_string (shortened, prefix);
  quoted = json_to_string (shortened, FALSE);
  return g_strdup_printf ("%s...", quoted);
}

/* A short text for @node in error messages. */
static char *
describe_node (JsonNode *node)
{
  GType type;

  if (!node || JSON_NODE_HOLDS_NULL (node))
    return g_strdup ("null");
  if (JSON_NODE_HOLDS_OBJECT (node))
    return g_strdup ("an object");
  if (JSON_NODE_HOLDS_ARRAY (node))
    return g_strdup ("an array");
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  if (type == G_TYPE_DOUBLE)
    return format_double (json_node_get_double (node));
  if (type == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (node) ? "true" : "false");
  if (type == G_TYPE_STRING)
    return describe_string (node);
  return g_strdup ("a value");
}

static gboolean value_error (GError **error, guint index, char code, JsonNode *node,
                             const char *problem, ...) G_GNUC_PRINTF (5, 6);

/* Sets "value INDEX (CODE): NODE PROBLEM". */
static gboolean
value_error (GError **error, guint index, char code, JsonNode *node, const char *problem, ...)
{
  g_autofree char *shown = describe_node (node);
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, problem);
  text = g_strdup_vprintf (problem, args);
  va_end (args);
  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID, "value %u (%c): %s %s", index, code,
               shown, text);
  return FALSE;
}

static GType
node_value_type (JsonNode *node)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node))
    return G_TYPE_INVALID;
  return json_node_get_value_type (node);
}

typedef enum
{
  INTEGER_OK,
  INTEGER_NOT_INTEGER,
  INTEGER_TOO_LARGE,
} IntegerResult;

/* Reads an integer (or an integral double, or a boolean) as sign and magnitude. */
static IntegerResult
node_to_integer (JsonNode *node, gboolean *negative, guint64 *magnitude)
{
  GType type = node_value_type (node);
  double d;

  if (type == G_TYPE_INT64)
    {
      gint64 v = json_node_get_int (node);
      *negative = v < 0;
      *magnitude = v < 0 ? (guint64)0 - (guint64)v : (guint64)v;
      return INTEGER_OK;
    }
  if (type == G_TYPE_BOOLEAN)
    {
      *negative = FALSE;
      *magnitude = json_node_get_boolean (node) ? 1 : 0;
      return INTEGER_OK;
    }
  if (type != G_TYPE_DOUBLE)
    return INTEGER_NOT_INTEGER;
  d = json_node_get_double (node);
  if (!isfinite (d) || d != floor (d))
    return INTEGER_NOT_INTEGER;
  if (fabs (d) >= 18446744073709551616.0)
    return INTEGER_TOO_LARGE;
  *negative = d < 0;
  *magnitude = (guint64)fabs (d);
  return INTEGER_OK;
}

static void
write_uint (guint8 *out, guint width, guint64 bits, gboolean big_endian)
{
  for (guint i = 0; i < width; i++)
    out[i] = (bits >> (8 * (big_endian ? width - 1 - i : i))) & 0xff;
}

static guint64
read_uint (const guint8 *in, guint width, gboolean big_endian)
{
  guint64 bits = 0;

  for (guint i = 0; i < width; i++)
    bits |= (guint64)in[i] << (8 * (big_endian ? width - 1 - i : i));
  return bits;
}

static gboolean
pack_integer (const RtcbotdStruct *self, const Item *item, JsonNode *node, guint index, guint8 *out,
              GError **error)
{
  guint bits = 8 * item->width;
  gboolean is_signed = code_is_signed (item->code);
  guint64 max = bits == 64 ? G_MAXUINT64 : ((guint64)1 << bits) - 1;
  gboolean negative = FALSE;
  guint64 magnitude = 0;
  IntegerResult result = node_to_integer (node, &negative, &magnitude);

  if (result == INTEGER_NOT_INTEGER)
    return value_error (error, index, item->code, node,
                        "is not an integer (round it in the route's map)");
  if (is_signed)
    max >>= 1;
  if (result == INTEGER_TOO_LARGE || (negative && (!is_signed || magnitude > max + 1))
      || (!negative && magnitude > max))
    {
      if (is_signed)
        return value_error (error, index, item->code, node,
                            "is out of range -%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT, max + 1,
                            max);
      return value_error (error, index, item->code, node, "is out of range 0..%" G_GUINT64_FORMAT,
                          max);
    }
  write_uint (out, item->width, negative ? (guint64)0 - magnitude : magnitude, self->big_endian);
  return TRUE;
}

static gboolean
pack_float (const RtcbotdStruct *self, const Item *item, JsonNode *node, guint index, guint8 *out,
            GError **error)
{
  GType type = node_value_type (node);
  double value;

  if (type == G_TYPE_DOUBLE)
    value = json_node_get_double (node);
  else if (type == G_TYPE_INT64)
    value = (double)json_node_get_int (node);
  else if (type == G_TYPE_BOOLEAN)
    value = json_node_get_boolean (node) ? 1.0 : 0.0;
  else
    return value_error (error, index, item->code, node, "is not a number");
  if (item->code == 'd')
    {
      guint64 bits;
      memcpy (&bits, &value, sizeof bits);
      write_uint (out, 8, bits, self->big_endian);
    }
  else
    {
      float single = (float)value;
      guint32 bits;
      if (isinf (single) && !isinf (value))
        return value_error (error, index, item->code, node, "is too large to pack with f format");
      memcpy (&bits, &single, sizeof bits);
      write_uint (out, 4, bits, self->big_endian);
    }
  return TRUE;
}

static gboolean
pack_bool (const Item *item, JsonNode *node, guint index, guint8 *out, GError **error)
{
  GType type = node_value_type (node);

  if (type == G_TYPE_BOOLEAN)
    out[0] = json_node_get_boolean (node);
  else if (type == G_TYPE_INT64)
    out[0] = json_node_get_int (node) != 0;
  else if (type == G_TYPE_DOUBLE)
    out[0] = json_node_get_double (node) != 0;
  else
    return value_error (error, index, item->code, node, "is not a boolean");
  return TRUE;
}

/* Writes the characters of @text as bytes, at most @room of them, and
 * counts them all in @length; FALSE when one is above U+00FF. */
static gboolean
latin1_from_utf8 (const char *text, guint8 *out, gsize room, gsize *length)
{
  *length = 0;
  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c > 0xff)
        return FALSE;
      if (*length < room)
        out[*length] = c;
      (*length)++;
    }
  return TRUE;
}

static gboolean
pack_char (const Item *item, JsonNode *node, guint index, guint8 *out, GError **error)
{
  gsize length = 0;

  /* json-glib strings cannot hold U+0000, so "" stands for the NUL byte. */
  if (node_value_type (node) != G_TYPE_STRING
      || !latin1_from_utf8 (json_node_get_string (node), out, 1, &length) || length > 1)
    return value_error (error, index, item->code, node, "is not one character U+0000..U+00FF");
  return TRUE;
}

static gboolean
pack_string (const Item *item, JsonNode *node, guint index, guint8 *out, GError **error)
{
  gsize length = 0;

  if (node_value_type (node) != G_TYPE_STRING)
    return value_error (error, index, item->code, node, "is not a string");
  if (!latin1_from_utf8 (json_node_get_string (node), out, item->count, &length))
    return value_error (error, index, item->code, node,
                        "has a character above U+00FF (one byte each)");
  return TRUE;
}

static gboolean
pack_value (const RtcbotdStruct *self, const Item *item, JsonNode *node, guint index, guint8 *out,
            GError **error)
{
  switch (item->code)
    {
      case 'c':
        return pack_char (item, node, index, out, error);
      case '?':
        return pack_bool (item, node, index, out, error);
      case 'f':
      case 'd':
        return pack_float (self, item, node, index, out, error);
      default:
        return pack_integer (self, item, node, index, out, error);
    }
}

GBytes *
rtcbotd_struct_pack (const RtcbotdStruct *self, JsonArray *values, GError **error)
{
  guint given = values ? json_array_get_length (values) : 0;
  g_autofree guint8 *record = NULL;
  guint v = 0;

  if (given != self->n_values)
    {
      g_autofree char *quoted = g_strescape (self->format, NULL);
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "format \"%s\" takes %u values, got %u", quoted, self->n_values, given);
      return NULL;
    }
  record = g_malloc0 (self->size);
  for (guint i = 0; i < self->items->len; i++)
    {
      const Item *item = &g_array_index (self->items, Item, i);
      if (item->code == 'x')
        continue;
      if (item->code == 's')
        {
          if (!pack_string (item, json_array_get_element (values, v), v + 1, record + item->offset,
                            error))
            return NULL;
          v++;
          continue;
        }
      for (guint k = 0; k < item->count; k++, v++)
        if (!pack_value (self, item, json_array_get_element (values, v), v + 1,
                         record + item->offset + (gsize)k * item->width, error))
          return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&record), self->size);
}

/* The bytes of @data as characters U+0001..U+00FF, up to the first NUL. */
static char *
utf8_from_latin1 (const guint8 *data, gsize size)
{
  GString *text = g_string_sized_new (size);

  for (gsize i = 0; i < size && data[i] != 0; i++)
    g_string_append_unichar (text, data[i]);
  return g_string_free (text, FALSE);
}

static void
add_double (JsonArray *array, double value)
{
  /* JSON has no NaN or infinity; JavaScript's JSON.stringify writes null. */
  if (isfinite (value))
    json_array_add_double_element (array, value);
  else
    json_array_add_null_element (array);
}

static void
add_latin1 (JsonArray *array, const guint8 *data, gsize size)
{
  g_autofree char *text = utf8_from_latin1 (data, size);

  json_array_add_string_element (array, text);
}

static void
unpack_value (const RtcbotdStruct *self, const Item *item, const guint8 *in, JsonArray *array)
{
  guint64 bits = read_uint (in, item->width, self->big_endian);
  guint32 bits32 = (guint32)bits;
  float single;
  double value;

  switch (item->code)
    {
      case 'c':
        add_latin1 (array, in, 1);
        break;
      case '?':
        json_array_add_boolean_element (array, bits != 0);
        break;
      case 'f':
        memcpy (&single, &bits32, sizeof single);
        add_double (array, single);
        break;
      case 'd':
        memcpy (&value, &bits, sizeof value);
        add_double (array, value);
        break;
      default:
        if (code_is_signed (item->code) && item->width < 8 && (bits >> (8 * item->width - 1)))
          bits |= G_MAXUINT64 << (8 * item->width);
        if (!code_is_signed (item->code) && bits > G_MAXINT64)
          json_array_add_double_element (array, (double)bits);
        else
          json_array_add_int_element (array, (gint64)bits);
        break;
    }
}

JsonArray *
rtcbotd_struct_unpack (const RtcbotdStruct *self, const guint8 *data, gsize size, GError **error)
{
  g_autoptr (JsonArray) array = NULL;

  if (size != self->size || !data)
    {
      g_autofree char *quoted = g_strescape (self->format, NULL);
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "format \"%s\" unpacks %" G_GSIZE_FORMAT " bytes, got %" G_GSIZE_FORMAT, quoted,
                   self->size, size);
      return NULL;
    }
  array = json_array_sized_new (self->n_values);
  for (guint i = 0; i < self->items->len; i++)
    {
      const Item *item = &g_array_index (self->items, Item, i);
      if (item->code == 's')
        add_latin1 (array, data + item->offset, item->count);
      else if (item->code != 'x')
        for (guint k = 0; k < item->count; k++)
          unpack_value (self, item, data + item->offset + (gsize)k * item->width, array);
    }
  return g_steal_pointer (&array);
}
