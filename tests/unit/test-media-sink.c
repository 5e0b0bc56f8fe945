/* test-media-sink.c — media sinks on a real pipeline: which elements each
 * builds, recordings that read back, peers' streams, and the errors. */
#include <glib/gstdio.h>
#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-media-sink.h"
#include "rtcbotd-recorder.h"
#include "test-utils.h"

typedef struct
{
  RtcbotdConfig *config;
  GstElement *pipeline;
  GPtrArray *sources; /* of RtcbotdSource */
  RtcbotdMediaSink *sink;
  char *dir;
  guint tick;
} Fixture;

/* Main context, every 20 ms: what the tests wait for happens on streaming
 * threads, which wake no main-context source; poll it. */
static gboolean
on_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
free_sink (RtcbotdMediaSink *sink)
{
  rtcbotd_media_sink_free (sink, 5000);
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->pipeline = gst_object_ref_sink (gst_pipeline_new ("test"));
  f->sources = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_source_free);
  f->dir = g_dir_make_tmp ("rtcbotd-sink-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->tick = g_timeout_add (20, on_tick, NULL);
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_clear_handle_id (&f->tick, g_source_remove);
  g_clear_pointer (&f->sink, free_sink);
  gst_element_set_state (f->pipeline, GST_STATE_NULL);
  g_clear_pointer (&f->sources, g_ptr_array_unref);
  g_clear_object (&f->pipeline);
  g_clear_pointer (&f->config, rtcbotd_config_free);
  remove_dir (f->dir);
  g_free (f->dir);
}

/* Loads @text (with DIR replaced by the fixture's directory), builds its
 * sources and the sink @name fed by every source, and plays. */
static gboolean
build (Fixture *f, const char *text, const char *name, GError **error)
{
  g_autoptr (GString) s = g_string_new (text);

  g_string_replace (s, "DIR", f->dir, 0);
  f->config = rtcbotd_test_config_ok (s->str);
  for (guint i = 0; i < f->config->sources->len; i++)
    {
      RtcbotdSource *source
          = rtcbotd_source_new (f->config->sources->pdata[i], f->pipeline, 0, error);
      g_assert_nonnull (source);
      g_ptr_array_add (f->sources, source);
    }
  f->sink = rtcbotd_media_sink_new (rtcbotd_config_find_media_sink (f->config, name), f->pipeline,
                                    0, error);
  if (!f->sink)
    return FALSE;
  for (guint i = 0; i < f->sources->len; i++)
    if (!rtcbotd_media_sink_add_source (f->sink, f->sources->pdata[i], error))
      return FALSE;
  g_assert_cmpint (gst_element_set_state (f->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  return TRUE;
}

static JsonObject *
health (Fixture *f)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  JsonNode *root;

  rtcbotd_media_sink_add_health (f->sink, b);
  root = json_builder_get_root (b);
  g_object_set_data_full (G_OBJECT (f->pipeline), "health", root, (GDestroyNotify)json_node_unref);
  return json_node_get_object (root);
}

static gboolean
is_up (gpointer data)
{
  return g_str_equal (json_object_get_string_member (health (data), "state"), "up");
}

static gboolean
is_down (gpointer data)
{
  return g_str_equal (json_object_get_string_member (health (data), "state"), "down");
}

static gboolean
has_bytes (gpointer data)
{
  return json_object_get_int_member (health (data), "bytes") > 20000;
}

/* The factory names of every element inside the pipeline, " "-separated. */
static char *
element_names (GstElement *pipeline)
{
  g_autoptr (GstIterator) it = gst_bin_iterate_recurse (GST_BIN (pipeline));
  g_autoptr (GString) names = g_string_new (" ");
  GValue item = G_VALUE_INIT;

  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK)
    {
      GstElement *e = g_value_get_object (&item);
      GstElementFactory *factory = gst_element_get_factory (e);
      if (factory)
        g_string_append_printf (names, "%s ", GST_OBJECT_NAME (factory));
      g_value_reset (&item);
    }
  g_value_unset (&item);
  return g_string_free (g_steal_pointer (&names), FALSE);
}

