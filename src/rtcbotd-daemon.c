/* rtcbotd-daemon.c — the daemon: configuration, pipeline, sources, peers, HTTP. */
#include "rtcbotd-daemon.h"
#include "rtcbotd-daemon-private.h"

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "rtcbotd-build-config.h"
#include "rtcbotd-capture.h"
#include "rtcbotd-config-media.h"
#include "rtcbotd-control-plane.h"
#include "rtcbotd-error.h"
#include "rtcbotd-http.h"
#include "rtcbotd-inbound.h"
#include "rtcbotd-media-sink.h"
#include "rtcbotd-metrics.h"
#include "rtcbotd-outbound.h"
#include "rtcbotd-peer-streams.h"
#include "rtcbotd-peer.h"
#include "rtcbotd-process.h"
#include "rtcbotd-relay-client.h"
#include "rtcbotd-sdp.h"
#include "rtcbotd-signaling.h"
#include "rtcbotd-sink-set.h"
#include "rtcbotd-source.h"

#define STOP_TIMEOUT_US (3 * G_USEC_PER_SEC)
#define REAP_INTERVAL_MS 200

G_DEFINE_FINAL_TYPE (RtcbotdDaemon, rtcbotd_daemon, G_TYPE_OBJECT)

enum
{
  SIGNAL_PEERS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
rtcbotd_daemon_finalize (GObject *object)
{
  RtcbotdDaemon *self = RTCBOTD_DAEMON (object);

  rtcbotd_daemon_stop (self);
  g_clear_pointer (&self->outbounds, g_ptr_array_unref);
  g_clear_pointer (&self->outbound_peers, g_hash_table_unref);
  g_clear_pointer (&self->relay, rtcbotd_relay_client_free);
  g_clear_pointer (&self->http, rtcbotd_http_free);
  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_clear_pointer (&self->sources, g_ptr_array_unref);
  g_clear_pointer (&self->retired, g_ptr_array_unref);
  g_clear_pointer (&self->sinks, rtcbotd_sink_set_free);
  g_clear_pointer (&self->control, rtcbotd_control_plane_free);
  g_clear_object (&self->pipeline);
  g_clear_pointer (&self->config, rtcbotd_config_free);
  g_clear_pointer (&self->trim, rtcbotd_trim_free);
  G_OBJECT_CLASS (rtcbotd_daemon_parent_class)->finalize (object);
}

static void
rtcbotd_daemon_class_init (RtcbotdDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rtcbotd_daemon_finalize;
  signals[SIGNAL_PEERS_CHANGED]
      = g_signal_new ("peers-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 0);
}

static void
rtcbotd_daemon_init (RtcbotdDaemon *self)
{
  self->peers = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_object_unref);
  self->outbounds = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_outbound_free);
  self->outbound_peers
      = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_object_unref);
  self->sources = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_source_free);
  self->retired = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_source_free);
  self->next_peer_id = 1;
  self->trim = rtcbotd_trim_new (RTCBOTD_DAEMON_TRIM_DELAY_MS);
}

RtcbotdDaemon *
rtcbotd_daemon_new (RtcbotdConfig *config)
{
  RtcbotdDaemon *self = g_object_new (RTCBOTD_TYPE_DAEMON, NULL);

  self->config = config;
  return self;
}

guint
rtcbotd_daemon_get_n_peers (RtcbotdDaemon *self)
{
  return g_hash_table_size (self->peers);
}

static void
on_peer_closed (RtcbotdPeer *peer, RtcbotdDaemon *self)
{
  g_message ("peer %u: gone (%u left)", rtcbotd_peer_get_id (peer),
             g_hash_table_size (self->peers) - 1);
  g_hash_table_remove (self->peers, GUINT_TO_POINTER (rtcbotd_peer_get_id (peer)));
  g_signal_emit (self, signals[SIGNAL_PEERS_CHANGED], 0);
  /* Without this the RSS of a daemon that saw many peers come and go
   * creeps up by megabytes (bench/soak): see rtcbotd-trim.h. */
  rtcbotd_trim_after_peer (self->trim);
}

/* Main context: the peer's streams leave the sinks (recordings are finished)
 * before its elements go. */
static void
free_sink_now (RtcbotdMediaSink *sink)
{
  rtcbotd_media_sink_free (sink, 0);
}

