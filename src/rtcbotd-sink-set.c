/* rtcbotd-sink-set.c — the daemon's media sinks, built from the config and fed. */
#include "rtcbotd-sink-set.h"

#include "rtcbotd-config-media.h"
#include "rtcbotd-error.h"
#include "rtcbotd-source.h"

struct _RtcbotdSinkSet
{
  GstElement *pipeline;
  GPtrArray *sinks; /* of RtcbotdMediaSink: record, speaker, display, gst, rtp */
};

RtcbotdSinkSet *
rtcbotd_sink_set_new (GstElement *pipeline)
{
  RtcbotdSinkSet *self = g_new0 (RtcbotdSinkSet, 1);

  self->pipeline = pipeline;
  self->sinks = g_ptr_array_new ();
  return self;
}

void
rtcbotd_sink_set_clear (RtcbotdSinkSet *self, guint timeout_ms)
{
  for (guint i = 0; i < self->sinks->len; i++)
    rtcbotd_media_sink_free (self->sinks->pdata[i], timeout_ms);
  g_ptr_array_set_size (self->sinks, 0);
}

void
rtcbotd_sink_set_free (RtcbotdSinkSet *self)
{
  if (!self)
    return;
  rtcbotd_sink_set_clear (self, 0);
  g_ptr_array_unref (self->sinks);
  g_free (self);
}

gboolean
rtcbotd_sink_set_routed (const RtcbotdConfig *config, const char *source, const char *sink)
{
  for (guint i = 0; i < config->routes->len; i++)
    {
      const RtcbotdRouteConfig *r = config->routes->pdata[i];
      gboolean from = FALSE, to = FALSE;
      for (guint j = 0; j < r->from->len && !r->messages; j++)
        {
          const RtcbotdRouteEnd *end = r->from->pdata[j];
          from |= end->type == RTCBOTD_NODE_NAMED && g_str_equal (end->name, source);
        }
      for (guint j = 0; j < r->to->len && from; j++)
        {
          const RtcbotdRouteEnd *end = r->to->pdata[j];
          to |= end->type == RTCBOTD_NODE_MEDIA_SINK && (!sink || g_str_equal (end->name, sink));
        }
      if (to)
        return TRUE;
    }
  return FALSE;
}

static RtcbotdSource *
find_source (GPtrArray *sources, const char *name)
{
  for (guint i = 0; i < sources->len; i++)
    if (g_str_equal (rtcbotd_source_get_config (sources->pdata[i])->name, name))
      return sources->pdata[i];
  return NULL;
}

/* Feeds @sink the running sources that @config routes to it. */
static gboolean
connect_sink (const RtcbotdConfig *config, GPtrArray *sources, RtcbotdMediaSink *sink,
              GError **error)
{
  const char *name = rtcbotd_media_sink_get_config (sink)->name;

  for (guint i = 0; i < config->sources->len; i++)
    {
      const char *source_name = ((RtcbotdSourceConfig *)config->sources->pdata[i])->name;
      RtcbotdSource *source = find_source (sources, source_name);
      if (source && rtcbotd_sink_set_routed (config, source_name, name)
          && !rtcbotd_media_sink_add_source (sink, source, error))
        return FALSE;
    }
  return TRUE;
}

static RtcbotdMediaSink *
new_sink (RtcbotdSinkSet *self, const RtcbotdMediaSinkConfig *c, guint generation, GError **error)
{
  RtcbotdMediaSink *sink;

  if ((sink = rtcbotd_media_sink_new (c, self->pipeline, generation, error)))
    g_message ("%s: %s %s", c->label,
               c->type == RTCBOTD_MEDIA_SINK_RECORD ? "record to"
               : c->type == RTCBOTD_MEDIA_SINK_GST  ? "gst,"
                                                    : rtcbotd_media_sink_type_names[c->type],
               c->type == RTCBOTD_MEDIA_SINK_RECORD ? c->path
               : c->type == RTCBOTD_MEDIA_SINK_GST  ? c->pipeline
               : c->type == RTCBOTD_MEDIA_SINK_RTP  ? c->host
               : c->output == RTCBOTD_OUTPUT_ALSA   ? "alsa"
               : c->output == RTCBOTD_OUTPUT_PULSE  ? "pulse"
               : c->output == RTCBOTD_OUTPUT_KMS    ? "kms"
                                                    : "auto");
  return sink;
}

