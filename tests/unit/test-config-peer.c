/* test-config-peer.c — [peer NAME] groups (servers the daemon offers to) and
 * the route ends that name them. */
#include "rtcbotd-config.h"
#include "test-utils.h"

#define CAMERA "[source camera]\ntype = test-video\n[route view]\nfrom = camera\nto = peers\n"

static void
test_peer_ok (void)
{
  g_autoptr (RtcbotdConfig) c = rtcbotd_test_config_ok (
      CAMERA "[source arm]\ntype = test-video\n[route arm]\nfrom = arm\nto = peers\n"
             "[peer desktop]\noffer-to = https://192.168.1.20:8080/connect   ; the desktop\n"
             "token = s3cret-token\nsources = camera\n"
             "[sink arduino]\ntype = serial\ndevice = /dev/ttyACM0\n"
             "[route back]\nfrom = peer.desktop.messages\nto = arduino\n"
             "[route out]\nfrom = peers.messages\nto = peer.desktop; log\n"
             "[peer laptop]\noffer-to = http://laptop/connect\n");
  const RtcbotdPeerConfig *desktop = rtcbotd_config_find_peer (c, "desktop");
  const RtcbotdPeerConfig *laptop = rtcbotd_config_find_peer (c, "laptop");
  const RtcbotdRouteConfig *back = NULL, *out = NULL;

  g_assert_nonnull (desktop);
  g_assert_cmpstr (desktop->offer_to, ==, "https://192.168.1.20:8080/connect");
  g_assert_cmpstr (desktop->token, ==, "s3cret-token");
  g_assert_cmpstr (desktop->label, ==, "[peer desktop]");
  g_assert_cmpuint (g_strv_length (desktop->sources), ==, 1);
  g_assert_cmpstr (desktop->sources[0], ==, "camera");
  g_assert_nonnull (laptop);
  g_assert_null (laptop->token);
  g_assert_null (laptop->sources); /* every source routed to peers */
  g_assert_null (rtcbotd_config_find_peer (c, "camera"));
  for (guint i = 0; i < c->routes->len; i++)
    {
      const RtcbotdRouteConfig *r = c->routes->pdata[i];
      if (g_str_equal (r->name, "back"))
        back = r;
      if (g_str_equal (r->name, "out"))
        out = r;
    }
  g_assert_nonnull (back);
  g_assert_true (back->messages);
  g_assert_cmpint (((RtcbotdRouteEnd *)back->from->pdata[0])->type, ==, RTCBOTD_NODE_PEER_MESSAGES);
  g_assert_cmpstr (((RtcbotdRouteEnd *)back->from->pdata[0])->name, ==, "peer.desktop.messages");
  g_assert_nonnull (out);
  g_assert_cmpint (((RtcbotdRouteEnd *)out->to->pdata[0])->type, ==, RTCBOTD_NODE_PEER);
  g_assert_cmpstr (((RtcbotdRouteEnd *)out->to->pdata[0])->name, ==, "peer.desktop");
}

static void
test_peer_errors (void)
{
  rtcbotd_test_config_error ("[peer desktop]\ntoken = abcdefgh\n",
                             "test.conf:1: [peer desktop] offer-to: missing; this key is "
                             "required (the URL the daemon offers to, e.g. "
                             "http://192.168.1.20:8080/connect)");
  rtcbotd_test_config_error ("[peer desktop]\noffer-to = ws://desktop/connect\n",
                             "test.conf:2: [peer desktop] offer-to: \"ws://desktop/connect\" is "
                             "not an http:// or https:// URL with a host (e.g. "
                             "http://192.168.1.20:8080/connect)");
  rtcbotd_test_config_error ("[peer desktop]\noffer-to = desktop:8080\n",
                             "test.conf:2: [peer desktop] offer-to: \"desktop:8080\" is not an "
                             "http:// or https:// URL with a host (e.g. "
                             "http://192.168.1.20:8080/connect)");
  rtcbotd_test_config_error ("[peer desktop]\noffer-to = http://d/connect\nretries = 3\n",
                             "test.conf:3: [peer desktop] retries: unknown key; accepted: "
                             "offer-to, token, sources");
  rtcbotd_test_config_error ("[peer desktop]\noffer-to = http://d/connect\ntoken = a\x01b\n",
                             "test.conf:3: [peer desktop] token: character 2 is not accepted; "
                             "use printable ASCII without spaces");
  rtcbotd_test_config_error ("[peer desktop]\noffer-to = http://d/connect\nsources = camera\n",
                             "test.conf:3: [peer desktop] sources: no media source named "
                             "\"camera\"");
  rtcbotd_test_config_error ("[peer desktop]\noffer-to = http://d/connect\nsources = camera\n"
                             "[source camera]\ntype = test-video\n",
                             "test.conf:3: [peer desktop] sources: [source camera] is not "
                             "routed to peers; add a route with from = camera and to = peers");
  rtcbotd_test_config_error ("[peer desktop]\noffer-to = http://d/connect\n"
                             "sources = camera; camera\n" CAMERA,
                             "test.conf:3: [peer desktop] sources: \"camera\" is named twice");
  rtcbotd_test_config_error ("[peer de.sk]\noffer-to = http://d/connect\n",
                             "test.conf:1: [peer de.sk]: \"de.sk\" is not a valid name; use "
                             "letters, digits, '-' and '_', as in [peer NAME]");
}

static void
test_peer_route_ends (void)
{
  const char *peer = "[peer desktop]\noffer-to = http://d/connect\n";
  g_autofree char *unknown
      = g_strconcat (peer, "[route r]\nfrom = peer.laptop.messages\nto = log\n", NULL);
  g_autofree char *from_sink
      = g_strconcat (peer, "[route r]\nfrom = peer.desktop\nto = log\n", NULL);
  g_autofree char *to_source
      = g_strconcat (peer, "[route r]\nfrom = peers.messages\nto = peer.desktop.messages\n", NULL);
  g_autofree char *unknown_sink
      = g_strconcat (peer, "[route r]\nfrom = peers.messages\nto = desk\n", NULL);
  g_autofree char *media
      = g_strconcat (peer, CAMERA "[route r2]\nfrom = camera\nto = peer.desktop\n", NULL);

  rtcbotd_test_config_error (unknown, "test.conf:4: [route r] from: \"peer.laptop.messages\": "
                                      "there is no [peer laptop]");
  rtcbotd_test_config_error (from_sink, "test.conf:4: [route r] from: \"peer.desktop\" only "
                                        "receives; what the peer sends is peer.desktop.messages");
  rtcbotd_test_config_error (to_source, "test.conf:5: [route r] to: \"peer.desktop.messages\" is "
                                        "a source only; to send to the peer, use peer.desktop");
  rtcbotd_test_config_error (media, "test.conf:10: [route r2] to: \"peer.desktop\" takes "
                                    "messages, but this route carries media");
  rtcbotd_test_config_error (unknown_sink, "test.conf:5: [route r] to: no sink named \"desk\"; "
                                           "accepted: peers, log, peers.channel.LABEL, "
                                           "peer.desktop");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config-peer/ok", test_peer_ok);
  g_test_add_func ("/config-peer/errors", test_peer_errors);
  g_test_add_func ("/config-peer/route-ends", test_peer_route_ends);
  return g_test_run ();
}
