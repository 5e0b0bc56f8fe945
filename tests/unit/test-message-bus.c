/* test-message-bus.c — RTCBot message decoding and encoding, and routing
 * messages along the configuration's message routes. */
#include "rtcbotd-message-bus.h"
#include "rtcbotd-route.h"
#include "test-utils.h"

/* Collects what a sink node receives. */
typedef struct
{
  GPtrArray *messages; /* of char *, the encoded message */
  GPtrArray *from;     /* of char * */
} Received;

static void
received_clear (Received *received)
{
  g_clear_pointer (&received->messages, g_ptr_array_unref);
  g_clear_pointer (&received->from, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Received, received_clear)

static void
received_init (Received *received)
{
  received->messages = g_ptr_array_new_with_free_func (g_free);
  received->from = g_ptr_array_new_with_free_func (g_free);
}

/* Records each message with the route that sent it. */
static void
collect (JsonNode *message, const char *node, const char *route, gpointer user_data)
{
  Received *received = user_data;

  g_ptr_array_add (received->messages, rtcbotd_message_encode (message));
  g_ptr_array_add (received->from, g_strdup (route));
}

/* Decodes @text and checks that it re-encodes as @json. */
static void
expect_decoded (const char *text, JsonNodeType type, const char *json)
{
  g_autoptr (JsonNode) node = rtcbotd_message_decode (text);
  g_autofree char *encoded = NULL;

  g_assert_nonnull (node);
  g_assert_cmpint (json_node_get_node_type (node), ==, type);
  encoded = rtcbotd_message_encode (node);
  g_assert_cmpstr (encoded, ==, json);
}

/* Decodes @text and checks that it is the string @text itself. */
static void
expect_string (const char *text)
{
  g_autoptr (JsonNode) node = rtcbotd_message_decode (text);

  g_assert_true (JSON_NODE_HOLDS_VALUE (node));
  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_STRING);
  g_assert_cmpstr (json_node_get_string (node), ==, text);
}

static void
test_decode_json (void)
{
  g_autoptr (JsonNode) object = rtcbotd_message_decode ("{\"forward\": 0.5, \"keys\": [\"w\"]}");
  g_autoptr (JsonNode) number = rtcbotd_message_decode ("42");
  g_autoptr (JsonNode) string = rtcbotd_message_decode ("\"hello\"");
  JsonObject *o;

  g_assert_true (JSON_NODE_HOLDS_OBJECT (object));
  o = json_node_get_object (object);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "forward"), 0.5, 1e-12);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (o, "keys"), 0), ==,
                   "w");
  g_assert_cmpint (json_node_get_value_type (number), ==, G_TYPE_INT64);
  g_assert_cmpint (json_node_get_int (number), ==, 42);
  /* A JSON string is the string, without its quotes. */
  g_assert_cmpstr (json_node_get_string (string), ==, "hello");

  expect_decoded ("[1, true, null]", JSON_NODE_ARRAY, "[1,true,null]");
  expect_decoded ("-1.5", JSON_NODE_VALUE, "-1.5");
  expect_decoded ("false", JSON_NODE_VALUE, "false");
  expect_decoded ("null", JSON_NODE_NULL, "null");
  expect_decoded ("  {\"a\" : 1}\n", JSON_NODE_OBJECT, "{\"a\":1}");
}

static void
test_decode_text (void)
{
  /* RTCBot sends plain strings as they are: anything not JSON is a string. */
  expect_string ("hello");
  expect_string ("hello world");
  expect_string ("");
  expect_string ("   ");
  expect_string ("\n");
  expect_string ("{\"unfinished\": ");
  expect_string ("1 2");
  expect_string ("\xc3\xa9t\xc3\xa9");
}

