/* rtcbotd-peer-streams.h — the media one peer sends us: where it may send, and its streams.
 *
 * Before the answer the daemon says on which m-lines the peer may send and in
 * which codecs (rtcbotd_peer_streams_receive_on()); the peer answers those
 * m-lines so that it can. Each stream the peer then sends appears as a
 * webrtcbin src pad: on a taken m-line it becomes an RtcbotdInbound
 * (depayloaded, parsed, teed for the media sinks), anything else goes into a
 * fakesink, at most 4 streams in all. The peer announces each new
 * RtcbotdInbound on the main context (rtcbotd_peer_streams_announce()).
 * Owned by the peer for its whole life; rtcbotd_peer_streams_take_pad() runs
 * on the streaming thread that adds the pad, everything else on the main
 * context. The streams stay until rtcbotd_peer_streams_stop(), called once
 * the peer's webrtcbin has stopped.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-access.h"
#include "rtcbotd-config.h"
#include "rtcbotd-inbound.h"
#include "rtcbotd-metrics.h"
#include "rtcbotd-sdp.h"

G_BEGIN_DECLS

typedef struct _RtcbotdPeerStreams RtcbotdPeerStreams;

/** Creates the streams of peer @peer_id, whose elements go into @pipeline. */
RtcbotdPeerStreams *rtcbotd_peer_streams_new (guint peer_id, GstElement *pipeline);

/** Plans where a peer of @role may send in offer @sdp: the audio/video m-lines it sends on
 * that a route of @config takes (peers.audio, peers.video), never for a viewer. Returns, per
 * m-line, the codecs it may send in (GstCaps, NULL where it may not); what it offers in none
 * of them is told in @unserved. */
GPtrArray *rtcbotd_peer_streams_plan (const RtcbotdConfig *config, const RtcbotdSdp *sdp,
                                      RtcbotdRole role, GString *unserved);

/** Lets the peer send on m-line @mline in one of @codecs; before negotiation starts. */
void rtcbotd_peer_streams_receive_on (RtcbotdPeerStreams *self, guint mline, GstCaps *codecs);

/** Returns the codecs the peer may send on m-line @mline, or NULL when it may not send there. */
GstCaps *rtcbotd_peer_streams_get_codecs (RtcbotdPeerStreams *self, guint mline);

/** Streaming thread: takes webrtcbin's new src @pad; returns its new stream for the caller to
 * announce, or NULL when the pad went into a fakesink (or nowhere, past the limit). */
RtcbotdInbound *rtcbotd_peer_streams_take_pad (RtcbotdPeerStreams *self, GstPad *pad);

/** Records that @inbound, from rtcbotd_peer_streams_take_pad(), was announced. */
void rtcbotd_peer_streams_announce (RtcbotdPeerStreams *self, RtcbotdInbound *inbound);

/** Returns the announced streams (of RtcbotdInbound), valid until rtcbotd_peer_streams_stop(). */
GPtrArray *rtcbotd_peer_streams_get_announced (RtcbotdPeerStreams *self);

/** Returns the stream whose elements hold @object, or NULL. */
RtcbotdInbound *rtcbotd_peer_streams_owning (RtcbotdPeerStreams *self, GstObject *object);

/** Adds rtcbotd_peer_incoming_streams and each stream's series (label peer=@peer). */
void rtcbotd_peer_streams_add_metrics (RtcbotdPeerStreams *self, RtcbotdMetrics *metrics,
                                       const char *peer);

/** Frees every stream and fakesink; once nothing pushes into them (webrtcbin stopped). */
void rtcbotd_peer_streams_stop (RtcbotdPeerStreams *self);

/** Stops and frees @self. */
void rtcbotd_peer_streams_free (RtcbotdPeerStreams *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdPeerStreams, rtcbotd_peer_streams_free)

G_END_DECLS
