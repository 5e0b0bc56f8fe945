/* rtcbotd-peer-private.h — the inside of RtcbotdPeer, shared by its files.
 *
 * A peer answers (rtcbotd-peer.c) or offers (rtcbotd-peer-offer.c); both roles
 * drive the same negotiation steps: one GTask at a time carries the result,
 * webrtcbin's promises hop to the main context, and an error at any step
 * fails the task. Its media branches (one per track it receives from us:
 * queue ! payloader into webrtcbin, joined to a source's encoded tee once
 * connected) live in rtcbotd-peer-media.c. Only the peer's files include
 * this header.
 */
#pragma once

#include "rtcbotd-channels.h"
#include "rtcbotd-error.h"
#include "rtcbotd-feedback.h"
#include "rtcbotd-ice.h"
#include "rtcbotd-peer-stats.h"
#include "rtcbotd-peer-streams.h"
#include "rtcbotd-peer.h"

G_BEGIN_DECLS

typedef enum
{
  STATE_NEGOTIATING,
  STATE_CONNECTING,
  STATE_CONNECTED,
  STATE_CLOSING,
  STATE_CLOSED,
} RtcbotdPeerState;

typedef struct
{
  RtcbotdPeerTrack track;
  GstPad *tee_pad;   /* request pad on the source's encoded tee */
  GstElement *queue; /* queue ! payloader into webrtcbin */
  GstElement *payloader;
  GstPad *queue_src;  /* looked up once: read for every buffer */
  GstPad *webrtc_pad; /* webrtcbin's sink pad the payloader feeds */
  RtcbotdPeer *peer;  /* the owner, for the streaming-thread probe */
  gint dropped;       /* frames the leaky queue let go; atomic */
  gboolean unlinked;  /* closing: taken off its tee */
  guint ssrc;         /* announced in the answer: tracks sharing a payload type stay apart */
  guint estimate;     /* kbit/s this track may use by the peer's last REMB; 0: none yet */
} RtcbotdPeerBranch;

struct _RtcbotdPeer
{
  GObject parent;
  guint id;
  guint timeout;
  RtcbotdPeerState state;
  GMainContext *context;
  GstElement *pipeline;
  GstElement *webrtc;
  GArray *branches;            /* of RtcbotdPeerBranch */
  RtcbotdPeerStreams *streams; /* the media it sends us */
  RtcbotdChannels *channels;
  GTask *answer_task;
  char *offer; /* while negotiating: the answer echoes some of its feedback */
  guint gathering_timeout_id;
  guint watchdog_id; /* every second until closing, then once if closing gets stuck */
  guint close_grace_id;
  gint64 connect_deadline;
  RtcbotdIceWatch *ice_watch; /* from connected to closing */
  RtcbotdPeerStats *stats;    /* from connected to closing */
  RtcbotdFeedback *feedback;  /* from connected to closing */
  gint media_failed;          /* a branch met an error downstream; atomic */
  guint unlinks_pending;
  gboolean quiet; /* closing is logged at debug level */
};

/** Runs @func with @self on the peer's main context (from any thread). */
void rtcbotd_peer_hop (RtcbotdPeer *self, GSourceFunc func);

/** Builds @b's queue ! payloader into webrtcbin for its track; not yet fed. */
gboolean rtcbotd_peer_link_branch (RtcbotdPeer *self, RtcbotdPeerBranch *b, GError **error);

/** Main context, once connected: joins @b to its source's encoded tee. */
void rtcbotd_peer_attach_branch (RtcbotdPeer *self, RtcbotdPeerBranch *b);

/** RtcbotdFeedbackFunc: a REMB of @bitrate covering @ssrcs shares itself out over the tracks. */
void rtcbotd_peer_on_remb (guint64 bitrate, const guint32 *ssrcs, guint n_ssrcs,
                           gpointer user_data);

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
