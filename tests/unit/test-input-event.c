/* test-input-event.c — struct input_event records as RTCBot-shaped JSON, and
 * the assembler of records arriving on a byte stream. */
#include "rtcbotd-input-event.h"

#include <sys/socket.h>
#include <unistd.h>

static struct input_event
make_event (guint16 type, guint16 code, gint32 value, gint64 sec, gint64 usec)
{
  struct input_event event = { 0 };

  event.input_event_sec = sec;
  event.input_event_usec = usec;
  event.type = type;
  event.code = code;
  event.value = value;
  return event;
}

/* Checks that @node is exactly RTCBot's {"timestamp", "code", "state", "event"}. */
static void
expect_json (JsonNode *node, double timestamp, const char *code, gint64 state, const char *event)
{
  JsonObject *object;
  g_autoptr (GList) members = NULL;

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  g_assert_cmpuint (g_list_length (members), ==, 4);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (object, "timestamp"), timestamp,
                                  5e-7);
  g_assert_cmpstr (json_object_get_string_member (object, "code"), ==, code);
  g_assert_cmpint (json_object_get_int_member (object, "state"), ==, state);
  g_assert_cmpstr (json_object_get_string_member (object, "event"), ==, event);
}

static void
expect_event (guint16 type, guint16 code, gint32 value, const char *code_name,
              const char *event_name)
{
  struct input_event event = make_event (type, code, value, 1700000000, 500000);
  g_autoptr (JsonNode) node = rtcbotd_input_event_to_json (&event);

  expect_json (node, 1700000000.5, code_name, value, event_name);
}

static void
test_keys (void)
{
  expect_event (EV_KEY, KEY_W, 1, "KEY_W", "Key");
  expect_event (EV_KEY, KEY_W, 0, "KEY_W", "Key");
  expect_event (EV_KEY, KEY_W, 2, "KEY_W", "Key");
  /* 0x130 is also BTN_GAMEPAD and BTN_A; `inputs` says BTN_SOUTH. */
  expect_event (EV_KEY, BTN_SOUTH, 1, "BTN_SOUTH", "Key");
  expect_event (EV_KEY, BTN_LEFT, 1, "BTN_LEFT", "Key");
}

static void
test_axes (void)
{
  expect_event (EV_ABS, ABS_X, -253, "ABS_X", "Absolute");
  expect_event (EV_ABS, ABS_X, -64, "ABS_X", "Absolute");
  expect_event (EV_ABS, ABS_X, -32768, "ABS_X", "Absolute");
  expect_event (EV_ABS, ABS_RZ, 255, "ABS_RZ", "Absolute");
  expect_event (EV_ABS, ABS_HAT0Y, -1, "ABS_HAT0Y", "Absolute");
  expect_event (EV_REL, REL_X, 3, "REL_X", "Relative");
  expect_event (EV_REL, REL_WHEEL, -1, "REL_WHEEL", "Relative");
}

static void
test_misc_and_sync (void)
{
  struct input_event report = make_event (EV_SYN, SYN_REPORT, 0, 1, 0);

  /* RTCBot's default filter drops SYN_REPORT only: MSC_SCAN is kept. */
  expect_event (EV_MSC, MSC_SCAN, 589825, "MSC_SCAN", "Misc");
  g_assert_null (rtcbotd_input_event_to_json (&report));
  expect_event (EV_SYN, SYN_DROPPED, 0, "SYN_DROPPED", "Sync");
  expect_event (EV_SYN, SYN_MT_REPORT, 0, "SYN_MT_REPORT", "Sync");
  expect_event (EV_SW, SW_LID, 1, "SW_LID", "Switch");
  expect_event (EV_LED, LED_CAPSL, 1, "LED_CAPSL", "LED");
  expect_event (EV_SND, SND_BELL, 1, "SND_BELL", "Sound");
  expect_event (EV_REP, REP_DELAY, 250, "REP_DELAY", "Repeat");
  expect_event (EV_FF, FF_RUMBLE, 1, "FF_RUMBLE", "ForceFeedback");
  /* libevdev has no names for power and force-feedback-status codes. */
  expect_event (EV_PWR, 0, 1, "UNKNOWN_22_0", "Power");
  expect_event (EV_FF_STATUS, FF_STATUS_PLAYING, 1, "UNKNOWN_23_1", "ForceFeedbackStatus");
}

static void
test_timestamps (void)
{
  const struct
  {
    gint64 sec, usec;
    double expected;
  } cases[] = {
    { 0, 0, 0.0 },
    { 1, 1, 1.000001 },
    { 1700000000, 250000, 1700000000.25 },
    { 1700000000, 999999, 1700000000.999999 },
    { 4102444800, 123456, 4102444800.123456 }, /* 2100, past 2038 */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      struct input_event event = make_event (EV_KEY, KEY_A, 1, cases[i].sec, cases[i].usec);
      g_autoptr (JsonNode) node = rtcbotd_input_event_to_json (&event);

      expect_json (node, cases[i].expected, "KEY_A", 1, "Key");
    }
}

static void
test_unknown (void)
{
  expect_event (EV_KEY, 0x2fe, 1, "UNKNOWN_1_766", "Key");
  expect_event (EV_ABS, 0x3e, 7, "UNKNOWN_3_62", "Absolute");
  expect_event (0x1e, 1, -5, "UNKNOWN_30_1", "Unknown");
  expect_event (0xffff, 0xffff, G_MININT32, "UNKNOWN_65535_65535", "Unknown");
}

