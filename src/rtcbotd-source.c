/* rtcbotd-source.c — one configured media source, captured and encoded once. */
#include "rtcbotd-source-private.h"

#include <gst/video/video.h>

#include "rtcbotd-element.h"
#include "rtcbotd-error.h"

#define KEY_FRAME_INTERVAL_US (300 * G_TIME_SPAN_MILLISECOND)
/* An encoder that has produced nothing for this long is stalled: the source is down. */
#define STALL_S 5
/* A capture that failed is tried again after 0.5 s, 1 s, 2 s, ... at most 10 s apart. */
#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 10000

/* A filler is due after 2 s without a buffer, or two frame intervals of a
 * slower camera: well inside the 5 s after which rtpsession says BYE, and
 * late enough that a capture merely slow (valgrind, a busy Pi) gets none. */
static gint64
filler_interval (const RtcbotdSourceConfig *config)
{
  gint64 frames_us = 0;

  if (config->kind == RTCBOTD_KIND_VIDEO && config->framerate > 0)
    frames_us = 2 * G_USEC_PER_SEC / config->framerate;
  return MAX (2 * G_USEC_PER_SEC, frames_us);
}

static GstElement *
add_element (RtcbotdSource *self, const char *factory, const char *role, GError **error)
{
  g_autofree char *name = g_strdup_printf ("%s-%s", self->prefix, role);
  GstElement *element = gst_element_factory_make (factory, name);

  if (!element)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "[source %s]: the GStreamer element \"%s\" is not installed", self->config->name,
                   factory);
      return NULL;
    }
  if (!gst_bin_add (GST_BIN (self->pipeline), element))
    {
      gst_object_unref (gst_object_ref_sink (element));
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "[source %s]: the pipeline refused the element %s", self->config->name, name);
      return NULL;
    }
  g_ptr_array_add (self->elements, gst_object_ref (element));
  return element;
}

static Branch *branch_new (RtcbotdSource *self, RtcbotdCodec codec, GError **error);

static const char *
encoder_name (Branch *branch)
{
  if (branch->source->passthrough)
    return "passthrough";
  return branch->encoder == RTCBOTD_ENCODER_AUTO ? "opusenc"
                                                 : rtcbotd_encoder_factory (branch->encoder);
}
static gboolean on_health_check (gpointer user_data);
static gboolean on_retry (gpointer user_data);

static void
branch_free (Branch *branch)
{
  g_mutex_clear (&branch->lock);
  g_clear_object (&branch->raw_pad);
  g_clear_pointer (&branch->rate, rtcbotd_rate_control_free);
  g_free (branch);
}

/* The codec the source sends when a peer takes anything, its encoders chosen;
 * NONE with @error if none can. */
static RtcbotdCodec
preferred_codec (RtcbotdSource *self, GError **error)
{
  if (self->config->kind == RTCBOTD_KIND_AUDIO)
    return RTCBOTD_CODEC_OPUS;
  /* A camera's own H.264 needs no encoder, installed or not. */
  if (self->passthrough)
    return RTCBOTD_CODEC_H264;
  return rtcbotd_encoder_choose (self->config, rtcbotd_encoder_usable, NULL, self->encoders, error);
}

RtcbotdSource *
rtcbotd_source_new (const RtcbotdSourceConfig *config, GstElement *pipeline, guint generation,
                    GError **error)
{
  RtcbotdSource *self = g_new0 (RtcbotdSource, 1);

  self->config = config;
  self->pipeline = pipeline;
  self->prefix
      = generation ? g_strdup_printf ("%s.%u", config->name, generation) : g_strdup (config->name);
  self->branches = g_ptr_array_new_with_free_func ((GDestroyNotify)branch_free);
  self->elements = g_ptr_array_new_with_free_func (gst_object_unref);
  self->retry = rtcbotd_backoff_new (RETRY_MIN_MS, RETRY_MAX_MS, on_retry, self);
  /* What can be wrong in the config (a gst fragment that does not parse) fails here, before a
   * reload changes anything; a missing device only fails when the capture starts. */
  if (!rtcbotd_capture_decide (config, &self->passthrough, error)
      || (self->preferred = preferred_codec (self, error)) == RTCBOTD_CODEC_NONE
      || !(self->raw_tee = add_element (self, "tee", "raw", error)))
    {
      rtcbotd_source_free (self);
      return NULL;
    }
  g_object_set (self->raw_tee, "allow-not-linked", TRUE, NULL);
  {
    g_autoptr (GstPad) raw_sink = gst_element_get_static_pad (self->raw_tee, "sink");
    self->stall = rtcbotd_stall_new (raw_sink, rtcbotd_stall_timeout_for (config));
    self->filler = rtcbotd_filler_new (raw_sink, filler_interval (config));
  }
  /* The preferred encoder runs from the start, so the first viewer waits for nothing. */
  if (!branch_new (self, self->preferred, error))
    {
      rtcbotd_source_free (self);
      return NULL;
    }
  self->health_id = g_timeout_add_seconds (1, on_health_check, self);
  return self;
}

