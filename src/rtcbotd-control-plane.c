/* rtcbotd-control-plane.c — messages: the bus, its endpoints, the peers' data channels. */
#include "rtcbotd-control-plane.h"

#include "rtcbotd-arbiter.h"
#include "rtcbotd-endpoint.h"
#include "rtcbotd-error.h"
#include "rtcbotd-evdev.h"
#include "rtcbotd-exec.h"
#include "rtcbotd-message-bus.h"
#include "rtcbotd-route.h"
#include "rtcbotd-serial.h"
#include "rtcbotd-socket.h"
#include "rtcbotd-websocket.h"

/* How long the failsafes sent at shutdown may take to reach the devices. */
#define STOP_FLUSH_US (500 * 1000)
/* A peer gets one answer to a refused command, and one try at the control
 * token, per 250 ms at most: typing the token again is fine, guessing it is not. */
#define REFUSAL_INTERVAL_US (G_USEC_PER_SEC / 4)

#define ORIGIN_KEY "rtcbotd-origin"   /* an endpoint's origin, RTCBOTD_ORIGIN_ENDPOINT | serial */
#define REFUSED_KEY "rtcbotd-refused" /* gint64: when a peer was last refused something */
#define WATCHER_KEY "rtcbotd-watcher" /* set on a peer that came with the viewer token */
#define ASKED_KEY "rtcbotd-asked"     /* set on a peer that sent {"rtcbotd":"role"} */

struct _RtcbotdControlPlane
{
  const RtcbotdConfig *config;
  RtcbotdMessageBus *bus;
  RtcbotdArbiter *arbiter;
  GPtrArray *endpoints;    /* of RtcbotdEndpoint */
  guint endpoint_serial;   /* numbers endpoints' origins, never reused */
  GHashTable *peers;       /* id -> RtcbotdPeer, until "closed" */
  guint64 ignored;         /* viewers' messages, not routed */
  guint64 dropped_by_gone; /* messages dropped for peers that have left */
  gboolean stopped;
};

RtcbotdControlPlane *
rtcbotd_control_plane_new (const RtcbotdConfig *config)
{
  RtcbotdControlPlane *self = g_new0 (RtcbotdControlPlane, 1);

  self->config = config;
  self->bus = rtcbotd_message_bus_new (config);
  self->arbiter = rtcbotd_arbiter_new (config->control, config->control_token);
  self->endpoints = g_ptr_array_new_with_free_func (g_object_unref);
  self->peers = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_object_unref);
  return self;
}

static void
forget_peer (gpointer key, gpointer peer, gpointer self)
{
  g_signal_handlers_disconnect_by_data (peer, self);
}

void
rtcbotd_control_plane_free (RtcbotdControlPlane *self)
{
  if (!self)
    return;
  g_hash_table_foreach (self->peers, forget_peer, self);
  g_hash_table_unref (self->peers);
  for (guint i = 0; i < self->endpoints->len; i++)
    g_signal_handlers_disconnect_by_data (self->endpoints->pdata[i], self);
  g_ptr_array_unref (self->endpoints);
  rtcbotd_message_bus_free (self->bus);
  rtcbotd_arbiter_free (self->arbiter);
  g_free (self);
}

/* ---- sinks: what routes send to peers and endpoints ---------------------- */

/* Sink "peers" and "peers.channel.LABEL": JSON-encoded once, as RTCBot's Python side sends. */
static void
send_to_peers (JsonNode *message, const char *node, const char *route, gpointer user_data)
{
  RtcbotdControlPlane *self = user_data;
  const char *label
      = g_str_has_prefix (node, "peers.channel.") ? node + strlen ("peers.channel.") : "default";
  g_autofree char *text = rtcbotd_message_encode (message);
  GHashTableIter iter;
  gpointer peer;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &peer))
    rtcbotd_peer_send_on (peer, label, text);
}

static void
send_to_endpoint (JsonNode *message, const char *node, const char *route, gpointer endpoint)
{
  rtcbotd_endpoint_send (endpoint, message);
}

