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
#include "rtcbotd-metrics.h"
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

/** Takes @config in place of @old (both stay alive until this returns; @config
 * must then outlive @self): unchanged endpoints and routes keep running,
 * changed ones are rebuilt, removed ones stopped. An endpoint that cannot
 * start is named in @error and stays down; the rest is applied. */
gboolean rtcbotd_control_plane_reload (RtcbotdControlPlane *self, RtcbotdConfig *config,
                                       RtcbotdConfig *old, SoupServer *server, GError **error);

/** Sends every failsafe, writes what is queued (a short while at most) and
 * stops the endpoints; once, later calls do nothing. */
void rtcbotd_control_plane_stop (RtcbotdControlPlane *self);

/** Carries @peer's data-channel messages from now on, until it closes; a
 * viewer @role only watches: its messages are ignored, control refused. */
void rtcbotd_control_plane_add_peer (RtcbotdControlPlane *self, RtcbotdPeer *peer,
                                     RtcbotdRole role);

/** Carries the messages of @peer, the daemon's offer to [peer @name], until it
 * closes: what it sends is published on node "peer.NAME.messages" (never
 * "peers.messages", never through control arbitration); sink "peer.NAME" sends
 * to it. It is not one of the "peers". */
void rtcbotd_control_plane_add_outbound_peer (RtcbotdControlPlane *self, const char *name,
                                              RtcbotdPeer *peer);

/** Adds the "messages", "routes", "endpoints" and "control" members of /healthz. */
void rtcbotd_control_plane_add_health (RtcbotdControlPlane *self, JsonBuilder *builder);

/** Returns TRUE while every endpoint is up. */
gboolean rtcbotd_control_plane_all_up (RtcbotdControlPlane *self);

/** Adds the message, route, endpoint and control series to @metrics. */
void rtcbotd_control_plane_add_metrics (RtcbotdControlPlane *self, RtcbotdMetrics *metrics);

/** Appends "; endpoints: NAME up|down, ..." to @status (nothing without endpoints). */
void rtcbotd_control_plane_append_status (RtcbotdControlPlane *self, GString *status);

G_END_DECLS
