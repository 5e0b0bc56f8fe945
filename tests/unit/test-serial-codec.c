/* test-serial-codec.c — serial framing: lines, raw chunks, struct records,
 * the start-byte handshake, frame markers and resync, and what is written.
 * Expected record bytes were computed with Python's struct.pack. */
#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-message-bus.h"
#include "rtcbotd-serial-codec.h"
#include "test-utils.h"

#define MARKER "\xaa\x55"

/* What a decoder delivered, as compact JSON. */
typedef struct
{
  RtcbotdSerialFormat *format;
  RtcbotdSerialDecoder *decoder;
  GPtrArray *messages; /* of char * */
} Fixture;

static void
collect (JsonNode *message, gpointer user_data)
{
  Fixture *fixture = user_data;

  g_ptr_array_add (fixture->messages, rtcbotd_message_encode (message));
}

static RtcbotdStruct *
parse_struct (const char *text)
{
  g_autoptr (GError) error = NULL;
  RtcbotdStruct *s = rtcbotd_struct_new (text, &error);

  g_assert_no_error (error);
  return s;
}

static void
fixture_setup (Fixture *fixture, RtcbotdSerialReadMode mode, const char *read_format)
{
  fixture->format = g_new0 (RtcbotdSerialFormat, 1);
  fixture->format->read_mode = mode;
  if (read_format)
    fixture->format->read_format = parse_struct (read_format);
  fixture->messages = g_ptr_array_new_with_free_func (g_free);
}

/* Creates the decoder, once the test has set up the format. */
static void
fixture_start (Fixture *fixture)
{
  fixture->decoder = rtcbotd_serial_decoder_new (fixture->format);
}

static void
fixture_clear (Fixture *fixture)
{
  g_clear_pointer (&fixture->decoder, rtcbotd_serial_decoder_free);
  g_clear_pointer (&fixture->format, rtcbotd_serial_format_free);
  g_clear_pointer (&fixture->messages, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Fixture, fixture_clear)

static void
feed (Fixture *fixture, const char *data, gsize size)
{
  rtcbotd_serial_decoder_feed (fixture->decoder, (const guint8 *)data, size, collect, fixture);
}

#define FEED(fixture, literal) feed (fixture, literal, sizeof literal - 1)

/* Feeds @size bytes of @data one at a time. */
static void
feed_bytewise (Fixture *fixture, const char *data, gsize size)
{
  for (gsize i = 0; i < size; i++)
    feed (fixture, data + i, 1);
}

static void
flush (Fixture *fixture)
{
  rtcbotd_serial_decoder_flush (fixture->decoder, collect, fixture);
}

/* Checks the messages delivered so far (NULL-terminated list of JSON texts) and forgets them. */
static void
expect_messages (Fixture *fixture, ...)
{
  va_list args;
  guint i = 0;

  va_start (args, fixture);
  for (const char *json = va_arg (args, const char *); json; json = va_arg (args, const char *))
    {
      g_assert_cmpuint (i, <, fixture->messages->len);
      g_assert_cmpstr (fixture->messages->pdata[i], ==, json);
      i++;
    }
  va_end (args);
  g_assert_cmpuint (fixture->messages->len, ==, i);
  g_ptr_array_set_size (fixture->messages, 0);
}

static void
expect_stats (Fixture *fixture, guint64 messages, guint64 discarded, guint64 dropped)
{
  const RtcbotdSerialStats *stats = rtcbotd_serial_decoder_get_stats (fixture->decoder);

  g_assert_cmpuint (stats->messages, ==, messages);
  g_assert_cmpuint (stats->discarded, ==, discarded);
  g_assert_cmpuint (stats->dropped, ==, dropped);
}

static void
test_lines (void)
{
  g_auto (Fixture) fixture = { 0 };

  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_LINES, NULL);
  fixture_start (&fixture);
  g_assert_true (rtcbotd_serial_decoder_is_ready (fixture.decoder));
  FEED (&fixture, "\n{\"a\":");
  expect_messages (&fixture, "\"\"", NULL);
  FEED (&fixture, " 1}\nhel");
  expect_messages (&fixture, "{\"a\":1}", NULL);
  FEED (&fixture, "lo\r\n\n42\n\r\n[1, \"x\"]\r\nnot json {\ntrue\n\"quoted\"\n");
  expect_messages (&fixture, "\"hello\"", "\"\"", "42", "\"\"", "[1,\"x\"]", "\"not json {\"",
                   "true", "\"quoted\"", NULL);
  /* Only one "\r" is RTCBot's line ending; a partial line waits, flush or not. */
  FEED (&fixture, "a\r\r\npartial");
  flush (&fixture);
  g_assert_false (rtcbotd_serial_decoder_has_pending (fixture.decoder));
  expect_messages (&fixture, "\"a\\r\"", NULL);
  FEED (&fixture, "\n");
  expect_messages (&fixture, "\"partial\"", NULL);
  expect_stats (&fixture, 12, 0, 0);
}

