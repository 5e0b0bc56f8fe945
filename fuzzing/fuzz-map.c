/* fuzz-map.c — a route's map expression, then RTCBot-shaped events through it. */
#include "fuzz-common.h"
#include "rtcbotd-map.h"

static const char *const events[] = {
  "{\"type\":\"keydown\",\"key\":\"w\",\"keyCode\":87}",
  "{\"type\":\"keyup\",\"key\":\"w\",\"keyCode\":87}",
  "{\"type\":\"axis0\",\"value\":-0.5}",
  "{\"timestamp\":1.5,\"code\":\"ABS_X\",\"state\":127,\"event\":\"Absolute\"}",
  "{\"code\":\"BTN_SOUTH\",\"state\":1,\"event\":\"Key\"}",
  "[1,2,3]",
  "\"w\"",
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = fuzz_text (data, size);
  g_autoptr (RtcbotdMap) map = NULL;

  fuzz_quiet ();
  if (!(map = rtcbotd_map_new (text, NULL)))
    return 0;
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    {
      g_autoptr (JsonNode) input = json_from_string (events[i], NULL);
      g_autoptr (JsonNode) out G_GNUC_UNUSED = rtcbotd_map_apply_from (map, input, i % 2);
    }
  rtcbotd_map_release (map, 0);
  rtcbotd_map_reset (map);
  return 0;
}
