/* rtcbotd-ice.c — ICE settings and packet-level liveness for one webrtcbin. */
#include "rtcbotd-ice.h"

#include <agent.h>
#include <gst/webrtc/webrtc.h>
#include <interfaces.h>

#include "rtcbotd-ice-server.h"

struct _RtcbotdIceWatch
{
  GstElement *webrtc;
  GPtrArray *pads; /* nicesrc pads carrying one of our probes */
  GArray *ids;     /* the probe ids, parallel to pads */
  gint *last;      /* monotonic seconds of the last packet; atomic, shared with the probes */
};

static gint
now_s (void)
{
  return (gint)(g_get_monotonic_time () / G_USEC_PER_SEC);
}

static gboolean
has_property (gpointer object, const char *name)
{
  return g_object_class_find_property (G_OBJECT_GET_CLASS (object), name) != NULL;
}

/* libnice defaults that hurt a robot: UPnP discovery delays every answer by
 * 200 ms, ICE-TCP adds useless candidates, and without keepalive connchecks a
 * vanished peer is never noticed. Loopback is skipped by libnice's own
 * gathering, so a client on this machine gets it added explicitly. */
void
rtcbotd_ice_configure (GstElement *webrtc, GInetAddress *local)
{
  g_autoptr (GstObject) ice = NULL;
  g_autoptr (GObject) agent_object = NULL;
  NiceAgent *agent;

  g_object_get (webrtc, "ice-agent", &ice, NULL);
  if (!ice)
    return;
  if (has_property (ice, "ice-tcp"))
    g_object_set (ice, "ice-tcp", FALSE, NULL);
  if (!has_property (ice, "agent"))
    return;
  g_object_get (ice, "agent", &agent_object, NULL);
  if (!NICE_IS_AGENT (agent_object))
    return;
  agent = NICE_AGENT (agent_object);
  g_object_set (agent, "upnp", FALSE, "keepalive-conncheck", TRUE, NULL);
  if (local && g_inet_address_get_is_loopback (local))
    {
      g_autofree char *loopback = g_inet_address_to_string (local);
      GList *ips = nice_interfaces_get_local_ips (FALSE);
      ips = g_list_prepend (ips, g_steal_pointer (&loopback));
      for (GList *l = ips; l; l = l->next)
        {
          NiceAddress address;
          if (nice_address_set_from_string (&address, l->data))
            nice_agent_add_local_address (agent, &address);
        }
      g_list_free_full (ips, g_free);
    }
}

/* webrtcbin takes one STUN server but any number of TURN servers. */
void
rtcbotd_ice_use_servers (GstElement *webrtc, GPtrArray *servers, gboolean relay_only)
{
  gboolean have_stun = FALSE;

  for (guint i = 0; i < servers->len; i++)
    {
      const RtcbotdIceServer *server = servers->pdata[i];
      g_autofree char *uri = rtcbotd_ice_server_to_gst_uri (server);
      gboolean added = FALSE;

      if (server->scheme == RTCBOTD_ICE_STUN && !have_stun)
        g_object_set (webrtc, "stun-server", uri, NULL), have_stun = TRUE;
      else if (server->scheme != RTCBOTD_ICE_STUN)
        g_signal_emit_by_name (webrtc, "add-turn-server", uri, &added);
    }
  if (relay_only)
    g_object_set (webrtc, "ice-transport-policy", GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY, NULL);
}

/* Streaming thread: any packet from the peer (RTCP, SCTP) proves it is alive. */
static GstPadProbeReturn
on_packet (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  g_atomic_int_set ((gint *)user_data, now_s ());
  return GST_PAD_PROBE_OK;
}

static void
unwatch (RtcbotdIceWatch *self)
{
  for (guint i = 0; i < self->pads->len; i++)
    gst_pad_remove_probe (self->pads->pdata[i], g_array_index (self->ids, gulong, i));
  g_ptr_array_set_size (self->pads, 0);
  g_array_set_size (self->ids, 0);
}

static void
watch (RtcbotdIceWatch *self, GstElement *element)
{
  GstElementFactory *factory = gst_element_get_factory (element);
  GstPad *pad;
  gulong id;

  if (!factory || !g_str_equal (GST_OBJECT_NAME (factory), "nicesrc"))
    return;
  pad = gst_element_get_static_pad (element, "src");
  /* Each probe holds the counter, so a callback still running after removal is safe. */
  id = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                          on_packet, g_atomic_rc_box_acquire (self->last),
                          (GDestroyNotify)g_atomic_rc_box_release);
  g_ptr_array_add (self->pads, pad);
  g_array_append_val (self->ids, id);
}

RtcbotdIceWatch *
rtcbotd_ice_watch_new (GstElement *webrtc)
{
  RtcbotdIceWatch *self = g_new0 (RtcbotdIceWatch, 1);
  g_autoptr (GstIterator) it = gst_bin_iterate_recurse (GST_BIN (webrtc));
  GValue item = G_VALUE_INIT;
  GstIteratorResult result;

  self->webrtc = gst_object_ref (webrtc);
  self->pads = g_ptr_array_new_with_free_func (gst_object_unref);
  self->ids = g_array_new (FALSE, FALSE, sizeof (gulong));
  self->last = g_atomic_rc_box_new (gint);
  *self->last = now_s ();
  while ((result = gst_iterator_next (it, &item)) != GST_ITERATOR_DONE
         && result != GST_ITERATOR_ERROR)
    {
      if (result == GST_ITERATOR_RESYNC)
        {
          unwatch (self);
          gst_iterator_resync (it);
          continue;
        }
      watch (self, g_value_get_object (&item));
      g_value_reset (&item);
    }
  g_value_unset (&item);
  return self;
}

gint
rtcbotd_ice_watch_get_silence (RtcbotdIceWatch *self)
{
  return now_s () - g_atomic_int_get (self->last);
}

void
rtcbotd_ice_watch_free (RtcbotdIceWatch *self)
{
  if (!self)
    return;
  unwatch (self);
  g_ptr_array_unref (self->pads);
  g_array_unref (self->ids);
  g_atomic_rc_box_release (self->last);
  gst_object_unref (self->webrtc);
  g_free (self);
}