static void
test_encode (void)
{
  g_autoptr (JsonNode) object = rtcbotd_message_decode (" { \"a\" : 1 ,\n \"b\" : [ 1 , 2 ] } ");
  g_autoptr (JsonNode) text = rtcbotd_message_decode ("say \"hi\"\\now");
  g_autoptr (JsonNode) built = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonObject) members = json_object_new ();
  g_autofree char *object_json = rtcbotd_message_encode (object);
  g_autofree char *text_json = rtcbotd_message_encode (text);
  g_autofree char *built_json = NULL;

  g_assert_cmpstr (object_json, ==, "{\"a\":1,\"b\":[1,2]}");
  g_assert_cmpstr (text_json, ==, "\"say \\\"hi\\\"\\\\now\"");
  json_object_set_string_member (members, "type", "ping");
  json_object_set_int_member (members, "n", 3);
  json_node_set_object (built, members);
  built_json = rtcbotd_message_encode (built);
  g_assert_cmpstr (built_json, ==, "{\"type\":\"ping\",\"n\":3}");
}

static const char echo_config[] = "[route echo]\nfrom = peers.messages\nto = peers\n"
                                  "[route journal]\nfrom = peers.messages\nto = log\n";

static void
test_route_to_peers (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (echo_config);
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) message = rtcbotd_message_decode ("{\"text\":\"hi\"}");
  g_auto (Received) peers = { 0 };
  g_auto (Received) log = { 0 };

  received_init (&peers);
  received_init (&log);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_set_sink (bus, "log", collect, &log);
  g_assert_cmpuint (rtcbotd_message_bus_get_published (bus), ==, 0);

  rtcbotd_message_bus_publish (bus, "peers.messages", message, 0);
  g_assert_cmpuint (peers.messages->len, ==, 1);
  g_assert_cmpstr (peers.messages->pdata[0], ==, "{\"text\":\"hi\"}");
  g_assert_cmpstr (peers.from->pdata[0], ==, "echo");
  g_assert_cmpuint (log.messages->len, ==, 1);
  g_assert_cmpstr (log.from->pdata[0], ==, "journal");
  g_assert_cmpuint (rtcbotd_message_bus_get_published (bus), ==, 1);
}

static void
test_builtin_log_sink (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (echo_config);
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) message = rtcbotd_message_decode ("{ \"forward\" : 1 }");

  /* Without a registered "peers" sink, only the bus's own log gets it. */
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "[route journal]: {\"forward\":1}");
  rtcbotd_message_bus_publish (bus, "peers.messages", message, 0);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (rtcbotd_message_bus_get_published (bus), ==, 1);
}

static void
test_no_route (void)
{
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[source camera]\ntype = test-video\n"
                                "[route video]\nfrom = camera\nto = peers\n"
                                "[route echo]\nfrom = peers.messages\nto = peers\n");
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) message = rtcbotd_message_decode ("\"x\"");
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  /* A media route carries no messages; unknown nodes route nowhere. */
  rtcbotd_message_bus_publish (bus, "camera", message, 0);
  rtcbotd_message_bus_publish (bus, "nobody", message, 0);
  rtcbotd_message_bus_publish (bus, "peers", message, 0);
  g_assert_cmpuint (peers.messages->len, ==, 0);
  g_assert_cmpuint (rtcbotd_message_bus_get_published (bus), ==, 3);
  rtcbotd_message_bus_publish (bus, "peers.messages", message, 0);
  g_assert_cmpuint (peers.messages->len, ==, 1);
  g_assert_cmpstr (peers.messages->pdata[0], ==, "\"x\"");
  g_assert_cmpuint (rtcbotd_message_bus_get_published (bus), ==, 4);
}

static void
test_no_message_routes (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok ("");
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) message = rtcbotd_message_decode ("1");
  g_auto (Received) peers = { 0 };
  g_auto (Received) log = { 0 };

  received_init (&peers);
  received_init (&log);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_set_sink (bus, "log", collect, &log);
  rtcbotd_message_bus_publish (bus, "peers.messages", message, 0);
  g_assert_cmpuint (peers.messages->len + log.messages->len, ==, 0);
  g_assert_cmpuint (rtcbotd_message_bus_get_published (bus), ==, 1);
}

