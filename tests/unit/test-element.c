/* test-element.c — rtcbotd_element_discard: stopped, removed, passed by. */
#include <gst/gst.h>

#include "rtcbotd-element.h"

static void
test_discard (void)
{
  g_autoptr (GstElement) pipeline
      = gst_parse_launch ("videotestsrc is-live=true ! queue name=q ! fakesink", NULL);
  g_autoptr (GstElement) queue = gst_bin_get_by_name (GST_BIN (pipeline), "q");
  GstState state;

  g_assert_nonnull (queue);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_element_get_state (pipeline, NULL, NULL, 5 * GST_SECOND);
  rtcbotd_element_discard (GST_BIN (pipeline), queue);
  g_assert_null (GST_OBJECT_PARENT (queue));
  gst_element_get_state (queue, &state, NULL, 0);
  g_assert_cmpint (state, ==, GST_STATE_NULL);
  /* A state walk still holding it (the race this guards against) passes it by. */
  g_assert_true (gst_element_is_locked_state (queue));
  /* Not ours (any more): nothing happens. */
  rtcbotd_element_discard (GST_BIN (pipeline), queue);
  rtcbotd_element_discard (GST_BIN (pipeline), NULL);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/element/discard", test_discard);
  return g_test_run ();
}
