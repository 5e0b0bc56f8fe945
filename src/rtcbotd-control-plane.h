/* rtcbotd-control-plane.h — messages: the bus, its endpoints, the peers' data channels.
 *
 * Everything that carries JSON messages rather than media: the message bus
 * and its routes, the endpoints (serial, evdev, exec, websocket, socket), the
 * peers' data channels as the "peers", "peers.messages" and
 * "peers.channel.LABEL" nodes, control arbitration between peers, and the
 * daemon's own control messages ({"rtcbotd": ...}); a peer that connected
 * with the viewer token only ever watches. It follows each peer the
 * daemon hands it through the peer's signals until the peer closes. Owned by
 * the daemon; main context only.
 */
#pragma once

#include <libsoup/soup.h>

#include "rtcbotd-access.h"
#include "rtcbotd-config.h"
#include "rtcbotd-peer.h"

G_BEGIN_DECLS

typedef struct _RtcbotdControlPlane RtcbotdControlPlane;

/** Creates the control plane of @config, which must outlive it. */
RtcbotdControlPlane *rtcbotd_control_plane_new (const RtcbotdConfig *config);

/** Frees @self (after rtcbotd_control_plane_stop()). */
void rtcbotd_control_plane_free (RtcbotdControlPlane *self);

/** Creates and starts every endpoint; websockets are served by @server. */
gboolean rtcbotd_control_plane_start (RtcbotdControlPlane *self, SoupServer *server,
                                      GError **error);

/** Sends every failsafe, writes what is queued (a short while at most) and
 * stops the endpoints; once, later calls do nothing. */
void rtcbotd_control_plane_stop (RtcbotdControlPlane *self);

/** Carries @peer's data-channel messages from now on, until it closes; a
 * viewer @role only watches: its messages are ignored, control refused. */
void rtcbotd_control_plane_add_peer (RtcbotdControlPlane *self, RtcbotdPeer *peer,
                                     RtcbotdRole role);

/** Adds the "messages", "routes", "endpoints" and "control" members of /healthz. */
void rtcbotd_control_plane_add_health (RtcbotdControlPlane *self, JsonBuilder *builder);

G_END_DECLS