/* Main context: a stream @peer sends flows. */
static void
on_peer_stream (RtcbotdPeer *peer, gpointer inbound, RtcbotdDaemon *self)
{
  rtcbotd_sink_set_feed_stream (self->sinks, self->config, rtcbotd_peer_get_id (peer), inbound,
                                NULL);
}

/* Main context, after a reload: media sinks it built (not in @kept) get the
 * streams connected peers already send. */
static void
feed_new_sinks (RtcbotdDaemon *self, GPtrArray *kept)
{
  GHashTableIter iter;
  gpointer peer;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &peer))
    for (guint i = 0; i < rtcbotd_peer_get_streams (peer)->len; i++)
      rtcbotd_sink_set_feed_stream (self->sinks, self->config, rtcbotd_peer_get_id (peer),
                                    rtcbotd_peer_get_streams (peer)->pdata[i], kept);
}

static void
on_peer_closing (RtcbotdPeer *peer, RtcbotdDaemon *self)
{
  rtcbotd_daemon_remove_peer_streams (self, rtcbotd_peer_get_id (peer));
}

GPtrArray *
rtcbotd_daemon_get_peer_sinks (RtcbotdDaemon *self, RtcbotdKind kind)
{
  return rtcbotd_sink_set_for_peers (self->sinks, self->config, kind);
}

void
rtcbotd_daemon_remove_peer_streams (RtcbotdDaemon *self, guint peer_id)
{
  rtcbotd_sink_set_remove_peer (self->sinks, peer_id);
}

static RtcbotdPeer *
peer_owning (RtcbotdDaemon *self, GstObject *object)
{
  GHashTableIter iter;
  gpointer peer;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &peer))
    if (rtcbotd_peer_owns (peer, object))
      return peer;
  g_hash_table_iter_init (&iter, self->outbound_peers);
  while (g_hash_table_iter_next (&iter, NULL, &peer))
    if (rtcbotd_peer_owns (peer, object))
      return peer;
  return NULL;
}

static RtcbotdSource *
source_owning (RtcbotdDaemon *self, GstObject *object)
{
  for (guint i = 0; i < self->sources->len; i++)
    if (rtcbotd_source_owns (self->sources->pdata[i], object))
      return self->sources->pdata[i];
  return NULL;
}

/* Main context. An error inside a peer (SCTP going away, DTLS failing) closes
 * that peer only; the shared pipeline keeps running for everyone else. */
static gboolean
on_bus_message (GstBus *bus, GstMessage *message, gpointer user_data)
{
  RtcbotdDaemon *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;
  RtcbotdPeer *peer;
  RtcbotdSource *source;

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ERROR
      && GST_MESSAGE_TYPE (message) != GST_MESSAGE_WARNING)
    return G_SOURCE_CONTINUE;
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    gst_message_parse_error (message, &error, &debug);
  else
    gst_message_parse_warning (message, &error, &debug);
  peer = peer_owning (self, GST_MESSAGE_SRC (message));
  source = source_owning (self, GST_MESSAGE_SRC (message));
  /* A stream a peer sends that its depayloader or parser cannot read is counted for /metrics. */
  if (peer && rtcbotd_peer_count_stream_error (peer, GST_MESSAGE_SRC (message)))
    g_message ("peer %u: its stream: %s: %s", rtcbotd_peer_get_id (peer),
               GST_MESSAGE_SRC_NAME (message), error->message);
  if (peer && GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      /* Usually the peer left without closing: sctpenc cannot write any more. */
      g_autofree char *reason = g_strdup_printf ("left or failed (%s: %s)",
                                                 GST_MESSAGE_SRC_NAME (message), error->message);
      rtcbotd_peer_close (peer, reason);
    }
  else if (source && GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_debug ("%s: %s", GST_MESSAGE_SRC_NAME (message), debug ? debug : "");
      rtcbotd_source_set_error (source, GST_MESSAGE_SRC_NAME (message), error->message);
    }
  else if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    g_warning ("%s: %s (%s)", GST_MESSAGE_SRC_NAME (message), error->message, debug ? debug : "");
  else
    g_debug ("%s: %s", GST_MESSAGE_SRC_NAME (message), error->message);
  return G_SOURCE_CONTINUE;
}

