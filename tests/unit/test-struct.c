/* test-struct.c — Python struct formats: parse, pack and unpack, checked
 * byte for byte against what Python's struct module produced
 * (tests/data/struct-vectors.json, from tests/data/make-struct-vectors.py). */
#include <math.h>
#include <stddef.h>

#include "rtcbotd-error.h"
#include "rtcbotd-struct.h"
#include "test-utils.h"

/* How Python measures native alignment: the offset of a field after a char. */
#define ALIGNMENT(type)                                                                            \
  offsetof (                                                                                       \
      struct {                                                                                     \
        char c;                                                                                    \
        type x;                                                                                    \
      },                                                                                           \
      x)

static JsonArray *
parse_array (const char *text)
{
  g_autoptr (JsonNode) node = rtcbotd_test_parse_json (text);

  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return json_array_ref (json_node_get_array (node));
}

static char *
hex_of (GBytes *bytes)
{
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  GString *hex = g_string_new (NULL);

  for (gsize i = 0; i < size; i++)
    g_string_append_printf (hex, "%02x", data[i]);
  return g_string_free (hex, FALSE);
}

static GBytes *
bytes_of_hex (const char *hex)
{
  gsize size = strlen (hex) / 2;
  guint8 *data = g_malloc0 (size + 1);

  for (gsize i = 0; i < size; i++)
    data[i] = g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]);
  return g_bytes_new_take (data, size);
}

/* Strict equality: an int is not a double, -0.0 is not 0.0. */
static gboolean
nodes_equal (JsonNode *a, JsonNode *b)
{
  GType type;

  if (json_node_get_node_type (a) != json_node_get_node_type (b))
    return FALSE;
  if (JSON_NODE_HOLDS_NULL (a))
    return TRUE;
  g_assert_true (JSON_NODE_HOLDS_VALUE (a));
  type = json_node_get_value_type (a);
  if (type != json_node_get_value_type (b))
    return FALSE;
  if (type == G_TYPE_INT64)
    return json_node_get_int (a) == json_node_get_int (b);
  if (type == G_TYPE_DOUBLE)
    return json_node_get_double (a) == json_node_get_double (b)
           && signbit (json_node_get_double (a)) == signbit (json_node_get_double (b));
  if (type == G_TYPE_BOOLEAN)
    return json_node_get_boolean (a) == json_node_get_boolean (b);
  return g_strcmp0 (json_node_get_string (a), json_node_get_string (b)) == 0;
}

static gboolean
arrays_equal (JsonArray *a, JsonArray *b)
{
  if (json_array_get_length (a) != json_array_get_length (b))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (!nodes_equal (json_array_get_element (a, i), json_array_get_element (b, i)))
      return FALSE;
  return TRUE;
}

static char *
array_text (JsonArray *array)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);

  json_node_set_array (node, array);
  return json_to_string (node, FALSE);
}

/* TRUE when this machine's native sizes, alignments and byte order are the
 * ones the vectors were made on. */
static gboolean
native_matches (JsonObject *native)
{
  JsonObject *sizes = json_object_get_object_member (native, "sizes");
  JsonObject *alignments = json_object_get_object_member (native, "alignments");
  const char *order = G_BYTE_ORDER == G_LITTLE_ENDIAN ? "little" : "big";
  struct
  {
    const char *codes;
    gsize size, alignment;
  } types[] = {
    { "?", sizeof (_Bool), ALIGNMENT (_Bool) },
    { "hH", sizeof (short), ALIGNMENT (short) },
    { "iI", sizeof (int), ALIGNMENT (int) },
    { "lL", sizeof (long), ALIGNMENT (long) },
    { "qQ", sizeof (long long), ALIGNMENT (long long) },
    { "f", sizeof (float), ALIGNMENT (float) },
    { "d", sizeof (double), ALIGNMENT (double) },
  };

  if (g_strcmp0 (json_object_get_string_member (native, "byteorder"), order) != 0)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    for (const char *c = types[i].codes; *c; c++)
      {
        char code[2] = { *c, 0 };
        if (json_object_get_int_member (sizes, code) != (gint64)types[i].size
            || json_object_get_int_member (alignments, code) != (gint64)types[i].alignment)
          return FALSE;
      }
  return TRUE;
}

