/* test-config.c — the configuration layer: every error message, defaults,
 * inline comments, lists, the derived helpers and listen addresses. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "rtcbotd-config.h"
#include "rtcbotd-error.h"
#include "test-utils.h"

#define VIDEO "[source camera]\ntype = test-video\n"
#define AUDIO "[source tone]\ntype = test-audio\n"
/* Message tails shared by several cases. */
#define NOT_ADDRESS                                                                                \
  " is not an address; expected HOST:PORT (e.g. 0.0.0.0:8080, [::]:8080, :8080) with PORT "        \
  "0..65535"
#define NOT_IP " is not an IP address; use a numeric address such as 0.0.0.0, 127.0.0.1 or ::"
#define UNKNOWN_GROUP                                                                              \
  "unknown group; accepted: [daemon], [source NAME], [sink NAME], [route NAME], [peer NAME]"

static const RtcbotdRouteEnd *
route_end (GPtrArray *ends, guint i)
{
  g_assert_cmpuint (i, <, ends->len);
  return ends->pdata[i];
}

static void
test_demo_config (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "config", "rtcbotd.conf", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdConfig) config = rtcbotd_config_load_file (path, &error);
  const RtcbotdSourceConfig *camera, *tone;

  g_assert_no_error (error);
  g_assert_nonnull (config);
  g_assert_cmpstr (config->path, ==, path);
  g_assert_cmpstr (config->listen_host, ==, "127.0.0.1"); /* no token: loopback */
  g_assert_cmpuint (config->listen_port, ==, 8080);
  g_assert_cmpuint (config->max_peers, ==, 8);
  g_assert_null (config->web_root);
  g_assert_cmpuint (config->sources->len, ==, 2);
  g_assert_cmpuint (config->endpoints->len, ==, 0);
  g_assert_cmpuint (config->routes->len, ==, 4);

  camera = rtcbotd_config_find_source (config, "camera");
  g_assert_nonnull (camera);
  g_assert_cmpint (camera->type, ==, RTCBOTD_SOURCE_TEST_VIDEO);
  g_assert_cmpint (camera->kind, ==, RTCBOTD_KIND_VIDEO);
  g_assert_cmpuint (camera->width, ==, 640);
  g_assert_cmpuint (camera->height, ==, 480);
  g_assert_cmpuint (camera->framerate, ==, 30);
  g_assert_cmpstr (camera->pattern, ==, "smpte");
  g_assert_true (camera->clock_overlay);
  g_assert_cmpint (camera->encoder, ==, RTCBOTD_ENCODER_AUTO);
  g_assert_cmpuint (camera->bitrate, ==, 1500);

  tone = rtcbotd_config_find_source (config, "tone");
  g_assert_nonnull (tone);
  g_assert_cmpint (tone->kind, ==, RTCBOTD_KIND_AUDIO);
  g_assert_cmpfloat_with_epsilon (tone->frequency, 440, 1e-9);
  g_assert_cmpfloat_with_epsilon (tone->volume, 0.1, 1e-9);

  g_assert_true (rtcbotd_config_source_routed_to_peers (config, "camera"));
  g_assert_true (rtcbotd_config_source_routed_to_peers (config, "tone"));
  g_assert_true (rtcbotd_config_messages_routed_to (config, RTCBOTD_NODE_PEERS));
  g_assert_true (rtcbotd_config_messages_routed_to (config, RTCBOTD_NODE_LOG));
}

static void
test_defaults (void)
{
  g_autoptr (RtcbotdConfig) empty = rtcbotd_test_config_ok ("");
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (VIDEO AUDIO);
  const RtcbotdSourceConfig *video, *audio;

  g_assert_cmpstr (empty->path, ==, "test.conf");
  g_assert_cmpstr (empty->listen_host, ==, "127.0.0.1");
  g_assert_cmpuint (empty->listen_port, ==, 8080);
  g_assert_null (empty->token);
  g_assert_null (empty->viewer_token);
  g_assert_null (empty->tls_certificate);
  g_assert_null (empty->tls_key);
  g_assert_null (empty->web_root);
  g_assert_cmpuint (empty->max_peers, ==, 8);
  g_assert_cmpuint (empty->peer_timeout, ==, 15);
  g_assert_cmpuint (empty->sources->len + empty->endpoints->len + empty->routes->len, ==, 0);

  video = rtcbotd_config_find_source (config, "camera");
  g_assert_cmpuint (video->width, ==, 640);
  g_assert_cmpuint (video->height, ==, 480);
  g_assert_cmpuint (video->framerate, ==, 30);
  g_assert_cmpstr (video->pattern, ==, "smpte");
  g_assert_cmpuint (video->motion, ==, 2);
  g_assert_true (video->clock_overlay);
  g_assert_cmpint (video->encoder, ==, RTCBOTD_ENCODER_AUTO);
  g_assert_cmpuint (video->bitrate, ==, 1500);
  g_assert_cmpuint (video->keyframe_interval, ==, 60);
  audio = rtcbotd_config_find_source (config, "tone");
  g_assert_cmpint (audio->type, ==, RTCBOTD_SOURCE_TEST_AUDIO);
  g_assert_cmpfloat_with_epsilon (audio->frequency, 440, 1e-9);
  g_assert_cmpfloat_with_epsilon (audio->volume, 0.2, 1e-9);
  g_assert_false (rtcbotd_config_source_routed_to_peers (config, "camera"));
}

