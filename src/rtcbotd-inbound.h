/* rtcbotd-inbound.h — one media stream a peer sends us, ready for media sinks.
 *
 * An inbound stream takes one of a peer's webrtcbin src pads (the RTP of one
 * track the peer sends: Opus, VP8 or H.264, as the pad's caps say) and turns it
 * into encoded, parsed media without decoding it: rtpopusdepay ! opusparse,
 * rtpvp8depay, or rtph264depay ! h264parse (SPS/PPS with every key frame,
 * byte-stream, whole access units), then a tee. Each media sink the stream is
 * routed to gets a request pad of that tee (rtcbotd_inbound_acquire_pad());
 * video pads start at a key frame, which the stream asks the peer for (an RTCP
 * PLI, rate-limited). It counts the packets, bytes and frames that arrive, the
 * gaps (lost packets) and the errors its elements post, for /metrics. A frame
 * whose time goes back is dropped (a muxer would fail on it) until the stream
 * catches up, unless it is far behind or stays behind: then the stream
 * follows its new timeline (a stray far-future timestamp must not drop it for
 * good). It is
 * built on the streaming thread where webrtcbin adds the pad (the elements
 * must be linked before the first packet), then used on the main context. The
 * peer owns it; it is freed once the peer's webrtcbin has stopped, so nothing
 * flows through it any more.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-config.h"
#include "rtcbotd-metrics.h"
#include "rtcbotd-sdp.h"

G_BEGIN_DECLS

typedef struct _RtcbotdInbound RtcbotdInbound;

/** Builds the stream of webrtcbin src pad @pad into @pipeline and links it; any thread. */
RtcbotdInbound *rtcbotd_inbound_new (GstElement *pipeline, GstPad *pad, GError **error);

/** Returns what the stream carries: audio or video. */
RtcbotdKind rtcbotd_inbound_get_kind (RtcbotdInbound *self);

/** Returns the stream's codec. */
RtcbotdCodec rtcbotd_inbound_get_codec (RtcbotdInbound *self);

/** Returns the SSRC the peer sends the stream with (0 when unknown). */
guint rtcbotd_inbound_get_ssrc (RtcbotdInbound *self);

/** Returns a new src pad of the stream's tee for a consumer to link (a reference; the tee keeps
 * it until @self is freed), starting at a key frame for video. */
GstPad *rtcbotd_inbound_acquire_pad (RtcbotdInbound *self);

/** Releases @pad (from acquire_pad) that no consumer took: unlinked, off the tee at once. */
void rtcbotd_inbound_release_pad (RtcbotdInbound *self, GstPad *pad);

/** Asks the peer for a key frame (an RTCP PLI), at most once a second (a request within the
 * second goes out when it is over); video only. */
void rtcbotd_inbound_request_key_frame (RtcbotdInbound *self);

/** Returns TRUE when @object is one of the stream's elements or inside one. */
gboolean rtcbotd_inbound_owns (RtcbotdInbound *self, GstObject *object);

/** Counts an error or warning one of the stream's elements posted. */
void rtcbotd_inbound_count_error (RtcbotdInbound *self);

/** Adds the rtcbotd_peer_incoming_* series of the stream (labels peer=@peer, kind, codec). */
void rtcbotd_inbound_add_metrics (RtcbotdInbound *self, RtcbotdMetrics *metrics, const char *peer);

/** Stops and removes the stream's elements, releasing every pad it handed out; main context,
 * once nothing pushes into it (its webrtcbin has stopped). */
void rtcbotd_inbound_free (RtcbotdInbound *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdInbound, rtcbotd_inbound_free)

G_END_DECLS
