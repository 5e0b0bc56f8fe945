/* rtcbotd-source-report.c — what a source reports: /healthz and /metrics. */
#include "rtcbotd-source-private.h"

static const char *
capture_state_name (RtcbotdSource *self)
{
  return self->capture_state == CAPTURE_RUNNING  ? "running"
         : self->capture_state == CAPTURE_FAILED ? "retrying"
                                                 : "stopped";
}

void
rtcbotd_source_add_health (RtcbotdSource *self, JsonBuilder *builder)
{
  guint64 frames = 0;

  rtcbotd_source_update_health (self);
  for (guint codec = 0; codec < N_CODECS; codec++)
    frames += atomic_load_explicit (&self->counters[codec].frames, memory_order_relaxed);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, self->reason ? "down" : "up");
  if (self->reason)
    {
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, self->reason);
    }
  json_builder_set_member_name (builder, "frames");
  json_builder_add_int_value (builder, frames);
  json_builder_set_member_name (builder, "capture");
  json_builder_add_string_value (builder, capture_state_name (self));
  json_builder_set_member_name (builder, "restarts");
  json_builder_add_int_value (builder, self->restarts);
  if (atomic_load (&self->first_frames) > 0)
    {
      json_builder_set_member_name (builder, "first-frame-ms");
      json_builder_add_double_value (builder, atomic_load (&self->first_frame_us) / 1000.0);
    }
  json_builder_end_object (builder);
}

void
rtcbotd_source_add_metrics (RtcbotdSource *self, RtcbotdMetrics *m)
{
  const char *name = self->config->name;

  rtcbotd_source_update_health (self);
  rtcbotd_metrics_gauge (m, "rtcbotd_source_up",
                         "1 while every encoder of the source produces frames, 0 when it is "
                         "down (stalled or failed; /healthz says why).",
                         self->reason ? 0 : 1, "source", name, NULL);
  rtcbotd_metrics_gauge (m, "rtcbotd_source_capturing",
                         "1 while the source's capture runs; 0 while it is stopped (on "
                         "demand, nothing consumes it) or failed and waiting to retry.",
                         self->capture_state == CAPTURE_RUNNING, "source", name, NULL);
  if (atomic_load (&self->first_frames) > 0)
    rtcbotd_metrics_gauge (m, "rtcbotd_source_first_frame_seconds",
                           "From the last first consumer (after none) to its first key frame.",
                           atomic_load (&self->first_frame_us) / 1e6, "source", name, NULL);
  for (RtcbotdCodec codec = RTCBOTD_CODEC_NONE + 1; codec < N_CODECS; codec++)
    {
      Counters *c = &self->counters[codec];
      Branch *branch = rtcbotd_source_find_branch (self, codec);
      const char *codec_name = rtcbotd_codec_to_string (codec);
#define LABELS "source", name, "codec", codec_name, "encoder", c->encoder, NULL
      if (!c->encoder)
        continue;
      rtcbotd_metrics_counter (m, "rtcbotd_source_frames_total",
                               "Buffers the encoder produced: video frames, Opus packets.",
                               atomic_load_explicit (&c->frames, memory_order_relaxed), LABELS);
      rtcbotd_metrics_counter (m, "rtcbotd_source_encoded_bytes_total",
                               "Bytes the encoder produced.",
                               atomic_load_explicit (&c->bytes, memory_order_relaxed), LABELS);
      rtcbotd_metrics_counter (m, "rtcbotd_source_frames_dropped_total",
                               "Raw frames dropped before the encoder because it lagged behind "
                               "the capture (leaky queue).",
                               atomic_load_explicit (&c->dropped, memory_order_relaxed), LABELS);
      rtcbotd_metrics_gauge (m, "rtcbotd_source_viewers", "Connected peers the encoder feeds now.",
                             branch ? branch->users : 0, LABELS);
      rtcbotd_metrics_counter (m, "rtcbotd_source_key_frames_total",
                               "Key frames the encoder produced: periodic, for joining viewers "
                               "and for their PLI/FIR requests.",
                               atomic_load_explicit (&c->key_frames, memory_order_relaxed), LABELS);
      if (branch && branch->bitrate)
        rtcbotd_metrics_gauge (m, "rtcbotd_source_bitrate_kbps",
                               "The bitrate the encoder is set to now, kbit/s: the configured one, "
                               "or with bitrate-mode = min-peer the slowest viewer's estimate.",
                               branch->bitrate, LABELS);
#undef LABELS
    }
}
