/* test-inbound.c — a stream a peer sends, from RTP to parsed media, on a real pipeline.
 *
 * A local pipeline plays the peer (encoder ! payloader, the pad webrtcbin
 * would add), a fakesink whose buffers a probe collects plays a media sink. */
#include <gst/video/video.h>
#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-inbound.h"
#include "test-utils.h"

typedef struct
{
  GstElement *pipeline;
  GstElement *peer; /* the bin that sends RTP */
  GstPad *peer_pad;
  RtcbotdInbound *inbound;
  gint key_frame_requests; /* force-key-unit events that reached the "peer"; atomic */
} Fixture;

static const char *const senders[] = {
  [RTCBOTD_CODEC_OPUS] = "audiotestsrc is-live=true ! opusenc ! rtpopuspay pt=111 ! "
                         "capsfilter caps=application/x-rtp,media=audio,encoding-name=OPUS,"
                         "clock-rate=48000,payload=111",
  [RTCBOTD_CODEC_VP8] = "videotestsrc is-live=true ! video/x-raw,width=160,height=120 ! "
                        "vp8enc deadline=1 keyframe-max-dist=1000 ! rtpvp8pay pt=96 ! "
                        "capsfilter caps=application/x-rtp,media=video,encoding-name=VP8,"
                        "clock-rate=90000,payload=96",
  [RTCBOTD_CODEC_H264] = "videotestsrc is-live=true ! video/x-raw,width=160,height=120 ! "
                         "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=1000 ! "
                         "rtph264pay pt=102 ! capsfilter caps=application/x-rtp,media=video,"
                         "encoding-name=H264,clock-rate=90000,payload=102",
};

/* Streaming thread of the "peer": an upstream key-frame request arrived. */
static GstPadProbeReturn
on_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Fixture *f = user_data;

  if (gst_video_event_is_force_key_unit (GST_PAD_PROBE_INFO_EVENT (info)))
    g_atomic_int_inc (&f->key_frame_requests);
  return GST_PAD_PROBE_OK;
}

/* Builds the peer that sends @codec and the inbound stream of its pad. */
static void
setup (Fixture *f, RtcbotdCodec codec)
{
  g_autoptr (GError) error = NULL;

  f->pipeline = gst_object_ref_sink (gst_pipeline_new ("test"));
  f->peer = gst_parse_bin_from_description (senders[codec], TRUE, &error);
  g_assert_no_error (error);
  gst_bin_add (GST_BIN (f->pipeline), f->peer);
  f->peer_pad = gst_element_get_static_pad (f->peer, "src");
  gst_pad_add_probe (f->peer_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event, f, NULL);
  f->inbound = rtcbotd_inbound_new (f->pipeline, f->peer_pad, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rtcbotd_inbound_get_codec (f->inbound), ==, codec);
}

static void
teardown (Fixture *f)
{
  /* The peer stops first, as webrtcbin does before a peer's streams go. */
  gst_element_set_state (f->peer, GST_STATE_NULL);
  g_clear_pointer (&f->inbound, rtcbotd_inbound_free);
  gst_element_set_state (f->pipeline, GST_STATE_NULL);
  g_clear_object (&f->peer_pad);
  g_clear_object (&f->pipeline);
}

/* Streaming thread of the "peer": what reaches a consumer, as a sample. */
static GstPadProbeReturn
on_consumed (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);

  g_async_queue_push (user_data,
                      gst_sample_new (GST_PAD_PROBE_INFO_BUFFER (info), caps, NULL, NULL));
  return GST_PAD_PROBE_OK;
}