static void
test_all_values (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (
      "[daemon]\nlisten = 127.0.0.1:9000\nmax-peers = 64\npeer-timeout = 300\n"
      "[source camera]\ntype = test-video\nwidth = 16\nheight = 2160\nframerate = 120\n"
      "pattern = smpte-rp-219\nmotion = 0\noverlay = none\nencoder = vp8\n"
      "bitrate = 50\nkeyframe-interval = 1\n"
      "[source tone]\ntype = test-audio\nfrequency = 20000\nvolume = 0\n");
  const RtcbotdSourceConfig *video = rtcbotd_config_find_source (config, "camera");
  const RtcbotdSourceConfig *audio = rtcbotd_config_find_source (config, "tone");

  g_assert_cmpstr (config->listen_host, ==, "127.0.0.1");
  g_assert_cmpuint (config->listen_port, ==, 9000);
  g_assert_cmpuint (config->max_peers, ==, 64);
  g_assert_cmpuint (config->peer_timeout, ==, 300);
  g_assert_cmpuint (video->width, ==, 16);
  g_assert_cmpuint (video->height, ==, 2160);
  g_assert_cmpuint (video->framerate, ==, 120);
  g_assert_cmpstr (video->pattern, ==, "smpte-rp-219");
  g_assert_cmpuint (video->motion, ==, 0);
  g_assert_false (video->clock_overlay);
  g_assert_cmpint (video->encoder, ==, RTCBOTD_ENCODER_VP8);
  g_assert_cmpstr (rtcbotd_encoder_to_string (video->encoder), ==, "vp8");
  g_assert_cmpuint (video->bitrate, ==, 50);
  g_assert_cmpuint (video->keyframe_interval, ==, 1);
  g_assert_cmpfloat_with_epsilon (audio->frequency, 20000, 1e-9);
  g_assert_cmpfloat_with_epsilon (audio->volume, 0, 1e-9);
  g_assert_cmpstr (rtcbotd_kind_to_string (audio->kind), ==, "audio");
}

static void
test_inline_comments (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (
      "# a comment line\n"
      "[daemon]\nlisten = 127.0.0.1:8081 ; where to listen\n"
      "max-peers = 4 # four viewers\n"
      "[source camera]  \ntype = test-video\t; the pattern\nwidth = 320\t# tab\n"
      "encoder = x264 ;no space after\n");
  const RtcbotdSourceConfig *video = rtcbotd_config_find_source (config, "camera");

  g_assert_cmpstr (config->listen_host, ==, "127.0.0.1");
  g_assert_cmpuint (config->listen_port, ==, 8081);
  g_assert_cmpuint (config->max_peers, ==, 4);
  g_assert_nonnull (video);
  g_assert_cmpuint (video->width, ==, 320);
  g_assert_cmpint (video->encoder, ==, RTCBOTD_ENCODER_X264);
  /* Without whitespace before it, '#' is part of the value. */
  rtcbotd_test_config_error ("[daemon]\nlisten = 127.0.0.1:8080#x\n",
                             "test.conf:2: [daemon] listen: \"127.0.0.1:8080#x\"" NOT_ADDRESS);
  rtcbotd_test_config_error ("[daemon]\nlisten = ; nothing but a comment\n",
                             "test.conf:2: [daemon] listen: empty value");
}

static void
test_lists (void)
{
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok (VIDEO AUDIO "[route media]\n"
                                            "from =   camera;  tone  ;;\n"
                                            "to = peers\n");
  const RtcbotdRouteConfig *route = config->routes->pdata[0];

  g_assert_cmpstr (route->name, ==, "media");
  g_assert_false (route->messages);
  g_assert_cmpuint (route->from->len, ==, 2);
  g_assert_cmpstr (route_end (route->from, 0)->name, ==, "camera");
  g_assert_cmpint (route_end (route->from, 0)->type, ==, RTCBOTD_NODE_NAMED);
  g_assert_cmpstr (route_end (route->from, 1)->name, ==, "tone");
  g_assert_cmpuint (route->to->len, ==, 1);
  g_assert_cmpstr (route_end (route->to, 0)->name, ==, "peers");
  g_assert_cmpint (route_end (route->to, 0)->type, ==, RTCBOTD_NODE_PEERS);
}

/* In list values ';' separates items, so an inline comment there is told
 * apart by its inner whitespace (names have none). */
static void
test_list_comments (void)
{
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok (VIDEO AUDIO "[route media]\n"
                                            "from = camera ; tone\n"
                                            "to = peers      ; every viewer\n"
                                            "[route echo]\n"
                                            "from = peers.messages # viewers\n"
                                            "to = peers;log ; both of them\n");
  const RtcbotdRouteConfig *media = config->routes->pdata[0];
  const RtcbotdRouteConfig *echo = config->routes->pdata[1];

  g_assert_cmpuint (media->from->len, ==, 2);
  g_assert_cmpstr (route_end (media->from, 1)->name, ==, "tone");
  g_assert_cmpuint (media->to->len, ==, 1);
  g_assert_cmpuint (echo->from->len, ==, 1);
  g_assert_cmpuint (echo->to->len, ==, 2);
  g_assert_cmpstr (route_end (echo->to, 1)->name, ==, "log");
  /* A list whose first item already holds a space names nothing: an error, not an empty route. */
  rtcbotd_test_config_error (
      VIDEO "[route media]\nfrom = camera tone\nto = peers\n",
      "test.conf:4: [route media] from: \"camera tone\" names nothing; separate names "
      "with ';' (a name holds no spaces)");
}

/* Whole-line comments may start with ';' as in most INI files, lines keep their numbers. */
static void
test_semicolon_comment_lines (void)
{
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("; rtcbotd\n[daemon]\n  ; tls-certificate = /etc/rtcbotd/cert.pem\n"
                                "listen = :9000\n");

  g_assert_cmpuint (config->listen_port, ==, 9000);
  rtcbotd_test_config_error ("; one\n; two\n[daemon]\nmax-peers = 0\n",
                             "test.conf:4: [daemon] max-peers: 0 is out of range; accepted: 1..64");
}

static void
test_message_routes (void)
{
  /* Routes may name sources defined further down the file. */
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[route chat]\nfrom = peers.messages\nto = peers;log\n"
                                "[route video]\nfrom = camera\nto = peers\n" VIDEO);
  const RtcbotdRouteConfig *chat = config->routes->pdata[0];

  g_assert_true (chat->messages);
  g_assert_cmpint (route_end (chat->from, 0)->type, ==, RTCBOTD_NODE_PEERS_MESSAGES);
  g_assert_cmpstr (route_end (chat->from, 0)->name, ==, "peers.messages");
  g_assert_cmpint (route_end (chat->to, 0)->type, ==, RTCBOTD_NODE_PEERS);
  g_assert_cmpint (route_end (chat->to, 1)->type, ==, RTCBOTD_NODE_LOG);
  g_assert_cmpstr (route_end (chat->to, 1)->name, ==, "log");
  g_assert_true (rtcbotd_config_source_routed_to_peers (config, "camera"));
  g_assert_false (rtcbotd_config_source_routed_to_peers (config, "nothing"));
}