/* The first peer would pay for plugin loading and the DTLS certificate
 * (300-700 ms); pay it once at start-up instead. One certificate serves all. */
static gboolean
warm_up (GError **error)
{
  static const char *const factories[]
      = { "webrtcbin", "dtlsdec", "dtlsenc", "srtpenc",  "srtpdec",
          "sctpenc",   "sctpdec", "nicesrc", "nicesink", "rtpbin" };

  for (guint i = 0; i < G_N_ELEMENTS (factories); i++)
    {
      GstElement *element = gst_element_factory_make (factories[i], NULL);
      if (!element)
        {
          g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INTERNAL,
                       "the GStreamer element \"%s\" is not installed (Debian: "
                       "gstreamer1.0-plugins-bad, gstreamer1.0-nice)",
                       factories[i]);
          return FALSE;
        }
      gst_object_unref (gst_object_ref_sink (element));
    }
  return TRUE;
}

/* A source runs when something consumes it: the peers or a media sink. */
static gboolean
source_wanted (const RtcbotdConfig *config, const char *name)
{
  return rtcbotd_config_source_routed_to_peers (config, name)
         || rtcbotd_sink_set_routed (config, name, NULL);
}

static gboolean
build_sources (RtcbotdDaemon *self, GError **error)
{
  for (guint i = 0; i < self->config->sources->len; i++)
    {
      const RtcbotdSourceConfig *c = self->config->sources->pdata[i];
      RtcbotdSource *source;
      g_autofree char *chain = NULL;

      if (!source_wanted (self->config, c->name))
        {
          g_message ("[source %s]: not routed to peers or a sink; not started", c->name);
          continue;
        }
      if (!(source = rtcbotd_source_new (c, self->pipeline, 0, error)))
        return FALSE;
      g_ptr_array_add (self->sources, source);
      chain = rtcbotd_source_describe_chain (source);
      g_message ("[source %s]: %s", c->name, chain);
    }
  return TRUE;
}

/* ---- peers the daemon offers to ([peer NAME]) ---------------------------- */

static void
on_outbound_peer_closed (RtcbotdPeer *peer, RtcbotdDaemon *self)
{
  g_hash_table_remove (self->outbound_peers, GUINT_TO_POINTER (rtcbotd_peer_get_id (peer)));
}

/* Main context, for each attempt of an outbound: a peer like /connect's, but
 * outside the peers table (max-peers counts viewers; the "peers" node is theirs). */
static RtcbotdPeer *
new_outbound_peer (const RtcbotdPeerConfig *config, GArray *tracks, gpointer user_data,
                   GError **error)
{
  RtcbotdDaemon *self = user_data;
  g_autoptr (GArray) planned = rtcbotd_outbound_plan_tracks (config, self->sources);
  guint id = self->next_peer_id++;
  RtcbotdPeer *peer = rtcbotd_peer_new (id, self->pipeline, self->config->peer_timeout);

  if (!peer)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INTERNAL, "cannot create a webrtcbin");
      return NULL;
    }
  g_array_append_vals (tracks, planned->data, planned->len);
  rtcbotd_peer_set_message_rate (peer, self->config->max_messages_per_second);
  rtcbotd_peer_use_ice_servers (peer, self->config->ice_servers, self->config->ice_relay_only);
  g_hash_table_insert (self->outbound_peers, GUINT_TO_POINTER (id), peer);
  g_signal_connect (peer, "closed", G_CALLBACK (on_outbound_peer_closed), self);
  rtcbotd_control_plane_add_outbound_peer (self->control, config->name, peer);
  g_debug ("peer %u: offer to %s with %u track(s) to send", id, config->label, planned->len);
  return g_object_ref (peer);
}

static void
start_outbound (RtcbotdDaemon *self, const RtcbotdPeerConfig *config)
{
  RtcbotdOutbound *outbound = rtcbotd_outbound_new (config, new_outbound_peer, self);

  g_ptr_array_add (self->outbounds, outbound);
  rtcbotd_outbound_start (outbound);
}

/* Unchanged [peer] groups stay connected; changed, new and removed ones
 * reconnect, start and stop. */
