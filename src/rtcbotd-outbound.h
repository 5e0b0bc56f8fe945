/* rtcbotd-outbound.h — one [peer NAME]: the daemon offers to a server and stays connected.
 *
 * RTCBot's "offload to a desktop" pattern with the robot dialling out: for
 * each attempt the outbound gets a fresh RtcbotdPeer from the daemon (which
 * also hands it to the control plane), lets it offer, POSTs the offer as
 * RTCBot's JSON {"sdp","type":"offer"} to offer-to with libsoup (plus
 * "Authorization: Bearer" when a token is set), applies the JSON answer, and
 * waits for the peer to connect. A failed POST, an error status, a bad answer,
 * a connection that fails or a peer that leaves (its "default" channel
 * closed, silence) schedule the next attempt with backoff; each change of
 * state or reason is logged once, not every retry. The outbound is "connecting",
 * "connected" or "retrying" (with a reason) for /healthz and /metrics. Owned by
 * the daemon, one per [peer NAME], from start (or the reload that added it)
 * until stop (or the reload that changed or removed it); main context only.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "rtcbotd-config.h"
#include "rtcbotd-metrics.h"
#include "rtcbotd-peer.h"

G_BEGIN_DECLS

typedef struct _RtcbotdOutbound RtcbotdOutbound;

/* Called on the main context for each attempt of [peer @config->name]: returns
 * a new peer (not negotiating yet) and appends the tracks it is to send to
 * @tracks (of RtcbotdPeerTrack), or NULL with @error. */
typedef RtcbotdPeer *(*RtcbotdOutboundPeerFunc) (const RtcbotdPeerConfig *config, GArray *tracks,
                                                 gpointer user_data, GError **error);

/** Creates the outbound of @config (copied); @func makes each attempt's peer. */
RtcbotdOutbound *rtcbotd_outbound_new (const RtcbotdPeerConfig *config,
                                       RtcbotdOutboundPeerFunc func, gpointer user_data);

/** Closes the peer (it finishes closing on its own), cancels what is pending and frees @self. */
void rtcbotd_outbound_free (RtcbotdOutbound *self);

/** Makes the first attempt now. */
void rtcbotd_outbound_start (RtcbotdOutbound *self);

/** Returns the configuration @self runs (its own copy). */
const RtcbotdPeerConfig *rtcbotd_outbound_get_config (RtcbotdOutbound *self);

/** Plans one sendonly track per source of @sources (of RtcbotdSource) that
 * @config sends, in its preferred codec and a dynamic payload type of our choosing. */
GArray *rtcbotd_outbound_plan_tracks (const RtcbotdPeerConfig *config, GPtrArray *sources);

/** Returns the peer of the current attempt, or NULL. */
RtcbotdPeer *rtcbotd_outbound_get_peer (RtcbotdOutbound *self);

/** Adds {"state": ..., "reason": ...} to @builder (inside the "outbound" object). */
void rtcbotd_outbound_add_health (RtcbotdOutbound *self, JsonBuilder *builder);

/** Adds the rtcbotd_outbound_* series (label peer="NAME") to @metrics. */
void rtcbotd_outbound_add_metrics (RtcbotdOutbound *self, RtcbotdMetrics *metrics);

G_END_DECLS