static void
test_derived_helpers (void)
{
  g_autoptr (RtcbotdConfig) media_only
      = rtcbotd_test_config_ok (VIDEO AUDIO "[route video]\nfrom = camera\nto = peers\n");
  g_autoptr (RtcbotdConfig) to_log
      = rtcbotd_test_config_ok ("[route j]\nfrom = peers.messages\nto = log\n");

  g_assert_nonnull (rtcbotd_config_find_source (media_only, "camera"));
  g_assert_null (rtcbotd_config_find_source (media_only, "peers"));
  g_assert_null (rtcbotd_config_find_source (media_only, "Camera"));
  g_assert_true (rtcbotd_config_source_routed_to_peers (media_only, "camera"));
  g_assert_false (rtcbotd_config_source_routed_to_peers (media_only, "tone"));
  g_assert_false (rtcbotd_config_messages_routed_to (media_only, RTCBOTD_NODE_PEERS));
  g_assert_false (rtcbotd_config_messages_routed_to (media_only, RTCBOTD_NODE_LOG));
  g_assert_false (rtcbotd_config_messages_routed_to (to_log, RTCBOTD_NODE_PEERS));
  g_assert_true (rtcbotd_config_messages_routed_to (to_log, RTCBOTD_NODE_LOG));
  g_assert_cmpstr (rtcbotd_kind_to_string (RTCBOTD_KIND_MESSAGES), ==, "messages");
  g_assert_cmpstr (rtcbotd_encoder_to_string (RTCBOTD_ENCODER_OPENH264), ==, "openh264");
}

static void
test_syntax_errors (void)
{
  const char *texts[] = { "listen = 1.2.3.4:80\n[daemon]\n", "[daemon]\nthis is not a key\n",
                          "[daemon\nlisten = :80\n", NULL };

  for (guint i = 0; texts[i]; i++)
    {
      g_autoptr (GKeyFile) keyfile = g_key_file_new ();
      g_autoptr (GError) keyfile_error = NULL;
      g_autofree char *message = NULL;

      g_assert_false (g_key_file_load_from_data (keyfile, texts[i], -1, 0, &keyfile_error));
      message = g_strdup_printf ("test.conf: %s", keyfile_error->message);
      rtcbotd_test_config_error (texts[i], message);
    }
  rtcbotd_test_config_error ("[daemon]\nlisten = \xff\xfe:80\n", "test.conf: not UTF-8 text");
}

static void
test_given_twice (void)
{
  rtcbotd_test_config_error ("[daemon]\nmax-peers = 2\n\n[daemon]\n",
                             "test.conf:4: [daemon]: given twice (first on line 1)");
  rtcbotd_test_config_error (VIDEO "width = 320\n# note\nwidth = 640\n",
                             "test.conf:5: [source camera] width: given twice (first on line 3)");
  rtcbotd_test_config_error (VIDEO AUDIO VIDEO,
                             "test.conf:5: [source camera]: given twice (first on line 1)");
}

static void
test_groups (void)
{
  rtcbotd_test_config_error ("[server]\n", "test.conf:1: [server]: " UNKNOWN_GROUP);
  rtcbotd_test_config_error ("\n[camera foo]\ntype = test-video\n",
                             "test.conf:2: [camera foo]: " UNKNOWN_GROUP);
  rtcbotd_test_config_error ("[daemon main]\n", "test.conf:1: [daemon main]: " UNKNOWN_GROUP);
  rtcbotd_test_config_error (
      "[source]\ntype = test-video\n",
      "test.conf:1: [source]: \"\" is not a valid name; use letters, digits, '-' and "
      "'_', as in [source NAME]");
  rtcbotd_test_config_error ("[route my.route]\n",
                             "test.conf:1: [route my.route]: \"my.route\" is not a valid "
                             "name; use letters, digits, '-' and '_', as in [route NAME]");
  rtcbotd_test_config_error (
      "[sink two words]\n",
      "test.conf:1: [sink two words]: \"two words\" is not a valid name; use letters, "
      "digits, '-' and '_', as in [sink NAME]");
  rtcbotd_test_config_error (
      "[source peers]\ntype = test-video\n",
      "test.conf:1: [source peers]: \"peers\" is the name of a built-in node; choose "
      "another");
  rtcbotd_test_config_error (
      "[route log]\nfrom = peers.messages\nto = log\n",
      "test.conf:1: [route log]: \"log\" is the name of a built-in node; choose another");
  /* Valid names use letters, digits, '-' and '_'. */
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[source Cam_2-left]\ntype = test-video\n");
  g_assert_nonnull (rtcbotd_config_find_source (config, "Cam_2-left"));
}

static void
test_name_used_twice (void)
{
  rtcbotd_test_config_error (
      VIDEO "[sink camera]\ntype = serial\n",
      "test.conf:3: [sink camera]: the name \"camera\" is already used by another "
      "source or sink");
  /* Extra spaces make a different group for GKeyFile, but the same name. */
  rtcbotd_test_config_error (
      VIDEO "[source  camera]\ntype = test-audio\n",
      "test.conf:3: [source  camera]: the name \"camera\" is already used by another "
      "source or sink");
  /* Routes have their own names. */
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok (VIDEO "[route camera]\nfrom = camera\nto = peers\n");
  g_assert_cmpuint (config->routes->len, ==, 1);
}

static void
test_unknown_keys (void)
{
  rtcbotd_test_config_error ("[daemon]\nport = 80\n",
                             "test.conf:2: [daemon] port: unknown key; accepted: "
                             "listen, web-root, max-peers, peer-timeout, max-messages-per-second, "
                             "control, "
                             "control-token, token, viewer-token, "
                             "tls-certificate, tls-key, ice-servers, ice-transport-policy, "
                             "relay, relay-secret, relay-ca");
  rtcbotd_test_config_error (
      VIDEO "device = /dev/video0\n",
      "test.conf:3: [source camera] device: unknown key; accepted: type, width, height, "
      "framerate, overlay, encoder, bitrate, keyframe-interval, bitrate-mode, on-demand, pattern, "
      "motion, stamp");
  rtcbotd_test_config_error (AUDIO "width = 640\n",
                             "test.conf:3: [source tone] width: unknown key; accepted: "
                             "type, frequency, volume, on-demand");
  rtcbotd_test_config_error (
      "[route r]\nfrom = peers.messages\nto = log\nfilter = x\n",
      "test.conf:4: [route r] filter: unknown key; accepted: from, to, map, failsafe");
}