static void
reload_outbounds (RtcbotdDaemon *self, RtcbotdConfig *config)
{
  g_autoptr (GPtrArray) previous = g_steal_pointer (&self->outbounds);
  g_autoptr (GPtrArray) added = g_ptr_array_new ();

  self->outbounds = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_outbound_free);
  for (guint i = 0; i < config->peers->len; i++)
    {
      const RtcbotdPeerConfig *c = config->peers->pdata[i];
      gboolean kept = FALSE;
      for (guint j = 0; j < previous->len && !kept; j++)
        {
          const RtcbotdPeerConfig *running = rtcbotd_outbound_get_config (previous->pdata[j]);
          if (!g_str_equal (running->name, c->name)
              || g_strcmp0 (running->fingerprint, c->fingerprint) != 0)
            continue;
          g_ptr_array_add (self->outbounds, g_ptr_array_steal_index (previous, j));
          kept = TRUE;
        }
      if (!kept)
        g_ptr_array_add (added, (gpointer)c);
    }
  for (guint i = 0; i < previous->len; i++)
    g_message ("%s: stopped (reload)", rtcbotd_outbound_get_config (previous->pdata[i])->label);
  g_ptr_array_set_size (previous, 0);
  for (guint i = 0; i < added->len; i++)
    start_outbound (self, added->pdata[i]);
}

/* Holds the websocket [daemon] relay asks for: a new one when the URL or the
 * secret changed, none without the key; the tokens follow the config. */
static void
apply_relay (RtcbotdDaemon *self)
{
  const RtcbotdConfig *c = self->config;

  if (self->relay
      && !rtcbotd_relay_client_is_for (self->relay, c->relay, c->relay_secret, c->relay_ca))
    g_clear_pointer (&self->relay, rtcbotd_relay_client_free);
  if (c->relay && !self->relay)
    self->relay = rtcbotd_relay_client_new (self, c->relay, c->relay_secret, c->relay_ca);
  if (self->relay)
    rtcbotd_relay_client_set_tokens (self->relay, c->token, c->viewer_token);
}

gboolean
rtcbotd_daemon_start (RtcbotdDaemon *self, GError **error)
{
  g_autoptr (GstBus) bus = NULL;

  if (!warm_up (error))
    return FALSE;
  self->pipeline = gst_object_ref_sink (gst_pipeline_new ("rtcbotd"));
  bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_watch_id = gst_bus_add_watch (bus, on_bus_message, self);
  self->sinks = rtcbotd_sink_set_new (self->pipeline);
  if (!build_sources (self, error)
      || !rtcbotd_sink_set_build (self->sinks, self->config, self->sources, error))
    return FALSE;
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "the media pipeline does not start (run with --verbose for details)");
      return FALSE;
    }
  /* Capture bins are locked: each source starts (and retries) its own. */
  for (guint i = 0; i < self->sources->len; i++)
    rtcbotd_source_start (self->sources->pdata[i]);
  self->http = rtcbotd_http_new (self, self->config);
  self->control = rtcbotd_control_plane_new (self->config);
  if (!rtcbotd_control_plane_start (self->control, rtcbotd_http_get_server (self->http), error)
      || !rtcbotd_http_listen (self->http, error))
    return FALSE;
  apply_relay (self);
  for (guint i = 0; i < self->config->peers->len; i++)
    start_outbound (self, self->config->peers->pdata[i]);
  return TRUE;
}

/* ---- reload ------------------------------------------------------------ */

static RtcbotdSource *
find_source (GPtrArray *sources, const char *name, guint *index)
{
  for (guint i = 0; i < sources->len; i++)
    if (g_str_equal (rtcbotd_source_get_config (sources->pdata[i])->name, name))
      {
        if (index)
          *index = i;
        return sources->pdata[i];
      }
  return NULL;
}

/* Builds, not yet playing, the sources that @config adds or changes. */
static gboolean
build_changed_sources (RtcbotdDaemon *self, RtcbotdConfig *config, GPtrArray *built, GError **error)
{
  self->generation++;
  for (guint i = 0; i < config->sources->len; i++)
    {
      const RtcbotdSourceConfig *c = config->sources->pdata[i];
      RtcbotdSource *source;
      if (!source_wanted (config, c->name)
          || (find_source (self->sources, c->name, NULL)
              && rtcbotd_config_same (config, self->config, RTCBOTD_CONFIG_SOURCE, c->name)))
        continue;
      if (!(source = rtcbotd_source_new (c, self->pipeline, self->generation, error)))
        return FALSE;
      g_ptr_array_add (built, source);
    }
  return TRUE;
}

