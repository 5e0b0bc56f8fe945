/* fuzz-signaling.c — a /connect body: RTCBot's JSON, then the SDP it carries. */
#include "fuzz-common.h"
#include "rtcbotd-sdp.h"
#include "rtcbotd-signaling.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = NULL;
  g_autofree char *prepared = NULL;
  g_autoptr (RtcbotdSdp) parsed = NULL;

  fuzz_quiet ();
  if (!(sdp = rtcbotd_signaling_parse_offer ((const char *)data, size, &error)))
    {
      if (!error) /* a refusal always says why */
        abort ();
      return 0;
    }
  prepared = rtcbotd_sdp_prepare_offer (sdp);
  parsed = rtcbotd_sdp_parse (prepared, NULL);
  return 0;
}
