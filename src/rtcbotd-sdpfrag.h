/* rtcbotd-sdpfrag.h — a WHEP PATCH body: a trickle-ICE SDP fragment (RFC 8840).
 *
 * Pure parsing, no GStreamer: reads an application/trickle-ice-sdpfrag body
 * into the ICE credentials it names (a changed ufrag means an ICE restart),
 * its candidates with the media stream (mid) each belongs to, and whether
 * the client is done (a=end-of-candidates). Bounded: at most
 * RTCBOTD_SDPFRAG_MAX_CANDIDATES candidates, lines of at most 1 KiB; anything
 * malformed is an error naming the line. The result is owned by the caller.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RTCBOTD_SDPFRAG_MAX_CANDIDATES 64

typedef struct
{
  char *mid;       /* the m= section's a=mid, or NULL before any m= line */
  guint mline;     /* the m= section's position in the fragment (0 before any) */
  char *candidate; /* "candidate:..." as webrtcbin's add-ice-candidate takes it */
} RtcbotdSdpfragCandidate;

typedef struct
{
  char *ufrag; /* NULL when the fragment does not say */
  char *pwd;
  GPtrArray *candidates; /* of RtcbotdSdpfragCandidate */
  gboolean end_of_candidates;
} RtcbotdSdpfrag;

/** Parses @length bytes of @text (not necessarily NUL-terminated). */
RtcbotdSdpfrag *rtcbotd_sdpfrag_parse (const char *text, gsize length, GError **error);

/** Frees @self. */
void rtcbotd_sdpfrag_free (RtcbotdSdpfrag *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdSdpfrag, rtcbotd_sdpfrag_free)

G_END_DECLS