static void
register_sinks (RtcbotdControlPlane *self)
{
  rtcbotd_message_bus_set_sink (self->bus, "peers", send_to_peers, self);
  for (guint i = 0; i < self->config->routes->len; i++)
    {
      const RtcbotdRouteConfig *route = self->config->routes->pdata[i];
      for (guint t = 0; t < route->to->len; t++)
        {
          const RtcbotdRouteEnd *to = route->to->pdata[t];
          if (to->type == RTCBOTD_NODE_PEERS_CHANNEL)
            rtcbotd_message_bus_set_sink (self->bus, to->name, send_to_peers, self);
        }
    }
  for (guint i = 0; i < self->endpoints->len; i++)
    {
      RtcbotdEndpoint *endpoint = self->endpoints->pdata[i];
      if (rtcbotd_endpoint_get_config (endpoint)->writable)
        rtcbotd_message_bus_set_sink (self->bus, rtcbotd_endpoint_get_name (endpoint),
                                      send_to_endpoint, endpoint);
    }
}

/* ---- endpoints ----------------------------------------------------------- */

static guint
endpoint_origin (RtcbotdEndpoint *endpoint)
{
  return GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (endpoint), ORIGIN_KEY));
}

static void
on_endpoint_message (RtcbotdEndpoint *endpoint, JsonNode *message, RtcbotdControlPlane *self)
{
  rtcbotd_message_bus_publish (self->bus, rtcbotd_endpoint_get_name (endpoint), message,
                               endpoint_origin (endpoint));
}

/* A source that goes away (a gamepad unplugged, a worker crashed) stops what
 * it drove; a sink that comes back (a board replugged that kept its last
 * command) gets the neutral command before anything else. */
static void
on_endpoint_state (RtcbotdEndpoint *endpoint, RtcbotdControlPlane *self)
{
  g_autofree char *why = NULL;

  if (rtcbotd_endpoint_is_up (endpoint))
    {
      rtcbotd_message_bus_sink_up (self->bus, rtcbotd_endpoint_get_name (endpoint));
      return;
    }
  why = g_strdup_printf ("%s is down", rtcbotd_endpoint_get_label (endpoint));
  rtcbotd_message_bus_origin_lost (self->bus, endpoint_origin (endpoint), why);
}

static RtcbotdEndpoint *
create_endpoint (const RtcbotdEndpointConfig *config, SoupServer *server)
{
  switch (config->type)
    {
      case RTCBOTD_ENDPOINT_SERIAL:
        return rtcbotd_serial_new (config);
      case RTCBOTD_ENDPOINT_EVDEV:
        return rtcbotd_evdev_new (config);
      case RTCBOTD_ENDPOINT_EXEC:
        return rtcbotd_exec_new (config);
      case RTCBOTD_ENDPOINT_WEBSOCKET:
        return rtcbotd_websocket_new (config, server);
      case RTCBOTD_ENDPOINT_SOCKET:
        return rtcbotd_socket_new (config);
    }
  g_return_val_if_reached (NULL);
}

/* Creates the endpoint of @config and adds it to the running set (not started). */
static RtcbotdEndpoint *
add_endpoint (RtcbotdControlPlane *self, const RtcbotdEndpointConfig *config, SoupServer *server)
{
  RtcbotdEndpoint *endpoint = create_endpoint (config, server);
  guint origin = RTCBOTD_ORIGIN_ENDPOINT | (++self->endpoint_serial & ~RTCBOTD_ORIGIN_ENDPOINT);

  g_ptr_array_add (self->endpoints, endpoint);
  g_object_set_data (G_OBJECT (endpoint), ORIGIN_KEY, GUINT_TO_POINTER (origin));
  g_signal_connect (endpoint, "message", G_CALLBACK (on_endpoint_message), self);
  g_signal_connect (endpoint, "state-changed", G_CALLBACK (on_endpoint_state), self);
  return endpoint;
}

gboolean
rtcbotd_control_plane_start (RtcbotdControlPlane *self, SoupServer *server, GError **error)
{
  for (guint i = 0; i < self->config->endpoints->len; i++)
    add_endpoint (self, self->config->endpoints->pdata[i], server);
  register_sinks (self);
  for (guint i = 0; i < self->endpoints->len; i++)
    if (!rtcbotd_endpoint_start (self->endpoints->pdata[i], error))
      return FALSE;
  return TRUE;
}