gboolean
rtcbotd_sink_set_build (RtcbotdSinkSet *self, const RtcbotdConfig *config, GPtrArray *sources,
                        GError **error)
{
  for (guint i = 0; i < config->media_sinks->len; i++)
    {
      RtcbotdMediaSink *sink = new_sink (self, config->media_sinks->pdata[i], 0, error);
      if (!sink && *error)
        return FALSE;
      if (!sink)
        continue;
      g_ptr_array_add (self->sinks, sink);
      if (!connect_sink (config, sources, sink, error))
        return FALSE;
    }
  return TRUE;
}

static RtcbotdMediaSink *
find_sink (GPtrArray *sinks, const char *name, guint *index)
{
  for (guint i = 0; i < sinks->len; i++)
    if (g_str_equal (rtcbotd_media_sink_get_config (sinks->pdata[i])->name, name))
      {
        if (index)
          *index = i;
        return sinks->pdata[i];
      }
  return NULL;
}

/* TRUE when the running sink @name can stay as it is under @next: same group,
 * fed by the same sources, none of them rebuilt. */
static gboolean
sink_unchanged (RtcbotdSinkSet *self, RtcbotdConfig *next, RtcbotdConfig *current, const char *name)
{
  if (!find_sink (self->sinks, name, NULL)
      || !rtcbotd_config_same (next, current, RTCBOTD_CONFIG_MEDIA_SINK, name))
    return FALSE;
  for (guint i = 0; i < next->sources->len; i++)
    {
      const char *source = ((RtcbotdSourceConfig *)next->sources->pdata[i])->name;
      gboolean now = rtcbotd_sink_set_routed (next, source, name);
      if (now != rtcbotd_sink_set_routed (current, source, name)
          || (now && !rtcbotd_config_same (next, current, RTCBOTD_CONFIG_SOURCE, source)))
        return FALSE;
    }
  for (guint i = 0; i < current->sources->len; i++)
    {
      const char *source = ((RtcbotdSourceConfig *)current->sources->pdata[i])->name;
      if (rtcbotd_sink_set_routed (current, source, name)
          && !rtcbotd_config_find_source (next, source))
        return FALSE;
    }
  return TRUE;
}

gboolean
rtcbotd_sink_set_build_changed (RtcbotdSinkSet *self, RtcbotdConfig *next, RtcbotdConfig *current,
                                guint generation, GPtrArray *built, GError **error)
{
  for (guint i = 0; i < next->media_sinks->len; i++)
    {
      const RtcbotdMediaSinkConfig *c = next->media_sinks->pdata[i];
      RtcbotdMediaSink *sink;
      if (sink_unchanged (self, next, current, c->name))
        continue;
      if (!(sink = new_sink (self, c, generation, error)) && *error)
        return FALSE;
      if (sink)
        g_ptr_array_add (built, sink);
    }
  return TRUE;
}

/* Their files end here: before the sources they use may go. */
void
rtcbotd_sink_set_retire (RtcbotdSinkSet *self, RtcbotdConfig *next, RtcbotdConfig *current)
{
  for (guint i = self->sinks->len; i > 0; i--)
    {
      RtcbotdMediaSink *sink = self->sinks->pdata[i - 1];
      const char *name = rtcbotd_media_sink_get_config (sink)->name;
      if (sink_unchanged (self, next, current, name))
        continue;
      g_message ("%s: stopped (reload)", rtcbotd_media_sink_get_config (sink)->label);
      g_ptr_array_remove_index (self->sinks, i - 1);
      rtcbotd_media_sink_free (sink, RTCBOTD_SINK_SET_FINISH_MS);
    }
}

/* After the sources are in place. */
GPtrArray *
rtcbotd_sink_set_commit (RtcbotdSinkSet *self, RtcbotdConfig *next, RtcbotdConfig *current,
                         GPtrArray *sources, GPtrArray *built)
{
  GPtrArray *kept = g_ptr_array_copy (self->sinks, NULL, NULL);

  for (guint i = 0; i < self->sinks->len; i++)
    rtcbotd_config_take_unchanged (next, current, RTCBOTD_CONFIG_MEDIA_SINK,
                                   rtcbotd_media_sink_get_config (self->sinks->pdata[i])->name);
  while (built->len > 0)
    {
      RtcbotdMediaSink *sink = g_ptr_array_steal_index (built, 0);
      g_autoptr (GError) error = NULL;
      if (!connect_sink (next, sources, sink, &error))
        g_warning ("reload: %s", error->message);
      g_ptr_array_add (self->sinks, sink);
    }
  return kept;
}