static void
test_lines_not_text (void)
{
  g_auto (Fixture) fixture = { 0 };

  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_LINES, NULL);
  fixture_start (&fixture);
  FEED (&fixture, "ok\n\xff\xfe\n\xc3");
  FEED (&fixture, "\xa9t\xc3\xa9\na\0b\n\"x\"\n");
  expect_messages (&fixture, "\"ok\"", "\"été\"", "\"x\"", NULL);
  expect_stats (&fixture, 3, 0, 2);
}

static void
test_lines_too_long (void)
{
  g_auto (Fixture) fixture = { 0 };
  g_autofree char *longest = g_strnfill (RTCBOTD_SERIAL_MAX_LINE, 'x');
  g_autofree char *expected = g_strdup_printf ("\"%s\"", longest);

  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_LINES, NULL);
  fixture_start (&fixture);
  /* The longest line allowed, in two reads. */
  feed (&fixture, longest, 100);
  feed (&fixture, longest + 100, RTCBOTD_SERIAL_MAX_LINE - 100);
  FEED (&fixture, "\n");
  expect_messages (&fixture, expected, NULL);
  /* One byte more, in three reads: discarded up to its newline, never in pieces. */
  feed (&fixture, longest, RTCBOTD_SERIAL_MAX_LINE);
  FEED (&fixture, "yy");
  FEED (&fixture, "zz\nnext\n");
  expect_messages (&fixture, "\"next\"", NULL);
  expect_stats (&fixture, 2, RTCBOTD_SERIAL_MAX_LINE + 5, 1);
  /* A line too long in a single read. */
  feed (&fixture, longest, RTCBOTD_SERIAL_MAX_LINE);
  FEED (&fixture, "x\n1\n");
  feed (&fixture, longest, RTCBOTD_SERIAL_MAX_LINE);
  FEED (&fixture, "x");
  expect_messages (&fixture, "1", NULL);
  expect_stats (&fixture, 3, 3 * RTCBOTD_SERIAL_MAX_LINE + 5 + 2 + 1, 3);
}

static void
test_lines_too_deep (void)
{
  g_auto (Fixture) fixture = { 0 };
  g_autofree char *open = g_strnfill (100, '[');
  g_autofree char *close = g_strnfill (100, ']');
  g_autofree char *line = g_strconcat (open, close, "\n", NULL);
  g_autofree char *expected = g_strconcat ("\"", open, close, "\"", NULL);

  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_LINES, NULL);
  fixture_start (&fixture);
  feed (&fixture, line, strlen (line));
  expect_messages (&fixture, expected, NULL);
}