static void
test_numbers (void)
{
  rtcbotd_test_config_error ("[daemon]\nmax-peers = many\n",
                             "test.conf:2: [daemon] max-peers: \"many\" is not a whole number");
  rtcbotd_test_config_error ("[daemon]\nmax-peers = 0\n",
                             "test.conf:2: [daemon] max-peers: 0 is out of range; accepted: 1..64");
  rtcbotd_test_config_error (
      "[daemon]\nmax-peers = 65\n",
      "test.conf:2: [daemon] max-peers: 65 is out of range; accepted: 1..64");
  rtcbotd_test_config_error (
      "[daemon]\npeer-timeout = 4\n",
      "test.conf:2: [daemon] peer-timeout: 4 is out of range; accepted: 5..300");
  rtcbotd_test_config_error (VIDEO "width = abc\n",
                             "test.conf:3: [source camera] width: \"abc\" is not a whole number");
  rtcbotd_test_config_error (VIDEO "width = -640\n",
                             "test.conf:3: [source camera] width: \"-640\" is not a whole number");
  rtcbotd_test_config_error (
      VIDEO "height = 480.5\n",
      "test.conf:3: [source camera] height: \"480.5\" is not a whole number");
  rtcbotd_test_config_error (
      VIDEO "bitrate = 99999999999\n",
      "test.conf:3: [source camera] bitrate: 99999999999 is out of range; accepted: "
      "50..50000");
  rtcbotd_test_config_error (
      VIDEO "width = 8\n",
      "test.conf:3: [source camera] width: 8 is out of range; accepted: 16..3840");
  rtcbotd_test_config_error (
      VIDEO "framerate = 121\n",
      "test.conf:3: [source camera] framerate: 121 is out of range; accepted: 1..120");
  rtcbotd_test_config_error (
      VIDEO "keyframe-interval = 1001\n",
      "test.conf:3: [source camera] keyframe-interval: 1001 is out of range; accepted: "
      "1..1000");
  rtcbotd_test_config_error (AUDIO "frequency = loud\n",
                             "test.conf:3: [source tone] frequency: \"loud\" is not a number");
  rtcbotd_test_config_error (AUDIO "frequency = nan\n",
                             "test.conf:3: [source tone] frequency: \"nan\" is not a number");
  rtcbotd_test_config_error (
      AUDIO "frequency = 10\n",
      "test.conf:3: [source tone] frequency: 10 is out of range; accepted: 20..20000");
  rtcbotd_test_config_error (
      AUDIO "volume = 1.5\n",
      "test.conf:3: [source tone] volume: 1.5 is out of range; accepted: 0..1");
}

static void
test_odd_size (void)
{
  rtcbotd_test_config_error (
      VIDEO "width = 641\n",
      "test.conf:3: [source camera] width: 641 is odd; H.264 and VP8 need an even size");
  rtcbotd_test_config_error (
      VIDEO "height = 479\n",
      "test.conf:3: [source camera] height: 479 is odd; H.264 and VP8 need an even "
      "size");
}

static void
test_choices (void)
{
  rtcbotd_test_config_error (VIDEO "encoder = h265\n",
                             "test.conf:3: [source camera] encoder: \"h265\" is not "
                             "accepted; accepted: auto|x264|openh264|vp8|h264-hw");
  rtcbotd_test_config_error (VIDEO "overlay = date\n",
                             "test.conf:3: [source camera] overlay: \"date\" is not "
                             "accepted; accepted: none|clock");
  rtcbotd_test_config_error (
      VIDEO "pattern = plasma\n",
      "test.conf:3: [source camera] pattern: \"plasma\" is not accepted; accepted: smpte|snow|"
      "black|white|red|green|blue|checkers-1|checkers-2|checkers-4|checkers-8|circular|blink|"
      "smpte75|zone-plate|gamut|chroma-zone-plate|solid-color|ball|smpte100|bar|pinwheel|spokes|"
      "gradient|colors|smpte-rp-219");
  rtcbotd_test_config_error (VIDEO "encoder = VP8\n",
                             "test.conf:3: [source camera] encoder: \"VP8\" is not "
                             "accepted; accepted: auto|x264|openh264|vp8|h264-hw");
}

static void
test_source_type (void)
{
  rtcbotd_test_config_error (
      "[source camera]\nwidth = 640\n",
      "test.conf:1: [source camera] type: missing; this key is required; accepted: "
      "test-video|test-audio|v4l2|libcamera|alsa|pulse|gst|serial|evdev|exec|websocket|socket");
  rtcbotd_test_config_error (
      "[source camera]\ntype = v4l3\n",
      "test.conf:2: [source camera] type: \"v4l3\" is not accepted; accepted: "
      "test-video|test-audio|v4l2|libcamera|alsa|pulse|gst|serial|evdev|exec|websocket|socket");
}

static void
test_sinks (void)
{
  rtcbotd_test_config_error (
      "[sink arduino]\ndevice = /dev/ttyACM0\n",
      "test.conf:1: [sink arduino] type: missing; this key is required; accepted: "
      "record|speaker|display|gst|rtp|serial|exec|websocket|socket");
  rtcbotd_test_config_error (
      "[sink arduino]\ntype = speakers\n",
      "test.conf:2: [sink arduino] type: \"speakers\" is not accepted; accepted: "
      "record|speaker|display|gst|rtp|serial|exec|websocket|socket");
  rtcbotd_test_config_error ("[sink arduino]\ntype =\n",
                             "test.conf:2: [sink arduino] type: empty value");
  rtcbotd_test_config_error (
      "[sink pad]\ntype = evdev\ndevice = /dev/input/event0\n",
      "test.conf:2: [sink pad] type: evdev reads input devices; declare it as "
      "[source pad]");
}

static void
test_route_missing_ends (void)
{
  rtcbotd_test_config_error ("[route r]\nto = peers\n",
                             "test.conf:1: [route r] from: missing; this key is required");
  rtcbotd_test_config_error ("[route r]\nfrom = peers.messages\n",
                             "test.conf:1: [route r] to: missing; this key is required");
  rtcbotd_test_config_error ("[route r]\nfrom =\nto = peers\n",
                             "test.conf:2: [route r] from: empty value");
  rtcbotd_test_config_error ("[route r]\nfrom = peers.messages\nto = # none\n",
                             "test.conf:3: [route r] to: empty value");
}

