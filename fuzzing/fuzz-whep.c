/* fuzz-whep.c — what WHEP and ICE settings read from outside: trickle-ICE
 * fragments (PATCH bodies), STUN/TURN URLs, and token headers/cookies. */
#include "fuzz-common.h"
#include "rtcbotd-access.h"
#include "rtcbotd-ice-server.h"
#include "rtcbotd-sdpfrag.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = fuzz_text (data, size);
  g_autoptr (RtcbotdSdpfrag) frag = NULL;
  g_autoptr (RtcbotdIceServer) server = NULL;
  g_autofree char *token = NULL;

  fuzz_quiet ();
  frag = rtcbotd_sdpfrag_parse ((const char *)data, size, NULL);
  if ((server = rtcbotd_ice_server_parse (text, NULL)))
    {
      g_autofree char *uri = rtcbotd_ice_server_to_gst_uri (server);
      g_autofree char *url = rtcbotd_ice_server_to_url (server);
      if (!g_str_has_prefix (uri, server->scheme == RTCBOTD_ICE_STUN ? "stun://" : "turn")
          || !g_str_has_prefix (url, server->scheme == RTCBOTD_ICE_STUN ? "stun:" : "turn"))
        abort ();
    }
  token = rtcbotd_access_find_token (text, NULL, text);
  rtcbotd_access_need_for (text);
  return 0;
}