static void
test_raw (void)
{
  g_auto (Fixture) fixture = { 0 };

  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_RAW, NULL);
  fixture_start (&fixture);
  FEED (&fixture, "hello\n");
  FEED (&fixture, "{\"a\": 1}");
  FEED (&fixture, "\xff"
                  "ab\xc3");
  FEED (&fixture, "");
  expect_messages (&fixture, "\"hello\\n\"", "\"{\\\"a\\\": 1}\"",
                   "\"\xef\xbf\xbd"
                   "ab\xef\xbf\xbd\"",
                   NULL);
  expect_stats (&fixture, 3, 0, 0);
}

static void
test_struct_records (void)
{
  g_auto (Fixture) fixture = { 0 };

  /* struct.pack('<hB', -300, 200), (5, 6), (7, 8) */
  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_STRUCT, "<hB");
  fixture_start (&fixture);
  FEED (&fixture, "\xd4\xfe");
  expect_messages (&fixture, NULL);
  FEED (&fixture, "\xc8\x05\x00");
  expect_messages (&fixture, "[-300,200]", NULL);
  FEED (&fixture, "\x06\x07\x00\x08\x09");
  expect_messages (&fixture, "[5,6]", "[7,8]", NULL);
  /* A partial record waits for more; idleness does not matter without a marker. */
  g_assert_false (rtcbotd_serial_decoder_has_pending (fixture.decoder));
  flush (&fixture);
  expect_messages (&fixture, NULL);
  FEED (&fixture, "\x00\x0a");
  expect_messages (&fixture, "[9,10]", NULL);
  expect_stats (&fixture, 4, 0, 0);
}

static void
test_struct_keys (void)
{
  g_auto (Fixture) fixture = { 0 };

  /* struct.pack('<hh', 100, -100) */
  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_STRUCT, "<hh");
  fixture.format->read_keys = g_strsplit ("left right", " ", -1);
  fixture_start (&fixture);
  FEED (&fixture, "\x64\x00\x9c\xff\x01\x00");
  expect_messages (&fixture, "{\"left\":100,\"right\":-100}", NULL);
}

static void
test_struct_keys_mismatch (void)
{
  g_auto (Fixture) fixture = { 0 };

  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_STRUCT, "<hh");
  fixture.format->read_keys = g_strsplit ("a b c", " ", -1);
  fixture_start (&fixture);
  FEED (&fixture, "\x64\x00\x9c\xff");
  expect_messages (&fixture, NULL);
  expect_stats (&fixture, 0, 0, 1);
}

static void
test_start_bytes (void)
{
  g_auto (Fixture) fixture = { 0 };

  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_LINES, NULL);
  fixture.format->start_bytes = g_bytes_new_static ("\x01\x02\x03", 3);
  fixture_start (&fixture);
  g_assert_false (rtcbotd_serial_decoder_is_ready (fixture.decoder));
  FEED (&fixture, "early\n\x01\x01\x02");
  g_assert_false (rtcbotd_serial_decoder_is_ready (fixture.decoder));
  FEED (&fixture, "\x03hello\nwor");
  g_assert_true (rtcbotd_serial_decoder_is_ready (fixture.decoder));
  FEED (&fixture, "ld\n\x01\x02\x03\n");
  expect_messages (&fixture, "\"hello\"", "\"world\"", "\"\\u0001\\u0002\\u0003\"", NULL);
  /* The port reopened: wait again; what came before the start bytes is not discarded junk. */
  rtcbotd_serial_decoder_reset (fixture.decoder);
  g_assert_false (rtcbotd_serial_decoder_is_ready (fixture.decoder));
  FEED (&fixture, "again\n\x01\x02\x01");
  FEED (&fixture, "\x02");
  FEED (&fixture, "\x03x\n");
  expect_messages (&fixture, "\"x\"", NULL);
  expect_stats (&fixture, 4, 0, 0);
}

