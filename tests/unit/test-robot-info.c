/* test-robot-info.c — GET /api/robot's JSON, from config strings. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "rtcbotd-build-config.h"
#include <string.h>

#include "rtcbotd-robot-info.h"
#include "test-utils.h"

/* The info of @text with the version replaced, so expectations stay short. */
static char *
info_for (const char *text)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (text);
  g_autofree char *json = rtcbotd_robot_info_json (config);
  g_autofree char *version = g_strdup_printf ("\"version\":\"%s\"", RTCBOTD_VERSION);
  g_auto (GStrv) parts = g_strsplit (json, version, 2);

  g_assert_nonnull (parts[1]);
  return g_strconcat (parts[0], "\"version\":\"V\"", parts[1], NULL);
}

static void
test_nothing_routed (void)
{
  g_autofree char *json = info_for ("[source camera]\ntype = test-video\n");

  /* A camera no route sends to peers is not offered. */
  g_assert_cmpstr (json, ==,
                   "{\"version\":\"V\",\"cameras\":[],\"audio\":false,\"talk\":false,"
                   "\"controls\":{\"keyboard\":false,\"gamepad\":false,\"channels\":[]},"
                   "\"control\":\"single\",\"telemetry\":false,\"iceServers\":[],"
                   "\"iceTransportPolicy\":\"all\"}");
}

static void
test_two_cameras (void)
{
  g_autofree char *json
      = info_for ("[daemon]\ncontrol = shared\n"
                  "[source front]\ntype = test-video\nwidth = 640\nheight = 480\nframerate = 15\n"
                  "[source tone]\ntype = test-audio\n"
                  "[source rear]\ntype = test-video\nwidth = 320\nheight = 240\nframerate = 10\n"
                  "[route media]\nfrom = rear;tone;front\nto = peers\n"
                  "[route echo]\nfrom = peers.messages\nto = peers\n");

  /* Cameras in config order (the order of the tracks), not route order. */
  g_assert_cmpstr (json, ==,
                   "{\"version\":\"V\",\"cameras\":["
                   "{\"name\":\"front\",\"width\":640,\"height\":480,\"framerate\":15},"
                   "{\"name\":\"rear\",\"width\":320,\"height\":240,\"framerate\":10}],"
                   "\"audio\":true,\"talk\":false,"
                   "\"controls\":{\"keyboard\":true,\"gamepad\":true,\"channels\":[]},"
                   "\"control\":\"shared\",\"telemetry\":true,\"iceServers\":[],"
                   "\"iceTransportPolicy\":\"all\"}");
}

static void
test_channels (void)
{
  g_autofree char *json
      = info_for ("[route keys]\nfrom = peers.channel.default\nto = log\n"
                  "[route arm]\nfrom = peers.channel.arm;peers.channel.default\n"
                  "to = log\n"
                  "[route back]\nfrom = peers.channel.arm\nto = peers.channel.arm\n");

  /* Keys only (no "control" channel feeds a route); each label once; a
   * route to one channel of the peers is telemetry too. */
  g_assert_cmpstr (json, ==,
                   "{\"version\":\"V\",\"cameras\":[],\"audio\":false,\"talk\":false,"
                   "\"controls\":{\"keyboard\":true,\"gamepad\":false,"
                   "\"channels\":[\"default\",\"arm\"]},"
                   "\"control\":\"single\",\"telemetry\":true,\"iceServers\":[],"
                   "\"iceTransportPolicy\":\"all\"}");
}

static void
test_ice_servers (void)
{
  g_autofree char *json = info_for ("[daemon]\nice-servers = stun:10.9.0.1 turn:r:s@10.9.0.2:3478"
                                    "?transport=tcp\nice-transport-policy = relay\n");

  /* The page hands them to RTCPeerConnection as they are. */
  g_assert_nonnull (strstr (json, "\"iceServers\":[{\"urls\":\"stun:10.9.0.1:3478\"},"
                                  "{\"urls\":\"turn:10.9.0.2:3478?transport=tcp\","
                                  "\"username\":\"r\",\"credential\":\"s\"}],"
                                  "\"iceTransportPolicy\":\"relay\"}"));
}

static void
test_parses (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (
      "[source cam]\ntype = test-video\n[route m]\nfrom = cam\nto = peers\n");
  g_autofree char *json = rtcbotd_robot_info_json (config);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root;

  /* The page reads it with JSON.parse: it must be an object with the defaults. */
  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "cameras")), ==, 1);
  g_assert_cmpint (
      json_object_get_int_member (
          json_array_get_object_element (json_object_get_array_member (root, "cameras"), 0),
          "width"),
      >, 0);
}

static void
test_talk (void)
{
  g_autoptr (RtcbotdConfig) config = NULL;
  g_autofree char *json = NULL;
  g_autofree char *silent = NULL;

  /* A media route from peers.audio: the page may offer push-to-talk. */
  json = info_for ("[sink voice]\ntype = record\npath = /tmp/voice-%s.mkv\n"
                   "[route talk]\nfrom = peers.audio\nto = voice\n");
  g_assert_nonnull (strstr (json, "\"audio\":false,\"talk\":true,"));
  /* The peers' video alone is not talk-back. */
  silent = info_for ("[sink screen]\ntype = display\n"
                     "[route show]\nfrom = peers.video\nto = screen\n");
  g_assert_nonnull (strstr (silent, "\"talk\":false,"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/robot-info/nothing-routed", test_nothing_routed);
  g_test_add_func ("/robot-info/two-cameras", test_two_cameras);
  g_test_add_func ("/robot-info/channels", test_channels);
  g_test_add_func ("/robot-info/ice-servers", test_ice_servers);
  g_test_add_func ("/robot-info/parses", test_parses);
  g_test_add_func ("/robot-info/talk", test_talk);
  return g_test_run ();
}
