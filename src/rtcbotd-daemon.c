/* rtcbotd-daemon.c — the daemon: configuration, pipeline, sources, peers, HTTP. */
#include "rtcbotd-daemon.h"

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "rtcbotd-build-config.h"
#include "rtcbotd-control-plane.h"
#include "rtcbotd-error.h"
#include "rtcbotd-http.h"
#include "rtcbotd-peer.h"
#include "rtcbotd-sdp.h"
#include "rtcbotd-signaling.h"
#include "rtcbotd-source.h"

#define STOP_TIMEOUT_US (3 * G_USEC_PER_SEC)

struct _RtcbotdDaemon
{
  GObject parent;
  RtcbotdConfig *config;
  GstElement *pipeline;
  guint bus_watch_id;
  GPtrArray *sources; /* of RtcbotdSource, routed to peers */
  GHashTable *peers;  /* id -> RtcbotdPeer */
  guint next_peer_id;
  RtcbotdControlPlane *control;
  RtcbotdHttp *http;
};

G_DEFINE_FINAL_TYPE (RtcbotdDaemon, rtcbotd_daemon, G_TYPE_OBJECT)

static void
rtcbotd_daemon_finalize (GObject *object)
{
  RtcbotdDaemon *self = RTCBOTD_DAEMON (object);

  rtcbotd_daemon_stop (self);
  g_clear_pointer (&self->http, rtcbotd_http_free);
  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_clear_pointer (&self->sources, g_ptr_array_unref);
  g_clear_pointer (&self->control, rtcbotd_control_plane_free);
  g_clear_object (&self->pipeline);
  g_clear_pointer (&self->config, rtcbotd_config_free);
  G_OBJECT_CLASS (rtcbotd_daemon_parent_class)->finalize (object);
}

static void
rtcbotd_daemon_class_init (RtcbotdDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rtcbotd_daemon_finalize;
}

static void
rtcbotd_daemon_init (RtcbotdDaemon *self)
{
  self->peers = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_object_unref);
  self->sources = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_source_free);
  self->next_peer_id = 1;
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

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ERROR
      && GST_MESSAGE_TYPE (message) != GST_MESSAGE_WARNING)
    return G_SOURCE_CONTINUE;
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    gst_message_parse_error (message, &error, &debug);
  else
    gst_message_parse_warning (message, &error, &debug);
  peer = peer_owning (self, GST_MESSAGE_SRC (message));
  if (peer && GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      /* Usually the peer left without closing: sctpenc cannot write any more. */
      g_autofree char *reason = g_strdup_printf ("left or failed (%s: %s)",
                                                 GST_MESSAGE_SRC_NAME (message), error->message);
      rtcbotd_peer_close (peer, reason);
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

static gboolean
build_sources (RtcbotdDaemon *self, GError **error)
{
  for (guint i = 0; i < self->config->sources->len; i++)
    {
      const RtcbotdSourceConfig *c = self->config->sources->pdata[i];
      RtcbotdSource *source;
      g_autofree char *chain = NULL;

      if (!rtcbotd_config_source_routed_to_peers (self->config, c->name))
        {
          g_message ("[source %s]: not routed to peers; not started", c->name);
          continue;
        }
      if (!(source = rtcbotd_source_new (c, self->pipeline, error)))
        return FALSE;
      g_ptr_array_add (self->sources, source);
      chain = rtcbotd_source_describe (source);
      g_message ("[source %s]: %s %s, %s", c->name, rtcbotd_kind_to_string (c->kind),
                 c->type == RTCBOTD_SOURCE_TEST_VIDEO ? "test pattern" : "test tone", chain);
    }
  return TRUE;
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
  if (!build_sources (self, error))
    return FALSE;
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "the media pipeline does not start (run with --verbose for details)");
      return FALSE;
    }
  self->http = rtcbotd_http_new (self, self->config);
  self->control = rtcbotd_control_plane_new (self->config);
  if (!rtcbotd_control_plane_start (self->control, rtcbotd_http_get_server (self->http), error))
    return FALSE;
  return rtcbotd_http_listen (self->http, error);
}

gboolean
rtcbotd_daemon_reload (RtcbotdDaemon *self, RtcbotdConfig *config, GError **error)
{
  /* Being built: until then the running configuration stays. */
  rtcbotd_config_free (config);
  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_UNSUPPORTED,
               "reloading is not supported yet; restart rtcbotd to apply changes");
  return FALSE;
}