GPtrArray *
rtcbotd_sink_set_for_peers (RtcbotdSinkSet *self, const RtcbotdConfig *config, RtcbotdKind kind)
{
  RtcbotdNodeType node
      = kind == RTCBOTD_KIND_AUDIO ? RTCBOTD_NODE_PEERS_AUDIO : RTCBOTD_NODE_PEERS_VIDEO;
  GPtrArray *sinks = g_ptr_array_new ();

  for (guint i = 0; i < config->routes->len; i++)
    {
      const RtcbotdRouteConfig *r = config->routes->pdata[i];
      gboolean from = FALSE;
      for (guint j = 0; j < r->from->len; j++)
        from |= ((RtcbotdRouteEnd *)r->from->pdata[j])->type == node;
      for (guint j = 0; j < r->to->len && from; j++)
        {
          const RtcbotdRouteEnd *end = r->to->pdata[j];
          RtcbotdMediaSink *sink = end->type == RTCBOTD_NODE_MEDIA_SINK
                                       ? find_sink (self->sinks, end->name, NULL)
                                       : NULL;
          if (sink && !g_ptr_array_find (sinks, sink, NULL))
            g_ptr_array_add (sinks, sink);
        }
    }
  return sinks;
}

void
rtcbotd_sink_set_remove_peer (RtcbotdSinkSet *self, guint peer_id)
{
  for (guint i = 0; i < self->sinks->len; i++)
    rtcbotd_media_sink_remove_peer (self->sinks->pdata[i], peer_id);
}

void
rtcbotd_sink_set_feed_stream (RtcbotdSinkSet *self, const RtcbotdConfig *config, guint peer_id,
                              RtcbotdInbound *inbound, GPtrArray *fed)
{
  RtcbotdKind kind = rtcbotd_inbound_get_kind (inbound);
  g_autoptr (GPtrArray) sinks = rtcbotd_sink_set_for_peers (self, config, kind);

  for (guint i = 0; i < sinks->len; i++)
    {
      g_autoptr (GstPad) pad = NULL;
      g_autoptr (GError) error = NULL;
      if (fed && g_ptr_array_find (fed, sinks->pdata[i], NULL))
        continue;
      pad = rtcbotd_inbound_acquire_pad (inbound);
      if (rtcbotd_media_sink_add_peer_stream (sinks->pdata[i], peer_id, pad, &error))
        continue;
      g_warning ("peer %u: its %s does not go to %s: %s", peer_id, rtcbotd_kind_to_string (kind),
                 rtcbotd_media_sink_get_config (sinks->pdata[i])->label, error->message);
      /* Refused, the sink holds nothing of it: the tee pad would only wait for the peer to go. */
      rtcbotd_inbound_release_pad (inbound, pad);
    }
}

gboolean
rtcbotd_sink_set_all_up (RtcbotdSinkSet *self)
{
  for (guint i = 0; i < self->sinks->len; i++)
    if (!rtcbotd_media_sink_is_up (self->sinks->pdata[i]))
      return FALSE;
  return TRUE;
}

void
rtcbotd_sink_set_add_health (RtcbotdSinkSet *self, JsonBuilder *b)
{
  json_builder_set_member_name (b, "sinks");
  json_builder_begin_object (b);
  for (guint i = 0; i < self->sinks->len; i++)
    {
      json_builder_set_member_name (b, rtcbotd_media_sink_get_config (self->sinks->pdata[i])->name);
      rtcbotd_media_sink_add_health (self->sinks->pdata[i], b);
    }
  json_builder_end_object (b);
}

void
rtcbotd_sink_set_add_metrics (RtcbotdSinkSet *self, RtcbotdMetrics *m)
{
  for (guint i = 0; i < self->sinks->len; i++)
    rtcbotd_media_sink_add_metrics (self->sinks->pdata[i], m);
}

void
rtcbotd_sink_set_append_status (RtcbotdSinkSet *self, GString *status)
{
  for (guint i = 0; i < self->sinks->len; i++)
    g_string_append_printf (status, "%s%s %s", i ? ", " : "; sinks: ",
                            rtcbotd_media_sink_get_config (self->sinks->pdata[i])->name,
                            rtcbotd_media_sink_is_up (self->sinks->pdata[i]) ? "up" : "down");
}