static void
test_routes_each_deliver (void)
{
  /* Each route delivers what it carries (two routes may map one input two
   * ways); a sink registered again replaces the first consumer. */
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[route a]\nfrom = peers.messages\nto = peers\n"
                                "[route b]\nfrom = peers.messages\nto = log;peers\n");
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) message = rtcbotd_message_decode ("[]");
  g_auto (Received) first = { 0 };
  g_auto (Received) second = { 0 };
  g_auto (Received) log = { 0 };

  received_init (&first);
  received_init (&second);
  received_init (&log);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &first);
  rtcbotd_message_bus_set_sink (bus, "log", collect, &log);
  rtcbotd_message_bus_publish (bus, "peers.messages", message, 0);
  g_assert_cmpuint (first.messages->len, ==, 2);
  g_assert_cmpstr (first.from->pdata[0], ==, "a");
  g_assert_cmpstr (first.from->pdata[1], ==, "b");
  g_assert_cmpuint (log.messages->len, ==, 1);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &second);
  rtcbotd_message_bus_publish (bus, "peers.messages", message, 0);
  g_assert_cmpuint (first.messages->len, ==, 2);
  g_assert_cmpuint (second.messages->len, ==, 2);
  g_assert_cmpstr (second.messages->pdata[0], ==, "[]");
  g_assert_cmpuint (rtcbotd_message_bus_get_published (bus), ==, 2);
}

static void
test_channels (void)
{
  /* "peers.messages" hears every channel, "peers.channel.X" only X; a route
   * that lists both takes a message once. */
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[route all]\nfrom = peers.messages\nto = log\n"
                                "[route drive]\nfrom = peers.channel.control\nto = peers\n"
                                "[route both]\nfrom = peers.messages;peers.channel.control\n"
                                "to = peers.channel.telemetry\n");
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) message = rtcbotd_message_decode ("{\"x\":1}");
  g_auto (Received) log = { 0 };
  g_auto (Received) peers = { 0 };
  g_auto (Received) telemetry = { 0 };

  received_init (&log);
  received_init (&peers);
  received_init (&telemetry);
  rtcbotd_message_bus_set_sink (bus, "log", collect, &log);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_set_sink (bus, "peers.channel.telemetry", collect, &telemetry);
  rtcbotd_message_bus_publish_channel (bus, "default", message, 1);
  g_assert_cmpuint (log.messages->len, ==, 1);
  g_assert_cmpuint (peers.messages->len, ==, 0);
  g_assert_cmpuint (telemetry.messages->len, ==, 1);
  rtcbotd_message_bus_publish_channel (bus, "control", message, 1);
  g_assert_cmpuint (log.messages->len, ==, 2);
  g_assert_cmpuint (peers.messages->len, ==, 1);
  g_assert_cmpuint (telemetry.messages->len, ==, 2);
  g_assert_cmpuint (rtcbotd_message_bus_get_published (bus), ==, 2);
}

static const char rover_config[] = "[route drive]\nfrom = peers.messages\nto = peers\n"
                                   "map = forward=key.w*100-key.s*100 turn=key.d*50-key.a*50\n"
                                   "failsafe = 50ms {\"forward\":0,\"turn\":0}\n";

