/* test-peer-streams.c — where a peer may send: the plan from an offer, the config and its role;
 * the cap on the streams it sends, with pads arriving on many threads at once. */
#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>

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

/* A stand-in for webrtcbin's src pads: a "transceiver" property, always NULL (a pad of no
 * m-line, which goes into a fakesink). */
typedef struct
{
  GstPad parent;
} TestPad;

typedef struct
{
  GstPadClass parent_class;
} TestPadClass;

GType test_pad_get_type (void);
G_DEFINE_TYPE (TestPad, test_pad, GST_TYPE_PAD)

static void
test_pad_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  g_value_set_object (value, NULL);
}

static void
test_pad_class_init (TestPadClass *klass)
{
  G_OBJECT_CLASS (klass)->get_property = test_pad_get_property;
  g_object_class_install_property (G_OBJECT_CLASS (klass), 1,
                                   g_param_spec_object ("transceiver", "transceiver", "transceiver",
                                                        GST_TYPE_WEBRTC_RTP_TRANSCEIVER,
                                                        G_PARAM_READABLE));
}

static void
test_pad_init (TestPad *self)
{
}

#define N_THREADS 8

/* What the threads of one round share: they all start at once. */
typedef struct
{
  RtcbotdPeerStreams *streams;
  GMutex lock;
  GCond cond;
  gboolean go;
} Round;

/* A "transport thread": webrtcbin adds a pad. */
static gpointer
add_pad (gpointer data)
{
  Round *round = data;
  g_autoptr (GstPad) pad
      = gst_object_ref_sink (g_object_new (test_pad_get_type (), "direction", GST_PAD_SRC, NULL));

  g_mutex_lock (&round->lock);
  while (!round->go)
    g_cond_wait (&round->cond, &round->lock);
  g_mutex_unlock (&round->lock);
  g_assert_null (rtcbotd_peer_streams_take_pad (round->streams, pad));
  return NULL;
}

/* Pads that arrive on many threads at once: the peer still gets 4 at the most. */
static void
test_limit_concurrent (void)
{
  for (guint r = 0; r < 30; r++)
    {
      g_autoptr (GstElement) pipeline = gst_object_ref_sink (gst_pipeline_new ("test"));
      Round round = { .streams = rtcbotd_peer_streams_new (7, pipeline) };
      GThread *threads[N_THREADS];

      g_mutex_init (&round.lock);
      g_cond_init (&round.cond);
      for (guint i = 0; i < N_THREADS; i++)
        threads[i] = g_thread_new ("transport", add_pad, &round);
      g_mutex_lock (&round.lock);
      round.go = TRUE;
      g_cond_broadcast (&round.cond);
      g_mutex_unlock (&round.lock);
      for (guint i = 0; i < N_THREADS; i++)
        g_thread_join (threads[i]);
      g_assert_cmpint (GST_BIN (pipeline)->numchildren, ==, 4); /* a fakesink each */
      rtcbotd_peer_streams_free (round.streams);
      g_assert_cmpint (GST_BIN (pipeline)->numchildren, ==, 0);
      g_mutex_clear (&round.lock);
      g_cond_clear (&round.cond);
    }
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/peer-streams/plan/driver", test_plan_driver);
  g_test_add_func ("/peer-streams/plan/routes-and-viewer", test_plan_routes_and_viewer);
  g_test_add_func ("/peer-streams/limit/concurrent", test_limit_concurrent);
  return g_test_run ();
}
