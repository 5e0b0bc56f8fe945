/* test-sink-set.c — the daemon's media sinks fed by the streams peers send. */
#include <glib/gstdio.h>

#include "rtcbotd-sink-set.h"
#include "test-utils.h"

/* A sink that refuses a peer's stream (mp4 holds no VP8) keeps none of the
 * stream's tee pads: the refused one is released at once, not when the peer goes. */
static void
test_refused_stream (void)
{
  g_autofree char *dir = g_dir_make_tmp ("rtcbotd-sink-set-XXXXXX", NULL);
  g_autofree char *text = g_strdup_printf ("[sink rec]\ntype = record\npath = %s/peer.mp4\n"
                                           "[route r]\nfrom = peers.video\nto = rec\n",
                                           dir);
  g_autoptr (RtcbotdConfig) config = rtcbotd_test_config_ok (text);
  g_autoptr (GstElement) pipeline = gst_object_ref_sink (gst_pipeline_new ("test"));
  g_autoptr (GPtrArray) sources = g_ptr_array_new ();
  GstElement *peer = gst_element_factory_make ("capsfilter", NULL);
  g_autoptr (GstCaps) caps = gst_caps_from_string (
      "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96");
  g_autoptr (GstPad) peer_pad = gst_element_get_static_pad (peer, "src");
  g_autoptr (GError) error = NULL;
  RtcbotdSinkSet *set = rtcbotd_sink_set_new (pipeline);
  RtcbotdInbound *inbound;
  g_autoptr (GstIterator) tees = NULL;
  g_auto (GValue) tee = G_VALUE_INIT;

  g_object_set (peer, "caps", caps, NULL);
  gst_bin_add (GST_BIN (pipeline), peer);
  g_assert_true (rtcbotd_sink_set_build (set, config, sources, &error));
  g_assert_no_error (error);
  inbound = rtcbotd_inbound_new (pipeline, peer_pad, &error);
  g_assert_no_error (error);
  g_test_expect_message ("rtcbotd", G_LOG_LEVEL_WARNING,
                         "peer 3: its video does not go to [sink rec]: *mp4 cannot hold VP8*");
  rtcbotd_sink_set_feed_stream (set, config, 3, inbound, NULL);
  g_test_assert_expected_messages ();
  tees = gst_bin_iterate_all_by_element_factory_name (GST_BIN (pipeline), "tee");
  g_assert_cmpint (gst_iterator_next (tees, &tee), ==, GST_ITERATOR_OK);
  g_assert_cmpint (GST_ELEMENT (g_value_get_object (&tee))->numsrcpads, ==, 0);
  rtcbotd_sink_set_remove_peer (set, 3);
  rtcbotd_inbound_free (inbound);
  rtcbotd_sink_set_free (set);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sink-set/refused-stream", test_refused_stream);
  return g_test_run ();
}