static void
test_route_map (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (rover_config);
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) w = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"w\","
                                                   "\"keyCode\":87}");
  g_autoptr (JsonNode) x = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"x\"}");
  g_autoptr (JsonNode) d = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"d\"}");
  g_autoptr (JsonNode) w_up = rtcbotd_message_decode ("{\"type\":\"keyup\",\"key\":\"w\"}");
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_publish (bus, "peers.messages", w, 1);
  rtcbotd_message_bus_publish (bus, "peers.messages", x, 1); /* not in the map: dropped */
  rtcbotd_message_bus_publish (bus, "peers.messages", d, 1);
  rtcbotd_message_bus_publish (bus, "peers.messages", w_up, 1);
  g_assert_cmpuint (peers.messages->len, ==, 3);
  g_assert_cmpstr (peers.messages->pdata[0], ==, "{\"forward\":100,\"turn\":0}");
  g_assert_cmpstr (peers.messages->pdata[1], ==, "{\"forward\":100,\"turn\":50}");
  g_assert_cmpstr (peers.messages->pdata[2], ==, "{\"forward\":0,\"turn\":50}");
}

static void
test_failsafe_silence (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (rover_config);
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) w = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"w\"}");
  g_auto (Received) peers = { 0 };
  gint64 start;

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  /* Nothing was driven: no failsafe at start. */
  rtcbotd_test_run_for (120);
  g_assert_cmpuint (peers.messages->len, ==, 0);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                         "[route drive]: failsafe: no input for 50 ms");
  start = g_get_monotonic_time ();
  rtcbotd_message_bus_publish (bus, "peers.messages", w, 1);
  while (peers.messages->len < 2 && g_get_monotonic_time () - start < G_USEC_PER_SEC)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (peers.messages->len, ==, 2);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 50 * 1000);
  g_assert_cmpstr (peers.messages->pdata[1], ==, "{\"forward\":0,\"turn\":0}");
  g_test_assert_expected_messages ();
  /* Once, not again and again; and the held key was released. */
  rtcbotd_test_run_for (120);
  g_assert_cmpuint (peers.messages->len, ==, 2);
  {
    g_autoptr (JsonNode) d = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"d\"}");
    rtcbotd_message_bus_publish (bus, "peers.messages", d, 1);
    g_assert_cmpstr (peers.messages->pdata[2], ==, "{\"forward\":0,\"turn\":50}");
  }
}

static void
test_failsafe_keep_alive (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (rover_config);
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) w = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"w\"}");
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_publish (bus, "peers.messages", w, 7);
  /* The driver holds w for 200 ms, saying it is alive every 20 ms;
   * another peer's keep-alive does not count. */
  for (guint i = 0; i < 10; i++)
    {
      rtcbotd_test_run_for (20);
      rtcbotd_message_bus_keep_alive (bus, 7);
      rtcbotd_message_bus_keep_alive (bus, 8);
    }
  g_assert_cmpuint (peers.messages->len, ==, 1);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "*failsafe*");
  rtcbotd_test_run_for (120);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (peers.messages->len, ==, 2);
}

typedef struct
{
  RtcbotdMessageBus *bus;
  JsonNode *message;
} Later;

static gboolean
publish_later (gpointer user_data)
{
  Later *later = user_data;

  rtcbotd_message_bus_publish (later->bus, "peers.messages", later->message, 7);
  return G_SOURCE_REMOVE;
}

/* A main loop held up past the deadline with input waiting (a hop from the
 * SCTP thread) must take the input before deciding on the failsafe. */
static void
test_failsafe_stalled_loop (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (rover_config);
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) w = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"w\"}");
  Later later = { bus, w };
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_publish (bus, "peers.messages", w, 7);
  g_usleep (80 * 1000); /* the loop is busy elsewhere: the 50 ms deadline passes */
  g_idle_add_full (G_PRIORITY_DEFAULT, publish_later, &later, NULL); /* as g_main_context_invoke */
  for (guint i = 0; i < 5; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (peers.messages->len, ==, 2);
  g_assert_cmpstr (peers.messages->pdata[1], ==, "{\"forward\":100,\"turn\":0}");
  /* Real silence afterwards still stops the robot. */
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "*failsafe: no input*");
  rtcbotd_test_run_for (120);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (peers.messages->len, ==, 3);
}