static void
expect_record (GArray *records, guint index, guint16 type, guint16 code, gint32 value)
{
  struct input_event *event;

  g_assert_cmpuint (index, <, records->len);
  event = &g_array_index (records, struct input_event, index);
  g_assert_cmpuint (event->type, ==, type);
  g_assert_cmpuint (event->code, ==, code);
  g_assert_cmpint (event->value, ==, value);
}

static void
test_records_split (void)
{
  struct input_event events[] = {
    make_event (EV_ABS, ABS_X, -253, 10, 1),
    make_event (EV_KEY, BTN_SOUTH, 1, 10, 2),
    make_event (EV_SYN, SYN_REPORT, 0, 10, 3),
  };
  const guint8 *bytes = (const guint8 *)events;
  const gsize size = sizeof events, record = sizeof (struct input_event);
  g_autoptr (RtcbotdInputRecords) records = rtcbotd_input_records_new ();
  g_autoptr (GArray) none = rtcbotd_input_records_feed (records, NULL, 0);
  g_autoptr (GArray) first = rtcbotd_input_records_feed (records, bytes, 7);
  g_autoptr (GArray) second = rtcbotd_input_records_feed (records, bytes + 7, record - 7);
  g_autoptr (GArray) third = rtcbotd_input_records_feed (records, bytes + record, record + 1);
  g_autoptr (GArray) rest
      = rtcbotd_input_records_feed (records, bytes + 2 * record + 1, size - 2 * record - 1);

  g_assert_cmpuint (none->len, ==, 0);
  g_assert_cmpuint (first->len, ==, 0);
  g_assert_cmpuint (second->len, ==, 1);
  expect_record (second, 0, EV_ABS, ABS_X, -253);
  g_assert_cmpuint (third->len, ==, 1);
  expect_record (third, 0, EV_KEY, BTN_SOUTH, 1);
  g_assert_cmpuint (rest->len, ==, 1);
  expect_record (rest, 0, EV_SYN, SYN_REPORT, 0);
  g_assert_cmpint (g_array_index (rest, struct input_event, 0).input_event_usec, ==, 3);
}

static void
test_records_bytewise (void)
{
  struct input_event events[] = {
    make_event (EV_REL, REL_X, 1, 5, 0),
    make_event (EV_REL, REL_X, 2, 5, 0),
  };
  const guint8 *bytes = (const guint8 *)events;
  g_autoptr (RtcbotdInputRecords) records = rtcbotd_input_records_new ();
  guint complete = 0;

  for (gsize i = 0; i < sizeof events; i++)
    {
      g_autoptr (GArray) out = rtcbotd_input_records_feed (records, bytes + i, 1);

      if ((i + 1) % sizeof (struct input_event) == 0)
        {
          g_assert_cmpuint (out->len, ==, 1);
          expect_record (out, 0, EV_REL, REL_X, ++complete);
        }
      else
        g_assert_cmpuint (out->len, ==, 0);
    }
  g_assert_cmpuint (complete, ==, 2);
}

/* Writes @size bytes to @fd, which a socketpair buffers in full. */
static void
write_all (int fd, const void *data, gsize size)
{
  g_assert_cmpint (write (fd, data, size), ==, (gssize)size);
}

/* Records through a real socket, written in pieces, read as they come. */
static void
test_records_socketpair (void)
{
  struct input_event events[] = {
    make_event (EV_MSC, MSC_SCAN, 589825, 1700000000, 1),
    make_event (EV_KEY, KEY_W, 1, 1700000000, 2),
    make_event (EV_SYN, SYN_REPORT, 0, 1700000000, 3),
    make_event (EV_KEY, KEY_W, 0, 1700000000, 4),
    make_event (EV_SYN, SYN_REPORT, 0, 1700000000, 5),
  };
  const guint8 *bytes = (const guint8 *)events;
  const gsize cuts[] = { 0, 5, sizeof (struct input_event) + 3, sizeof events - 1, sizeof events };
  g_autoptr (RtcbotdInputRecords) records = rtcbotd_input_records_new ();
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  for (guint c = 0; c + 1 < G_N_ELEMENTS (cuts); c++)
    {
      guint8 buffer[256];
      gssize n;
      g_autoptr (GArray) got = NULL;

      write_all (fds[0], bytes + cuts[c], cuts[c + 1] - cuts[c]);
      n = read (fds[1], buffer, sizeof buffer);
      g_assert_cmpint (n, ==, (gssize)(cuts[c + 1] - cuts[c]));
      got = rtcbotd_input_records_feed (records, buffer, n);
      for (guint i = 0; i < got->len; i++)
        {
          JsonNode *node
              = rtcbotd_input_event_to_json (&g_array_index (got, struct input_event, i));

          if (node)
            g_ptr_array_add (out, node);
        }
    }
  close (fds[0]);
  close (fds[1]);

  g_assert_cmpuint (out->len, ==, 3);
  expect_json (out->pdata[0], 1700000000.000001, "MSC_SCAN", 589825, "Misc");
  expect_json (out->pdata[1], 1700000000.000002, "KEY_W", 1, "Key");
  expect_json (out->pdata[2], 1700000000.000004, "KEY_W", 0, "Key");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/input-event/keys", test_keys);
  g_test_add_func ("/input-event/axes", test_axes);
  g_test_add_func ("/input-event/misc-and-sync", test_misc_and_sync);
  g_test_add_func ("/input-event/timestamps", test_timestamps);
  g_test_add_func ("/input-event/unknown", test_unknown);
  g_test_add_func ("/input-event/records-split", test_records_split);
  g_test_add_func ("/input-event/records-bytewise", test_records_bytewise);
  g_test_add_func ("/input-event/records-socketpair", test_records_socketpair);
  return g_test_run ();
}