/* TRUE while a peer still in the table (closing, say) has a track of @source. */
static gboolean
used_by_a_peer (RtcbotdDaemon *self, RtcbotdSource *source)
{
  GHashTableIter iter;
  gpointer peer;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &peer))
    if (rtcbotd_peer_uses_source (peer, source))
      return TRUE;
  g_hash_table_iter_init (&iter, self->outbound_peers);
  while (g_hash_table_iter_next (&iter, NULL, &peer))
    if (rtcbotd_peer_uses_source (peer, source))
      return TRUE;
  return FALSE;
}

/* Main context, while sources wait to be freed. A poll: an encoder's teardown
 * (an idle probe, then the main context) has no signal of its own. */
static gboolean
reap_retired (gpointer user_data)
{
  RtcbotdDaemon *self = user_data;

  for (guint i = self->retired->len; i > 0; i--)
    if (rtcbotd_source_is_idle (self->retired->pdata[i - 1])
        && !used_by_a_peer (self, self->retired->pdata[i - 1]))
      g_ptr_array_remove_index (self->retired, i - 1);
  if (self->retired->len > 0)
    return G_SOURCE_CONTINUE;
  self->reap_id = 0;
  return G_SOURCE_REMOVE;
}

/* A source that is gone or changed closes its peers (a track cannot change
 * under RTCBot's clients; they reconnect) and goes once they have left. */
static void
retire_source (RtcbotdDaemon *self, RtcbotdSource *source)
{
  /* A copy: a peer may finish closing, and leave the table, at once. */
  GList *peers = g_list_concat (g_hash_table_get_values (self->peers),
                                g_hash_table_get_values (self->outbound_peers));
  guint closed = 0;

  for (GList *l = peers; l; l = l->next)
    if (rtcbotd_peer_uses_source (l->data, source))
      {
        rtcbotd_peer_close (l->data, "its source changed at reload");
        closed++;
      }
  g_list_free (peers);
  rtcbotd_source_stop (source);
  g_message ("[source %s]: stopped (reload; %u peer(s) closed)",
             rtcbotd_source_get_config (source)->name, closed);
  /* It outlives the config it was built from: it keeps its own part. */
  rtcbotd_source_take_config (
      source, rtcbotd_config_steal_source (self->config, rtcbotd_source_get_config (source)));
  g_ptr_array_add (self->retired, source);
  if (!self->reap_id)
    self->reap_id = g_timeout_add (REAP_INTERVAL_MS, reap_retired, self);
}

/* Puts @config's sources in place: the unchanged ones keep running, @built
 * ones start, the others retire. */
static void
commit_sources (RtcbotdDaemon *self, RtcbotdConfig *config, GPtrArray *built)
{
  g_autoptr (GPtrArray) running = g_steal_pointer (&self->sources);
  guint index;

  self->sources = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_source_free);
  for (guint i = 0; i < config->sources->len; i++)
    {
      const char *name = ((RtcbotdSourceConfig *)config->sources->pdata[i])->name;
      RtcbotdSource *source;
      if (!source_wanted (config, name))
        continue;
      if ((source = find_source (built, name, &index)))
        {
          g_ptr_array_steal_index (built, index);
          rtcbotd_source_start (source);
          g_message ("[source %s]: started (reload)", name);
        }
      else if ((source = find_source (running, name, &index)))
        {
          rtcbotd_config_take_unchanged (config, self->config, RTCBOTD_CONFIG_SOURCE, name);
          g_ptr_array_steal_index (running, index);
        }
      if (source)
        g_ptr_array_add (self->sources, source);
    }
  while (running->len > 0)
    retire_source (self, g_ptr_array_steal_index (running, 0));
}

gboolean
rtcbotd_daemon_wait_playing (RtcbotdDaemon *self, guint timeout_ms, GError **error)
{
  GstState state = GST_STATE_NULL;

  if (self->pipeline)
    gst_element_get_state (self->pipeline, &state, NULL, timeout_ms * GST_MSECOND);
  if (state == GST_STATE_PLAYING)
    return TRUE;
  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
               "the media pipeline is %s, not playing, after %u ms (run with -vv for "
               "GStreamer's warnings)",
               gst_element_state_get_name (state), timeout_ms);
  return FALSE;
}