static void
test_failsafe_peer_lost (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (rover_config);
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) w = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"w\"}");
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_publish (bus, "peers.messages", w, 3);
  /* Another peer leaving changes nothing; the driver leaving stops the robot at once. */
  rtcbotd_message_bus_origin_lost (bus, 4, "peer 4 left");
  g_assert_cmpuint (peers.messages->len, ==, 1);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "[route drive]: failsafe: peer 3 left");
  rtcbotd_message_bus_origin_lost (bus, 3, "peer 3 left");
  g_test_assert_expected_messages ();
  g_assert_cmpuint (peers.messages->len, ==, 2);
  g_assert_cmpstr (peers.messages->pdata[1], ==, "{\"forward\":0,\"turn\":0}");
  /* Disarmed: the silence timer does not send it a second time. */
  rtcbotd_test_run_for (120);
  g_assert_cmpuint (peers.messages->len, ==, 2);
}

#define PAD_ORIGIN (RTCBOTD_ORIGIN_ENDPOINT | 0)

static void
test_failsafe_node_lost (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (
      "[source pad]\ntype = websocket\n"
      "[route drive]\nfrom = pad\nto = peers\nfailsafe = 5s {\"stop\":true}\n");
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) go = rtcbotd_message_decode ("{\"go\":1}");
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_origin_lost (bus, PAD_ORIGIN, "[source pad] is down");
  g_assert_cmpuint (peers.messages->len, ==, 0);
  rtcbotd_message_bus_publish (bus, "pad", go, PAD_ORIGIN);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                         "[route drive]: failsafe: [source pad] is down");
  rtcbotd_message_bus_origin_lost (bus, PAD_ORIGIN, "[source pad] is down");
  g_test_assert_expected_messages ();
  g_assert_cmpuint (peers.messages->len, ==, 2);
  g_assert_cmpstr (peers.messages->pdata[1], ==, "{\"stop\":true}");
}

/* A peer holding a key leaves after another input (a gamepad) drove last:
 * the route still stops, and the key does not come back. */
static void
test_failsafe_any_origin (void)
{
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[source pad]\ntype = websocket\n"
                                "[route drive]\nfrom = peers.messages;pad\nto = peers\n"
                                "map = forward=key.w*255+field.y*-1,clamp=-255:255\n"
                                "failsafe = 5s {\"forward\":0}\n");
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) w = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"w\"}");
  g_autoptr (JsonNode) y = rtcbotd_message_decode ("{\"y\":-1}");
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_publish (bus, "peers.messages", w, 1);
  rtcbotd_message_bus_publish (bus, "pad", y, PAD_ORIGIN);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "[route drive]: failsafe: peer 1 left");
  rtcbotd_message_bus_origin_lost (bus, 1, "peer 1 left");
  g_test_assert_expected_messages ();
  rtcbotd_message_bus_publish (bus, "pad", y, PAD_ORIGIN);
  g_assert_cmpuint (peers.messages->len, ==, 4);
  g_assert_cmpstr (peers.messages->pdata[2], ==, "{\"forward\":0}");
  g_assert_cmpstr (peers.messages->pdata[3], ==, "{\"forward\":1}");
}

/* Without a failsafe, a departed peer's held key is released and the
 * command without it is sent; the next driver does not inherit it. */
static void
test_release_without_failsafe (void)
{
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[route drive]\nfrom = peers.messages\n"
                                "to = peers\nmap = forward=key.w*255 turn=key.d*50\n");
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) w = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"w\"}");
  g_autoptr (JsonNode) d = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"d\"}");
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_publish (bus, "peers.messages", w, 1);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                         "[route drive]: released what it held: peer 1 left");
  rtcbotd_message_bus_origin_lost (bus, 1, "peer 1 left");
  g_test_assert_expected_messages ();
  rtcbotd_message_bus_origin_lost (bus, 1, "peer 1 left"); /* nothing more */
  rtcbotd_message_bus_publish (bus, "peers.messages", d, 2);
  g_assert_cmpuint (peers.messages->len, ==, 3);
  g_assert_cmpstr (peers.messages->pdata[1], ==, "{\"forward\":0,\"turn\":0}");
  g_assert_cmpstr (peers.messages->pdata[2], ==, "{\"forward\":0,\"turn\":50}");
}