static void
test_start_bytes_raw (void)
{
  g_auto (Fixture) fixture = { 0 };

  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_RAW, NULL);
  fixture.format->start_bytes = g_bytes_new_static ("GO", 2);
  fixture_start (&fixture);
  FEED (&fixture, "noise G");
  FEED (&fixture, "O");
  FEED (&fixture, "first");
  FEED (&fixture, "GO");
  rtcbotd_serial_decoder_reset (fixture.decoder);
  FEED (&fixture, "xGOrest");
  expect_messages (&fixture, "\"first\"", "\"GO\"", "\"rest\"", NULL);
}

static void
test_start_bytes_struct (void)
{
  g_auto (Fixture) fixture = { 0 };

  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_STRUCT, "<hB");
  fixture.format->start_bytes = g_bytes_new_static ("\n", 1);
  fixture_start (&fixture);
  FEED (&fixture, "boot log\n\xd4\xfe\xc8\x05\x00");
  expect_messages (&fixture, "[-300,200]", NULL);
}

/* struct.pack('<hB', n, n + 1) behind the marker. */
static GByteArray *
frames (GByteArray *out, int first, int count)
{
  for (int n = first; n < first + count; n++)
    {
      guint8 frame[] = { 0xaa, 0x55, n & 0xff, (n >> 8) & 0xff, (n + 1) & 0xff };
      g_byte_array_append (out, frame, sizeof frame);
    }
  return out;
}

static void
setup_frames (Fixture *fixture)
{
  fixture_setup (fixture, RTCBOTD_SERIAL_READ_STRUCT, "<hB");
  fixture->format->frame_marker = g_bytes_new_static (MARKER, 2);
  fixture_start (fixture);
}

static void
feed_array (Fixture *fixture, GByteArray *bytes)
{
  feed (fixture, (const char *)bytes->data, bytes->len);
}

static void
test_frames_clean (void)
{
  g_auto (Fixture) fixture = { 0 };
  g_autoptr (GByteArray) stream = frames (g_byte_array_new (), 1, 3);

  setup_frames (&fixture);
  feed_array (&fixture, stream);
  /* The last frame is complete, but only the next marker or idleness confirms it. */
  expect_messages (&fixture, "[1,2]", "[2,3]", NULL);
  g_assert_true (rtcbotd_serial_decoder_has_pending (fixture.decoder));
  flush (&fixture);
  expect_messages (&fixture, "[3,4]", NULL);
  g_assert_false (rtcbotd_serial_decoder_has_pending (fixture.decoder));
  flush (&fixture);
  expect_messages (&fixture, NULL);
  /* The same stream a byte at a time, with the marker split across reads. */
  feed_bytewise (&fixture, (const char *)stream->data, stream->len);
  expect_messages (&fixture, "[1,2]", "[2,3]", NULL);
  FEED (&fixture, "\xaa");
  expect_messages (&fixture, NULL);
  FEED (&fixture, "\x55");
  expect_messages (&fixture, "[3,4]", NULL);
  expect_stats (&fixture, 6, 0, 0);
}

/* Frames whose values contain the marker: struct.pack('<hB', 0x55aa, 0xaa). */
static void
test_frames_marker_in_values (void)
{
  g_auto (Fixture) fixture = { 0 };

  setup_frames (&fixture);
  FEED (&fixture, MARKER "\xaa\x55\xaa" MARKER "\xaa\x55\xaa" MARKER "\xaa\x55\xaa");
  flush (&fixture);
  expect_messages (&fixture, "[21930,170]", "[21930,170]", "[21930,170]", NULL);
  expect_stats (&fixture, 3, 0, 0);
}

static void
test_frames_junk (void)
{
  g_auto (Fixture) fixture = { 0 };
  g_autoptr (GByteArray) stream = g_byte_array_new ();

  setup_frames (&fixture);
  /* Junk before the first marker is skipped and counted. */
  g_byte_array_append (stream, (const guint8 *)"zz\xaaz", 4);
  frames (stream, 1, 1);
  /* Junk after a frame leaves it unconfirmed: that one frame is lost. */
  g_byte_array_append (stream, (const guint8 *)"junk", 4);
  frames (stream, 2, 3);
  feed_array (&fixture, stream);
  flush (&fixture);
  expect_messages (&fixture, "[2,3]", "[3,4]", "[4,5]", NULL);
  expect_stats (&fixture, 3, 4 + 5 + 4, 1);
}

