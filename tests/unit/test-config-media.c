/* test-config-media.c — media sources (cameras, microphones, gst fragments)
 * and media sinks (record, speaker, display, gst) in the configuration layer,
 * and the media routes between them: defaults, every key, every error. */
#include "rtcbotd-config.h"
#include "test-utils.h"

#define CAMERA "[source camera]\ntype = v4l2\n"
#define ROUTE_TO(to) "[route r]\nfrom = camera\nto = " to "\n"

static const RtcbotdSourceConfig *
only_source (RtcbotdConfig *config)
{
  g_assert_cmpuint (config->sources->len, ==, 1);
  return config->sources->pdata[0];
}

static void
test_v4l2 (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (CAMERA);
  g_autoptr (RtcbotdConfig) custom = NULL;
  const RtcbotdSourceConfig *s = only_source (config);

  g_assert_cmpint (s->type, ==, RTCBOTD_SOURCE_V4L2);
  g_assert_cmpint (s->kind, ==, RTCBOTD_KIND_VIDEO);
  g_assert_cmpstr (s->device, ==, "/dev/video0");
  g_assert_cmpint (s->format, ==, RTCBOTD_CAPTURE_FORMAT_AUTO);
  g_assert_cmpuint (s->width, ==, 640);
  g_assert_cmpuint (s->framerate, ==, 30);
  g_assert_cmpuint (s->keyframe_interval, ==, 60);
  g_assert_false (s->clock_overlay); /* a real camera has no overlay unless asked */
  g_assert_false (s->on_demand);
  g_assert_cmpint (s->bitrate_mode, ==, RTCBOTD_BITRATE_FIXED);

  custom = rtcbotd_test_config_ok (CAMERA "device = /dev/video2\nformat = mjpeg\nwidth = 1280\n"
                                          "height = 720\nframerate = 15\nencoder = h264-hw\n"
                                          "bitrate-mode = min-peer\non-demand = yes\n"
                                          "overlay = clock\n");
  s = only_source (custom);
  g_assert_cmpstr (s->device, ==, "/dev/video2");
  g_assert_cmpint (s->format, ==, RTCBOTD_CAPTURE_FORMAT_MJPEG);
  g_assert_cmpuint (s->height, ==, 720);
  g_assert_cmpuint (s->keyframe_interval, ==, 30);
  g_assert_cmpint (s->encoder, ==, RTCBOTD_ENCODER_H264_HW);
  g_assert_cmpint (s->bitrate_mode, ==, RTCBOTD_BITRATE_MIN_PEER);
  g_assert_true (s->on_demand);
  g_assert_true (s->clock_overlay);

  rtcbotd_test_config_error (CAMERA "format = yuv\n",
                             "test.conf:3: [source camera] format: \"yuv\" is not accepted; "
                             "accepted: auto|h264|mjpeg|raw");
  rtcbotd_test_config_error (CAMERA "on-demand = maybe\n",
                             "test.conf:3: [source camera] on-demand: \"maybe\" is not accepted; "
                             "accepted: no|yes");
  rtcbotd_test_config_error (CAMERA "pattern = ball\n",
                             "test.conf:3: [source camera] pattern: unknown key; accepted: type, "
                             "width, height, framerate, overlay, encoder, bitrate, "
                             "keyframe-interval, bitrate-mode, on-demand, device, format");
}

static void
test_libcamera (void)
{
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[source pi]\ntype = libcamera\ncamera-name = /base/imx219\n");
  const RtcbotdSourceConfig *s = only_source (config);

  g_assert_cmpint (s->type, ==, RTCBOTD_SOURCE_LIBCAMERA);
  g_assert_cmpstr (s->camera_name, ==, "/base/imx219");
  g_assert_null (s->device);
  rtcbotd_test_config_error ("[source pi]\ntype = libcamera\nformat = h264\n",
                             "test.conf:3: [source pi] format: \"h264\": libcamera delivers raw "
                             "frames; accepted: auto|raw");
  rtcbotd_test_config_error ("[source pi]\ntype = libcamera\ndevice = /dev/video0\n",
                             "test.conf:3: [source pi] device: unknown key; accepted: type, "
                             "width, height, framerate, overlay, encoder, bitrate, "
                             "keyframe-interval, bitrate-mode, on-demand, camera-name, format");
}