/* Plays @path through @demuxer to the end: TRUE when it is a finished file
 * whose video (and audio, with @audio) reach their sinks. */
static gboolean
plays_to_end (const char *path, const char *demuxer, gboolean audio)
{
  g_autofree char *description = g_strdup_printf (
      "filesrc location=%s ! %s name=d d.video_0 ! queue ! fakesink name=v sync=false %s", path,
      demuxer, audio ? "d.audio_0 ! queue ! fakesink name=a sync=false" : "");
  g_autoptr (GstElement) p = gst_parse_launch (description, NULL);
  g_autoptr (GstBus) bus = gst_element_get_bus (p);
  g_autoptr (GstMessage) m = NULL;
  gboolean ok = TRUE;

  g_assert_nonnull (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  m = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (!m || GST_MESSAGE_TYPE (m) != GST_MESSAGE_EOS)
    ok = FALSE;
  for (guint i = 0; ok && i < (audio ? 2 : 1); i++)
    {
      g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (p), i ? "a" : "v");
      g_autoptr (GstSample) last = NULL;
      g_object_get (sink, "last-sample", &last, NULL);
      ok = last != NULL;
    }
  gst_element_set_state (p, GST_STATE_NULL);
  return ok;
}

static const char camera_and_tone[] = "[source cam]\n"
                                      "type = test-video\n"
                                      "width = 160\n"
                                      "height = 120\n"
                                      "framerate = 30\n"
                                      "keyframe-interval = 10\n"
                                      "%s"
                                      "[source tone]\n"
                                      "type = test-audio\n"
                                      "[sink rec]\n"
                                      "type = record\n"
                                      "path = DIR/rec-%%H%%M%%S.%s\n"
                                      "[route rec]\n"
                                      "from = cam;tone\n"
                                      "to = rec\n";

static void
record (Fixture *f, const char *format, const char *muxer, const char *demuxer)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf (camera_and_tone, "encoder = x264\n", format);
  g_autofree char *names = NULL;
  g_autofree char *file = NULL;
  g_autofree char *expected = NULL;

  if (!gst_element_factory_find ("x264enc"))
    {
      g_test_skip ("x264enc is not installed");
      return;
    }
  g_assert_true (build (f, text, "rec", &error));
  g_assert_no_error (error);
  g_assert_true (rtcbotd_test_wait_until (is_up, f, 5000));
  g_assert_true (rtcbotd_test_wait_until (has_bytes, f, 10000));
  names = element_names (f->pipeline);
  expected = g_strdup_printf (" %s ", muxer);
  g_assert_nonnull (strstr (names, " splitmuxsink "));
  g_assert_nonnull (strstr (names, expected));
  g_assert_nonnull (strstr (names, " h264parse "));
  g_assert_nonnull (strstr (names, " opusparse "));
  g_assert_null (strstr (names, " opusdec ")); /* no second encode, no decode */
  file = g_strdup (json_object_get_string_member (health (f), "file"));
  g_assert_true (g_str_has_prefix (file, f->dir));
  g_assert_cmpint (json_object_get_int_member (health (f), "files"), ==, 1);
  g_clear_pointer (&f->sink, free_sink);
  g_assert_true (plays_to_end (file, demuxer, TRUE));
}

static void
test_record_mkv (Fixture *f, gconstpointer data)
{
  record (f, "mkv", "matroskamux", "matroskademux");
}

static void
test_record_mp4 (Fixture *f, gconstpointer data)
{
  record (f, "mp4", "mp4mux", "qtdemux");
}