/* Stops and removes an element of ours, if the pipeline still holds it. */
static void
remove_element (RtcbotdSource *self, GstElement *element)
{
  rtcbotd_element_discard (GST_BIN (self->pipeline), element);
}

/* ---- the capture bin ------------------------------------------------------ */

/* Takes the capture bin (running or failed) out of the pipeline; main context. */
static void
capture_remove (RtcbotdSource *self)
{
  g_autoptr (RtcbotdCapture) capture = g_steal_pointer (&self->capture);
  g_autoptr (GstPad) src = NULL;
  g_autoptr (GstPad) peer = NULL;

  if (!capture)
    return;
  rtcbotd_capture_set_error_func (capture, NULL, NULL);
  /* Its streaming thread ends here, before the pads are unlinked. */
  gst_element_set_state (GST_ELEMENT (capture), GST_STATE_NULL);
  src = gst_element_get_static_pad (GST_ELEMENT (capture), "src");
  if (src && (peer = gst_pad_get_peer (src)))
    gst_pad_unlink (src, peer);
  remove_element (self, GST_ELEMENT (capture));
  g_ptr_array_remove (self->elements, capture);
}

static gboolean
wants_capture (RtcbotdSource *self)
{
  return !self->stopped && (!self->config->on_demand || self->consumers > 0);
}

/* The capture failed: down with @cause (logged once while it stays the same),
 * the bin stopped (kept until the next attempt, so its late messages are
 * still ours), and a retry scheduled while something wants the source. */
static void
capture_failed (RtcbotdSource *self, const char *cause)
{
  g_autofree char *label = rtcbotd_capture_label (self->config);

  self->capture_state = CAPTURE_FAILED;
  if (self->capture)
    gst_element_set_state (GST_ELEMENT (self->capture), GST_STATE_NULL);
  g_free (self->error);
  self->error = g_strdup_printf ("%s: %s", label, cause);
  self->error_time = g_get_monotonic_time ();
  rtcbotd_source_update_health (self);
  if (wants_capture (self))
    g_debug ("[source %s]: capture: trying again in %u ms", self->config->name,
             rtcbotd_backoff_schedule (self->retry));
  else
    self->capture_state = CAPTURE_STOPPED;
}

/* Main context: the first error from inside a capture bin. */
static void
on_capture_error (RtcbotdCapture *capture, const char *message, gpointer user_data)
{
  RtcbotdSource *self = user_data;

  if (capture == self->capture && self->capture_state == CAPTURE_RUNNING)
    capture_failed (self, message);
}

/* A new capture bin: the device probed (v4l2), its caps planned, the elements made. */
static RtcbotdCapture *
capture_build (RtcbotdSource *self, GError **error)
{
  const RtcbotdSourceConfig *c = self->config;
  g_autoptr (GstCaps) probed = NULL;
  g_auto (RtcbotdCapturePlan) plan = { 0 };

  if (c->type == RTCBOTD_SOURCE_V4L2 && !(probed = rtcbotd_capture_probe_v4l2 (c->device, error)))
    return NULL;
  if (!rtcbotd_capture_plan (c, probed, self->passthrough, &plan, error))
    return NULL;
  return rtcbotd_capture_new (c, self->prefix, &plan, error);
}