/* A consumer of the stream on a pad of the tee; returns the queue of what it gets. */
static GAsyncQueue *
add_consumer (Fixture *f)
{
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstPad) pad = NULL;
  g_autoptr (GstPad) sink_pad = gst_element_get_static_pad (sink, "sink");
  GAsyncQueue *samples = g_async_queue_new_full ((GDestroyNotify)gst_sample_unref);

  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_pad_add_probe (sink_pad, GST_PAD_PROBE_TYPE_BUFFER, on_consumed, samples,
                     (GDestroyNotify)g_async_queue_unref);
  g_async_queue_ref (samples);
  gst_bin_add (GST_BIN (f->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  pad = rtcbotd_inbound_acquire_pad (f->inbound);
  g_assert_cmpint (gst_pad_link (pad, sink_pad), ==, GST_PAD_LINK_OK);
  return samples;
}

static GstSample *
pull (GAsyncQueue *samples)
{
  GstSample *sample = g_async_queue_timeout_pop (samples, 10 * G_USEC_PER_SEC);

  g_assert_nonnull (sample);
  return sample;
}

static gboolean
has_sps (GstBuffer *buffer)
{
  GstMapInfo map;
  gboolean found = FALSE;

  gst_buffer_map (buffer, &map, GST_MAP_READ);
  for (gsize i = 0; i + 4 < map.size && !found; i++)
    found = memcmp (map.data + i, "\0\0\1", 3) == 0 && (map.data[i + 3] & 0x1f) == 7;
  gst_buffer_unmap (buffer, &map);
  return found;
}

/* TRUE once the stream's /metrics say it has seen frames. */
static gboolean
metrics_count_frames (gpointer inbound)
{
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *text = NULL;
  const char *line;

  rtcbotd_inbound_add_metrics (inbound, m, "7");
  text = rtcbotd_metrics_to_text (m);
  line = strstr (text, "\nrtcbotd_peer_incoming_frames_total{peer=\"7\",kind=");
  g_assert_nonnull (line);
  return !g_str_has_prefix (strchr (line, '}'), "} 0\n");
}

/* Opus: depayloaded and parsed, counted. */
static void
test_opus (void)
{
  Fixture f = { 0 };
  g_autoptr (GAsyncQueue) sink = NULL;
  g_autoptr (GstSample) sample = NULL;

  setup (&f, RTCBOTD_CODEC_OPUS);
  g_assert_cmpint (rtcbotd_inbound_get_kind (f.inbound), ==, RTCBOTD_KIND_AUDIO);
  sink = add_consumer (&f);
  gst_element_set_state (f.pipeline, GST_STATE_PLAYING);
  sample = pull (sink);
  g_assert_true (gst_structure_has_name (gst_caps_get_structure (gst_sample_get_caps (sample), 0),
                                         "audio/x-opus"));
  g_assert_true (metrics_count_frames (f.inbound));
  /* Audio never asks for key frames. */
  g_assert_cmpint (g_atomic_int_get (&f.key_frame_requests), ==, 0);
  teardown (&f);
}

/* H.264: byte-stream access units; a consumer joining mid-stream starts at a
 * key frame with SPS/PPS, which the stream asked the peer for. */
static void
test_h264_late_consumer (void)
{
  Fixture f = { 0 };
  g_autoptr (GAsyncQueue) first = NULL;
  g_autoptr (GAsyncQueue) late = NULL;
  g_autoptr (GstSample) sample = NULL;
  const GstStructure *caps;

  if (!gst_element_factory_find ("x264enc"))
    {
      g_test_skip ("x264enc is not installed");
      return;
    }
  setup (&f, RTCBOTD_CODEC_H264);
  first = add_consumer (&f);
  gst_element_set_state (f.pipeline, GST_STATE_PLAYING);
  for (guint i = 0; i < 20; i++)
    gst_sample_unref (pull (first)); /* well past the first key frame (key-int-max 1000) */
  g_assert_cmpint (g_atomic_int_get (&f.key_frame_requests), ==, 1);
  late = add_consumer (&f);
  /* Rate-limited: a consumer within a second of the last request waits for the second to end. */
  g_assert_cmpint (g_atomic_int_get (&f.key_frame_requests), <=, 2);
  sample = pull (late);
  g_assert_cmpint (g_atomic_int_get (&f.key_frame_requests), ==, 2);
  caps = gst_caps_get_structure (gst_sample_get_caps (sample), 0);
  g_assert_true (gst_structure_has_name (caps, "video/x-h264"));
  g_assert_cmpstr (gst_structure_get_string (caps, "stream-format"), ==, "byte-stream");
  g_assert_cmpstr (gst_structure_get_string (caps, "alignment"), ==, "au");
  g_assert_false (
      GST_BUFFER_FLAG_IS_SET (gst_sample_get_buffer (sample), GST_BUFFER_FLAG_DELTA_UNIT));
  g_assert_true (has_sps (gst_sample_get_buffer (sample)));
  teardown (&f);
}

/* VP8: a consumer's first frame is a key frame even when it joins late. */
static void
test_vp8_key_frame_requests (void)
{
  Fixture f = { 0 };
  g_autoptr (GAsyncQueue) sink = NULL;
  g_autoptr (GstSample) sample = NULL;

  setup (&f, RTCBOTD_CODEC_VP8);
  gst_element_set_state (f.pipeline, GST_STATE_PLAYING);
  g_assert_true (rtcbotd_test_wait_until (metrics_count_frames, f.inbound, 5000));
  sink = add_consumer (&f);
  g_assert_cmpint (g_atomic_int_get (&f.key_frame_requests), ==, 1);
  sample = pull (sink);
  g_assert_true (gst_structure_has_name (gst_caps_get_structure (gst_sample_get_caps (sample), 0),
                                         "video/x-vp8"));
  g_assert_false (
      GST_BUFFER_FLAG_IS_SET (gst_sample_get_buffer (sample), GST_BUFFER_FLAG_DELTA_UNIT));
  /* A second later the peer may be asked again. */
  rtcbotd_test_run_for (1100);
  rtcbotd_inbound_request_key_frame (f.inbound);
  g_assert_cmpint (g_atomic_int_get (&f.key_frame_requests), ==, 2);
  teardown (&f);
}

/* A codec rtcbotd cannot take: an error naming the caps, nothing built. */
static void
test_unsupported (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_object_ref_sink (gst_pipeline_new ("test"));
  GstElement *filter = gst_element_factory_make ("capsfilter", NULL);
  g_autoptr (GstCaps) caps = gst_caps_from_string (
      "application/x-rtp,media=video,encoding-name=VP9,clock-rate=90000,payload=98");
  g_autoptr (GstPad) pad = gst_element_get_static_pad (filter, "src");
  RtcbotdInbound *inbound;

  g_object_set (filter, "caps", caps, NULL);
  gst_bin_add (GST_BIN (pipeline), filter);
  inbound = rtcbotd_inbound_new (pipeline, pad, &error);
  g_assert_null (inbound);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "encoding-name=(string)VP9"));
  g_assert_cmpint (GST_BIN (pipeline)->numchildren, ==, 1);
}

