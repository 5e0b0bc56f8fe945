/* rtcbotd-ice.h — ICE settings and packet-level liveness for one webrtcbin.
 *
 * rtcbotd_ice_configure() applies rtcbotd's libnice settings to a webrtcbin
 * before it gathers. An RtcbotdIceWatch records when the last packet arrived
 * from the peer on the webrtcbin's ICE transports (RTCP, SCTP), so that a
 * vanished peer is noticed long before ICE consent would fail. The peer owns
 * its watch from the moment it connects until it closes.
 */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _RtcbotdIceWatch RtcbotdIceWatch;

/** Applies rtcbotd's libnice settings to @webrtc; @local is the address the offer came to. */
void rtcbotd_ice_configure (GstElement *webrtc, GInetAddress *local);

/** Gives @webrtc the STUN/TURN @servers (of RtcbotdIceServer; STUN: the first) and,
 * with @relay_only, the relay-only transport policy; before it gathers. */
void rtcbotd_ice_use_servers (GstElement *webrtc, GPtrArray *servers, gboolean relay_only);

/** Starts watching the packets that arrive on @webrtc's ICE transports. */
RtcbotdIceWatch *rtcbotd_ice_watch_new (GstElement *webrtc);

/** Returns the seconds since the last packet (or since the watch began); any thread. */
gint rtcbotd_ice_watch_get_silence (RtcbotdIceWatch *self);

/** Stops watching and frees @self. */
void rtcbotd_ice_watch_free (RtcbotdIceWatch *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdIceWatch, rtcbotd_ice_watch_free)

G_END_DECLS
