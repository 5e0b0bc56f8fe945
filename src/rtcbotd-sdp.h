/* rtcbotd-sdp.h — text-level reading and rewriting of SDP offers and answers.
 *
 * No GStreamer here: this is the part of signaling that reads what a peer
 * sent, so it is small, strict about structure, and fuzzable. An RtcbotdSdp
 * is a read-only summary of an offer (its m-lines and their codecs), owned by
 * the caller. The rewrite functions return new strings.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  RTCBOTD_CODEC_NONE,
  RTCBOTD_CODEC_H264,
  RTCBOTD_CODEC_VP8,
  RTCBOTD_CODEC_OPUS,
} RtcbotdCodec;

typedef struct
{
  guint pt;
  char *name; /* encoding name as offered, e.g. "VP8", "H264", "opus" */
  guint clock_rate;
  char *fmtp; /* the a=fmtp parameters, or NULL */
} RtcbotdSdpCodec;

typedef struct
{
  char *kind;             /* "video", "audio", "application", ... */
  char *mid;              /* or NULL */
  gboolean rejected;      /* port 0 */
  gboolean wants_receive; /* the offerer will receive on it (recvonly or sendrecv) */
  gboolean wants_send;    /* the offerer will send on it (sendonly or sendrecv) */
  GPtrArray *codecs;      /* of RtcbotdSdpCodec, in preference order */
} RtcbotdSdpMedia;

typedef struct
{
  GPtrArray *media; /* of RtcbotdSdpMedia, in m-line order */
} RtcbotdSdp;

/** Parses and checks the structure of an offer; errors name the line. */
RtcbotdSdp *rtcbotd_sdp_parse (const char *text, GError **error);

/** Frees @self. */
void rtcbotd_sdp_free (RtcbotdSdp *self);

/** Returns the first codec of @media that rtcbotd can send as @codec, or NULL. */
const RtcbotdSdpCodec *rtcbotd_sdp_media_find_codec (const RtcbotdSdpMedia *media,
                                                     RtcbotdCodec codec);

/** Returns the first codec of @media that rtcbotd can receive as @codec, or NULL. */
const RtcbotdSdpCodec *rtcbotd_sdp_media_find_receivable (const RtcbotdSdpMedia *media,
                                                          RtcbotdCodec codec);

/** Returns the offer with aiortc's per-m-line BUNDLE credentials unified and
 * mDNS (.local) candidates removed, ready for webrtcbin. */
char *rtcbotd_sdp_prepare_offer (const char *text);

/** Returns @answer with "a=msid:@stream TRACK" on each m-line @tracks names
 * (@tracks is indexed by m-line; NULL entries are left alone) and, where
 * @ssrcs (may be NULL; 0 = none) gives one, "a=ssrc:N cname/msid" lines, so
 * that peers can tell apart tracks that share a payload type. */
char *rtcbotd_sdp_add_msid (const char *answer, const char *stream, const char *const *tracks,
                            const guint *ssrcs, guint n_tracks);

/* The largest data-channel message rtcbotd takes (longer ones are dropped,
 * rtcbotd-channels.c), announced in answers as a=max-message-size. */
#define RTCBOTD_SDP_MAX_MESSAGE_SIZE (64 * 1024)

/** Returns @answer with the RTCP feedback rtcbotd acts on: "goog-remb" (not
 * in webrtcbin's answers) wherever @offer has it for the payload type, and no
 * "transport-cc" (rtcbotd sends no transport-wide sequence numbers); and, in
 * a data section without one, "a=max-message-size" (webrtcbin 1.22 writes
 * none, and its SCTP hands on the tail of a longer message as a message). */
char *rtcbotd_sdp_answer_feedback (const char *answer, const char *offer);

/** Returns the name of @codec ("H264", "VP8", "opus"). */
const char *rtcbotd_codec_to_string (RtcbotdCodec codec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdSdp, rtcbotd_sdp_free)

G_END_DECLS