static void
test_frames_lost_byte (void)
{
  g_auto (Fixture) fixture = { 0 };
  g_autoptr (GByteArray) stream = frames (g_byte_array_new (), 1, 4);

  setup_frames (&fixture);
  /* Frame 2 loses its last byte, so its window ends inside frame 3's marker. */
  g_byte_array_remove_index (stream, 2 * 5 - 1);
  feed_array (&fixture, stream);
  flush (&fixture);
  expect_messages (&fixture, "[1,2]", "[3,4]", "[4,5]", NULL);
  expect_stats (&fixture, 3, 4, 1);
  /* The same, a byte at a time. */
  feed_bytewise (&fixture, (const char *)stream->data, stream->len);
  flush (&fixture);
  expect_messages (&fixture, "[1,2]", "[3,4]", "[4,5]", NULL);
  expect_stats (&fixture, 6, 8, 2);
}

static void
test_frames_lost_marker_byte (void)
{
  g_auto (Fixture) fixture = { 0 };
  g_autoptr (GByteArray) stream = frames (g_byte_array_new (), 1, 4);

  setup_frames (&fixture);
  /* Frame 3 loses the first byte of its marker: frames 2 and 3 are lost. */
  g_byte_array_remove_index (stream, 2 * 5);
  feed_array (&fixture, stream);
  flush (&fixture);
  expect_messages (&fixture, "[1,2]", "[4,5]", NULL);
  expect_stats (&fixture, 2, 5 + 4, 1);
}

static void
test_frames_flush_partial (void)
{
  g_auto (Fixture) fixture = { 0 };
  g_autoptr (GByteArray) stream = frames (g_byte_array_new (), 1, 2);

  setup_frames (&fixture);
  g_byte_array_set_size (stream, stream->len - 1);
  feed_array (&fixture, stream);
  expect_messages (&fixture, "[1,2]", NULL);
  /* The line went idle in the middle of frame 2. */
  g_assert_true (rtcbotd_serial_decoder_has_pending (fixture.decoder));
  flush (&fixture);
  expect_messages (&fixture, NULL);
  g_assert_false (rtcbotd_serial_decoder_has_pending (fixture.decoder));
  expect_stats (&fixture, 1, 4, 1);
  /* A short frame with the next marker inside it; idle with the last one complete. */
  FEED (&fixture, MARKER "\x07\x00\x08" MARKER "\x01" MARKER "\x09\x00\x0a");
  flush (&fixture);
  expect_messages (&fixture, "[7,8]", "[9,10]", NULL);
  expect_stats (&fixture, 3, 4 + 3, 2);
}

static void
test_frames_garbage (void)
{
  g_auto (Fixture) fixture = { 0 };
  g_autofree char *garbage = g_strnfill (1 << 20, '\xaa');

  setup_frames (&fixture);
  feed (&fixture, garbage, 1 << 20);
  g_assert_false (rtcbotd_serial_decoder_has_pending (fixture.decoder));
  FEED (&fixture, "\x55\x01\x00\x02");
  flush (&fixture);
  expect_messages (&fixture, "[1,2]", NULL);
  expect_stats (&fixture, 1, (1 << 20) - 1, 0);
}

/* A callback that resets the decoder stops the rest of that read. */
static void
reset_on_message (JsonNode *message, gpointer user_data)
{
  Fixture *fixture = user_data;

  collect (message, fixture);
  rtcbotd_serial_decoder_reset (fixture->decoder);
}