/* Checks one vector; FALSE (and the test failed) when rtcbotd disagrees with Python. */
static gboolean
check_vector (JsonObject *vector)
{
  const char *format = json_object_get_string_member (vector, "format");
  const char *hex = json_object_get_string_member (vector, "hex");
  JsonArray *unpacked = json_object_get_array_member (vector, "unpacked");
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdStruct) s = rtcbotd_struct_new (format, &error);
  g_autoptr (GBytes) packed = bytes_of_hex (hex);
  g_autoptr (JsonArray) got = NULL;

  if (!s)
    {
      g_test_fail_printf ("\"%s\": %s", format, error->message);
      return FALSE;
    }
  if (rtcbotd_struct_get_size (s) != (gsize)json_object_get_int_member (vector, "size")
      || rtcbotd_struct_get_n_values (s) != json_array_get_length (unpacked))
    {
      g_test_fail_printf ("\"%s\": size %" G_GSIZE_FORMAT ", %u values", format,
                          rtcbotd_struct_get_size (s), rtcbotd_struct_get_n_values (s));
      return FALSE;
    }
  if (json_object_has_member (vector, "values"))
    {
      g_autoptr (GBytes) bytes
          = rtcbotd_struct_pack (s, json_object_get_array_member (vector, "values"), &error);
      g_autofree char *bytes_hex = bytes ? hex_of (bytes) : NULL;
      if (g_strcmp0 (bytes_hex, hex) != 0)
        {
          g_test_fail_printf ("\"%s\": packed %s, Python %s%s%s", format, bytes_hex, hex,
                              error ? ": " : "", error ? error->message : "");
          return FALSE;
        }
    }
  got = rtcbotd_struct_unpack (s, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed),
                               &error);
  g_assert_no_error (error);
  if (!arrays_equal (got, unpacked))
    {
      g_autofree char *got_text = array_text (got);
      g_autofree char *want_text = array_text (unpacked);
      g_test_fail_printf ("\"%s\" %s: unpacked %s, want %s", format, hex, got_text, want_text);
      return FALSE;
    }
  if (json_object_get_boolean_member (vector, "roundtrip"))
    {
      g_autoptr (GBytes) again = rtcbotd_struct_pack (s, got, &error);
      g_autofree char *again_hex = again ? hex_of (again) : NULL;
      if (g_strcmp0 (again_hex, hex) != 0)
        {
          g_test_fail_printf ("\"%s\": round trip gave %s, want %s", format, again_hex, hex);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
format_is_native (const char *format)
{
  return format[0] != '<' && format[0] != '>' && format[0] != '!';
}

static void
test_python_vectors (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "struct-vectors.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *root;
  JsonArray *vectors;
  gboolean native;
  guint checked = 0, skipped = 0;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  native = native_matches (json_object_get_object_member (root, "native"));
  vectors = json_object_get_array_member (root, "vectors");
  for (guint i = 0; i < json_array_get_length (vectors); i++)
    {
      JsonObject *vector = json_array_get_object_element (vectors, i);
      if (!native && format_is_native (json_object_get_string_member (vector, "format")))
        skipped++;
      else if (check_vector (vector))
        checked++;
    }
  g_test_message ("%u vectors agree with Python, %u native ones skipped (another machine)", checked,
                  skipped);
  g_assert_cmpuint (checked, >, 200);
}

static void
expect_parse_error (const char *format, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdStruct) s = rtcbotd_struct_new (format, &error);

  g_assert_null (s);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  if (message)
    g_assert_cmpstr (error->message, ==, message);
}

static void
test_parse_errors (void)
{
  expect_parse_error ("<hz", "\"<hz\": 'z' at position 3 is not a struct code; "
                             "accepted: x c b B ? h H i I l L q Q f d s");
  expect_parse_error ("h<", "\"h<\": '<' at position 2: a byte order may only be the first "
                            "character");
  expect_parse_error ("<<h", NULL);
  expect_parse_error (" <h", NULL);
  expect_parse_error ("<3", "\"<3\": the count at position 2 has no code after it");
  expect_parse_error ("3 h", "\"3 h\": ' ' at position 2 is not a struct code; "
                             "accepted: x c b B ? h H i I l L q Q f d s");
  expect_parse_error ("<h\x01", "\"<h\\001\": '\\x01' at position 3 is not a struct code; "
                                "accepted: x c b B ? h H i I l L q Q f d s");
  /* Python's other codes are not ours. */
  expect_parse_error ("<e", NULL);
  expect_parse_error ("n", NULL);
  expect_parse_error ("P", NULL);
  expect_parse_error ("<p", NULL);
  expect_parse_error ("99999999999999999999999h",
                      "\"99999999999999999999999h\": the count at position 1 is above 4096");
  expect_parse_error ("<4097x", "\"<4097x\": the count at position 2 is above 4096");
  expect_parse_error ("<2049h", "\"<2049h\": a record would be longer than 4096 bytes");
  expect_parse_error ("<4096xb", "\"<4096xb\": a record would be longer than 4096 bytes");
  expect_parse_error ("<257b", "\"<257b\": a record would hold more than 256 values");
  expect_parse_error ("", "\"\": a struct format needs at least one field");
  expect_parse_error ("<", "\"<\": a struct format needs at least one field");
  expect_parse_error ("! \t", "\"! \\t\": a struct format needs at least one field");
  expect_parse_error ("0h", "\"0h\": a record of zero bytes cannot be framed");
  expect_parse_error (NULL, NULL);
}

static void
test_limits (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdStruct) big = rtcbotd_struct_new ("<4096x", &error);
  g_autoptr (RtcbotdStruct) many = rtcbotd_struct_new ("<256b", &error);
  g_autoptr (RtcbotdStruct) string = rtcbotd_struct_new (">4096s", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (rtcbotd_struct_get_size (big), ==, 4096);
  g_assert_cmpuint (rtcbotd_struct_get_n_values (big), ==, 0);
  g_assert_cmpuint (rtcbotd_struct_get_n_values (many), ==, 256);
  g_assert_cmpuint (rtcbotd_struct_get_n_values (string), ==, 1);
  g_assert_cmpstr (rtcbotd_struct_get_format (string), ==, ">4096s");
}

static void
expect_pack_error (const char *format, const char *values, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdStruct) s = rtcbotd_struct_new (format, &error);
  g_autoptr (JsonArray) array = parse_array (values);
  g_autoptr (GBytes) bytes = NULL;

  g_assert_no_error (error);
  bytes = rtcbotd_struct_pack (s, array, &error);
  g_assert_null (bytes);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  if (message)
    g_assert_cmpstr (error->message, ==, message);
}

