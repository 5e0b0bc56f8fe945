/* test-metrics.c — the Prometheus text builder: families, labels, escaping, values. */
#include "rtcbotd-metrics.h"

#include <math.h>

static void
test_empty (void)
{
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *text = rtcbotd_metrics_to_text (m);

  g_assert_cmpstr (text, ==, "");
}

static void
test_families (void)
{
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *text = NULL;

  /* Interleaved additions from different owners come out grouped, in the
   * order each family first appeared. */
  rtcbotd_metrics_gauge (m, "rtcbotd_peers", "Peers now.", 2, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_source_frames_total", "Frames encoded.", 10, "source",
                           "camera", "codec", "H264", NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_source_frames_total", "ignored the second time", 7, "source",
                           "tone", "codec", "opus", NULL);
  rtcbotd_metrics_gauge (m, "rtcbotd_up", "Up.", 1, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_source_frames_total", "", 0, "source", "x", NULL);
  text = rtcbotd_metrics_to_text (m);
  g_assert_cmpstr (text, ==,
                   "# HELP rtcbotd_peers Peers now.\n"
                   "# TYPE rtcbotd_peers gauge\n"
                   "rtcbotd_peers 2\n"
                   "# HELP rtcbotd_source_frames_total Frames encoded.\n"
                   "# TYPE rtcbotd_source_frames_total counter\n"
                   "rtcbotd_source_frames_total{source=\"camera\",codec=\"H264\"} 10\n"
                   "rtcbotd_source_frames_total{source=\"tone\",codec=\"opus\"} 7\n"
                   "rtcbotd_source_frames_total{source=\"x\"} 0\n"
                   "# HELP rtcbotd_up Up.\n"
                   "# TYPE rtcbotd_up gauge\n"
                   "rtcbotd_up 1\n");
}

static void
test_escaping (void)
{
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *text = NULL;

  rtcbotd_metrics_gauge (m, "rtcbotd_x", "A \\ backslash,\na newline and \"quotes\".", 1, "name",
                         "a\\b\"c\"\nd", "empty", "", NULL);
  text = rtcbotd_metrics_to_text (m);
  g_assert_cmpstr (text, ==,
                   "# HELP rtcbotd_x A \\\\ backslash,\\na newline and \"quotes\".\n"
                   "# TYPE rtcbotd_x gauge\n"
                   "rtcbotd_x{name=\"a\\\\b\\\"c\\\"\\nd\",empty=\"\"} 1\n");
}

static void
test_escape_functions (void)
{
  g_autofree char *label = rtcbotd_metrics_escape_label ("\\\"\n\t");
  g_autofree char *help = rtcbotd_metrics_escape_help ("\\\"\n");
  g_autofree char *invalid = rtcbotd_metrics_escape_label ("caf\xc3\xa9 \xff!");
  g_autofree char *none = rtcbotd_metrics_escape_label (NULL);

  g_assert_cmpstr (label, ==, "\\\\\\\"\\n\t");
  g_assert_cmpstr (help, ==, "\\\\\"\\n");
  /* The exposition is UTF-8: a stray byte becomes U+FFFD, the rest stays. */
  g_assert_cmpstr (invalid, ==, "caf\xc3\xa9 \xef\xbf\xbd!");
  g_assert_cmpstr (none, ==, "");
}

static void
test_values (void)
{
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *text = NULL;

  rtcbotd_metrics_gauge (m, "v", "", 0.1, "i", "1", NULL);
  rtcbotd_metrics_gauge (m, "v", "", 1e21, "i", "2", NULL);
  rtcbotd_metrics_gauge (m, "v", "", -2.5, "i", "3", NULL);
  rtcbotd_metrics_gauge (m, "v", "", NAN, "i", "4", NULL);
  rtcbotd_metrics_gauge (m, "v", "", INFINITY, "i", "5", NULL);
  rtcbotd_metrics_gauge (m, "v", "", -INFINITY, "i", "6", NULL);
  rtcbotd_metrics_gauge (m, "v", "", 1.0 / 3.0, "i", "7", NULL);
  rtcbotd_metrics_gauge (m, "v", "", (double)G_GUINT64_CONSTANT (123456789012), "i", "8", NULL);
  text = rtcbotd_metrics_to_text (m);
  g_assert_cmpstr (text, ==,
                   "# HELP v \n# TYPE v gauge\n"
                   "v{i=\"1\"} 0.1\n"
                   "v{i=\"2\"} 1e+21\n"
                   "v{i=\"3\"} -2.5\n"
                   "v{i=\"4\"} NaN\n"
                   "v{i=\"5\"} +Inf\n"
                   "v{i=\"6\"} -Inf\n"
                   "v{i=\"7\"} 0.33333333333333331\n"
                   "v{i=\"8\"} 123456789012\n");
}

/* Names come from the code: a wrong one is a bug, refused with a critical. */
static void
test_bad_names (void)
{
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *text = NULL;

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*_total*");
  rtcbotd_metrics_counter (m, "rtcbotd_frames", "no _total", 1, NULL);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*valid_name*");
  rtcbotd_metrics_gauge (m, "9lives", "", 1, NULL);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*valid_name*");
  rtcbotd_metrics_gauge (m, "rtcbotd_x", "", 1, "ok", "v", "bad-label", "v", NULL);
  g_test_assert_expected_messages ();
  /* Nothing half-written: a refused sample leaves no line behind. */
  text = rtcbotd_metrics_to_text (m);
  g_assert_cmpstr (text, ==, "# HELP rtcbotd_x \n# TYPE rtcbotd_x gauge\n");
}

static void
test_type_clash (void)
{
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *text = NULL;

  rtcbotd_metrics_gauge (m, "rtcbotd_x_total", "", 1, NULL);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*type*");
  rtcbotd_metrics_counter (m, "rtcbotd_x_total", "", 2, NULL);
  g_test_assert_expected_messages ();
  text = rtcbotd_metrics_to_text (m);
  g_assert_cmpstr (text, ==,
                   "# HELP rtcbotd_x_total \n# TYPE rtcbotd_x_total gauge\n"
                   "rtcbotd_x_total 1\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/empty", test_empty);
  g_test_add_func ("/metrics/families", test_families);
  g_test_add_func ("/metrics/escaping", test_escaping);
  g_test_add_func ("/metrics/escape-functions", test_escape_functions);
  g_test_add_func ("/metrics/values", test_values);
  g_test_add_func ("/metrics/bad-names", test_bad_names);
  g_test_add_func ("/metrics/type-clash", test_type_clash);
  return g_test_run ();
}
