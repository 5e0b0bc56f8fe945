/* rtcbotd-peer-stats.h — what webrtcbin's statistics say about one peer's tracks.
 *
 * While a peer is connected, this asks its webrtcbin for its statistics
 * ("get-stats") every 2 s and keeps the last figures of each track it sends,
 * told apart by SSRC: round-trip time, fraction and packets lost (from
 * the peer's RTCP receiver reports, remote-inbound-rtp), bytes and packets
 * sent (outbound-rtp) and the bitrate between the last two readings. The
 * replies come on webrtcbin's thread and hop to the main context. The peer
 * owns it from connected to closing; a reply still in flight when the peer
 * frees it keeps the memory alive and is then ignored. Main context.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-metrics.h"

G_BEGIN_DECLS

typedef struct _RtcbotdPeerStats RtcbotdPeerStats;

/* How often the statistics are asked for. */
#define RTCBOTD_PEER_STATS_INTERVAL_S 2

/** Starts polling @webrtc's statistics (of the tracks added next). */
RtcbotdPeerStats *rtcbotd_peer_stats_new (GstElement *webrtc);

/** Adds the track that goes into @webrtc through its sink pad @pad, from source @source. */
void rtcbotd_peer_stats_add_track (RtcbotdPeerStats *self, GstPad *pad, const char *source,
                                   const char *kind);

/** Adds the last figures as rtcbotd_peer_* series labelled peer=@peer to @metrics. */
void rtcbotd_peer_stats_add_metrics (RtcbotdPeerStats *self, RtcbotdMetrics *metrics,
                                     const char *peer);

/** Stops polling and frees @self (replies in flight are dropped when they arrive). */
void rtcbotd_peer_stats_free (RtcbotdPeerStats *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdPeerStats, rtcbotd_peer_stats_free)

G_END_DECLS