static void
test_microphones (void)
{
  g_autoptr (RtcbotdConfig) alsa = rtcbotd_test_config_ok ("[source mic]\ntype = alsa\n");
  g_autoptr (RtcbotdConfig) pulse = rtcbotd_test_config_ok (
      "[source mic]\ntype = pulse\ndevice = alsa_input.usb\nrate = 16000\nchannels = 2\n");
  const RtcbotdSourceConfig *s = only_source (alsa);

  g_assert_cmpint (s->kind, ==, RTCBOTD_KIND_AUDIO);
  g_assert_cmpstr (s->device, ==, "default");
  g_assert_cmpuint (s->rate, ==, 48000);
  g_assert_cmpuint (s->channels, ==, 1);
  s = only_source (pulse);
  g_assert_cmpint (s->type, ==, RTCBOTD_SOURCE_PULSE);
  g_assert_cmpstr (s->device, ==, "alsa_input.usb");
  g_assert_cmpuint (s->rate, ==, 16000);
  g_assert_cmpuint (s->channels, ==, 2);
  g_clear_pointer (&pulse, rtcbotd_config_free);
  pulse = rtcbotd_test_config_ok ("[source mic]\ntype = pulse\n");
  g_assert_null (only_source (pulse)->device); /* the server's default source */
  rtcbotd_test_config_error (
      "[source mic]\ntype = alsa\nchannels = 6\n",
      "test.conf:3: [source mic] channels: 6 is out of range; accepted: 1..2");
  rtcbotd_test_config_error ("[source mic]\ntype = alsa\nwidth = 640\n",
                             "test.conf:3: [source mic] width: unknown key; accepted: type, "
                             "device, rate, channels, on-demand");
}

static void
test_gst_source (void)
{
  g_autoptr (RtcbotdConfig) video = rtcbotd_test_config_ok (
      "[source thermal]\ntype = gst\npipeline = videotestsrc is-live=true ! videoconvert\n");
  g_autoptr (RtcbotdConfig) audio = rtcbotd_test_config_ok (
      "[source radio]\ntype = gst\nmedia = audio\npipeline = audiotestsrc is-live=true\n");
  const RtcbotdSourceConfig *s = only_source (video);

  g_assert_cmpint (s->kind, ==, RTCBOTD_KIND_VIDEO);
  g_assert_cmpstr (s->pipeline, ==, "videotestsrc is-live=true ! videoconvert");
  g_assert_cmpstr (s->pipeline_where, ==, "test.conf:3: [source thermal] pipeline");
  g_assert_cmpuint (s->keyframe_interval, ==, 60);
  g_assert_cmpint (only_source (audio)->kind, ==, RTCBOTD_KIND_AUDIO);
  rtcbotd_test_config_error ("[source t]\ntype = gst\n",
                             "test.conf:1: [source t] pipeline: missing; type = gst needs a "
                             "GStreamer pipeline fragment in gst-launch syntax, e.g. pipeline = "
                             "videotestsrc ! videoconvert");
  rtcbotd_test_config_error ("[source t]\ntype = gst\npipeline = videotestsrc !\n",
                             "test.conf:3: [source t] pipeline: \"videotestsrc !\" starts or ends "
                             "with '!'; rtcbotd links the fragment itself, leave the ends open");
  rtcbotd_test_config_error (
      "[source t]\ntype = gst\nmedia = audio\npipeline = audiotestsrc\nbitrate = 64\n",
      "test.conf:5: [source t] bitrate: applies to video; audio is always encoded to Opus");
}

static void
test_stamp (void)
{
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[source c]\ntype = test-video\nstamp = yes\n");

  g_assert_true (only_source (config)->stamp);
  rtcbotd_test_config_error ("[source c]\ntype = test-video\nwidth = 650\nstamp = yes\n",
                             "test.conf:4: [source c] stamp: needs a width that is a multiple of "
                             "40 (the stamp has 40 blocks); width is 650");
}