static void
test_reset_from_callback (void)
{
  g_auto (Fixture) fixture = { 0 };
  g_autoptr (GByteArray) stream = frames (g_byte_array_new (), 1, 3);

  setup_frames (&fixture);
  rtcbotd_serial_decoder_feed (fixture.decoder, stream->data, stream->len, reset_on_message,
                               &fixture);
  expect_messages (&fixture, "[1,2]", NULL);
  g_assert_false (rtcbotd_serial_decoder_has_pending (fixture.decoder));
  fixture_clear (&fixture);
  fixture_setup (&fixture, RTCBOTD_SERIAL_READ_LINES, NULL);
  fixture_start (&fixture);
  rtcbotd_serial_decoder_feed (fixture.decoder, (const guint8 *)"a\nb\n", 4, reset_on_message,
                               &fixture);
  expect_messages (&fixture, "\"a\"", NULL);
}

static void
expect_encoded (const RtcbotdSerialFormat *format, const char *json, const char *bytes, gsize size)
{
  g_autoptr (JsonNode) message = rtcbotd_test_parse_json (json);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) encoded = rtcbotd_serial_encode (format, message, &error);

  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded), bytes, size);
}

#define EXPECT_ENCODED(format, json, literal)                                                      \
  expect_encoded (format, json, literal, sizeof literal - 1)

static void
expect_encode_error (const RtcbotdSerialFormat *format, const char *json, const char *message)
{
  g_autoptr (JsonNode) node = rtcbotd_test_parse_json (json);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) encoded = rtcbotd_serial_encode (format, node, &error);

  g_assert_null (encoded);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_encode_struct (void)
{
  g_autoptr (RtcbotdSerialFormat) format = g_new0 (RtcbotdSerialFormat, 1);

  /* struct.pack('<hh', 1, 2), struct.pack('>Bhf', 7, -2, 1.5) */
  format->write_format = parse_struct ("<hh");
  EXPECT_ENCODED (format, "[1, 2]", "\x01\x00\x02\x00");
  EXPECT_ENCODED (format, "[1.0, true]", "\x01\x00\x01\x00");
  expect_encode_error (format, "[40000, 0]", "value 1 (h): 40000 is out of range -32768..32767");
  expect_encode_error (format, "[1]", "format \"<hh\" takes 2 values, got 1");
  expect_encode_error (format, "{\"left\": 1, \"right\": 2}",
                       "a struct message must be a JSON array, got an object");
  expect_encode_error (format, "\"1 2\"", "a struct message must be a JSON array, got a string");
  rtcbotd_struct_free (format->write_format);
  format->write_format = parse_struct (">Bhf");
  EXPECT_ENCODED (format, "[7, -2, 1.5]", "\x07\xff\xfe\x3f\xc0\x00\x00");
}

static void
test_encode_struct_keys (void)
{
  g_autoptr (RtcbotdSerialFormat) format = g_new0 (RtcbotdSerialFormat, 1);

  /* struct.pack('<hh', 100, -100) */
  format->write_format = parse_struct ("<hh");
  format->write_keys = g_strsplit ("left right", " ", -1);
  EXPECT_ENCODED (format, "{\"right\": -100, \"left\": 100, \"other\": \"x\"}", "\x64\x00\x9c\xff");
  EXPECT_ENCODED (format, "[100, -100]", "\x64\x00\x9c\xff");
  expect_encode_error (format, "{\"left\": 1}", "the message has no \"right\" (a write key)");
  expect_encode_error (format, "[1, 2, 3]",
                       "the message array has 3 values, the write keys name 2");
  expect_encode_error (format, "null",
                       "a struct message must be a JSON object with the write keys, got null");
  expect_encode_error (format, "{\"left\": 1, \"right\": 2.5}",
                       "value 2 (h): 2.5 is not an integer (round it in the route's map)");
}