void
rtcbotd_daemon_stop (RtcbotdDaemon *self)
{
  gint64 deadline = g_get_monotonic_time () + STOP_TIMEOUT_US;
  GList *peers;

  if (self->http)
    rtcbotd_http_stop (self->http);
  /* Motors first: the failsafes go out while the peers' channels are still open. */
  if (self->control)
    rtcbotd_control_plane_stop (self->control);
  peers = g_hash_table_get_values (self->peers);
  for (GList *l = peers; l; l = l->next)
    rtcbotd_peer_close (l->data, "the daemon is stopping");
  g_list_free (peers);
  while (g_hash_table_size (self->peers) > 0 && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  if (self->pipeline)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_handle_id (&self->bus_watch_id, g_source_remove);
}

/* Plans which source each offered m-line carries: video m-lines take the
 * routed video sources in order, audio m-lines the audio ones. */
static GArray *
plan_tracks (RtcbotdDaemon *self, const RtcbotdSdp *sdp, gboolean *has_data, GString *unserved)
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
          if (rtcbotd_source_get_config (source)->kind != kind)
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

static void
on_answered (GObject *object, GAsyncResult *result, gpointer user_data)
{
  RtcbotdPeer *peer = RTCBOTD_PEER (object);
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = rtcbotd_peer_answer_finish (peer, result, &error);

  if (!sdp)
    {
      g_message ("peer %u: no answer: %s", rtcbotd_peer_get_id (peer), error->message);
      rtcbotd_peer_close (peer, "negotiation failed");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_message ("peer %u: answered", rtcbotd_peer_get_id (peer));
  g_task_return_pointer (task, rtcbotd_signaling_answer_json (sdp), g_free);
}

/* Checks the request and plans the peer; returns the tracks, or NULL with @error. */
static GArray *
prepare_connect (RtcbotdDaemon *self, GBytes *body, char **offer, GError **error)
{
  gsize length;
  const char *data = g_bytes_get_data (body, &length);
  g_autofree char *sdp_text = NULL;
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
  if (!(sdp_text = rtcbotd_signaling_parse_offer (data, length, error)))
    return NULL;
  *offer = rtcbotd_sdp_prepare_offer (sdp_text);
  if (!(sdp = rtcbotd_sdp_parse (*offer, error)))
    return NULL;
  tracks = plan_tracks (self, sdp, &has_data, unserved);
  if (unserved->len)
    g_message ("offer: %s", unserved->str);
  if (tracks->len == 0 && !has_data)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_UNSUPPORTED,
                   "nothing in the offer can be served: %s",
                   unserved->len ? unserved->str
                                 : "it has no data channel and asks for no media the robot "
                                   "routes to peers");
      g_array_unref (tracks);
      return NULL;
    }
  return tracks;
}

void
rtcbotd_daemon_connect_async (RtcbotdDaemon *self, GBytes *body, GInetAddress *local,
                              RtcbotdRole role, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autoptr (GArray) tracks = prepare_connect (self, body, &offer, &error);
  RtcbotdPeer *peer;
  guint id;

  if (!tracks)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  id = self->next_peer_id++;
  if (!(peer = rtcbotd_peer_new (id, self->pipeline, self->config->peer_timeout)))
    {
      g_task_return_new_error (task, RTCBOTD_ERROR, RTCBOTD_ERROR_INTERNAL,
                               "cannot create a webrtcbin");
      return;
    }
  g_hash_table_insert (self->peers, GUINT_TO_POINTER (id), peer);
  g_signal_connect (peer, "closed", G_CALLBACK (on_peer_closed), self);
  rtcbotd_control_plane_add_peer (self->control, peer, role);
  g_message ("peer %u: offer with %u track(s) to send%s", id, tracks->len,
             role == RTCBOTD_ROLE_VIEWER ? " (viewer token: watches only)" : "");
  rtcbotd_peer_answer_async (peer, offer, tracks, local, on_answered, g_steal_pointer (&task));
}

char *
rtcbotd_daemon_connect_finish (RtcbotdDaemon *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
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
  json_builder_add_string_value (b, "ok");
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
  if (self->control)
    rtcbotd_control_plane_add_health (self->control, b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}