static void
test_pack_errors (void)
{
  expect_pack_error ("<hh", "[1, 2, 3]", "format \"<hh\" takes 2 values, got 3");
  expect_pack_error ("<4sx", "[]", "format \"<4sx\" takes 1 values, got 0");
  expect_pack_error ("<hh", "[1, 40000]", "value 2 (h): 40000 is out of range -32768..32767");
  expect_pack_error ("<hhh", "[1, 2, 1.5]",
                     "value 3 (h): 1.5 is not an integer (round it in the route's map)");
  expect_pack_error ("<B", "[-1]", "value 1 (B): -1 is out of range 0..255");
  expect_pack_error ("<b", "[128]", "value 1 (b): 128 is out of range -128..127");
  expect_pack_error ("<b", "[-129]", "value 1 (b): -129 is out of range -128..127");
  expect_pack_error ("<H", "[65536.0]", "value 1 (H): 65536 is out of range 0..65535");
  expect_pack_error ("<i", "[2147483648]",
                     "value 1 (i): 2147483648 is out of range -2147483648..2147483647");
  expect_pack_error ("<I", "[-1]", "value 1 (I): -1 is out of range 0..4294967295");
  expect_pack_error ("<l", "[4294967296]", NULL);
  expect_pack_error ("<L", "[4294967296]", "value 1 (L): 4294967296 is out of range 0..4294967295");
  expect_pack_error ("<q", "[9223372036854775808.0]",
                     "value 1 (q): 9.223372036854776e+18 is out of range "
                     "-9223372036854775808..9223372036854775807");
  expect_pack_error ("<Q", "[-1]", "value 1 (Q): -1 is out of range 0..18446744073709551615");
  expect_pack_error ("<Q", "[18446744073709551616.0]", NULL);
  expect_pack_error ("<Q", "[1e300]", NULL);
  expect_pack_error ("<h", "[\"7\"]",
                     "value 1 (h): \"7\" is not an integer (round it in the route's map)");
  expect_pack_error ("<h", "[null]",
                     "value 1 (h): null is not an integer (round it in the route's map)");
  expect_pack_error ("<h", "[{\"a\": 1}]",
                     "value 1 (h): an object is not an integer (round it in the route's map)");
  expect_pack_error ("<h", "[[1]]", NULL);
  expect_pack_error ("<c", "[\"ab\"]", "value 1 (c): \"ab\" is not one character U+0000..U+00FF");
  expect_pack_error ("<c", "[\"\\u20ac\"]", NULL);
  expect_pack_error ("<c", "[97]", NULL);
  expect_pack_error ("<4s", "[\"\\u20ac\"]",
                     "value 1 (s): \"€\" has a character above U+00FF (one byte each)");
  expect_pack_error ("<4s", "[1]", NULL);
  expect_pack_error ("<f", "[1e300]", "value 1 (f): 1e+300 is too large to pack with f format");
  expect_pack_error ("@f", "[-1e300]", NULL);
  expect_pack_error ("<d", "[\"1.5\"]", "value 1 (d): \"1.5\" is not a number");
  expect_pack_error ("<?", "[\"yes\"]", "value 1 (?): \"yes\" is not a boolean");
  expect_pack_error ("<?", "[null]", NULL);
  expect_pack_error ("<h", "[\"0123456789012345678901234567890123456789\"]",
                     "value 1 (h): \"01234567890123456789012345678901\"... is not an integer "
                     "(round it in the route's map)");
}