/* A sink that comes back gets the neutral command of every route to it. */
static void
test_sink_up (void)
{
  g_autoptr (RtcbotdConfig) config
      = rtcbotd_test_config_ok ("[sink arduino]\ntype = websocket\n"
                                "[route drive]\nfrom = peers.messages\nto = arduino;log\n"
                                "failsafe = 1s {\"forward\":0}\n"
                                "[route plain]\nfrom = peers.messages\nto = arduino\n");
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_auto (Received) arduino = { 0 };

  received_init (&arduino);
  rtcbotd_message_bus_set_sink (bus, "arduino", collect, &arduino);
  rtcbotd_message_bus_sink_up (bus, "arduino");
  g_assert_cmpuint (arduino.messages->len, ==, 1);
  g_assert_cmpstr (arduino.messages->pdata[0], ==, "{\"forward\":0}");
  g_assert_cmpstr (arduino.from->pdata[0], ==, "drive");
}

static void
test_failsafe_stop (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (rover_config);
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  /* At shutdown the neutral command goes out even if nothing drove lately. */
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                         "[route drive]: failsafe: the daemon is stopping");
  rtcbotd_message_bus_fail_safe_all (bus, "the daemon is stopping");
  g_test_assert_expected_messages ();
  g_assert_cmpuint (peers.messages->len, ==, 1);
  g_assert_cmpstr (peers.messages->pdata[0], ==, "{\"forward\":0,\"turn\":0}");
}

/* A reload keeps an unchanged route with its state (the map remembers the
 * held key), sends the failsafe of a changed one, and indexes new ones. */
static void
test_reload (void)
{
  g_autoptr (RtcbotdConfig) old = rtcbotd_test_config_ok (rover_config);
  g_autoptr (RtcbotdConfig) same = rtcbotd_test_config_ok (rover_config);
  g_autoptr (RtcbotdConfig) changed = rtcbotd_test_config_ok (
      "[route drive]\nfrom = peers.messages\nto = peers\n"
      "map = forward=key.w*50\nfailsafe = 50ms {\"forward\":0,\"turn\":0}\n"
      "[route tell]\nfrom = peers.messages\nto = log\n");
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (old);
  g_autoptr (JsonNode) w = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"w\"}");
  g_autoptr (JsonNode) d = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"d\"}");
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_publish (bus, "peers.messages", w, 1);
  rtcbotd_message_bus_reload (bus, same, old);
  g_assert_cmpuint (peers.messages->len, ==, 1); /* no failsafe: unchanged */
  rtcbotd_message_bus_publish (bus, "peers.messages", d, 1);
  g_assert_cmpstr (peers.messages->pdata[1], ==, "{\"forward\":100,\"turn\":50}");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                         "[route drive]: failsafe: the route changed at reload");
  rtcbotd_message_bus_reload (bus, changed, same);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (peers.messages->len, ==, 3);
  g_assert_cmpstr (peers.messages->pdata[2], ==, "{\"forward\":0,\"turn\":0}");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "[route tell]: *");
  rtcbotd_message_bus_publish (bus, "peers.messages", w, 1);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (peers.messages->pdata[3], ==, "{\"forward\":50}");
}

