/* test-ice-server.c — [daemon] ice-servers: the URL forms accepted, what
 * webrtcbin and browsers are given, ice-transport-policy, and every error
 * (none of which may show a password). */
#include "rtcbotd-config.h"
#include "rtcbotd-error.h"
#include "rtcbotd-ice-server.h"
#include "test-utils.h"

static RtcbotdIceServer *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  RtcbotdIceServer *server = rtcbotd_ice_server_parse (text, &error);

  g_assert_no_error (error);
  return server;
}

static void
check_uris (const char *text, const char *gst, const char *browser)
{
  g_autoptr (RtcbotdIceServer) server = parse_ok (text);
  g_autofree char *uri = rtcbotd_ice_server_to_gst_uri (server);
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;

  g_assert_cmpstr (uri, ==, gst);
  rtcbotd_ice_server_add_json (server, builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  g_assert_cmpstr (json, ==, browser);
}

static void
test_forms (void)
{
  g_autoptr (RtcbotdIceServer) turn = parse_ok ("turn:robot:s%40cret@10.0.0.1?transport=tcp");

  g_assert_cmpint (turn->scheme, ==, RTCBOTD_ICE_TURN);
  g_assert_cmpstr (turn->username, ==, "robot");
  g_assert_cmpstr (turn->credential, ==, "s@cret");
  g_assert_cmpuint (turn->port, ==, 3478);
  g_assert_cmpstr (turn->transport, ==, "tcp");
  check_uris ("stun:10.0.0.1:3479", "stun://10.0.0.1:3479", "{\"urls\":\"stun:10.0.0.1:3479\"}");
  check_uris ("stun://stun.example.org", "stun://stun.example.org:3478",
              "{\"urls\":\"stun:stun.example.org:3478\"}");
  check_uris (
      "turn:robot:secret@127.0.0.1:3478", "turn://robot:secret@127.0.0.1:3478",
      "{\"urls\":\"turn:127.0.0.1:3478\",\"username\":\"robot\",\"credential\":\"secret\"}");
  check_uris (
      "turns:a:b%2Fc@turn.example.org", "turns://a:b%2Fc@turn.example.org:5349",
      "{\"urls\":\"turns:turn.example.org:5349\",\"username\":\"a\",\"credential\":\"b/c\"}");
  check_uris ("TURN:u:p@[fd00::1]:3478?transport=udp", "turn://u:p@[fd00::1]:3478?transport=udp",
              "{\"urls\":\"turn:[fd00::1]:3478?transport=udp\",\"username\":\"u\","
              "\"credential\":\"p\"}");
}

static void
check_error (const char *text, const char *message)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (rtcbotd_ice_server_parse (text, &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_errors (void)
{
  check_error ("http://example.org", "\"http://example.org\": not a STUN or TURN server; write "
                                     "stun:HOST:PORT, turn:USER:PASSWORD@HOST:PORT or turns:…");
  check_error ("turn:10.0.0.1", "\"turn:10.0.0.1\": a TURN server needs a user name and password: "
                                "turn:USER:PASSWORD@HOST:PORT");
  check_error ("turn:user@10.0.0.1", "\"turn:…@10.0.0.1\": a TURN server needs a user name and "
                                     "password: turn:USER:PASSWORD@HOST:PORT");
  check_error ("stun:u:p@10.0.0.1",
               "\"stun:…@10.0.0.1\": a STUN server takes no user name or password");
  check_error ("turn:u:topsecret@10.0.0.1:99999",
               "\"turn:…@10.0.0.1:99999\": the port is not a number in 1..65535");
  check_error ("turn:u:p@h?transport=sctp", "\"turn:…@h?transport=sctp\": the only query accepted "
                                            "is ?transport=udp or ?transport=tcp");
  check_error ("stun:", "\"stun:\": no host name; write SCHEME:HOST[:PORT], e.g. "
                        "stun:10.0.0.1:3478");
  check_error ("stun:[::1", "\"stun:[::1\": an IPv6 address is written in brackets: "
                            "turn:[::1]:3478");
  check_error ("no-at-but@sign", "\"…@sign\": not a STUN or TURN server; write "
                                 "stun:HOST:PORT, turn:USER:PASSWORD@HOST:PORT or turns:…");
}

static void
test_config (void)
{
  g_autoptr (RtcbotdConfig) none = rtcbotd_test_config_ok ("[daemon]\n");
  g_autoptr (RtcbotdConfig) two = rtcbotd_test_config_ok (
      "[daemon]\nice-servers = stun:10.0.0.1  turn:r:s@10.0.0.2 ; comment\n"
      "ice-transport-policy = relay\n");

  g_assert_cmpuint (none->ice_servers->len, ==, 0); /* nothing is contacted unless configured */
  g_assert_false (none->ice_relay_only);
  g_assert_cmpuint (two->ice_servers->len, ==, 2);
  g_assert_true (two->ice_relay_only);
  rtcbotd_test_config_error (
      "[daemon]\nice-servers = stun:10.0.0.1\nice-transport-policy = relay\n",
      "test.conf:3: [daemon] ice-transport-policy: relay needs a TURN "
      "server (turn: or turns:) in ice-servers");
  rtcbotd_test_config_error ("[daemon]\nice-servers = stun:a turn:u:hidden@b:0\n",
                             "test.conf:2: [daemon] ice-servers: \"turn:…@b:0\": the port is not "
                             "a number in 1..65535");
  rtcbotd_test_config_error ("[daemon]\nice-transport-policy = none\n",
                             "test.conf:2: [daemon] ice-transport-policy: \"none\" is not "
                             "accepted; accepted: all|relay");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ice-server/forms", test_forms);
  g_test_add_func ("/ice-server/errors", test_errors);
  g_test_add_func ("/ice-server/config", test_config);
  return g_test_run ();
}