static void tell_role_of (gpointer id, gpointer peer, gpointer self);

/* Takes the endpoint named @name out of @endpoints, or returns NULL. */
static RtcbotdEndpoint *
steal_endpoint (GPtrArray *endpoints, const char *name)
{
  for (guint i = 0; i < endpoints->len; i++)
    if (g_str_equal (rtcbotd_endpoint_get_name (endpoints->pdata[i]), name))
      return g_ptr_array_steal_index (endpoints, i);
  return NULL;
}

/* Stops endpoints that a reload changed or removed: what they drove stops,
 * what waits for them is written (briefly), nothing reaches them any more. */
static void
retire_endpoints (RtcbotdControlPlane *self, GPtrArray *endpoints)
{
  gint64 deadline = g_get_monotonic_time () + STOP_FLUSH_US;

  for (guint i = 0; i < endpoints->len; i++)
    {
      RtcbotdEndpoint *endpoint = endpoints->pdata[i];
      g_autofree char *why
          = g_strdup_printf ("%s changed at reload", rtcbotd_endpoint_get_label (endpoint));
      g_signal_handlers_disconnect_by_data (endpoint, self);
      rtcbotd_message_bus_remove_sink (self->bus, rtcbotd_endpoint_get_name (endpoint));
      rtcbotd_message_bus_origin_lost (self->bus, endpoint_origin (endpoint), why);
      rtcbotd_endpoint_flush (endpoint, deadline);
      rtcbotd_endpoint_stop (endpoint);
      g_message ("%s: stopped (reload)", rtcbotd_endpoint_get_label (endpoint));
    }
}

gboolean
rtcbotd_control_plane_reload (RtcbotdControlPlane *self, RtcbotdConfig *config, RtcbotdConfig *old,
                              SoupServer *server, GError **error)
{
  g_autoptr (GPtrArray) previous = g_steal_pointer (&self->endpoints);
  g_autoptr (GPtrArray) started = g_ptr_array_new ();
  g_autoptr (GString) failed = g_string_new (NULL);

  self->config = config;
  if (rtcbotd_arbiter_reconfigure (self->arbiter, config->control, config->control_token))
    g_hash_table_foreach (self->peers, tell_role_of, self);
  rtcbotd_message_bus_reload (self->bus, config, old);
  self->endpoints = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < config->endpoints->len; i++)
    {
      const char *name = ((RtcbotdEndpointConfig *)config->endpoints->pdata[i])->name;
      RtcbotdEndpoint *kept = NULL;
      if (rtcbotd_config_take_unchanged (config, old, RTCBOTD_CONFIG_ENDPOINT, name))
        kept = steal_endpoint (previous, name);
      if (kept)
        g_ptr_array_add (self->endpoints, kept);
      else
        g_ptr_array_add (started, add_endpoint (self, config->endpoints->pdata[i], server));
    }
  retire_endpoints (self, previous);
  register_sinks (self);
  for (guint i = 0; i < started->len; i++)
    {
      g_autoptr (GError) local_error = NULL;
      if (!rtcbotd_endpoint_start (started->pdata[i], &local_error))
        g_string_append_printf (failed, "%s%s", failed->len ? "; " : "", local_error->message);
    }
  if (failed->len)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "%s", failed->str);
      return FALSE;
    }
  return TRUE;
}

void
rtcbotd_control_plane_stop (RtcbotdControlPlane *self)
{
  gint64 deadline = g_get_monotonic_time () + STOP_FLUSH_US;

  if (self->stopped)
    return;
  self->stopped = TRUE;
  rtcbotd_message_bus_fail_safe_all (self->bus, "the daemon is stopping");
  for (guint i = 0; i < self->endpoints->len; i++)
    rtcbotd_endpoint_flush (self->endpoints->pdata[i], deadline);
  for (guint i = 0; i < self->endpoints->len; i++)
    rtcbotd_endpoint_stop (self->endpoints->pdata[i]);
}

/* ---- peers --------------------------------------------------------------- */

/* TRUE for a peer that connected with the viewer token: it watches in every
 * control mode, and the arbiter never hears of it. */
