/* fuzz-serial.c — serial framing: lines, raw chunks and struct records with a
 * frame marker and a start-byte handshake, fed in chunks the input decides. */
#include "fuzz-common.h"
#include "rtcbotd-serial-codec.h"

static void
on_message (JsonNode *message, gpointer user_data)
{
  g_autofree char *text = json_to_string (message, FALSE);

  if (!text) /* a decoded message is always valid JSON */
    abort ();
  (*(guint *)user_data)++;
}

static RtcbotdSerialFormat *
make_format (guint8 mode)
{
  RtcbotdSerialFormat *format = g_new0 (RtcbotdSerialFormat, 1);
  static const char *const keys[] = { "a", "b", "c", NULL };

  format->read_mode = mode % 3;
  if (format->read_mode == RTCBOTD_SERIAL_READ_STRUCT)
    {
      format->read_format = rtcbotd_struct_new ("<hBf", NULL);
      if (mode & 4)
        format->read_keys = g_strdupv ((char **)keys);
    }
  if (mode & 8)
    format->frame_marker = g_bytes_new_static ("\xAA\x55", 2);
  if (mode & 16)
    format->start_bytes = g_bytes_new_static ("\xC0\x69", 2);
  return format;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (RtcbotdSerialFormat) format = NULL;
  g_autoptr (RtcbotdSerialDecoder) decoder = NULL;
  guint messages = 0;

  fuzz_quiet ();
  if (size < 2)
    return 0;
  format = make_format (data[0]);
  decoder = rtcbotd_serial_decoder_new (format);
  /* data[1] chooses the chunk size: the framing must not depend on how reads split. */
  for (size_t at = 2, step = (data[1] % 16) + 1; at < size; at += step)
    rtcbotd_serial_decoder_feed (decoder, data + at, MIN (step, size - at), on_message, &messages);
  rtcbotd_serial_decoder_flush (decoder, on_message, &messages);
  return 0;
}