static void
test_route_from (void)
{
  rtcbotd_test_config_error (
      VIDEO AUDIO "[route r]\nfrom = mic\nto = peers\n",
      "test.conf:6: [route r] from: no source named \"mic\"; accepted: camera, tone, "
      "peers.messages, peers.channel.LABEL, peers.video, peers.audio");
  rtcbotd_test_config_error (
      "[route r]\nfrom = peers.video\nto = peers\n",
      "test.conf:3: [route r] to: \"peers.video\" comes from the peers and cannot go back to "
      "them; route it to a speaker, display, record or gst sink");
  rtcbotd_test_config_error (
      "[route r]\nfrom = peers\nto = log\n",
      "test.conf:2: [route r] from: \"peers\" only receives; \"from\" takes sources (to "
      "route what peers send, use peers.messages)");
  rtcbotd_test_config_error (
      "[route r]\nfrom = log\nto = peers\n",
      "test.conf:2: [route r] from: \"log\" only receives; \"from\" takes sources (to "
      "route what peers send, use peers.messages)");
  rtcbotd_test_config_error (
      VIDEO "[route r]\nfrom = camera;peers.messages\nto = peers\n",
      "test.conf:4: [route r] from: mixes media and messages (\"camera\" and "
      "\"peers.messages\"); use one route for each");
  rtcbotd_test_config_error (
      VIDEO "[route r]\nfrom = peers.messages;camera\nto = peers\n",
      "test.conf:4: [route r] from: mixes media and messages (\"peers.messages\" and "
      "\"camera\"); use one route for each");
}

static void
test_route_to (void)
{
  rtcbotd_test_config_error (
      VIDEO "[route r]\nfrom = camera\nto = camera\n",
      "test.conf:5: [route r] to: \"camera\" is a source only; \"to\" takes sinks (to send to "
      "every peer, use peers)");
  rtcbotd_test_config_error (
      "[route r]\nfrom = peers.messages\nto = peers.messages\n",
      "test.conf:3: [route r] to: \"peers.messages\" is a source only; \"to\" takes sinks (to "
      "send to every peer, use peers)");
  rtcbotd_test_config_error (
      VIDEO "[route r]\nfrom = camera\nto = screen\n",
      "test.conf:5: [route r] to: no sink named \"screen\"; accepted: peers");
  rtcbotd_test_config_error (
      "[route r]\nfrom = peers.messages\nto = peers;arduino\n",
      "test.conf:3: [route r] to: no sink named \"arduino\"; accepted: peers, log, "
      "peers.channel.LABEL");
  rtcbotd_test_config_error (
      AUDIO "[route r]\nfrom = tone\nto = log\n",
      "test.conf:5: [route r] to: \"log\" takes messages, but this route carries media");
}

static void
test_listen (void)
{
  rtcbotd_test_config_error ("[daemon]\nlisten = 8080\n",
                             "test.conf:2: [daemon] listen: \"8080\"" NOT_ADDRESS);
  rtcbotd_test_config_error ("[daemon]\nlisten = robot.example.org:8080\n",
                             "test.conf:2: [daemon] listen: \"robot.example.org\"" NOT_IP);
  rtcbotd_test_config_error ("[daemon]\nlisten =\n", "test.conf:2: [daemon] listen: empty value");

  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok ("[daemon]\nlisten = [::1]:8443\n");
  g_assert_cmpstr (config->listen_host, ==, "::1");
  g_assert_cmpuint (config->listen_port, ==, 8443);
}

static void
test_web_root (void)
{
  g_autofree char *file = g_test_build_filename (G_TEST_DIST, "meson.build", NULL);
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "data", NULL);
  g_autofree char *bad = g_strdup_printf ("[daemon]\nweb-root = %s\n", file);
  g_autofree char *good = g_strdup_printf ("[daemon]\nweb-root = %s\n", dir);
  g_autofree char *message = g_strdup_printf (
      "test.conf:2: [daemon] web-root: \"%s\" is not a directory; accepted: builtin or a directory",
      file);
  g_autoptr (RtcbotdConfig) config = NULL;
  g_autoptr (RtcbotdConfig) builtin = rtcbotd_test_config_ok ("[daemon]\nweb-root = builtin\n");

  rtcbotd_test_config_error (bad, message);
  rtcbotd_test_config_error (
      "[daemon]\nweb-root = /nonexistent/rtcbotd-web\n",
      "test.conf:2: [daemon] web-root: \"/nonexistent/rtcbotd-web\" is not a directory; "
      "accepted: builtin or a directory");
  config = rtcbotd_test_config_ok (good);
  g_assert_cmpstr (config->web_root, ==, dir);
  g_assert_null (builtin->web_root);
}

static void
test_load_file_missing (void)
{
  const char *path = "/nonexistent/rtcbotd-test.conf";
  g_autoptr (GError) file_error = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdConfig) config = rtcbotd_config_load_file (path, &error);
  g_autofree char *data = NULL;

  g_assert_false (g_file_get_contents (path, &data, NULL, &file_error));
  g_assert_null (config);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==, file_error->message);
  g_assert_nonnull (strstr (error->message, path));
}

/* A binary file once passed --check-config as an empty, valid config: the
 * parser stopped at its first NUL byte. */
static void
test_load_file_binary (void)
{
  g_autofree char *dir = g_dir_make_tmp ("rtcbotd-config-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "binary.conf", NULL);
  const char data[] = "[daemon]\n\0\xff\xfe junk";
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdConfig) config = NULL;
  g_autofree char *expected = NULL;

  g_assert_true (g_file_set_contents (path, data, sizeof data - 1, NULL));
  config = rtcbotd_config_load_file (path, &error);
  g_assert_null (config);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG);
  expected = g_strdup_printf ("%s: a NUL byte at offset 9: not a text file", path);
  g_assert_cmpstr (error->message, ==, expected);
  g_unlink (path);
  g_rmdir (dir);
}