/* Builds and starts a capture bin in place of any failed one; main context. */
static void
capture_start (RtcbotdSource *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstPad) src = NULL;
  g_autoptr (GstPad) sink = gst_element_get_static_pad (self->raw_tee, "sink");
  g_autoptr (GstClock) clock = gst_element_get_clock (self->pipeline);
  GstElement *bin;

  if (self->capture_state == CAPTURE_FAILED)
    self->restarts++;
  capture_remove (self);
  rtcbotd_backoff_cancel (self->retry);
  if (!(self->capture = capture_build (self, &error)))
    {
      capture_failed (self, error->message);
      return;
    }
  bin = GST_ELEMENT (self->capture);
  /* Locked: the pipeline's state changes pass it by, and a failing device fails only it. */
  gst_element_set_locked_state (bin, TRUE);
  gst_bin_add (GST_BIN (self->pipeline), bin);
  g_ptr_array_add (self->elements, gst_object_ref (bin));
  src = gst_element_get_static_pad (bin, "src");
  gst_pad_link (src, sink);
  rtcbotd_capture_set_error_func (self->capture, on_capture_error, self);
  /* What the pipeline gives its children when it plays, which a locked bin misses. */
  if (clock)
    gst_element_set_clock (bin, clock);
  gst_element_set_base_time (bin, gst_element_get_base_time (self->pipeline));
  gst_element_set_start_time (bin, GST_CLOCK_TIME_NONE);
  self->capture_state = CAPTURE_RUNNING;
  self->capture_started = g_get_monotonic_time ();
  rtcbotd_stall_arm (self->stall);
  if (gst_element_set_state (bin, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_autofree char *cause = rtcbotd_capture_dup_error (self->capture);
      capture_failed (self, cause ? cause : "does not start");
      return;
    }
  g_debug ("[source %s]: capture started", self->config->name);
}

/* Stops the capture (on demand, nothing consumes the source; or for good). */
static void
capture_stop (RtcbotdSource *self)
{
  rtcbotd_backoff_cancel (self->retry);
  capture_remove (self);
  /* Nobody watches now: the next consumer must not get a picture from before. */
  rtcbotd_filler_forget (self->filler);
  self->capture_state = CAPTURE_STOPPED;
  self->stalled = FALSE;
  g_debug ("[source %s]: capture stopped", self->config->name);
}

/* Main context: the backoff's retry. */
static gboolean
on_retry (gpointer user_data)
{
  RtcbotdSource *self = user_data;

  if (wants_capture (self))
    capture_start (self);
  return G_SOURCE_REMOVE;
}

/* Main context, once after rtcbotd_source_start(): the pipeline plays by now. */
static gboolean
on_start (gpointer user_data)
{
  RtcbotdSource *self = user_data;

  self->start_id = 0;
  gst_element_sync_state_with_parent (self->raw_tee);
  if (wants_capture (self) && self->capture_state == CAPTURE_STOPPED)
    capture_start (self);
  return G_SOURCE_REMOVE;
}

void
rtcbotd_source_free (RtcbotdSource *self)
{
  if (!self)
    return;
  g_clear_handle_id (&self->health_id, g_source_remove);
  g_clear_handle_id (&self->start_id, g_source_remove);
  /* Capture first: its streaming thread stops before anything downstream goes. */
  capture_remove (self);
  g_clear_pointer (&self->stall, rtcbotd_stall_free);
  g_clear_pointer (&self->filler, rtcbotd_filler_free);
  g_clear_pointer (&self->retry, rtcbotd_backoff_free);
  remove_element (self, self->raw_tee);
  for (guint i = 0; i < self->branches->len; i++)
    {
      Branch *branch = self->branches->pdata[i];
      remove_element (self, branch->queue);
      remove_element (self, branch->encoder_bin);
      remove_element (self, branch->tee);
    }
  g_ptr_array_unref (self->branches);
  g_ptr_array_unref (self->elements);
  g_free (self->prefix);
  g_free (self->error);
  g_free (self->reason);
  g_clear_pointer (&self->owned, rtcbotd_source_config_free);
  g_free (self);
}

void
rtcbotd_source_take_config (RtcbotdSource *self, RtcbotdSourceConfig *config)
{
  g_return_if_fail (config == self->config && !self->owned);
  self->owned = config;
}

void
rtcbotd_source_start (RtcbotdSource *self)
{
  if (!self->start_id)
    self->start_id = g_idle_add (on_start, self);
}