static void
test_record_vp8_in_mp4 (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf (camera_and_tone, "encoder = vp8\n", "mp4");

  g_assert_false (build (f, text, "rec", &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA);
  g_assert_cmpstr (error->message, ==,
                   "[sink rec]: mp4 cannot hold VP8 video; use format = mkv (or an H.264 encoder)");
}

static void
test_record_unwritable (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf (camera_and_tone, "", "mkv");
  g_autoptr (GString) s = g_string_new (text);

  g_string_replace (s, "DIR", "DIR/missing", 0);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "[sink rec]: down: path: cannot write files */missing/rec-%H%M%S.mkv "
                         "into */missing: No such file or directory (retrying with backoff)");
  g_assert_true (build (f, s->str, "rec", &error));
  g_assert_true (rtcbotd_test_wait_until (is_down, f, 5000));
  g_test_assert_expected_messages ();
  g_assert_false (rtcbotd_media_sink_is_up (f->sink));
  g_assert_nonnull (strstr (json_object_get_string_member (health (f), "reason"), "/missing"));
}

static void
test_gst_parse_error (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (build (f,
                         "[source cam]\ntype = test-video\n"
                         "[sink g]\ntype = gst\npipeline = videoconvert ! nosuchelement\n"
                         "[route r]\nfrom = cam\nto = g\n",
                         "g", &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==,
                   "test.conf:5: [sink g] pipeline: no element \"nosuchelement\"");
}

static void
test_speaker_missing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "[sink voice]: down: output alsasink device=hw:9: *hw:9*");
  g_assert_true (build (f,
                        "[source tone]\ntype = test-audio\n"
                        "[sink voice]\ntype = speaker\noutput = alsa\ndevice = hw:9\n"
                        "[route r]\nfrom = tone\nto = voice\n",
                        "voice", &error));
  g_assert_no_error (error);
  g_assert_true (rtcbotd_test_wait_until (is_down, f, 5000));
  g_test_assert_expected_messages ();
}

static void
test_display_kms_missing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  if (g_file_test ("/dev/dri/card0", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("this machine has a screen");
      return;
    }
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "[sink screen]: down: output kmssink: *");
  g_assert_true (build (f,
                        "[source cam]\ntype = test-video\nencoder = vp8\n"
                        "[sink screen]\ntype = display\noutput = kms\n"
                        "[route r]\nfrom = cam\nto = screen\n",
                        "screen", &error));
  g_assert_true (rtcbotd_test_wait_until (is_down, f, 5000));
  g_test_assert_expected_messages ();
}

/* ---- peers' streams ---------------------------------------------------- */

/* A stand-in for a peer's incoming stream: a live VP8 or Opus stream in a tee. */
static GstPad *
peer_stream (Fixture *f, const char *caps, const char *encoder)
{
  g_autofree char *description
      = g_strdup_printf ("%s is-live=true ! %s ! %s ! tee allow-not-linked=true name=t",
                         strstr (caps, "video") ? "videotestsrc" : "audiotestsrc", caps, encoder);
  GstElement *bin = gst_parse_bin_from_description (description, FALSE, NULL);
  g_autoptr (GstElement) tee = gst_bin_get_by_name (GST_BIN (bin), "t");
  GstPad *pad = gst_element_request_pad_simple (tee, "src_%u");

  gst_element_add_pad (bin, gst_ghost_pad_new (NULL, pad));
  gst_object_unref (pad);
  gst_bin_add (GST_BIN (f->pipeline), bin);
  gst_element_sync_state_with_parent (bin);
  return gst_object_ref (GST_PAD (GST_ELEMENT (bin)->srcpads->data));
}

static gboolean
has_peer_file (gpointer data)
{
  Fixture *f = data;
  const char *file = json_object_get_string_member_with_default (health (f), "file", NULL);

  return file && strstr (file, "-peer7-video.mkv") && has_bytes (f);
}

static gboolean
finished (gpointer data)
{
  return json_object_get_int_member (health (data), "finishing") == 0;
}