gboolean
rtcbotd_daemon_reload (RtcbotdDaemon *self, RtcbotdConfig *config, GError **error)
{
  g_autoptr (RtcbotdConfig) next = config;
  g_autoptr (RtcbotdConfig) old = NULL;
  g_autoptr (GPtrArray) built
      = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_source_free);
  g_autoptr (GPtrArray) built_sinks
      = g_ptr_array_new_with_free_func ((GDestroyNotify)free_sink_now);
  g_autoptr (GPtrArray) kept = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!self->http || !self->control)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INTERNAL, "the daemon is not running");
      return FALSE;
    }
  /* What can fail comes first: until it has succeeded nothing has changed. */
  if (!build_changed_sources (self, next, built, error)
      || !rtcbotd_sink_set_build_changed (self->sinks, next, self->config, self->generation,
                                          built_sinks, error)
      || !rtcbotd_http_reload (self->http, next, error))
    return FALSE;
  rtcbotd_sink_set_retire (self->sinks, next, self->config);
  commit_sources (self, next, built);
  /* The sinks still running are fed already; the ones it adds are not. */
  kept = rtcbotd_sink_set_commit (self->sinks, next, self->config, self->sources, built_sinks);
  old = g_steal_pointer (&self->config);
  self->config = g_steal_pointer (&next);
  feed_new_sinks (self, kept);
  reload_outbounds (self, self->config);
  if (!rtcbotd_control_plane_reload (self->control, self->config, old,
                                     rtcbotd_http_get_server (self->http), &local_error))
    g_warning ("reload: %s", local_error->message);
  apply_relay (self);
  g_message ("configuration reloaded from %s", self->config->path);
  return TRUE;
}