static void
test_encode_marker (void)
{
  g_autoptr (RtcbotdSerialFormat) format = g_new0 (RtcbotdSerialFormat, 1);

  format->write_format = parse_struct ("<hh");
  format->frame_marker = g_bytes_new_static (MARKER, 2);
  EXPECT_ENCODED (format, "[1, 2]", MARKER "\x01\x00\x02\x00");
  expect_encode_error (format, "[1, 65536]", "value 2 (h): 65536 is out of range -32768..32767");
}

static void
test_encode_lines (void)
{
  g_autoptr (RtcbotdSerialFormat) format = g_new0 (RtcbotdSerialFormat, 1);

  format->line_ending = RTCBOTD_LINE_ENDING_LF;
  EXPECT_ENCODED (format, "\"hello\"", "hello\n");
  EXPECT_ENCODED (format, "\"\\u00e9t\\u00e9\"", "\xc3\xa9t\xc3\xa9\n");
  EXPECT_ENCODED (format, "{\"a\": [1, \"b\"]}", "{\"a\":[1,\"b\"]}\n");
  EXPECT_ENCODED (format, "42", "42\n");
  EXPECT_ENCODED (format, "null", "null\n");
  EXPECT_ENCODED (format, "\"\"", "\n");
  format->line_ending = RTCBOTD_LINE_ENDING_CRLF;
  EXPECT_ENCODED (format, "\"hello\"", "hello\r\n");
  EXPECT_ENCODED (format, "[true]", "[true]\r\n");
  format->line_ending = RTCBOTD_LINE_ENDING_NONE;
  EXPECT_ENCODED (format, "\"hello\"", "hello");
  EXPECT_ENCODED (format, "{}", "{}");
}

static void
test_encode_no_message (void)
{
  g_autoptr (RtcbotdSerialFormat) format = g_new0 (RtcbotdSerialFormat, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) encoded = rtcbotd_serial_encode (format, NULL, &error);

  g_assert_null (encoded);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/serial-codec/lines", test_lines);
  g_test_add_func ("/serial-codec/lines-not-text", test_lines_not_text);
  g_test_add_func ("/serial-codec/lines-too-long", test_lines_too_long);
  g_test_add_func ("/serial-codec/lines-too-deep", test_lines_too_deep);
  g_test_add_func ("/serial-codec/raw", test_raw);
  g_test_add_func ("/serial-codec/struct-records", test_struct_records);
  g_test_add_func ("/serial-codec/struct-keys", test_struct_keys);
  g_test_add_func ("/serial-codec/struct-keys-mismatch", test_struct_keys_mismatch);
  g_test_add_func ("/serial-codec/start-bytes", test_start_bytes);
  g_test_add_func ("/serial-codec/start-bytes-raw", test_start_bytes_raw);
  g_test_add_func ("/serial-codec/start-bytes-struct", test_start_bytes_struct);
  g_test_add_func ("/serial-codec/frames-clean", test_frames_clean);
  g_test_add_func ("/serial-codec/frames-marker-in-values", test_frames_marker_in_values);
  g_test_add_func ("/serial-codec/frames-junk", test_frames_junk);
  g_test_add_func ("/serial-codec/frames-lost-byte", test_frames_lost_byte);
  g_test_add_func ("/serial-codec/frames-lost-marker-byte", test_frames_lost_marker_byte);
  g_test_add_func ("/serial-codec/frames-flush-partial", test_frames_flush_partial);
  g_test_add_func ("/serial-codec/frames-garbage", test_frames_garbage);
  g_test_add_func ("/serial-codec/reset-from-callback", test_reset_from_callback);
  g_test_add_func ("/serial-codec/encode-struct", test_encode_struct);
  g_test_add_func ("/serial-codec/encode-struct-keys", test_encode_struct_keys);
  g_test_add_func ("/serial-codec/encode-marker", test_encode_marker);
  g_test_add_func ("/serial-codec/encode-lines", test_encode_lines);
  g_test_add_func ("/serial-codec/encode-no-message", test_encode_no_message);
  return g_test_run ();
}