static void
test_peer_record (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstPad) pad = NULL;
  g_autofree char *file = NULL;

  g_assert_true (build (f,
                        "[sink rec]\ntype = record\npath = DIR/talk.mkv\n"
                        "[route r]\nfrom = peers.video\nto = rec\n",
                        "rec", &error));
  g_assert_true (rtcbotd_test_wait_until (is_up, f, 5000));
  pad = peer_stream (f, "video/x-raw,width=160,height=120,framerate=30/1",
                     "vp8enc deadline=1 keyframe-max-dist=10");
  g_assert_true (rtcbotd_media_sink_add_peer_stream (f->sink, 7, pad, &error));
  g_assert_no_error (error);
  g_assert_true (rtcbotd_test_wait_until (has_peer_file, f, 10000));
  file = g_strdup (json_object_get_string_member (health (f), "file"));
  g_assert_true (g_str_has_suffix (file, "/talk-peer7-video.mkv"));
  rtcbotd_media_sink_remove_peer (f->sink, 7);
  g_assert_false (gst_pad_is_linked (pad));
  g_assert_cmpint (json_object_get_int_member (health (f), "inputs"), ==, 0);
  /* The file is finished while the sink keeps running. */
  g_assert_true (rtcbotd_test_wait_until (finished, f, 5000));
  g_assert_true (rtcbotd_media_sink_is_up (f->sink));
  g_assert_true (plays_to_end (file, "matroskademux", FALSE));
}

/* The width of the frame the gst sink's fakesink "shown" has last seen, or 0. */
static gint
shown_width (Fixture *f)
{
  g_autoptr (GstElement) shown = gst_bin_get_by_name (GST_BIN (f->pipeline), "shown");
  g_autoptr (GstSample) last = NULL;
  gint width = 0;

  if (!shown)
    return 0;
  g_object_get (shown, "last-sample", &last, NULL);
  if (last)
    gst_structure_get_int (gst_caps_get_structure (gst_sample_get_caps (last), 0), "width", &width);
  return width;
}

static gboolean
shows_320 (gpointer data)
{
  return shown_width (data) == 320;
}

static gboolean
shows_160 (gpointer data)
{
  return shown_width (data) == 160;
}

static void
test_peer_display (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstPad) first = NULL;
  g_autoptr (GstPad) second = NULL;

  g_assert_true (build (f,
                        "[sink screen]\ntype = gst\npipeline = fakesink name=shown sync=false\n"
                        "[route r]\nfrom = peers.video\nto = screen\n",
                        "screen", &error));
  g_assert_true (rtcbotd_test_wait_until (is_up, f, 5000));
  first = peer_stream (f, "video/x-raw,width=160,height=120,framerate=30/1",
                       "vp8enc deadline=1 keyframe-max-dist=10");
  g_assert_true (rtcbotd_media_sink_add_peer_stream (f->sink, 1, first, &error));
  g_assert_true (rtcbotd_test_wait_until (shows_160, f, 10000));
  /* The latest peer is shown; when it leaves, the one before it again. */
  second = peer_stream (f, "video/x-raw,width=320,height=240,framerate=30/1",
                        "vp8enc deadline=1 keyframe-max-dist=10");
  g_assert_true (rtcbotd_media_sink_add_peer_stream (f->sink, 2, second, &error));
  g_assert_true (rtcbotd_test_wait_until (shows_320, f, 10000));
  g_assert_false (gst_pad_is_linked (first));
  rtcbotd_media_sink_remove_peer (f->sink, 2);
  g_assert_false (gst_pad_is_linked (second));
  g_assert_true (rtcbotd_test_wait_until (shows_160, f, 10000));
  g_assert_true (rtcbotd_media_sink_is_up (f->sink));
}

static gboolean
hears (gpointer data)
{
  g_autoptr (GstElement) heard
      = gst_bin_get_by_name (GST_BIN (((Fixture *)data)->pipeline), "heard");
  g_autoptr (GstSample) last = NULL;

  if (heard)
    g_object_get (heard, "last-sample", &last, NULL);
  return last != NULL;
}

