/* rtcbotd-peer-private.h — what rtcbotd-peer.c shares with its offer role.
 *
 * A peer answers (rtcbotd-peer.c) or offers (rtcbotd-peer-offer.c); both roles
 * drive the same negotiation steps: one GTask at a time carries the result,
 * webrtcbin's promises hop to the main context, and an error at any step
 * fails the task. Only the two peer files include this header.
 */
#pragma once

#include "rtcbotd-channels.h"
#include "rtcbotd-error.h"
#include "rtcbotd-peer.h"

G_BEGIN_DECLS

/* A negotiation step, run on the main context with webrtcbin's promise reply. */
typedef void (*RtcbotdPeerStep) (RtcbotdPeer *self, const GstStructure *reply);

/** Returns the peer's webrtcbin. */
GstElement *rtcbotd_peer_get_webrtc (RtcbotdPeer *self);

/** Returns the peer's data channels. */
RtcbotdChannels *rtcbotd_peer_get_channels (RtcbotdPeer *self);

/** Starts a step whose result goes to @task (taken); with @tracks, the first
 * one: plans them and puts webrtcbin (reached on @local, or NULL) into the
 * pipeline. Returns FALSE, @task failed, when the peer cannot start it. */
gboolean rtcbotd_peer_begin (RtcbotdPeer *self, GArray *tracks, GInetAddress *local, GTask *task);

/** Links every planned track's queue ! payloader to webrtcbin; FALSE: the task failed. */
gboolean rtcbotd_peer_link_branches (RtcbotdPeer *self);

/** Emits webrtcbin's @signal with @argument and a promise whose reply goes to
 * @func on the main context; an error reply fails the task ("@what: ..."). */
void rtcbotd_peer_emit_step (RtcbotdPeer *self, const char *signal, gpointer argument,
                             RtcbotdPeerStep func, RtcbotdError code, const char *what);

/** Fails the task under way, if any, with @error (taken). */
void rtcbotd_peer_fail (RtcbotdPeer *self, GError *error);

/** The step after set-local-description: the task gets the local SDP once ICE gathering is done. */
void rtcbotd_peer_local_set (RtcbotdPeer *self, const GstStructure *reply);

/** Takes the task under way (NULL if none). */
GTask *rtcbotd_peer_steal_task (RtcbotdPeer *self);

G_END_DECLS