static gboolean
is_watcher (RtcbotdPeer *peer)
{
  return g_object_get_data (G_OBJECT (peer), WATCHER_KEY) != NULL;
}

static gboolean
may_drive (RtcbotdControlPlane *self, RtcbotdPeer *peer)
{
  return !is_watcher (peer)
         && rtcbotd_arbiter_may_drive (self->arbiter, rtcbotd_peer_get_id (peer));
}

/* Tells @peer its role, in single mode (shared mode stays silent, as RTCBot),
 * and always to a watcher, which will never drive; only to a peer that asked
 * with {"rtcbotd":"role"}: a page written for RTCBot gets on "default"
 * nothing but what the routes send, exactly as from RTCBot. */
static void
tell_role (RtcbotdControlPlane *self, guint id)
{
  RtcbotdPeer *peer = g_hash_table_lookup (self->peers, GUINT_TO_POINTER (id));
  g_autofree char *text = NULL;

  if (!peer || !g_object_get_data (G_OBJECT (peer), ASKED_KEY)
      || (!rtcbotd_arbiter_is_single (self->arbiter) && !is_watcher (peer)))
    return;
  if (is_watcher (peer))
    text = g_strdup ("{\"rtcbotd\":\"role\",\"role\":\"viewer\",\"watch-only\":true}");
  else
    text = g_strdup_printf ("{\"rtcbotd\":\"role\",\"role\":\"%s\"}",
                            rtcbotd_arbiter_get_role (self->arbiter, id));
  rtcbotd_peer_send (peer, text);
}

/* GHFunc over the peers table. */
static void
tell_role_of (gpointer id, gpointer peer, gpointer self)
{
  tell_role (self, GPOINTER_TO_UINT (id));
}

/* When @peer was last refused something, in monotonic µs (0: never). */
static gint64 *
last_refusal (RtcbotdPeer *peer)
{
  gint64 *when = g_object_get_data (G_OBJECT (peer), REFUSED_KEY);

  if (!when)
    {
      when = g_new0 (gint64, 1);
      g_object_set_data_full (G_OBJECT (peer), REFUSED_KEY, when, g_free);
    }
  return when;
}

static gboolean
refused_recently (RtcbotdPeer *peer)
{
  gint64 when = *last_refusal (peer);

  return when && g_get_monotonic_time () - when < REFUSAL_INTERVAL_US;
}

/* Answers a refused command; logs it unless the peer was refused a moment
 * ago (a viewer could otherwise flood the log). */
static void
refuse (RtcbotdPeer *peer, const char *message)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  if (!refused_recently (peer))
    g_message ("peer %u: %s", rtcbotd_peer_get_id (peer), message);
  *last_refusal (peer) = g_get_monotonic_time ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "rtcbotd");
  json_builder_add_string_value (b, "error");
  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = rtcbotd_message_encode (root);
  rtcbotd_peer_send (peer, text);
}

static void
take_control (RtcbotdControlPlane *self, RtcbotdPeer *peer, JsonObject *command)
{
  guint id = rtcbotd_peer_get_id (peer);
  const char *token = json_object_get_string_member_with_default (command, "token", NULL);
  g_autoptr (GError) error = NULL;
  guint previous;

  if (is_watcher (peer))
    {
      refuse (peer, "control not taken: this peer connected with the viewer token and may only "
                    "watch");
      return;
    }
  if (!rtcbotd_arbiter_take (self->arbiter, id, token, &previous, &error))
    {
      refuse (peer, error->message);
      return;
    }
  g_message ("peer %u: took control%s", id, previous ? " from the driver" : "");
  if (previous)
    {
      g_autofree char *why = g_strdup_printf ("peer %u took control from peer %u", id, previous);
      rtcbotd_message_bus_origin_lost (self->bus, previous, why);
      tell_role (self, previous);
    }
  tell_role (self, id);
}