void
rtcbotd_source_stop (RtcbotdSource *self)
{
  g_clear_handle_id (&self->start_id, g_source_remove);
  /* For good: neither a retry nor a consumer starts it again. */
  self->stopped = TRUE;
  capture_stop (self);
}

gboolean
rtcbotd_source_is_idle (RtcbotdSource *self)
{
  for (guint i = 0; i < self->branches->len; i++)
    if (((Branch *)self->branches->pdata[i])->users > 0)
      return FALSE;
  return self->teardowns == 0;
}

const RtcbotdSourceConfig *
rtcbotd_source_get_config (RtcbotdSource *self)
{
  return self->config;
}

RtcbotdCodec
rtcbotd_source_choose_codec (RtcbotdSource *self, const RtcbotdSdpMedia *media,
                             const RtcbotdSdpCodec **offered)
{
  static const RtcbotdCodec video[] = { RTCBOTD_CODEC_H264, RTCBOTD_CODEC_VP8 };

  *offered = NULL;
  /* Audio is Opus; a camera's own H.264 is all a passthrough source has. */
  if (self->config->kind == RTCBOTD_KIND_AUDIO || self->passthrough)
    {
      *offered = rtcbotd_sdp_media_find_codec (media, self->preferred);
      return *offered ? self->preferred : RTCBOTD_CODEC_NONE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (video); i++)
    {
      if (self->encoders[video[i]] == RTCBOTD_ENCODER_AUTO)
        continue;
      if ((*offered = rtcbotd_sdp_media_find_codec (media, video[i])))
        return video[i];
    }
  return RTCBOTD_CODEC_NONE;
}

/* Streaming thread of the encoder queue: serves a pending key-frame request on
 * the frame about to be encoded, at most once per KEY_FRAME_INTERVAL_US. */
static GstPadProbeReturn
on_raw_frame (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Branch *branch = user_data;
  gint64 now = g_get_monotonic_time ();
  gboolean send = FALSE;

  g_mutex_lock (&branch->lock);
  if (branch->key_frame_wanted && now - branch->last_key_frame >= KEY_FRAME_INTERVAL_US)
    {
      branch->key_frame_wanted = FALSE;
      branch->last_key_frame = now;
      send = TRUE;
    }
  g_mutex_unlock (&branch->lock);
  if (send)
    {
      g_autoptr (GstPad) src = gst_element_get_static_pad (branch->encoder_bin, "src");
      gst_pad_send_event (
          src, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
    }
  return GST_PAD_PROBE_OK;
}

/* Streaming thread of the encoder: counts what it produced; no lock, so the
 * encoder every viewer shares never waits for a /metrics request. */
static GstPadProbeReturn
on_encoded (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Counters *counters = user_data;
  guint frames = 1;
  gsize bytes;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    {
      GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
      frames = gst_buffer_list_length (list);
      bytes = gst_buffer_list_calculate_size (list);
    }
  else
    bytes = gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));
  if (!(info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
      && !GST_BUFFER_FLAG_IS_SET (GST_PAD_PROBE_INFO_BUFFER (info), GST_BUFFER_FLAG_DELTA_UNIT))
    atomic_fetch_add_explicit (&counters->key_frames, 1, memory_order_relaxed);
  atomic_fetch_add_explicit (&counters->frames, frames, memory_order_relaxed);
  atomic_fetch_add_explicit (&counters->bytes, bytes, memory_order_relaxed);
  atomic_store_explicit (&counters->last_frame, g_get_monotonic_time (), memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

/* Streaming thread of the raw tee: the encoder queue is full and, being
 * leaky, drops its oldest raw frame (one per overrun: it holds 2 buffers). */
static void
on_overrun (GstElement *queue, gpointer user_data)
{
  Counters *counters = user_data;

  atomic_fetch_add_explicit (&counters->dropped, 1, memory_order_relaxed);
}

static void
branch_want_key_frame (Branch *branch)
{
  g_mutex_lock (&branch->lock);
  branch->key_frame_wanted = TRUE;
  g_mutex_unlock (&branch->lock);
}

/* Streaming thread of a peer: a PLI/FIR turned into a force-key-unit event.
 * It joins the rate-limited request instead of reaching the encoder. */
static GstPadProbeReturn
on_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (!gst_video_event_is_force_key_unit (GST_PAD_PROBE_INFO_EVENT (info)))
    return GST_PAD_PROBE_OK;
  branch_want_key_frame (user_data);
  return GST_PAD_PROBE_DROP;
}

/* Takes a branch's elements out of the pipeline (those it has). */
static void
remove_elements (RtcbotdSource *self, Branch *branch)
{
  GstElement *elements[] = { branch->queue, branch->encoder_bin, branch->tee };

  for (guint i = 0; i < G_N_ELEMENTS (elements); i++)
    {
      if (!elements[i])
        continue;
      rtcbotd_element_discard (GST_BIN (self->pipeline), elements[i]);
      g_ptr_array_remove (self->elements, elements[i]);
    }
}

/* In place of an encoder for a camera's own H.264: a parser that repeats
 * SPS/PPS before every key frame, as the encoders do. */
static GstElement *
make_passthrough (RtcbotdSource *self, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GstElement *bin
      = gst_parse_bin_from_description (RTCBOTD_ENCODER_H264_OUTPUT, TRUE, &local_error);

  if (!bin)
    g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "[source %s]: passthrough: %s",
                 self->config->name, local_error->message);
  return bin;
}