/* The frames of the "peer" whose time is moved by @shift: the @at-th, or with @onwards
 * every frame from it on (a peer whose clock jumped). */
typedef struct
{
  gint count;
  gint at;
  GstClockTimeDiff shift;
  gboolean onwards;
} Shift;

/* Streaming thread of the "peer": moves the time of the frames @user_data names (the
 * depayloader keeps RTP time, so they are moved after the parser). */
static GstPadProbeReturn
on_peer_frame (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Shift *shift = user_data;
  GstBuffer *buffer;

  ++shift->count;
  if (shift->count < shift->at || (shift->count > shift->at && !shift->onwards))
    return GST_PAD_PROBE_OK;
  buffer = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  GST_BUFFER_PTS (buffer) += shift->shift;
  if (GST_BUFFER_DTS_IS_VALID (buffer))
    GST_BUFFER_DTS (buffer) += shift->shift;
  GST_PAD_PROBE_INFO_DATA (info) = buffer;
  return GST_PAD_PROBE_OK;
}

/* The Opus stream with @shift moving the time of the frames the parser puts out. */
static GAsyncQueue *
setup_shifted (Fixture *f, Shift *shift)
{
  g_autoptr (GstIterator) parser = NULL;
  g_auto (GValue) item = G_VALUE_INIT;
  g_autoptr (GstPad) parser_src = NULL;
  GAsyncQueue *samples;

  setup (f, RTCBOTD_CODEC_OPUS);
  parser = gst_bin_iterate_all_by_element_factory_name (GST_BIN (f->pipeline), "opusparse");
  g_assert_cmpint (gst_iterator_next (parser, &item), ==, GST_ITERATOR_OK);
  parser_src = gst_element_get_static_pad (g_value_get_object (&item), "src");
  gst_pad_add_probe (parser_src, GST_PAD_PROBE_TYPE_BUFFER, on_peer_frame, shift, NULL);
  samples = add_consumer (f);
  gst_element_set_state (f->pipeline, GST_STATE_PLAYING);
  return samples;
}

/* The value of the Opus stream's counter @name in /metrics. */
static guint64
metrics_counter (RtcbotdInbound *inbound, const char *name)
{
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *text = NULL;
  g_autofree char *series
      = g_strdup_printf ("\n%s{peer=\"7\",kind=\"audio\",codec=\"opus\",ssrc=\"0\"} ", name);
  const char *line;

  rtcbotd_inbound_add_metrics (inbound, m, "7");
  text = rtcbotd_metrics_to_text (m);
  line = strstr (text, series);
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (series), NULL, 10);
}

/* Pulls @n frames from @samples; returns how often their time went back. */
static guint
pull_counting_back (GAsyncQueue *samples, guint n)
{
  GstClockTime last = GST_CLOCK_TIME_NONE;
  guint back = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GstSample) sample = pull (samples);
      GstClockTime pts = GST_BUFFER_DTS_OR_PTS (gst_sample_get_buffer (sample));
      if (GST_CLOCK_TIME_IS_VALID (last) && pts < last)
        back++;
      last = pts;
    }
  return back;
}

/* Runs the Opus stream with @shift for @n frames at the consumer; checks how often their time
 * went back there and the counters of dropped frames and of resyncs. */