static void
test_pack_null_array (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdStruct) pad = rtcbotd_struct_new ("<3x", &error);
  g_autoptr (RtcbotdStruct) one = rtcbotd_struct_new ("<h", &error);
  g_autoptr (GBytes) zeros = rtcbotd_struct_pack (pad, NULL, &error);
  g_autoptr (GBytes) none = NULL;

  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (zeros, NULL), g_bytes_get_size (zeros), "\0\0\0", 3);
  none = rtcbotd_struct_pack (one, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
}

static void
test_unpack_wrong_size (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdStruct) s = rtcbotd_struct_new ("<hh", &error);
  g_autoptr (JsonArray) short_record = rtcbotd_struct_unpack (s, (const guint8 *)"abc", 3, &error);
  g_autoptr (JsonArray) no_data = NULL;

  g_assert_null (short_record);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "format \"<hh\" unpacks 4 bytes, got 3");
  g_clear_error (&error);
  no_data = rtcbotd_struct_unpack (s, NULL, 4, &error);
  g_assert_null (no_data);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
}

/* Strings carry bytes as U+0000..U+00FF, and json-glib strings end at U+0000. */
static void
test_string_mapping (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdStruct) s = rtcbotd_struct_new ("<c6s", &error);
  g_autoptr (JsonArray) values = parse_array ("[\"\", \"\\u00ff\\u00e9A\"]");
  g_autoptr (GBytes) bytes = rtcbotd_struct_pack (s, values, &error);
  g_autoptr (JsonArray) record = NULL;

  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   "\0\xff\xe9"
                   "A\0\0\0",
                   7);
  record = rtcbotd_struct_unpack (s, (const guint8 *)"\0ab\0cd\0", 7, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_array_get_string_element (record, 0), ==, "");
  g_assert_cmpstr (json_array_get_string_element (record, 1), ==, "ab");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/struct/python-vectors", test_python_vectors);
  g_test_add_func ("/struct/parse-errors", test_parse_errors);
  g_test_add_func ("/struct/limits", test_limits);
  g_test_add_func ("/struct/pack-errors", test_pack_errors);
  g_test_add_func ("/struct/pack-null-array", test_pack_null_array);
  g_test_add_func ("/struct/unpack-wrong-size", test_unpack_wrong_size);
  g_test_add_func ("/struct/string-mapping", test_string_mapping);
  return g_test_run ();
}