static void
test_health (void)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (rover_config);
  g_autoptr (RtcbotdMessageBus) bus = rtcbotd_message_bus_new (config);
  g_autoptr (JsonNode) w = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"w\"}");
  g_autoptr (JsonNode) x = rtcbotd_message_decode ("{\"type\":\"keydown\",\"key\":\"x\"}");
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_auto (Received) peers = { 0 };

  received_init (&peers);
  rtcbotd_message_bus_set_sink (bus, "peers", collect, &peers);
  rtcbotd_message_bus_publish (bus, "peers.messages", w, 2);
  rtcbotd_message_bus_publish (bus, "peers.messages", x, 2);
  rtcbotd_message_bus_add_health (bus, b);
  root = json_builder_get_root (b);
  text = json_to_string (root, FALSE);
  g_assert_cmpstr (text, ==,
                   "{\"drive\":{\"in\":2,\"out\":1,\"unmatched\":1,\"failsafes\":0,"
                   "\"driver\":2}}");
}

/* Hostile nesting is not parsed (json-glib would recurse through it): it stays a string. */
static void
test_decode_depth_limit (void)
{
  g_autofree char *open_ok = g_strnfill (RTCBOTD_MESSAGE_MAX_DEPTH, '[');
  g_autofree char *close_ok = g_strnfill (RTCBOTD_MESSAGE_MAX_DEPTH, ']');
  g_autofree char *open_deep = g_strnfill (RTCBOTD_MESSAGE_MAX_DEPTH + 1, '[');
  g_autofree char *close_deep = g_strnfill (RTCBOTD_MESSAGE_MAX_DEPTH + 1, ']');
  g_autofree char *ok_text = g_strconcat (open_ok, close_ok, NULL);
  g_autofree char *deep_text = g_strconcat (open_deep, close_deep, NULL);
  g_autoptr (JsonNode) ok = rtcbotd_message_decode (ok_text);
  g_autoptr (JsonNode) deep = rtcbotd_message_decode (deep_text);
  g_autoptr (JsonNode) quoted = rtcbotd_message_decode ("{\"s\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[["
                                                        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                                                        "[[[[[[[[[[[[\\\"\"}");

  g_assert_true (JSON_NODE_HOLDS_ARRAY (ok));
  g_assert_true (JSON_NODE_HOLDS_VALUE (deep));
  g_assert_cmpstr (json_node_get_string (deep), ==, deep_text);
  /* Brackets inside strings (and escaped quotes) do not count. */
  g_assert_true (JSON_NODE_HOLDS_OBJECT (quoted));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/message-bus/decode/json", test_decode_json);
  g_test_add_func ("/message-bus/decode/text", test_decode_text);
  g_test_add_func ("/message-bus/encode", test_encode);
  g_test_add_func ("/message-bus/route/peers", test_route_to_peers);
  g_test_add_func ("/message-bus/route/log", test_builtin_log_sink);
  g_test_add_func ("/message-bus/route/none", test_no_route);
  g_test_add_func ("/message-bus/route/no-message-routes", test_no_message_routes);
  g_test_add_func ("/message-bus/route/each-delivers", test_routes_each_deliver);
  g_test_add_func ("/message-bus/route/channels", test_channels);
  g_test_add_func ("/message-bus/route/map", test_route_map);
  g_test_add_func ("/message-bus/failsafe/silence", test_failsafe_silence);
  g_test_add_func ("/message-bus/failsafe/keep-alive", test_failsafe_keep_alive);
  g_test_add_func ("/message-bus/failsafe/stalled-loop", test_failsafe_stalled_loop);
  g_test_add_func ("/message-bus/failsafe/peer-lost", test_failsafe_peer_lost);
  g_test_add_func ("/message-bus/failsafe/node-lost", test_failsafe_node_lost);
  g_test_add_func ("/message-bus/failsafe/any-origin", test_failsafe_any_origin);
  g_test_add_func ("/message-bus/release-without-failsafe", test_release_without_failsafe);
  g_test_add_func ("/message-bus/sink-up", test_sink_up);
  g_test_add_func ("/message-bus/failsafe/stop", test_failsafe_stop);
  g_test_add_func ("/message-bus/health", test_health);
  g_test_add_func ("/message-bus/reload", test_reload);

  g_test_add_func ("/message-bus/decode/depth-limit", test_decode_depth_limit);
  return g_test_run ();
}