static void
check_shifted (Shift shift, guint n, guint back, guint64 backwards, guint64 resyncs)
{
  Fixture f = { 0 };
  g_autoptr (GAsyncQueue) samples = setup_shifted (&f, &shift);

  g_assert_cmpuint (pull_counting_back (samples, n), ==, back);
  g_assert_cmpuint (metrics_counter (f.inbound, "rtcbotd_peer_incoming_backwards_total"), ==,
                    backwards);
  g_assert_cmpuint (metrics_counter (f.inbound, "rtcbotd_peer_incoming_resyncs_total"), ==,
                    resyncs);
  teardown (&f);
}

/* A frame whose time goes backwards never reaches a consumer (a muxer would fail): its 60th
 * frame (1.2 s in) comes half a second back in time. */
static void
test_backwards (void)
{
  check_shifted ((Shift){ .at = 60, .shift = -500 * GST_MSECOND }, 90, 0, 1, 0);
}

/* One stray frame an hour in the future: the frames after it, back on the stream's timeline,
 * still reach the consumer (the stream resyncs at once: its time goes back once there). */
static void
test_stray_future_frame (void)
{
  check_shifted ((Shift){ .at = 30, .shift = 3600 * GST_SECOND }, 90, 1, 0, 1);
}

/* A peer whose time goes back 1.5 s for good, 2 s in: the stream drops what is behind for
 * at most RESYNC_FRAMES (50) frames, not the 75 it would take to catch up, then follows. */
static void
test_clock_back (void)
{
  check_shifted ((Shift){ .at = 100, .shift = -1500 * GST_MSECOND, .onwards = TRUE }, 110, 1, 49,
                 1);
}

/* A pad given back leaves the tee at once; the stream goes on without it. */
static void
test_release_pad (void)
{
  Fixture f = { 0 };
  g_autoptr (GAsyncQueue) samples = NULL;
  g_autoptr (GstPad) pad = NULL;
  GstElement *tee;

  setup (&f, RTCBOTD_CODEC_OPUS);
  samples = add_consumer (&f);
  pad = rtcbotd_inbound_acquire_pad (f.inbound);
  tee = GST_ELEMENT (GST_PAD_PARENT (pad));
  g_assert_cmpint (tee->numsrcpads, ==, 2);
  rtcbotd_inbound_release_pad (f.inbound, pad);
  g_assert_null (GST_PAD_PARENT (pad));
  g_assert_cmpint (tee->numsrcpads, ==, 1);
  gst_element_set_state (f.pipeline, GST_STATE_PLAYING);
  gst_sample_unref (pull (samples));
  teardown (&f);
}

/* Freed, the stream leaves nothing in the pipeline, its consumers unlinked
 * and every pad it handed out released. */
static void
test_free (void)
{
  Fixture f = { 0 };
  g_autoptr (GAsyncQueue) samples = NULL;
  g_autoptr (GstPad) tee_pad = NULL;
  g_autoptr (GstPad) consumer_pad = NULL;

  setup (&f, RTCBOTD_CODEC_OPUS);
  samples = add_consumer (&f);
  tee_pad = rtcbotd_inbound_acquire_pad (f.inbound); /* handed out, never linked */
  gst_element_set_state (f.pipeline, GST_STATE_PLAYING);
  gst_sample_unref (pull (samples));
  consumer_pad = gst_pad_get_peer (GST_PAD (GST_ELEMENT (GST_PAD_PARENT (tee_pad))->srcpads->data));
  g_assert_nonnull (consumer_pad);
  gst_element_set_state (f.peer, GST_STATE_NULL);
  g_clear_pointer (&f.inbound, rtcbotd_inbound_free);
  g_assert_false (gst_pad_is_linked (consumer_pad));
  g_assert_false (gst_pad_is_linked (f.peer_pad));
  g_assert_null (GST_PAD_PARENT (tee_pad));
  g_assert_cmpint (GST_BIN (f.pipeline)->numchildren, ==, 2); /* the peer and the consumer */
  teardown (&f);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/inbound/opus", test_opus);
  g_test_add_func ("/inbound/h264-late-consumer", test_h264_late_consumer);
  g_test_add_func ("/inbound/vp8-key-frame-requests", test_vp8_key_frame_requests);
  g_test_add_func ("/inbound/unsupported", test_unsupported);
  g_test_add_func ("/inbound/backwards", test_backwards);
  g_test_add_func ("/inbound/stray-future-frame", test_stray_future_frame);
  g_test_add_func ("/inbound/clock-back", test_clock_back);
  g_test_add_func ("/inbound/release-pad", test_release_pad);
  g_test_add_func ("/inbound/free", test_free);
  return g_test_run ();
}
