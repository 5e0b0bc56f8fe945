/* rtcbotd-trim.h — gives the memory departed peers freed back to the kernel.
 *
 * A peer's threads (ICE, DTLS, SCTP, RTP) allocate in glibc malloc's
 * per-thread arenas, which keep what is freed there until malloc_trim().
 * after_peer() trims at once, when a peer has closed, and once more @delay_ms
 * after the last call: the peer's threads end, and hand their caches back to
 * the arenas, only after it has closed, so the trim at once misses what they
 * free (about 2 MiB after a burst of peers, bench/soak). While peers keep
 * leaving the second trim waits for a pause. Creating it also caps malloc
 * at RTCBOTD_TRIM_ARENAS arenas for the process (mallopt M_ARENA_MAX, unless
 * MALLOC_ARENA_MAX is set): with the default (8 per core) every arena keeps
 * pages that a few long-lived allocations of peers' threads pin — GQuarks
 * that webrtcbin interns per SSRC, GnuTLS's random state of each libnice
 * thread — so a daemon whose peers came and went holds megabytes of
 * mostly free memory. Owned by the daemon; main context only. Without glibc
 * it does nothing.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RtcbotdTrim RtcbotdTrim;

/* malloc arenas at most (bench/soak, 1,000 peers: see bench/README.md). */
#define RTCBOTD_TRIM_ARENAS 2

/** Caps malloc's arenas, creates a trimmer whose deferred trim comes @delay_ms after the last
 * after_peer(). */
RtcbotdTrim *rtcbotd_trim_new (guint delay_ms);

/** Trims now, and again @delay_ms after the last call (a peer has closed). */
void rtcbotd_trim_after_peer (RtcbotdTrim *self);

/** The number of trims done so far (immediate and deferred). */
guint rtcbotd_trim_get_count (RtcbotdTrim *self);

/** TRUE while the deferred trim waits. */
gboolean rtcbotd_trim_is_pending (RtcbotdTrim *self);

/** Cancels a pending deferred trim and frees @self. */
void rtcbotd_trim_free (RtcbotdTrim *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdTrim, rtcbotd_trim_free)

G_END_DECLS
