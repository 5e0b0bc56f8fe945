/* fuzz-struct.c — Python struct formats and payloads: the first line is the
 * format, the rest the bytes to unpack; what unpacks must pack to the same bytes. */
#include <string.h>

#include "fuzz-common.h"
#include "rtcbotd-struct.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *newline = memchr (data, '\n', size);
  g_autofree char *format = fuzz_text (data, newline ? (size_t)(newline - data) : size);
  const uint8_t *payload = newline ? newline + 1 : data + size;
  gsize length = (gsize)(data + size - payload);
  g_autoptr (RtcbotdStruct) st = NULL;
  g_autoptr (JsonArray) values = NULL;
  g_autoptr (GBytes) packed = NULL;

  fuzz_quiet ();
  if (!(st = rtcbotd_struct_new (format, NULL)))
    return 0;
  if (length < rtcbotd_struct_get_size (st))
    return 0;
  if (!(values = rtcbotd_struct_unpack (st, payload, rtcbotd_struct_get_size (st), NULL)))
    return 0;
  packed = rtcbotd_struct_pack (st, values, NULL);
  /* Floats (NaN payloads), bools and pad bytes may come back normalised: only sizes must agree. */
  if (packed && g_bytes_get_size (packed) != rtcbotd_struct_get_size (st))
    abort ();
  return 0;
}
