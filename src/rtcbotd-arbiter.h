/* rtcbotd-arbiter.h — who may drive: control arbitration between peers.
 *
 * With [daemon] control = single, one peer drives at a time: the first peer
 * whose data channel opens, or one that takes control with the configured
 * control-token; the others watch, and their messages are not routed. When
 * the driver goes away, control passes to the peer that has waited longest.
 * With control = shared every peer drives. Pure bookkeeping (peer numbers
 * only), owned by the daemon; main context.
 */
#pragma once

#include "rtcbotd-config.h"

G_BEGIN_DECLS

typedef struct _RtcbotdArbiter RtcbotdArbiter;

/** Creates an arbiter for @mode; @token (may be NULL) lets a peer take control. */
RtcbotdArbiter *rtcbotd_arbiter_new (RtcbotdControlMode mode, const char *token);

/** Frees @self. */
void rtcbotd_arbiter_free (RtcbotdArbiter *self);

/** Switches to @mode and @token (a reload); in single mode the current driver
 * stays, or the longest-connected peer drives. Returns TRUE if roles changed. */
gboolean rtcbotd_arbiter_reconfigure (RtcbotdArbiter *self, RtcbotdControlMode mode,
                                      const char *token);

/** Adds peer @peer (a data channel opened); returns FALSE when it was known already. */
gboolean rtcbotd_arbiter_add (RtcbotdArbiter *self, guint peer);

/** Removes @peer; returns the peer that drives in its place, or 0 when none changed. */
guint rtcbotd_arbiter_remove (RtcbotdArbiter *self, guint peer);

/** Returns TRUE when @peer's messages are routed. */
gboolean rtcbotd_arbiter_may_drive (RtcbotdArbiter *self, guint peer);

/** Makes @peer the driver if @token is right; *previous is the peer that lost control (or 0). */
gboolean rtcbotd_arbiter_take (RtcbotdArbiter *self, guint peer, const char *token, guint *previous,
                               GError **error);

/** Returns the driving peer in single mode, 0 when none (or in shared mode). */
guint rtcbotd_arbiter_get_driver (RtcbotdArbiter *self);

/** Returns @peer's role as told to it: "driver" or "viewer". */
const char *rtcbotd_arbiter_get_role (RtcbotdArbiter *self, guint peer);

/** Returns TRUE in single mode (roles are worth telling the peers). */
gboolean rtcbotd_arbiter_is_single (RtcbotdArbiter *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdArbiter, rtcbotd_arbiter_free)

G_END_DECLS
