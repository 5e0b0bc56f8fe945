/* rtcbotd-daemon-report.c — what the daemon reports: /healthz, /metrics, status. */
#include "rtcbotd-daemon.h"

#include <json-glib/json-glib.h>

#include "rtcbotd-build-config.h"
#include "rtcbotd-daemon-private.h"
#include "rtcbotd-metrics.h"
#include "rtcbotd-outbound.h"
#include "rtcbotd-peer.h"
#include "rtcbotd-process.h"
#include "rtcbotd-source.h"

/* FALSE when a source or an endpoint is down: /healthz says "degraded". */
static gboolean
all_up (RtcbotdDaemon *self)
{
  for (guint i = 0; i < self->sources->len; i++)
    if (!rtcbotd_source_is_up (self->sources->pdata[i]))
      return FALSE;
  if (self->sinks && !rtcbotd_sink_set_all_up (self->sinks))
    return FALSE;
  return !self->control || rtcbotd_control_plane_all_up (self->control);
}

char *
rtcbotd_daemon_health_json (RtcbotdDaemon *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  GHashTableIter iter;
  gpointer peer;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, all_up (self) ? "ok" : "degraded");
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, RTCBOTD_VERSION);
  json_builder_set_member_name (b, "peers");
  json_builder_add_int_value (b, g_hash_table_size (self->peers));
  json_builder_set_member_name (b, "peer-states");
  json_builder_begin_object (b);
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &peer))
    {
      g_autofree char *id = g_strdup_printf ("%u", rtcbotd_peer_get_id (peer));
      json_builder_set_member_name (b, id);
      json_builder_add_string_value (b, rtcbotd_peer_get_state (peer));
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "sources");
  json_builder_begin_object (b);
  for (guint i = 0; i < self->sources->len; i++)
    {
      g_autofree char *chain = rtcbotd_source_describe (self->sources->pdata[i]);
      json_builder_set_member_name (b, rtcbotd_source_get_config (self->sources->pdata[i])->name);
      json_builder_add_string_value (b, chain);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "source-states");
  json_builder_begin_object (b);
  for (guint i = 0; i < self->sources->len; i++)
    {
      json_builder_set_member_name (b, rtcbotd_source_get_config (self->sources->pdata[i])->name);
      rtcbotd_source_add_health (self->sources->pdata[i], b);
    }
  json_builder_end_object (b);
  if (self->sinks)
    rtcbotd_sink_set_add_health (self->sinks, b);
  if (self->control)
    rtcbotd_control_plane_add_health (self->control, b);
  json_builder_set_member_name (b, "outbound");
  json_builder_begin_object (b);
  for (guint i = 0; i < self->outbounds->len; i++)
    rtcbotd_outbound_add_health (self->outbounds->pdata[i], b);
  json_builder_end_object (b);
  if (self->relay)
    rtcbotd_relay_client_add_health (self->relay, b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static gint
by_id (gconstpointer a, gconstpointer b)
{
  guint x = rtcbotd_peer_get_id ((RtcbotdPeer *)a), y = rtcbotd_peer_get_id ((RtcbotdPeer *)b);

  return x < y ? -1 : x > y;
}

static void
add_peer_metrics (RtcbotdDaemon *self, RtcbotdMetrics *m)
{
  g_autoptr (GList) peers = g_list_sort (g_hash_table_get_values (self->peers), by_id);
  guint connected = 0;

  for (GList *l = peers; l; l = l->next)
    connected += g_str_equal (rtcbotd_peer_get_state (l->data), "connected");
  rtcbotd_metrics_gauge (m, "rtcbotd_peers",
                         "Peers in the daemon's table, whatever their state (what max-peers "
                         "limits).",
                         g_hash_table_size (self->peers), NULL);
  rtcbotd_metrics_gauge (m, "rtcbotd_peers_connected", "Peers connected now.", connected, NULL);
  rtcbotd_metrics_gauge (m, "rtcbotd_peers_max", "The configured max-peers.",
                         self->config->max_peers, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_peers_accepted_total",
                           "Offers answered (peers accepted) since start.", self->accepted, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_memory_trims_total",
                           "malloc_trim() calls after peers left (rtcbotd-trim.h).",
                           rtcbotd_trim_get_count (self->trim), NULL);
  rtcbotd_metrics_gauge (m, "rtcbotd_memory_trim_pending",
                         "1 while the trim after the last peer left waits.",
                         rtcbotd_trim_is_pending (self->trim), NULL);
#define REFUSED(reason, value)                                                                     \
  rtcbotd_metrics_counter (m, "rtcbotd_peers_refused_total",                                       \
                           "Offers not answered: busy (max-peers, 503), bad-offer (400), "         \
                           "failed (500).",                                                        \
                           value, "reason", reason, NULL)
  REFUSED ("busy", self->refused_busy);
  REFUSED ("bad-offer", self->refused_offer);
  REFUSED ("failed", self->refused_failed);
#undef REFUSED
  for (GList *l = peers; l; l = l->next)
    rtcbotd_peer_add_metrics (l->data, m);
  g_list_free (g_steal_pointer (&peers));
  /* The peers of [peer NAME] groups: not in rtcbotd_peers, but their tracks count. */
  peers = g_list_sort (g_hash_table_get_values (self->outbound_peers), by_id);
  for (GList *l = peers; l; l = l->next)
    rtcbotd_peer_add_metrics (l->data, m);
}

char *
rtcbotd_daemon_metrics_text (RtcbotdDaemon *self)
{
  g_autoptr (RtcbotdMetrics) m = rtcbotd_metrics_new ();
  g_autofree char *gst = NULL;
  guint major, minor, micro, nano;

  gst_version (&major, &minor, &micro, &nano);
  gst = g_strdup_printf ("%u.%u.%u", major, minor, micro);
  rtcbotd_metrics_gauge (m, "rtcbotd_build_info", "Always 1; the labels say what runs.", 1,
                         "version", RTCBOTD_VERSION, "gstreamer", gst, NULL);
  rtcbotd_metrics_gauge (m, "rtcbotd_healthy",
                         "1 when every source and endpoint is up, 0 when /healthz says "
                         "degraded.",
                         all_up (self), NULL);
  rtcbotd_process_add_metrics (m);
  add_peer_metrics (self, m);
  if (self->http)
    rtcbotd_http_add_metrics (self->http, m);
  for (guint i = 0; i < self->sources->len; i++)
    rtcbotd_source_add_metrics (self->sources->pdata[i], m);
  if (self->sinks)
    rtcbotd_sink_set_add_metrics (self->sinks, m);
  if (self->control)
    rtcbotd_control_plane_add_metrics (self->control, m);
  for (guint i = 0; i < self->outbounds->len; i++)
    rtcbotd_outbound_add_metrics (self->outbounds->pdata[i], m);
  if (self->relay)
    rtcbotd_relay_client_add_metrics (self->relay, m);
  return rtcbotd_metrics_to_text (m);
}

char *
rtcbotd_daemon_status_text (RtcbotdDaemon *self)
{
  GString *status = g_string_new (NULL);
  guint n = g_hash_table_size (self->peers);
  gboolean playing = rtcbotd_daemon_wait_playing (self, 0, NULL);

  g_string_append_printf (status, "%u peer%s", n, n == 1 ? "" : "s");
  for (guint i = 0; i < self->sources->len; i++)
    g_string_append_printf (status, "%s%s %s", i ? ", " : "; sources: ",
                            rtcbotd_source_get_config (self->sources->pdata[i])->name,
                            !playing                                         ? "stopped"
                            : rtcbotd_source_is_up (self->sources->pdata[i]) ? "up"
                                                                             : "down");
  if (self->sinks)
    rtcbotd_sink_set_append_status (self->sinks, status);
  if (self->control)
    rtcbotd_control_plane_append_status (self->control, status);
  if (self->relay)
    g_string_append_printf (status, "; relay %s", rtcbotd_relay_client_get_state (self->relay));
  return g_string_free (status, FALSE);
}