void
rtcbotd_daemon_stop (RtcbotdDaemon *self)
{
  gint64 deadline = g_get_monotonic_time () + STOP_TIMEOUT_US;
  GList *peers;

  if (self->http)
    rtcbotd_http_stop (self->http);
  g_clear_pointer (&self->relay, rtcbotd_relay_client_free);
  /* Motors first: the failsafes go out while the peers' channels are still open. */
  if (self->control)
    rtcbotd_control_plane_stop (self->control);
  g_ptr_array_set_size (self->outbounds, 0);
  peers = g_hash_table_get_values (self->peers);
  for (GList *l = peers; l; l = l->next)
    rtcbotd_peer_close (l->data, "the daemon is stopping");
  g_list_free (peers);
  while (g_hash_table_size (self->peers) + g_hash_table_size (self->outbound_peers) > 0
         && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  /* While the pipeline still plays: the recordings' last files get written. */
  if (self->sinks)
    rtcbotd_sink_set_clear (self->sinks, RTCBOTD_SINK_SET_FINISH_MS);
  if (self->pipeline)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_handle_id (&self->bus_watch_id, g_source_remove);
  g_clear_handle_id (&self->reap_id, g_source_remove);
}

/* Plans which source each offered m-line carries: video m-lines take the
 * routed video sources in order, audio m-lines the audio ones. */
static GArray *
plan_tracks (RtcbotdDaemon *self, const RtcbotdSdp *sdp, const char *only, gboolean *has_data,
             GString *unserved)
{
  GArray *tracks = g_array_new (FALSE, TRUE, sizeof (RtcbotdPeerTrack));
  guint next[2] = { 0, 0 }; /* next source index to try, per kind */

  *has_data = FALSE;
  for (guint m = 0; m < sdp->media->len; m++)
    {
      const RtcbotdSdpMedia *media = sdp->media->pdata[m];
      RtcbotdKind kind
          = g_str_equal (media->kind, "audio") ? RTCBOTD_KIND_AUDIO : RTCBOTD_KIND_VIDEO;
      gboolean planned = FALSE;

      if (g_str_equal (media->kind, "application"))
        *has_data |= !media->rejected;
      if (media->rejected || !media->wants_receive
          || (!g_str_equal (media->kind, "audio") && !g_str_equal (media->kind, "video")))
        continue;
      for (; next[kind] < self->sources->len && !planned; next[kind]++)
        {
          RtcbotdSource *source = self->sources->pdata[next[kind]];
          const RtcbotdSdpCodec *offered;
          RtcbotdPeerTrack track = { .mline = m, .source = source };
          if (rtcbotd_source_get_config (source)->kind != kind
              || (only && !g_str_equal (rtcbotd_source_get_config (source)->name, only))
              || !rtcbotd_config_source_routed_to_peers (self->config,
                                                         rtcbotd_source_get_config (source)->name))
            continue;
          track.codec = rtcbotd_source_choose_codec (source, media, &offered);
          if (track.codec == RTCBOTD_CODEC_NONE)
            {
              g_string_append_printf (unserved,
                                      "%s[source %s] can send none of the codecs offered "
                                      "on m-line %u (%s)",
                                      unserved->len ? "; " : "",
                                      rtcbotd_source_get_config (source)->name, m, media->kind);
              continue;
            }
          track.pt = offered->pt;
          g_array_append_val (tracks, track);
          planned = TRUE;
        }
    }
  return tracks;
}

/* Counts a failed /connect by the HTTP status its error maps to. */
static void
count_refused (RtcbotdDaemon *self, const GError *error)
{
  if (g_error_matches (error, RTCBOTD_ERROR, RTCBOTD_ERROR_BUSY))
    self->refused_busy++;
  else if (g_error_matches (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID)
           || g_error_matches (error, RTCBOTD_ERROR, RTCBOTD_ERROR_UNSUPPORTED))
    self->refused_offer++;
  else
    self->refused_failed++;
}

/* What a peer's answer is wanted as: RTCBot's JSON, or WHEP's plain SDP. */
typedef struct
{
  gboolean plain_sdp;
  guint peer_id;
} AnswerRequest;

static void
on_answered (GObject *object, GAsyncResult *result, gpointer user_data)
{
  RtcbotdPeer *peer = RTCBOTD_PEER (object);
  g_autoptr (GTask) task = user_data;
  AnswerRequest *request = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = rtcbotd_peer_answer_finish (peer, result, &error);

  if (!sdp)
    {
      g_message ("peer %u: no answer: %s", rtcbotd_peer_get_id (peer), error->message);
      rtcbotd_peer_close (peer, "negotiation failed");
      count_refused (g_task_get_source_object (task), error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  RTCBOTD_DAEMON (g_task_get_source_object (task))->accepted++;
  g_message ("peer %u: answered", rtcbotd_peer_get_id (peer));
  if (request->plain_sdp)
    g_task_return_pointer (task, g_steal_pointer (&sdp), g_free);
  else
    g_task_return_pointer (task, rtcbotd_signaling_answer_json (sdp), g_free);
}

/* Checks the offer @sdp_text and plans the peer (only source @only's media,
 * when given: a WHEP player, which sends nothing); returns the tracks to send
 * (and in @receives what the peer may send), or NULL with @error. */
static GArray *
prepare_offer (RtcbotdDaemon *self, const char *sdp_text, const char *only, RtcbotdRole role,
               char **offer, GPtrArray **receives, GError **error)
{
  g_autoptr (RtcbotdSdp) sdp = NULL;
  g_autoptr (GString) unserved = g_string_new (NULL);
  GArray *tracks;
  gboolean has_data;

  if (g_hash_table_size (self->peers) >= self->config->max_peers)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_BUSY,
                   "no peer slot is free ([daemon] max-peers = %u); try again later",
                   self->config->max_peers);
      return NULL;
    }
  *offer = rtcbotd_sdp_prepare_offer (sdp_text);
  if (!(sdp = rtcbotd_sdp_parse (*offer, error)))
    return NULL;
  tracks = plan_tracks (self, sdp, only, &has_data, unserved);
  /* A WHEP player (@only) sends nothing. */
  *receives
      = rtcbotd_peer_streams_plan (self->config, sdp, only ? RTCBOTD_ROLE_VIEWER : role, unserved);
  if (unserved->len)
    g_message ("offer: %s", unserved->str);
  for (guint m = 0; m < (*receives)->len; m++)
    has_data |= (*receives)->pdata[m] != NULL; /* something to take is something served */
  if (tracks->len == 0 && !has_data)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_UNSUPPORTED,
                   "nothing in the offer can be served: %s",
                   unserved->len ? unserved->str
                                 : "it has no data channel and asks for no media the robot "
                                   "routes to peers");
      g_array_unref (tracks);
      g_clear_pointer (receives, g_ptr_array_unref);
      return NULL;
    }
  return tracks;
}