/* Streaming thread of an encoded tee: ends the wait of a first consumer at
 * the first key frame (the first frame it can show). An atomic exchange, so
 * only one branch takes it. */
static GstPadProbeReturn
on_first_frame (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdSource *self = user_data;
  gint64 since;

  if (atomic_load_explicit (&self->first_wait, memory_order_relaxed) == 0
      || GST_BUFFER_FLAG_IS_SET (GST_PAD_PROBE_INFO_BUFFER (info), GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_OK;
  since = atomic_exchange (&self->first_wait, 0);
  if (since)
    {
      atomic_store (&self->first_frame_us, g_get_monotonic_time () - since);
      atomic_fetch_add (&self->first_frames, 1);
    }
  return GST_PAD_PROBE_OK;
}

static Branch *
branch_new (RtcbotdSource *self, RtcbotdCodec codec, GError **error)
{
  g_autofree Branch *branch = g_new0 (Branch, 1);
  g_autoptr (GstPad) queue_src = NULL;
  g_autoptr (GstPad) queue_sink = NULL;
  g_autoptr (GstPad) tee_sink = NULL;
  const char *role = rtcbotd_codec_to_string (codec);
  /* Numbered: a branch being torn down may still hold the previous names. */
  g_autofree char *queue_name = g_strdup_printf ("%s-%u-queue", role, ++self->branch_serial);
  g_autofree char *tee_name = g_strdup_printf ("%s-%u", role, self->branch_serial);

  branch->source = self;
  branch->codec = codec;
  branch->encoder = self->encoders[codec];
  branch->encoder_bin = self->passthrough
                            ? make_passthrough (self, error)
                            : rtcbotd_encoder_make (codec, branch->encoder, self->config, error);
  if (!branch->encoder_bin)
    return NULL;
  gst_bin_add (GST_BIN (self->pipeline), branch->encoder_bin);
  g_ptr_array_add (self->elements, gst_object_ref (branch->encoder_bin));
  if (!(branch->queue = add_element (self, "queue", queue_name, error))
      || !(branch->tee = add_element (self, "tee", tee_name, error)))
    {
      remove_elements (self, branch);
      return NULL;
    }
  /* Latency over smoothness: drop old raw frames rather than queue them. */
  g_object_set (branch->queue, "leaky", 2, "max-size-buffers", 2, "max-size-bytes", 0,
                "max-size-time", (guint64)0, NULL);
  g_object_set (branch->tee, "allow-not-linked", TRUE, NULL);
  if (!gst_element_link_many (branch->queue, branch->encoder_bin, branch->tee, NULL))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "[source %s]: cannot link the %s encoder", self->config->name, role);
      remove_elements (self, branch);
      return NULL;
    }
  g_mutex_init (&branch->lock);
  /* A passthrough has no bitrate of ours to set: the camera decides. */
  if (codec != RTCBOTD_CODEC_OPUS && !self->passthrough)
    branch->bitrate = self->config->bitrate;
  if (branch->bitrate && self->config->bitrate_mode == RTCBOTD_BITRATE_MIN_PEER)
    branch->rate
        = rtcbotd_rate_control_new (self->config->bitrate, RTCBOTD_RATE_CONTROL_FLOOR_KBPS);
  queue_src = gst_element_get_static_pad (branch->queue, "src");
  gst_pad_add_probe (queue_src, GST_PAD_PROBE_TYPE_BUFFER, on_raw_frame, branch, NULL);
  tee_sink = gst_element_get_static_pad (branch->tee, "sink");
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event, branch, NULL);
  branch->counters = &self->counters[codec];
  branch->counters->encoder = encoder_name (branch);
  branch->started = g_get_monotonic_time ();
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     on_encoded, branch->counters, NULL);
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_BUFFER, on_first_frame, self, NULL);
  g_signal_connect (branch->queue, "overrun", G_CALLBACK (on_overrun), branch->counters);
  gst_element_sync_state_with_parent (branch->tee);
  gst_element_sync_state_with_parent (branch->encoder_bin);
  gst_element_sync_state_with_parent (branch->queue);
  branch->raw_pad = gst_element_request_pad_simple (self->raw_tee, "src_%u");
  queue_sink = gst_element_get_static_pad (branch->queue, "sink");
  gst_pad_link (branch->raw_pad, queue_sink);
  g_debug ("[source %s]: %s encoder %s started", self->config->name, role,
           branch->encoder_bin ? GST_ELEMENT_NAME (branch->encoder_bin) : "");
  g_ptr_array_add (self->branches, branch);
  return g_steal_pointer (&branch);
}

