/* fuzz-sdp.c — offers: the checks, the aiortc/mDNS rewrite and the answer's msid edit. */
#include "fuzz-common.h"
#include "rtcbotd-sdp.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = fuzz_text (data, size);
  g_autofree char *prepared = NULL;
  g_autofree char *tagged = NULL;
  g_autoptr (RtcbotdSdp) sdp = NULL;
  static const char *const tracks[] = { "camera", NULL, "tone" };
  static const guint ssrcs[] = { 1, 0, 3 };

  fuzz_quiet ();
  prepared = rtcbotd_sdp_prepare_offer (text);
  if ((sdp = rtcbotd_sdp_parse (prepared, NULL)))
    for (guint i = 0; i < sdp->media->len; i++)
      for (RtcbotdCodec c = RTCBOTD_CODEC_H264; c <= RTCBOTD_CODEC_OPUS; c++)
        rtcbotd_sdp_media_find_codec (sdp->media->pdata[i], c);
  /* The msid edit runs on webrtcbin's answers; any text must still be safe. */
  tagged = rtcbotd_sdp_add_msid (text, "rtcbotd", tracks, ssrcs, G_N_ELEMENTS (tracks));
  return 0;
}
