/* test-log.c — the journal fields read from message prefixes, and --verbose for GStreamer. */
#include "rtcbotd-log.h"

typedef struct
{
  const char *message;
  const char *group; /* NULL: no RTCBOTD_GROUP */
  const char *peer;  /* NULL: no RTCBOTD_PEER */
} Case;

static char *
span (const char *text, gsize length)
{
  return text ? g_strndup (text, length) : NULL;
}

static void
test_prefixes (void)
{
  static const Case cases[] = {
    { "[source camera]: video test pattern", "source camera", NULL },
    { "[sink arduino]: ready (start bytes seen)", "sink arduino", NULL },
    { "[route drive]: failsafe: the daemon is stopping", "route drive", NULL },
    { "[daemon]: token: too short", "daemon", NULL },
    { "[source front-cam_2]: down: /dev/video0", "source front-cam_2", NULL },
    { "peer 3: connected", NULL, "3" },
    { "peer 12345: gone (0 left)", NULL, "12345" },
    { "[route drive]: peer 7: drives", "route drive", "7" },
    /* Not prefixes: the text must match exactly, or no field is made up. */
    { "listening on http://127.0.0.1:8080/", NULL, NULL },
    { "peer: 3 connected", NULL, NULL },
    { "peer 3 connected", NULL, NULL },
    { "peer x: connected", NULL, NULL },
    { "peer 3:connected", NULL, NULL },
    { "[source camera] no colon", NULL, NULL },
    { "[source camera]:no space", NULL, NULL },
    { "[Source camera]: capital", NULL, NULL },
    { "[]: empty", NULL, NULL },
    { "[source ]: no name", NULL, NULL },
    { "[source a]b]: nested", NULL, NULL },
    { "[source a\nb]: newline", NULL, NULL },
    { "[source camera", NULL, NULL },
    { "[", NULL, NULL },
    { "peer 3", NULL, NULL },
    { "", NULL, NULL },
    { " [source camera]: indented", NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      RtcbotdLogPrefix prefix;
      gboolean found = rtcbotd_log_parse_prefix (cases[i].message, &prefix);
      g_autofree char *group = span (prefix.group, prefix.group_len);
      g_autofree char *peer = span (prefix.peer, prefix.peer_len);

      g_test_message ("%s", cases[i].message);
      g_assert_cmpint (found, ==, cases[i].group || cases[i].peer);
      g_assert_cmpstr (group, ==, cases[i].group);
      g_assert_cmpstr (peer, ==, cases[i].peer);
    }
}

static void
test_no_message (void)
{
  RtcbotdLogPrefix prefix = { "stale", 5, "stale", 5 };

  g_assert_false (rtcbotd_log_parse_prefix (NULL, &prefix));
  g_assert_null (prefix.group);
  g_assert_null (prefix.peer);
}

static void
test_gst_thresholds (void)
{
  g_assert_null (rtcbotd_log_gst_thresholds (0));
  g_assert_null (rtcbotd_log_gst_thresholds (1));
  g_assert_cmpstr (rtcbotd_log_gst_thresholds (2), ==, "2");
  g_assert_cmpstr (rtcbotd_log_gst_thresholds (3), ==, "2,webrtc*:4,nice*:4");
  g_assert_cmpstr (rtcbotd_log_gst_thresholds (9), ==, "2,webrtc*:4,nice*:4");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/log/prefixes", test_prefixes);
  g_test_add_func ("/log/no-message", test_no_message);
  g_test_add_func ("/log/gst-thresholds", test_gst_thresholds);
  return g_test_run ();
}