Branch *
rtcbotd_source_find_branch (RtcbotdSource *self, RtcbotdCodec codec)
{
  for (guint i = 0; i < self->branches->len; i++)
    {
      Branch *branch = self->branches->pdata[i];
      if (branch->codec == codec)
        return branch;
    }
  return NULL;
}

RtcbotdCodec
rtcbotd_source_get_preferred_codec (RtcbotdSource *self)
{
  return self->preferred;
}

GstPad *
rtcbotd_source_acquire (RtcbotdSource *self, RtcbotdCodec codec, GError **error)
{
  Branch *branch = rtcbotd_source_find_branch (self, codec);

  if (!branch && !(branch = branch_new (self, codec, error)))
    return NULL;
  branch->users++;
  if (self->consumers++ == 0)
    {
      atomic_store (&self->first_wait, g_get_monotonic_time ());
      if (self->config->on_demand && self->capture_state == CAPTURE_STOPPED && !self->start_id
          && !self->stopped)
        capture_start (self);
    }
  return gst_element_request_pad_simple (branch->tee, "src_%u");
}

/* Main context: the branch is unlinked from the raw tee; stop and drop it. */
static gboolean
finish_teardown (gpointer user_data)
{
  Branch *branch = user_data;
  branch->source->teardowns--;
  remove_elements (branch->source, branch);
  g_debug ("[source %s]: %s encoder stopped, no peer uses it", branch->source->config->name,
           rtcbotd_codec_to_string (branch->codec));
  branch_free (branch);
  return G_SOURCE_REMOVE;
}

/* Streaming thread of the raw tee (or the caller's, when idle). */
static GstPadProbeReturn
on_raw_pad_idle (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Branch *branch = user_data;
  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (branch->queue, "sink");

  gst_pad_unlink (pad, queue_sink);
  gst_element_release_request_pad (branch->source->raw_tee, pad);
  g_main_context_invoke (NULL, finish_teardown, branch);
  return GST_PAD_PROBE_REMOVE;
}

void
rtcbotd_source_unuse (RtcbotdSource *self, RtcbotdCodec codec)
{
  Branch *branch = rtcbotd_source_find_branch (self, codec);
  guint index;

  if (!branch || branch->users == 0)
    return;
  if (--self->consumers == 0)
    {
      atomic_store (&self->first_wait, 0);
      if (self->config->on_demand)
        capture_stop (self);
    }
  if (--branch->users > 0 || codec == self->preferred)
    return;

  if (g_ptr_array_find (self->branches, branch, &index))
    g_ptr_array_steal_index (self->branches, index);
  self->teardowns++;
  gst_pad_add_probe (branch->raw_pad, GST_PAD_PROBE_TYPE_IDLE, on_raw_pad_idle, branch, NULL);
}

