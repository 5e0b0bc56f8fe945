/* rtcbotd-channels.h — one peer's data channels.
 *
 * Adopts the channels the offerer opens (RTCBot's "default" first, more by
 * label, at most 16), delivers their text messages, and sends: on "default"
 * through a queue of 256 (1 MiB) that waits for it to open, on other labels directly;
 * a channel with more than 1 MiB unread gets no more messages until it
 * catches up, and at most 1024 incoming messages (4 MiB) wait for a held-up
 * main loop (both counted as dropped). Incoming messages over 64 KiB, and
 * those beyond the peer's rate limit (a token bucket over all its channels,
 * rtcbotd_channels_set_rate_limit()), are dropped on the SCTP thread before
 * they hop; each of those two is logged once per peer and counted. Callbacks come on webrtcbin's
 * SCTP threads and hop to the main context (holding a reference) before any
 * state is touched; every signal is emitted there. Owned by its peer, which
 * calls rtcbotd_channels_close() when it closes: no signal follows that.
 */
#pragma once

#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>

#include "rtcbotd-metrics.h"

G_BEGIN_DECLS

#define RTCBOTD_TYPE_CHANNELS (rtcbotd_channels_get_type ())
G_DECLARE_FINAL_TYPE (RtcbotdChannels, rtcbotd_channels, RTCBOTD, CHANNELS, GObject)

/** Creates the channels of peer @id (for log lines), for the thread-default main context. */
RtcbotdChannels *rtcbotd_channels_new (guint id);

/** Adopts every data channel @webrtc announces from now on. */
void rtcbotd_channels_watch (RtcbotdChannels *self, GstElement *webrtc);

/** Adopts @channel, one the peer created itself (it offers): carried like an announced one; any
 * thread. */
void rtcbotd_channels_adopt (RtcbotdChannels *self, GstWebRTCDataChannel *channel);

/** Sends @text on the channel labelled @label ("default" queues until it opens). */
void rtcbotd_channels_send (RtcbotdChannels *self, const char *label, const char *text);

/** Closes the open channels and stops signalling; returns TRUE if one was open. */
gboolean rtcbotd_channels_close (RtcbotdChannels *self);

/** Returns how many messages were dropped, both ways, for any reason. */
guint64 rtcbotd_channels_get_dropped (RtcbotdChannels *self);

/** Caps incoming messages at @per_second (bursts as large, 0: none); before it connects. */
void rtcbotd_channels_set_rate_limit (RtcbotdChannels *self, guint per_second);

/** Adds the peer's dropped-message (per reason) and refused-channel counters to @metrics. */
void rtcbotd_channels_add_metrics (RtcbotdChannels *self, RtcbotdMetrics *metrics, const char *id);

G_END_DECLS
