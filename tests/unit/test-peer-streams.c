/* test-peer-streams.c — where a peer may send: the plan from an offer, the config and its role. */
#include <gst/gst.h>

#include "rtcbotd-peer-streams.h"
#include "test-utils.h"

static const char offer[] = "v=0\r\n"
                            "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
                            "a=sendrecv\r\n"
                            "a=rtpmap:111 opus/48000/2\r\n"
                            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
                            "a=recvonly\r\n"
                            "a=rtpmap:111 opus/48000/2\r\n"
                            "m=video 9 UDP/TLS/RTP/SAVPF 96 98 102\r\n"
                            "a=sendonly\r\n"
                            "a=rtpmap:96 VP9/90000\r\n"
                            "a=rtpmap:98 VP8/90000\r\n"
                            "a=rtpmap:102 H264/90000\r\n"
                            "a=fmtp:102 packetization-mode=1;profile-level-id=640c1f\r\n"
                            "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"
                            "a=rtpmap:111 opus/48000/2\r\n"
                            "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
                            "a=sendonly\r\n"
                            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";

static const char sinks[] = "[sink rec]\ntype = record\npath = /tmp/x.mkv\n";

static GPtrArray *
plan (const char *routes, RtcbotdRole role, GString *unserved)
{
  g_autofree char *text = g_strconcat (sinks, routes, NULL);
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (text);
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdSdp) sdp = rtcbotd_sdp_parse (offer, &error);

  g_assert_no_error (error);
  return rtcbotd_peer_streams_plan (config, sdp, role, unserved);
}

/* Only m-lines the peer sends on, of a kind a route takes, in codecs we take, in the offer's
 * order; what it offers in none of them is said. */
static void
test_plan_driver (void)
{
  g_autoptr (GString) unserved = g_string_new (NULL);
  g_autoptr (GPtrArray) receives = plan ("[route r]\nfrom = peers.audio;peers.video\nto = rec\n",
                                         RTCBOTD_ROLE_DRIVER, unserved);
  g_autofree char *audio = NULL, *video = NULL;

  g_assert_cmpuint (receives->len, ==, 6);
  audio = gst_caps_to_string (receives->pdata[0]);
  g_assert_cmpstr (audio, ==,
                   "application/x-rtp, media=(string)audio, encoding-name=(string)OPUS, "
                   "payload=(int)111, clock-rate=(int)48000");
  g_assert_null (receives->pdata[1]); /* recvonly: it sends nothing there */
  video = gst_caps_to_string (receives->pdata[2]);
  g_assert_cmpstr (video, ==,
                   "application/x-rtp, media=(string)video, encoding-name=(string)VP8, "
                   "payload=(int)98, clock-rate=(int)90000; application/x-rtp, "
                   "media=(string)video, encoding-name=(string)H264, payload=(int)102, "
                   "clock-rate=(int)90000");
  g_assert_null (receives->pdata[3]); /* rejected */
  g_assert_null (receives->pdata[4]); /* PCMU only */
  g_assert_null (receives->pdata[5]); /* data */
  g_assert_cmpstr (unserved->str, ==,
                   "m-line 4 (audio) sends none of the codecs rtcbotd takes (opus, VP8, H264)");
}

/* No route from peers.video: the video m-line is not taken; a viewer gets nothing. */
static void
test_plan_routes_and_viewer (void)
{
  g_autoptr (GString) unserved = g_string_new (NULL);
  g_autoptr (GPtrArray) audio_only
      = plan ("[route r]\nfrom = peers.audio\nto = rec\n", RTCBOTD_ROLE_DRIVER, unserved);
  g_autoptr (GPtrArray) viewer = plan ("[route r]\nfrom = peers.audio;peers.video\nto = rec\n",
                                       RTCBOTD_ROLE_VIEWER, unserved);

  g_assert_nonnull (audio_only->pdata[0]);
  g_assert_null (audio_only->pdata[2]);
  for (guint m = 0; m < viewer->len; m++)
    g_assert_null (viewer->pdata[m]);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/peer-streams/plan/driver", test_plan_driver);
  g_test_add_func ("/peer-streams/plan/routes-and-viewer", test_plan_routes_and_viewer);
  return g_test_run ();
}