void
rtcbotd_source_request_key_frame (RtcbotdSource *self, RtcbotdCodec codec)
{
  Branch *branch = rtcbotd_source_find_branch (self, codec);

  if (branch)
    branch_want_key_frame (branch);
}

/* Main context: gives a min-peer encoder the bitrate its controller wants now. */
static void
update_rate (RtcbotdSource *self, Branch *branch)
{
  guint target;

  if (!branch->rate || !rtcbotd_rate_control_update (branch->rate, g_get_monotonic_time ()))
    return;
  target = rtcbotd_rate_control_get_target (branch->rate);
  g_message ("[source %s]: %s bitrate %u → %u kbit/s (bitrate-mode = min-peer)", self->config->name,
             encoder_name (branch), branch->bitrate, target);
  branch->bitrate = target;
  rtcbotd_encoder_set_bitrate (branch->encoder_bin, branch->encoder, target);
}

void
rtcbotd_source_set_estimate (RtcbotdSource *self, RtcbotdCodec codec, gconstpointer viewer,
                             guint kbps)
{
  Branch *branch = rtcbotd_source_find_branch (self, codec);

  if (!branch || !branch->rate)
    return;
  rtcbotd_rate_control_set_estimate (branch->rate, viewer, kbps, g_get_monotonic_time ());
  update_rate (self, branch); /* a step down is due at once, unless one was just made */
}

guint
rtcbotd_source_get_bitrate (RtcbotdSource *self, RtcbotdCodec codec)
{
  Branch *branch = rtcbotd_source_find_branch (self, codec);

  return branch ? branch->bitrate : 0;
}

char *
rtcbotd_source_describe_chain (RtcbotdSource *self)
{
  const RtcbotdSourceConfig *c = self->config;
  Branch *branch = rtcbotd_source_find_branch (self, self->preferred);
  g_autofree char *input = rtcbotd_capture_describe_input (c);
  g_autofree char *summary
      = self->passthrough
            ? g_strdup ("h264parse → H.264 (the camera's own, passed through, no encoder)")
            : rtcbotd_encoder_summary (self->preferred, self->encoders[self->preferred], c);
  g_autofree char *size = c->kind == RTCBOTD_KIND_VIDEO && c->width
                              ? g_strdup_printf (" %ux%u@%u", c->width, c->height, c->framerate)
                              : g_strdup ("");

  return g_strdup_printf ("%s%s → %s%s", input, size, summary, branch ? "" : " (not running)");
}