/* Parses @text as an address and checks the result. */
static void
expect_address (const char *text, const char *host, guint16 port)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *h = NULL;
  guint16 p = 1;

  g_assert_true (rtcbotd_config_parse_address (text, &h, &p, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (h, ==, host);
  g_assert_cmpuint (p, ==, port);
}

static void
expect_bad_address (const char *text, const char *message)
{
  g_autoptr (GError) error = NULL;
  char *h = NULL;
  guint16 p = 0;

  g_assert_false (rtcbotd_config_parse_address (text, &h, &p, &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_USAGE);
  g_assert_cmpstr (error->message, ==, message);
  g_assert_null (h);
}

static void
test_parse_address (void)
{
  expect_address ("0.0.0.0:8080", "0.0.0.0", 8080);
  expect_address ("127.0.0.1:0", "127.0.0.1", 0);
  expect_address ("10.1.2.3:65535", "10.1.2.3", 65535);
  expect_address ("[::]:8080", "::", 8080);
  expect_address ("[fe80::1]:443", "fe80::1", 443);
  expect_address (":9000", "0.0.0.0", 9000);
  expect_address ("localhost:8080", "localhost", 8080);

  expect_bad_address ("1.2.3.4:65536", "\"1.2.3.4:65536\"" NOT_ADDRESS);
  expect_bad_address ("1.2.3.4:", "\"1.2.3.4:\"" NOT_ADDRESS);
  expect_bad_address ("1.2.3.4:http", "\"1.2.3.4:http\"" NOT_ADDRESS);
  expect_bad_address ("1.2.3.4", "\"1.2.3.4\"" NOT_ADDRESS);
  expect_bad_address ("example.org:80", "\"example.org\"" NOT_IP);
  expect_bad_address ("[::1:80", "\"[::1\"" NOT_IP);
}

static void
test_set_listen (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok ("[daemon]\nlisten = 127.0.0.1:8080\n");
  g_autoptr (GError) error = NULL;

  g_assert_true (rtcbotd_config_set_listen (config, "[::1]:9443", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (config->listen_host, ==, "::1");
  g_assert_cmpuint (config->listen_port, ==, 9443);
  g_assert_true (rtcbotd_config_set_listen (config, ":7000", &error));
  g_assert_cmpstr (config->listen_host, ==, "0.0.0.0");
  g_assert_cmpuint (config->listen_port, ==, 7000);

  /* A bad address leaves the previous one in place. */
  g_assert_false (rtcbotd_config_set_listen (config, "robot.local:80", &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_USAGE);
  g_assert_cmpstr (config->listen_host, ==, "0.0.0.0");
  g_assert_cmpuint (config->listen_port, ==, 7000);
}

#define SERIAL "[sink a]\ntype = serial\ndevice = /dev/x\n"

static void
test_serial (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  const RtcbotdEndpointConfig *e;
  gsize size;
  const guint8 *bytes;

  rtcbotd_test_config_error (
      SERIAL "baudrate = 1234\n",
      "test.conf:4: [sink a] baudrate: 1234 is not accepted; accepted: "
      "300|600|1200|2400|4800|9600|19200|38400|57600|115200|230400|460800|500000|"
      "576000|921600|1000000|1152000|1500000|2000000|2500000|3000000|3500000|4000000");
  rtcbotd_test_config_error (
      SERIAL "write-format = <hz\n",
      "test.conf:4: [sink a] write-format: \"<hz\": 'z' at position 3 is not a struct "
      "code; accepted: x c b B ? h H i I l L q Q f d s");
  rtcbotd_test_config_error (
      SERIAL "write-keys = a;b\n",
      "test.conf:4: [sink a] write-keys: needs write-format (a struct format)");
  rtcbotd_test_config_error (
      SERIAL "read-keys = a\n",
      "test.conf:4: [sink a] read-keys: needs read-format (a struct format)");
  rtcbotd_test_config_error (
      SERIAL "write-format = <hh\nwrite-keys = a\n",
      "test.conf:5: [sink a] write-keys: names 1 field(s), but \"<hh\" holds 2 value(s)");
  rtcbotd_test_config_error (SERIAL "write-format = <hh\nwrite-keys = a;a\n",
                             "test.conf:5: [sink a] write-keys: \"a\" is named twice");
  rtcbotd_test_config_error (
      SERIAL "start-byte = 192,300\n",
      "test.conf:4: [sink a] start-byte: \"300\" is not a byte; write 1 to 16 bytes "
      "0..255 separated by commas, e.g. 192,105 or 0xC0,0x69");
  rtcbotd_test_config_error (
      SERIAL "frame-marker = 1\n",
      "test.conf:4: [sink a] frame-marker: frames struct records; set read-format or "
      "write-format to a struct format");
  rtcbotd_test_config_error (
      SERIAL "write-format = <h\nline-ending = crlf\n",
      "test.conf:5: [sink a] line-ending: applies to text writes, but write-format "
      "makes this port write struct records");
  rtcbotd_test_config_error (
      SERIAL "delay-write-start = 61\n",
      "test.conf:4: [sink a] delay-write-start: 61 is out of range; accepted: 0..60");
  rtcbotd_test_config_error (
      SERIAL "overflow = newest\n",
      "test.conf:4: [sink a] overflow: \"newest\" is not accepted; accepted: "
      "drop-oldest|most-recent");
  rtcbotd_test_config_error (
      SERIAL "queue-length = 0\n",
      "test.conf:4: [sink a] queue-length: 0 is out of range; accepted: 1..10000");
  rtcbotd_test_config_error (
      "[sink a]\ntype = serial\n",
      "test.conf:1: [sink a] device: missing; this key is required, e.g. /dev/ttyACM0");

  config = rtcbotd_test_config_ok (
      SERIAL "baudrate = 9600\nwrite-format = <hh\nwrite-keys = forward;turn\n"
             "read-format = raw\nstart-byte = 0xC0, 105\ndelay-write-start = 0.25\n"
             "frame-marker = 170,85\noverflow = most-recent\nqueue-length = 1\n");
  e = rtcbotd_config_find_endpoint (config, "a");
  g_assert_nonnull (e);
  g_assert_cmpstr (e->label, ==, "[sink a]");
  g_assert_true (e->sink_group && e->readable && e->writable);
  g_assert_cmpuint (e->baudrate, ==, 9600);
  g_assert_cmpuint (e->delay_write_start, ==, 250);
  g_assert_cmpint (e->overflow, ==, RTCBOTD_OVERFLOW_MOST_RECENT);
  g_assert_cmpuint (e->queue_length, ==, 1);
  g_assert_cmpint (e->format->read_mode, ==, RTCBOTD_SERIAL_READ_RAW);
  g_assert_cmpuint (rtcbotd_struct_get_size (e->format->write_format), ==, 4);
  g_assert_cmpstr (e->format->write_keys[1], ==, "turn");
  bytes = g_bytes_get_data (e->format->start_bytes, &size);
  g_assert_cmpmem (bytes, size, "\xc0\x69", 2);
  bytes = g_bytes_get_data (e->format->frame_marker, &size);
  g_assert_cmpmem (bytes, size, "\xaa\x55", 2);
}

static void
test_other_endpoints (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  const RtcbotdEndpointConfig *e;

  rtcbotd_test_config_error ("[source p]\ntype = evdev\n",
                             "test.conf:1: [source p] device: missing; this key is required, e.g. "
                             "/dev/input/by-id/usb-...-event-joystick");
  rtcbotd_test_config_error (
      "[source p]\ntype = evdev\ndevice = /dev/x\ngrab = maybe\n",
      "test.conf:4: [source p] grab: \"maybe\" is not accepted; accepted: no|yes");
  rtcbotd_test_config_error (
      "[source p]\ntype = evdev\ndevice = /dev/x\noverflow = most-recent\n",
      "test.conf:4: [source p] overflow: unknown key; accepted: type, device, grab");
  rtcbotd_test_config_error (
      "[source w]\ntype = exec\n",
      "test.conf:1: [source w] command: missing; this key is required: the program and "
      "its arguments, e.g. /usr/bin/python3 -u /etc/rtcbotd/sensor.py");
  rtcbotd_test_config_error (
      "[source w]\ntype = exec\ncommand = /nonexistent/prog -x\n",
      "test.conf:3: [source w] command: \"/nonexistent/prog\" is not an executable "
      "program (give its absolute path, or a name on PATH)");
  rtcbotd_test_config_error ("[source s]\ntype = socket\n",
                             "test.conf:1: [source s] path: missing; this key is required, e.g. "
                             "/run/rtcbotd/NAME.sock");
  rtcbotd_test_config_error (
      "[source s]\ntype = socket\npath = relative.sock\n",
      "test.conf:3: [source s] path: must be an absolute path of at most 100 bytes");
  rtcbotd_test_config_error ("[source s]\ntype = websocket\npath = /x\n",
                             "test.conf:3: [source s] path: unknown key; accepted: type, overflow, "
                             "queue-length");
  rtcbotd_test_config_error (
      "[source p]\ntype = evdev\ndevice = /dev/x\n"
      "[route r]\nfrom = peers.messages\nto = p\n",
      "test.conf:6: [route r] to: \"p\" is a source only; \"to\" takes sinks (to send to "
      "every peer, use peers)");

  config = rtcbotd_test_config_ok (
      "[source pad]\ntype = evdev\ndevice = /dev/input/event3\ngrab = yes\n"
      "[source worker]\ntype = exec\ncommand = sh -c 'echo \"{}\"'\nmax-rate = 50\n"
      "[sink bridge]\ntype = socket\npath = /run/x.sock\n"
      "[sink dash]\ntype = websocket\n"
      "[route r]\nfrom = pad;worker;bridge;dash\nto = worker;bridge;dash;log\n");
  e = rtcbotd_config_find_endpoint (config, "pad");
  g_assert_true (e->grab && e->readable && !e->writable && !e->sink_group);
  e = rtcbotd_config_find_endpoint (config, "worker");
  g_assert_cmpuint (g_strv_length (e->argv), ==, 3);
  g_assert_cmpstr (e->argv[2], ==, "echo \"{}\"");
  g_assert_cmpuint (e->max_rate, ==, 50);
  e = rtcbotd_config_find_endpoint (config, "bridge");
  g_assert_cmpstr (e->device, ==, "/run/x.sock");
  g_assert_cmpint (rtcbotd_config_find_endpoint (config, "dash")->type, ==,
                   RTCBOTD_ENDPOINT_WEBSOCKET);
  g_assert_cmpstr (rtcbotd_endpoint_type_to_string (RTCBOTD_ENDPOINT_SOCKET), ==, "socket");
}

static void
test_map_failsafe (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  const RtcbotdRouteConfig *r;
  g_autofree char *failsafe = NULL;

  rtcbotd_test_config_error (
      "[route r]\nfrom = peers.messages\nto = log\nmap = forward=kee.w\n",
      "test.conf:4: [route r] map: \"forward=kee.w\": \"kee.w\" is not a term; accepted: "
      "key.NAME, btn.NAME, axis.NAME, field.PATH or a number");
  rtcbotd_test_config_error (
      "[route r]\nfrom = peers.messages\nto = log\nfailsafe = 500 {}\n",
      "test.conf:4: [route r] failsafe: \"500 {}\" does not start with a time of "
      "10ms..60s (e.g. 500ms or 0.5s) followed by the JSON message to send");
  rtcbotd_test_config_error (
      "[route r]\nfrom = peers.messages\nto = log\nfailsafe = 5ms {}\n",
      "test.conf:4: [route r] failsafe: \"5ms {}\" does not start with a time of "
      "10ms..60s (e.g. 500ms or 0.5s) followed by the JSON message to send");
  rtcbotd_test_config_error (
      "[route r]\nfrom = peers.messages\nto = log\nfailsafe = 500ms\n",
      "test.conf:4: [route r] failsafe: \"500ms\" has no message; write the JSON "
      "message to send after the time, e.g. 500ms {\"forward\":0}");
  rtcbotd_test_config_error (
      VIDEO "[route r]\nfrom = camera\nto = peers\nmap = a=key.w\n",
      "test.conf:6: [route r] map: applies to message routes, but this route carries "
      "media");
  rtcbotd_test_config_error (
      "[route r]\nfrom = peers.channel.a.b\nto = log\n",
      "test.conf:2: [route r] from: \"peers.channel.a.b\": the channel label \"a.b\" is "
      "not valid; use letters, digits, '-' and '_'");
  rtcbotd_test_config_error ("[route r]\nfrom = peers.messages;peers.messages\nto = log\n",
                             "test.conf:2: [route r] from: \"peers.messages\" is named twice");
  rtcbotd_test_config_error ("[route r]\nfrom = peers.messages\nto = log;log\n",
                             "test.conf:3: [route r] to: \"log\" is named twice");

  config = rtcbotd_test_config_ok (
      "[route r]\nfrom = peers.channel.control\nto = peers.channel.telemetry\n"
      "map = v=axis.1*-100,round\nfailsafe = 0.25s {\"v\": 0}   ; stop\n");
  r = config->routes->pdata[0];
  g_assert_true (r->messages);
  g_assert_nonnull (r->map);
  g_assert_cmpuint (r->failsafe_ms, ==, 250);
  failsafe = json_to_string (r->failsafe, FALSE);
  g_assert_cmpstr (failsafe, ==, "{\"v\":0}");
  g_assert_cmpint (((RtcbotdRouteEnd *)r->from->pdata[0])->type, ==, RTCBOTD_NODE_PEERS_CHANNEL);
  g_assert_cmpint (((RtcbotdRouteEnd *)r->to->pdata[0])->type, ==, RTCBOTD_NODE_PEERS_CHANNEL);
}

static void
test_control (void)
{
  g_autoptr (RtcbotdConfig) defaults = rtcbotd_test_config_ok ("");
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[daemon]\ncontrol = shared\ncontrol-token = s3cret\n");

  rtcbotd_test_config_error (
      "[daemon]\ncontrol = anarchy\n",
      "test.conf:2: [daemon] control: \"anarchy\" is not accepted; accepted: "
      "single|shared");
  g_assert_cmpint (defaults->control, ==, RTCBOTD_CONTROL_SINGLE);
  g_assert_null (defaults->control_token);
  g_assert_cmpint (config->control, ==, RTCBOTD_CONTROL_SHARED);
  g_assert_cmpstr (config->control_token, ==, "s3cret");
}

/* Every example configuration is valid (it documents real use). */
static void
test_examples (void)
{
  const char *names[]
      = { "arduino-rover.conf", "gamepad.conf", "offload-desktop.conf", "sensor-exec.conf" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path
          = g_test_build_filename (G_TEST_DIST, "..", "config", "examples", names[i], NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (RtcbotdConfig) config = rtcbotd_config_load_file (path, &error);
      g_assert_no_error (error);
      g_assert_nonnull (config);
    }
}

/* A reload keeps what reads the same (whitespace, key order and comments
 * aside) and moves its entry into the new config; anything else differs. */
static void
test_take_unchanged (void)
{
  g_autoptr (RtcbotdConfig) old
      = rtcbotd_test_config_ok (VIDEO "width = 320 ; pixels\nheight = 240\n" AUDIO
                                      "[sink worker]\ntype = exec\ncommand = /bin/cat\n"
                                      "[route video]\nfrom = camera\nto = peers\n"
                                      "[route work]\nfrom = peers.messages\nto = worker\n");
  g_autoptr (RtcbotdConfig) next = rtcbotd_test_config_ok (
      "; a comment\n[source camera]\nheight=240\n type = test-video\nwidth = 320 ; px, a "
      "comment\n" AUDIO "frequency = 880\n"
      "[sink worker]\ntype = exec\ncommand = /bin/cat\n"
      "[route video]\nfrom = camera\nto = peers\n"
      "[route work]\nfrom = peers.messages\nto = worker;log\n");
  const RtcbotdSourceConfig *camera = rtcbotd_config_find_source (old, "camera");
  const RtcbotdEndpointConfig *worker = rtcbotd_config_find_endpoint (old, "worker");

  g_assert_true (rtcbotd_config_take_unchanged (next, old, RTCBOTD_CONFIG_SOURCE, "camera"));
  g_assert_true (rtcbotd_config_find_source (next, "camera") == camera);
  g_assert_false (rtcbotd_config_take_unchanged (next, old, RTCBOTD_CONFIG_SOURCE, "tone"));
  g_assert_true (rtcbotd_config_take_unchanged (next, old, RTCBOTD_CONFIG_ENDPOINT, "worker"));
  g_assert_true (rtcbotd_config_find_endpoint (next, "worker") == worker);
  g_assert_true (rtcbotd_config_take_unchanged (next, old, RTCBOTD_CONFIG_ROUTE, "video"));
  g_assert_false (rtcbotd_config_take_unchanged (next, old, RTCBOTD_CONFIG_ROUTE, "work"));
  g_assert_false (rtcbotd_config_take_unchanged (next, old, RTCBOTD_CONFIG_ROUTE, "missing"));
  /* The old config got the new entries in exchange and frees them. */
  g_assert_true (rtcbotd_config_find_source (old, "camera") != camera);
  g_assert_cmpuint (rtcbotd_config_find_source (old, "camera")->width, ==, 320);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/config/demo", test_demo_config);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/all-values", test_all_values);
  g_test_add_func ("/config/inline-comments", test_inline_comments);
  g_test_add_func ("/config/lists", test_lists);
  g_test_add_func ("/config/list-comments", test_list_comments);
  g_test_add_func ("/config/semicolon-comment-lines", test_semicolon_comment_lines);
  g_test_add_func ("/config/message-routes", test_message_routes);
  g_test_add_func ("/config/derived-helpers", test_derived_helpers);
  g_test_add_func ("/config/error/syntax", test_syntax_errors);
  g_test_add_func ("/config/error/given-twice", test_given_twice);
  g_test_add_func ("/config/error/groups", test_groups);
  g_test_add_func ("/config/error/name-used-twice", test_name_used_twice);
  g_test_add_func ("/config/error/unknown-keys", test_unknown_keys);
  g_test_add_func ("/config/error/numbers", test_numbers);
  g_test_add_func ("/config/error/odd-size", test_odd_size);
  g_test_add_func ("/config/error/choices", test_choices);
  g_test_add_func ("/config/error/source-type", test_source_type);
  g_test_add_func ("/config/error/sinks", test_sinks);
  g_test_add_func ("/config/serial", test_serial);
  g_test_add_func ("/config/endpoints", test_other_endpoints);
  g_test_add_func ("/config/route/map-failsafe", test_map_failsafe);
  g_test_add_func ("/config/control", test_control);
  g_test_add_func ("/config/examples", test_examples);
  g_test_add_func ("/config/error/route-missing-ends", test_route_missing_ends);
  g_test_add_func ("/config/error/route-from", test_route_from);
  g_test_add_func ("/config/error/route-to", test_route_to);
  g_test_add_func ("/config/error/listen", test_listen);
  g_test_add_func ("/config/error/web-root", test_web_root);
  g_test_add_func ("/config/error/load-file-missing", test_load_file_missing);
  g_test_add_func ("/config/error/load-file-binary", test_load_file_binary);
  g_test_add_func ("/config/parse-address", test_parse_address);
  g_test_add_func ("/config/set-listen", test_set_listen);
  g_test_add_func ("/config/take-unchanged", test_take_unchanged);

  return g_test_run ();
}