/* {"rtcbotd": COMMAND, ...}: for the daemon itself, never routed. */
static void
handle_command (RtcbotdControlPlane *self, RtcbotdPeer *peer, JsonObject *command)
{
  const char *name = json_object_get_string_member_with_default (command, "rtcbotd", "");
  guint id = rtcbotd_peer_get_id (peer);

  if (g_str_equal (name, "alive"))
    {
      if (may_drive (self, peer))
        rtcbotd_message_bus_keep_alive (self->bus, id);
    }
  else if (g_str_equal (name, "take-control") && refused_recently (peer))
    refuse (peer, "control not taken: one try per 250 ms");
  else if (g_str_equal (name, "take-control"))
    take_control (self, peer, command);
  else if (g_str_equal (name, "role"))
    {
      /* From now on the peer hears its role whenever it changes. */
      g_object_set_data (G_OBJECT (peer), ASKED_KEY, GINT_TO_POINTER (TRUE));
      tell_role (self, id);
    }
  else
    {
      g_autofree char *message
          = g_strdup_printf ("unknown command \"%s\"; accepted: alive, role, take-control", name);
      refuse (peer, message);
    }
}

static JsonObject *
as_command (JsonNode *message)
{
  JsonObject *object;

  if (!JSON_NODE_HOLDS_OBJECT (message))
    return NULL;
  object = json_node_get_object (message);
  return json_object_has_member (object, "rtcbotd") ? object : NULL;
}

static void
on_peer_message (RtcbotdPeer *peer, const char *label, const char *text, RtcbotdControlPlane *self)
{
  g_autoptr (JsonNode) message = rtcbotd_message_decode (text);
  JsonObject *command = as_command (message);
  guint id = rtcbotd_peer_get_id (peer);

  if (command)
    handle_command (self, peer, command);
  else if (may_drive (self, peer))
    rtcbotd_message_bus_publish_channel (self->bus, label, message, id);
  else
    self->ignored++;
}

static void
on_channel_opened (RtcbotdPeer *peer, const char *label, RtcbotdControlPlane *self)
{
  guint id = rtcbotd_peer_get_id (peer);

  if (is_watcher (peer))
    {
      /* Never the arbiter's: in single mode it would become the driver. */
      if (g_str_equal (label, "default"))
        tell_role (self, id);
      return;
    }
  if (!rtcbotd_arbiter_add (self->arbiter, id))
    return; /* its second channel */
  if (rtcbotd_arbiter_get_driver (self->arbiter) == id)
    g_message ("peer %u: drives", id);
  tell_role (self, id);
}

/* @peer no longer drives, for @why: what it drove stops, control passes on. */
static void
release_peer (RtcbotdControlPlane *self, RtcbotdPeer *peer, const char *why)
{
  guint id = rtcbotd_peer_get_id (peer);
  guint next;

  rtcbotd_message_bus_origin_lost (self->bus, id, why);
  if ((next = rtcbotd_arbiter_remove (self->arbiter, id)))
    {
      g_message ("peer %u: drives (%s)", next, why);
      tell_role (self, next);
    }
}

static void
on_channel_closed (RtcbotdPeer *peer, const char *label, RtcbotdControlPlane *self)
{
  g_autofree char *why = g_strdup_printf ("peer %u closed its data channel \"%s\"",
                                          rtcbotd_peer_get_id (peer), label);

  /* Without "default" it hears no role and no reply: it cannot drive either. */
  if (g_str_equal (label, "default"))
    release_peer (self, peer, why);
  else
    rtcbotd_message_bus_origin_lost (self->bus, rtcbotd_peer_get_id (peer), why);
}

/* The peer starts closing: its messages stop now, so does what it drove. */
static void
on_peer_closing (RtcbotdPeer *peer, RtcbotdControlPlane *self)
{
  g_autofree char *why = g_strdup_printf ("peer %u left", rtcbotd_peer_get_id (peer));

  release_peer (self, peer, why);
}

static void
on_peer_closed (RtcbotdPeer *peer, RtcbotdControlPlane *self)
{
  self->dropped_by_gone += rtcbotd_peer_get_dropped (peer);
  g_signal_handlers_disconnect_by_data (peer, self);
  g_hash_table_remove (self->peers, GUINT_TO_POINTER (rtcbotd_peer_get_id (peer)));
}