static void
test_record (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (
      CAMERA "[sink rec]\ntype = record\npath = /var/lib/rtcbotd/%F-%H%M%S.mp4\n"
             "max-size = 500M\nmax-duration = 10min\n" ROUTE_TO ("rec"));
  g_autoptr (RtcbotdConfig) mkv = NULL;
  const RtcbotdMediaSinkConfig *k = rtcbotd_config_find_media_sink (config, "rec");
  const RtcbotdRouteConfig *route = config->routes->pdata[0];

  g_assert_nonnull (k);
  g_assert_cmpint (k->type, ==, RTCBOTD_MEDIA_SINK_RECORD);
  g_assert_cmpstr (k->label, ==, "[sink rec]");
  g_assert_cmpint (k->format, ==, RTCBOTD_RECORD_MP4); /* from the file name */
  g_assert_cmpuint (k->max_size, ==, 500ull << 20);
  g_assert_cmpuint (k->max_duration, ==, 600ull * 1000000000);
  g_assert_true (k->takes_video && k->takes_audio);
  g_assert_false (route->messages);
  g_assert_cmpint (((RtcbotdRouteEnd *)route->to->pdata[0])->type, ==, RTCBOTD_NODE_MEDIA_SINK);
  mkv = rtcbotd_test_config_ok ("[sink rec]\ntype = record\npath = /tmp/a.rec\n");
  k = rtcbotd_config_find_media_sink (mkv, "rec");
  g_assert_cmpint (k->format, ==, RTCBOTD_RECORD_MKV);
  g_assert_cmpuint (k->max_size, ==, 0);
  rtcbotd_test_config_error ("[sink rec]\ntype = record\n",
                             "test.conf:1: [sink rec] path: missing; a record sink needs the file "
                             "names to write, an strftime pattern such as "
                             "/var/lib/rtcbotd/%Y%m%d-%H%M%S.mkv");
  rtcbotd_test_config_error ("[sink rec]\ntype = record\npath = /tmp/x\nmax-size = 12X\n",
                             "test.conf:4: [sink rec] max-size: \"12X\" is not a size of at "
                             "least 1M (a number of bytes, or with K, M or G, e.g. 500M or 2G)");
  rtcbotd_test_config_error ("[sink rec]\ntype = record\npath = /tmp/x\nmax-duration = 10\n",
                             "test.conf:4: [sink rec] max-duration: \"10\" is not a duration of "
                             "1s..7 days (a number with ms, s, min or h, e.g. 30s or 10min)");
}

static void
test_speaker_display_gst (void)
{
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[sink voice]\ntype = speaker\noutput = alsa\ndevice = hw:1\n"
                                "[sink screen]\ntype = display\noutput = kms\n"
                                "[sink edges]\ntype = gst\npipeline = edgetv ! fakesink\n"
                                "[route talk]\nfrom = peers.audio\nto = voice\n"
                                "[route look]\nfrom = peers.video\nto = screen;edges\n");
  const RtcbotdMediaSinkConfig *voice = rtcbotd_config_find_media_sink (config, "voice");
  const RtcbotdMediaSinkConfig *edges = rtcbotd_config_find_media_sink (config, "edges");

  g_assert_cmpint (voice->output, ==, RTCBOTD_OUTPUT_ALSA);
  g_assert_cmpstr (voice->device, ==, "hw:1");
  g_assert_true (voice->takes_audio && !voice->takes_video);
  g_assert_cmpint (rtcbotd_config_find_media_sink (config, "screen")->output, ==,
                   RTCBOTD_OUTPUT_KMS);
  g_assert_true (edges->takes_video && !edges->takes_audio);
  g_assert_true (rtcbotd_config_peers_media_routed (config, RTCBOTD_KIND_AUDIO));
  g_assert_true (rtcbotd_config_peers_media_routed (config, RTCBOTD_KIND_VIDEO));
  rtcbotd_test_config_error ("[sink voice]\ntype = speaker\ndevice = hw:1\n",
                             "test.conf:3: [sink voice] device: needs output = alsa or output = "
                             "pulse (auto picks the system's default device)");
}