char *
rtcbotd_source_describe (RtcbotdSource *self)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < self->branches->len; i++)
    {
      Branch *branch = self->branches->pdata[i];
      g_string_append_printf (s, "%s%s via %s (%u peers)", i ? ", " : "",
                              rtcbotd_codec_to_string (branch->codec), encoder_name (branch),
                              branch->users);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ---- health and metrics -------------------------------------------------- */

gboolean
rtcbotd_source_owns (RtcbotdSource *self, GstObject *object)
{
  for (guint i = 0; i < self->elements->len; i++)
    if (gst_object_has_as_ancestor (object, self->elements->pdata[i]))
      return TRUE;
  return FALSE;
}

/* Why the source is down now, or NULL: a pipeline error that a branch has
 * produced no frame since, or a branch whose encoder has been silent for
 * STALL_S. A branch built after the error is judged on its own frames. */
static char *
down_reason (RtcbotdSource *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 captured = rtcbotd_stall_get_last_buffer (self->stall);

  /* A capture that does not run makes no frames: only its error counts. */
  if (self->capture_state != CAPTURE_RUNNING)
    return g_strdup (self->error);
  for (guint i = 0; i < self->branches->len; i++)
    {
      Branch *branch = self->branches->pdata[i];
      /* Encoded frames count only as far as the capture's own: the fillers
       * (rtcbotd-filler.h) keep an encoder busy while the capture gives nothing. */
      gint64 encoded = MIN (
          atomic_load_explicit (&branch->counters->last_frame, memory_order_relaxed), captured);
      gint64 frame = MAX (branch->started, encoded);
      gint64 last = MAX (frame, self->capture_started);
      /* A restart is no cure: down with the error until a frame comes after it. */
      if (self->error && frame <= self->error_time)
        return g_strdup (self->error);
      if (now - last > STALL_S * G_USEC_PER_SEC)
        return g_strdup_printf ("no frame from %s (%s) for more than %d s", encoder_name (branch),
                                rtcbotd_codec_to_string (branch->codec), STALL_S);
    }
  return NULL;
}

void
rtcbotd_source_update_health (RtcbotdSource *self)
{
  g_autofree char *reason = down_reason (self);

  if (g_strcmp0 (reason, self->reason) == 0)
    return;
  if (reason)
    g_warning ("[source %s]: down: %s", self->config->name, reason);
  else
    {
      g_message ("[source %s]: up", self->config->name);
      rtcbotd_backoff_reset (self->retry);
    }
  g_free (self->reason);
  self->reason = g_steal_pointer (&reason);
}

/* Logs each new first-frame wait (measured on a streaming thread) from here. */
static void
log_first_frame (RtcbotdSource *self)
{
  guint measured = atomic_load (&self->first_frames);

  if (measured == self->first_frames_logged)
    return;
  self->first_frames_logged = measured;
  g_message ("[source %s]: first key frame %.0f ms after the first consumer (%s)",
             self->config->name, atomic_load (&self->first_frame_us) / 1000.0,
             self->config->on_demand ? "on demand: capture started for it" : "capture running");
}

/* A running capture that gives nothing (a udpsrc's sender gone, a camera
 * that hangs) posts no error: it is failed here, logged once per stall, and
 * restarted with the retry backoff until buffers flow again. */
static void
check_stall (RtcbotdSource *self)
{
  g_autofree char *cause = NULL;

  if (self->capture_state != CAPTURE_RUNNING)
    return;
  if (rtcbotd_stall_is_flowing (self->stall))
    self->stalled = FALSE;
  if (!rtcbotd_stall_check (self->stall, GST_ELEMENT (self->capture)))
    return;
  cause = g_strdup_printf ("stalled: no frame for %.1f s",
                           rtcbotd_stall_get_timeout (self->stall) / (double)G_USEC_PER_SEC);
  if (!self->stalled)
    g_warning ("[source %s]: %s; restarting", self->config->name, cause);
  self->stalled = TRUE;
  capture_failed (self, cause);
}

/* Main context: while the capture gives nothing, every encoder a consumer
 * uses gets the last picture again (or silence), so no track times out. */
static void
push_fillers (RtcbotdSource *self)
{
  g_autoptr (GstClock) clock = NULL;
  GstClockTime now;

  if (!rtcbotd_filler_is_due (self->filler) || !(clock = gst_element_get_clock (self->pipeline)))
    return;
  /* A second back: a capture's frames carry their capture time, earlier than
   * their arrival, and the first one after an outage must not go backwards. */
  now = gst_clock_get_time (clock) - gst_element_get_base_time (self->pipeline);
  if (now < GST_SECOND)
    return;
  now -= GST_SECOND;
  for (guint i = 0; i < self->branches->len; i++)
    {
      Branch *branch = self->branches->pdata[i];
      g_autoptr (GstPad) sink = NULL;
      if (branch->users == 0)
        continue;
      sink = gst_element_get_static_pad (branch->queue, "sink");
      rtcbotd_filler_push (self->filler, sink, now);
    }
}

/* Main context, every second: a stall is noticed and logged even when nobody asks. */
static gboolean
on_health_check (gpointer user_data)
{
  RtcbotdSource *self = user_data;

  check_stall (self);
  push_fillers (self);
  rtcbotd_source_update_health (self);
  log_first_frame (self);
  /* Steps up (and stale estimates) need a clock, not only new reports. */
  for (guint i = 0; i < self->branches->len; i++)
    update_rate (self, self->branches->pdata[i]);
  return G_SOURCE_CONTINUE;
}

void
rtcbotd_source_set_error (RtcbotdSource *self, const char *element, const char *message)
{
  g_free (self->error);
  self->error = g_strdup_printf ("%s: %s", element, message);
  self->error_time = g_get_monotonic_time ();
  rtcbotd_source_update_health (self);
}

gboolean
rtcbotd_source_is_up (RtcbotdSource *self)
{
  rtcbotd_source_update_health (self);
  return self->reason == NULL;
}