void
rtcbotd_control_plane_add_peer (RtcbotdControlPlane *self, RtcbotdPeer *peer, RtcbotdRole role)
{
  if (role == RTCBOTD_ROLE_VIEWER)
    g_object_set_data (G_OBJECT (peer), WATCHER_KEY, GINT_TO_POINTER (TRUE));
  g_hash_table_insert (self->peers, GUINT_TO_POINTER (rtcbotd_peer_get_id (peer)),
                       g_object_ref (peer));
  g_signal_connect (peer, "message", G_CALLBACK (on_peer_message), self);
  g_signal_connect (peer, "channel-opened", G_CALLBACK (on_channel_opened), self);
  g_signal_connect (peer, "channel-closed", G_CALLBACK (on_channel_closed), self);
  g_signal_connect (peer, "closing", G_CALLBACK (on_peer_closing), self);
  g_signal_connect (peer, "closed", G_CALLBACK (on_peer_closed), self);
}

/* Every message lost on its way to a peer, departed peers included. */
static guint64
dropped_to_peers (RtcbotdControlPlane *self)
{
  GHashTableIter iter;
  gpointer peer;
  guint64 total = self->dropped_by_gone;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &peer))
    total += rtcbotd_peer_get_dropped (peer);
  return total;
}

void
rtcbotd_control_plane_add_health (RtcbotdControlPlane *self, JsonBuilder *b)
{
  json_builder_set_member_name (b, "messages");
  json_builder_add_int_value (b, rtcbotd_message_bus_get_published (self->bus));
  json_builder_set_member_name (b, "messages-ignored");
  json_builder_add_int_value (b, self->ignored);
  json_builder_set_member_name (b, "peer-messages-dropped");
  json_builder_add_int_value (b, dropped_to_peers (self));
  json_builder_set_member_name (b, "routes");
  rtcbotd_message_bus_add_health (self->bus, b);
  json_builder_set_member_name (b, "endpoints");
  json_builder_begin_object (b);
  for (guint i = 0; i < self->endpoints->len; i++)
    {
      json_builder_set_member_name (b, rtcbotd_endpoint_get_name (self->endpoints->pdata[i]));
      rtcbotd_endpoint_add_health (self->endpoints->pdata[i], b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "control");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "mode");
  json_builder_add_string_value (b,
                                 rtcbotd_arbiter_is_single (self->arbiter) ? "single" : "shared");
  json_builder_set_member_name (b, "driver");
  json_builder_add_int_value (b, rtcbotd_arbiter_get_driver (self->arbiter));
  json_builder_end_object (b);
}

gboolean
rtcbotd_control_plane_all_up (RtcbotdControlPlane *self)
{
  for (guint i = 0; i < self->endpoints->len; i++)
    if (!rtcbotd_endpoint_is_up (self->endpoints->pdata[i]))
      return FALSE;
  return TRUE;
}

void
rtcbotd_control_plane_add_metrics (RtcbotdControlPlane *self, RtcbotdMetrics *m)
{
  rtcbotd_metrics_counter (m, "rtcbotd_messages_published_total",
                           "Messages published on the bus: from peers' data channels (routed "
                           "or not) and from endpoints.",
                           rtcbotd_message_bus_get_published (self->bus), NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_messages_ignored_total",
                           "Data-channel messages from viewers (control = single), not routed.",
                           self->ignored, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_messages_peer_dropped_total",
                           "Messages to or from peers lost on the way, departed peers included.",
                           dropped_to_peers (self), NULL);
  rtcbotd_message_bus_add_metrics (self->bus, m);
  for (guint i = 0; i < self->endpoints->len; i++)
    rtcbotd_endpoint_add_metrics (self->endpoints->pdata[i], m);
  rtcbotd_metrics_gauge (m, "rtcbotd_control_driver",
                         "The peer that drives (control = single), 0 when none or shared.",
                         rtcbotd_arbiter_get_driver (self->arbiter), NULL);
}

void
rtcbotd_control_plane_append_status (RtcbotdControlPlane *self, GString *status)
{
  for (guint i = 0; i < self->endpoints->len; i++)
    g_string_append_printf (status, "%s%s %s", i ? ", " : "; endpoints: ",
                            rtcbotd_endpoint_get_name (self->endpoints->pdata[i]),
                            rtcbotd_endpoint_is_up (self->endpoints->pdata[i]) ? "up" : "down");
}