/* Creates a peer answering @sdp_text; @task (taken) gets the answer. */
static void
start_peer (RtcbotdDaemon *self, const char *sdp_text, const char *only, GInetAddress *local,
            RtcbotdRole role, GTask *task)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autoptr (GPtrArray) receives = NULL;
  g_autoptr (GArray) tracks = prepare_offer (self, sdp_text, only, role, &offer, &receives, &error);
  AnswerRequest *request = g_task_get_task_data (task);
  RtcbotdPeer *peer;
  guint id;

  if (!tracks)
    {
      count_refused (self, error);
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  id = request->peer_id = self->next_peer_id++;
  if (!(peer = rtcbotd_peer_new (id, self->pipeline, self->config->peer_timeout)))
    {
      g_task_return_new_error (task, RTCBOTD_ERROR, RTCBOTD_ERROR_INTERNAL,
                               "cannot create a webrtcbin");
      g_object_unref (task);
      return;
    }
  rtcbotd_peer_set_message_rate (peer, self->config->max_messages_per_second);
  rtcbotd_peer_use_ice_servers (peer, self->config->ice_servers, self->config->ice_relay_only);
  g_hash_table_insert (self->peers, GUINT_TO_POINTER (id), peer);
  g_signal_connect (peer, "closed", G_CALLBACK (on_peer_closed), self);
  g_signal_connect (peer, "stream", G_CALLBACK (on_peer_stream), self);
  g_signal_connect (peer, "closing", G_CALLBACK (on_peer_closing), self);
  for (guint m = 0; m < receives->len; m++)
    if (receives->pdata[m])
      rtcbotd_peer_receive_on (peer, m, receives->pdata[m]);
  rtcbotd_control_plane_add_peer (self->control, peer, role);
  g_signal_emit (self, signals[SIGNAL_PEERS_CHANGED], 0);
  g_message ("peer %u: offer with %u track(s) to send%s", id, tracks->len,
             role == RTCBOTD_ROLE_VIEWER ? " (viewer token: watches only)" : "");
  rtcbotd_peer_answer_async (peer, offer, tracks, local, on_answered, task);
}

static GTask *
answer_task (RtcbotdDaemon *self, gboolean plain_sdp, GAsyncReadyCallback callback,
             gpointer user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);
  AnswerRequest *request = g_new0 (AnswerRequest, 1);

  request->plain_sdp = plain_sdp;
  g_task_set_task_data (task, request, g_free);
  return task;
}

void
rtcbotd_daemon_connect_async (RtcbotdDaemon *self, GBytes *body, GInetAddress *local,
                              RtcbotdRole role, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = answer_task (self, FALSE, callback, user_data);
  g_autoptr (GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (body, &length);
  g_autofree char *sdp_text = rtcbotd_signaling_parse_offer (data, length, &error);

  if (!sdp_text)
    {
      count_refused (self, error);
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  start_peer (self, sdp_text, NULL, local, role, task);
}

void
rtcbotd_daemon_answer_sdp_async (RtcbotdDaemon *self, const char *offer, const char *source,
                                 GInetAddress *local, RtcbotdRole role,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  start_peer (self, offer, source, local, role, answer_task (self, TRUE, callback, user_data));
}

char *
rtcbotd_daemon_answer_sdp_finish (RtcbotdDaemon *self, GAsyncResult *result, guint *peer_id,
                                  GError **error)
{
  AnswerRequest *request = g_task_get_task_data (G_TASK (result));

  *peer_id = request->peer_id;
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
rtcbotd_daemon_close_peer (RtcbotdDaemon *self, guint id, const char *reason)
{
  RtcbotdPeer *peer = g_hash_table_lookup (self->peers, GUINT_TO_POINTER (id));

  if (!peer)
    return FALSE;
  rtcbotd_peer_close (peer, reason);
  return TRUE;
}

RtcbotdPeer *
rtcbotd_daemon_find_peer (RtcbotdDaemon *self, guint id)
{
  return g_hash_table_lookup (self->peers, GUINT_TO_POINTER (id));
}

char *
rtcbotd_daemon_connect_finish (RtcbotdDaemon *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
