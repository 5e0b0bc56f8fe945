/* fuzz-input.c — evdev records: any bytes read from a device, translated. */
#include "fuzz-common.h"
#include "rtcbotd-input-event.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (RtcbotdInputRecords) records = rtcbotd_input_records_new ();

  fuzz_quiet ();
  /* Two reads: a record split across them must come out whole. */
  for (guint half = 0; half < 2; half++)
    {
      size_t from = half ? size / 2 : 0, to = half ? size : size / 2;
      g_autoptr (GArray) events = rtcbotd_input_records_feed (records, data + from, to - from);
      for (guint i = 0; events && i < events->len; i++)
        {
          g_autoptr (JsonNode) node
              = rtcbotd_input_event_to_json (&g_array_index (events, struct input_event, i));
          if (node && !JSON_NODE_HOLDS_OBJECT (node)) /* NULL: filtered, as RTCBot does */
            abort ();
        }
    }
  return 0;
}