static void
test_rtp (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (
      CAMERA "[sink janus]\ntype = rtp\nhost = 10.0.0.2\nvideo-port = 5004\n" ROUTE_TO ("janus"));
  const RtcbotdMediaSinkConfig *k = rtcbotd_config_find_media_sink (config, "janus");

  g_assert_cmpstr (k->host, ==, "10.0.0.2");
  g_assert_cmpuint (k->video_port, ==, 5004);
  g_assert_cmpuint (k->video_pt, ==, 96);
  g_assert_cmpuint (k->audio_pt, ==, 111);
  g_assert_true (k->takes_video && !k->takes_audio);
  rtcbotd_test_config_error ("[sink j]\ntype = rtp\nvideo-port = 5004\n",
                             "test.conf:1: [sink j] host: missing; an rtp sink needs the address "
                             "of the SFU that receives the stream (e.g. host = 10.0.0.2)");
  rtcbotd_test_config_error ("[sink j]\ntype = rtp\nhost = a\n",
                             "test.conf:1: [sink j] video-port: an rtp sink needs video-port, "
                             "audio-port or both (the mountpoint's UDP ports)");
  rtcbotd_test_config_error ("[sink j]\ntype = rtp\nhost = a\nvideo-port = 5\naudio-port = 5\n",
                             "test.conf:5: [sink j] audio-port: 5 is video-port too; each stream "
                             "needs a port of its own");
  rtcbotd_test_config_error (
      "[sink j]\ntype = rtp\nhost = a\nvideo-port = 5\nvideo-pt = 8\n",
      "test.conf:5: [sink j] video-pt: 8 is out of range; accepted: 96..127");
  rtcbotd_test_config_error ("[source mic]\ntype = alsa\n[sink j]\ntype = rtp\nhost = a\n"
                             "video-port = 5\n[route r]\nfrom = mic\nto = j\n",
                             "test.conf:9: [route r] to: [sink j] takes video, but \"mic\" is "
                             "audio");
}

static void
test_media_routes (void)
{
  rtcbotd_test_config_error (CAMERA "[sink voice]\ntype = speaker\n" ROUTE_TO ("voice"),
                             "test.conf:7: [route r] to: [sink voice] takes audio, but "
                             "\"camera\" is video");
  rtcbotd_test_config_error ("[sink voice]\ntype = speaker\n[route r]\nfrom = voice\nto = peers\n",
                             "test.conf:4: [route r] from: \"voice\" is a sink; \"from\" takes "
                             "sources");
  rtcbotd_test_config_error ("[sink rec]\ntype = record\npath = /tmp/x\n[route r]\n"
                             "from = peers.messages\nto = rec\n",
                             "test.conf:6: [route r] to: \"rec\" takes media, but this route "
                             "carries messages");
  rtcbotd_test_config_error ("[route r]\nfrom = peers.audio\nto = peers.video\n",
                             "test.conf:3: [route r] to: \"peers.video\" is a source only; \"to\" "
                             "takes sinks (to send to every peer, use peers)");
  rtcbotd_test_config_error (CAMERA ROUTE_TO ("screen"),
                             "test.conf:5: [route r] to: no sink named \"screen\"; accepted: "
                             "peers");
  rtcbotd_test_config_error (CAMERA "[sink camera]\ntype = display\n",
                             "test.conf:3: [sink camera]: the name \"camera\" is already used by "
                             "another source or sink");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config-media/v4l2", test_v4l2);
  g_test_add_func ("/config-media/libcamera", test_libcamera);
  g_test_add_func ("/config-media/microphones", test_microphones);
  g_test_add_func ("/config-media/gst-source", test_gst_source);
  g_test_add_func ("/config-media/stamp", test_stamp);
  g_test_add_func ("/config-media/record", test_record);
  g_test_add_func ("/config-media/speaker-display-gst", test_speaker_display_gst);
  g_test_add_func ("/config-media/rtp", test_rtp);
  g_test_add_func ("/config-media/media-routes", test_media_routes);
  return g_test_run ();
}