/* An audio gst sink mixes a source and two peers; one peer leaving leaves the rest playing. */
static void
test_audio_mix (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstPad) first = NULL;
  g_autoptr (GstPad) second = NULL;
  g_autofree char *names = NULL;

  g_assert_true (build (f,
                        "[source tone]\ntype = test-audio\n"
                        "[sink ears]\ntype = gst\nmedia = audio\n"
                        "pipeline = fakesink name=heard sync=false\n"
                        "[route a]\nfrom = tone\nto = ears\n"
                        "[route b]\nfrom = peers.audio\nto = ears\n",
                        "ears", &error));
  g_assert_no_error (error);
  g_assert_true (rtcbotd_test_wait_until (hears, f, 10000));
  first = peer_stream (f, "audio/x-raw,rate=48000,channels=1", "opusenc");
  second = peer_stream (f, "audio/x-raw,rate=48000,channels=2", "opusenc");
  g_assert_true (rtcbotd_media_sink_add_peer_stream (f->sink, 1, first, &error));
  g_assert_true (rtcbotd_media_sink_add_peer_stream (f->sink, 2, second, &error));
  g_assert_no_error (error);
  g_assert_true (gst_pad_is_linked (first) && gst_pad_is_linked (second));
  names = element_names (f->pipeline);
  g_assert_nonnull (strstr (names, " audiomixer "));
  g_assert_nonnull (strstr (names, " opusdec "));
  g_assert_cmpint (json_object_get_int_member (health (f), "inputs"), ==, 3);
  rtcbotd_media_sink_remove_peer (f->sink, 1);
  g_assert_false (gst_pad_is_linked (first));
  g_assert_true (gst_pad_is_linked (second));
  g_assert_cmpint (json_object_get_int_member (health (f), "inputs"), ==, 2);
  g_assert_true (rtcbotd_media_sink_is_up (f->sink));
}

static void
test_peer_wrong_kind (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstPad) pad = NULL;

  g_assert_true (build (f,
                        "[sink screen]\ntype = display\n"
                        "[route r]\nfrom = peers.video\nto = screen\n",
                        "screen", &error));
  pad = peer_stream (f, "audio/x-raw,rate=48000,channels=1", "opusenc");
  g_assert_false (rtcbotd_media_sink_add_peer_stream (f->sink, 1, pad, &error));
  g_assert_cmpstr (error->message, ==, "[sink screen] takes no audio");
}

static void
test_expand (void)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) t = g_date_time_new (utc, 2026, 1, 2, 3, 4, 5);
  struct
  {
    const char *pattern, *suffix, *expected;
  } cases[] = {
    { "/r/%Y%m%d-%H%M%S.mkv", NULL, "/r/20260102-030405.mkv" },
    { "/r/%Y%m%d-%H%M%S.mkv", "-peer3-video", "/r/20260102-030405-peer3-video.mkv" },
    { "/r.d/cam", "-1", "/r.d/cam-1" },
    { "/r/.hidden", "-1", "/r/.hidden-1" },
    { "cam.mp4", "-peer1-audio", "cam-peer1-audio.mp4" },
    { "/r/%%literal.mkv", NULL, "/r/%literal.mkv" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = rtcbotd_recorder_expand (cases[i].pattern, t, cases[i].suffix);
      g_assert_cmpstr (got, ==, cases[i].expected);
    }
}

int
main (int argc, char **argv)
{
  /* File names come from local time; the expected ones are UTC. */
  g_setenv ("TZ", "UTC", TRUE);
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/media-sink/expand", test_expand);
#define ADD(path, func) g_test_add (path, Fixture, NULL, setup, func, teardown)
  ADD ("/media-sink/record-mkv", test_record_mkv);
  ADD ("/media-sink/record-mp4", test_record_mp4);
  ADD ("/media-sink/record-vp8-in-mp4", test_record_vp8_in_mp4);
  ADD ("/media-sink/record-unwritable", test_record_unwritable);
  ADD ("/media-sink/gst-parse-error", test_gst_parse_error);
  ADD ("/media-sink/speaker-missing", test_speaker_missing);
  ADD ("/media-sink/display-kms-missing", test_display_kms_missing);
  ADD ("/media-sink/peer-record", test_peer_record);
  ADD ("/media-sink/peer-display", test_peer_display);
  ADD ("/media-sink/peer-wrong-kind", test_peer_wrong_kind);
  ADD ("/media-sink/audio-mix", test_audio_mix);
  return g_test_run ();
}
