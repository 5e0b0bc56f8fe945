/* rtcbotd-media-sink.h — one configured media sink: record, speaker, display or gst.
 *
 * A media sink adds its elements to the daemon's pipeline and consumes
 * encoded, parsed media (video/x-h264 with SPS/PPS in-band, video/x-vp8,
 * audio/x-opus) from two kinds of inputs: the sources its routes name (a
 * request pad of the source's encoded stream, so a recording costs no second
 * encode) and the streams peers send (peers.video, peers.audio), which come
 * and go with the peers. A record sink muxes without decoding (rotating files
 * with splitmuxsink); speaker, display and gst sinks decode what they get. On
 * free, recordings are finished (EOS reaches the muxer, so files are playable)
 * before the elements go. Owned by the daemon; lives until the pipeline
 * stops or a reload changes its group. Main context only.
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "rtcbotd-config.h"
#include "rtcbotd-metrics.h"
#include "rtcbotd-source.h"

G_BEGIN_DECLS

typedef struct _RtcbotdMediaSink RtcbotdMediaSink;

/** Builds @config's elements into @pipeline; @generation keeps element names unique across reloads.
 */
RtcbotdMediaSink *rtcbotd_media_sink_new (const RtcbotdMediaSinkConfig *config,
                                          GstElement *pipeline, guint generation, GError **error);

/** Feeds @source's media into @self (a route from the source to the sink). */
gboolean rtcbotd_media_sink_add_source (RtcbotdMediaSink *self, RtcbotdSource *source,
                                        GError **error);

/** Feeds @pad, a peer's incoming stream of encoded parsed media, into @self until removed.
 * @pad's caps must say video/x-h264, video/x-vp8 or audio/x-opus; it should be a tee's
 * request pad (allow-not-linked): the sink leaves it unlinked while it is down or shows
 * another peer. @self takes a reference; the caller may release the pad once
 * rtcbotd_media_sink_remove_peer() has returned (it is unlinked by then).
 * On FALSE (a kind or codec the sink cannot take) @self keeps nothing. */
gboolean rtcbotd_media_sink_add_peer_stream (RtcbotdMediaSink *self, guint peer_id, GstPad *pad,
                                             GError **error);

/** Stops feeding @peer_id's streams into @self (the peer left), finishing its recording
 * in the background; a no-op for a peer that feeds nothing here. */
void rtcbotd_media_sink_remove_peer (RtcbotdMediaSink *self, guint peer_id);

/** Returns the configuration @self was built from. */
const RtcbotdMediaSinkConfig *rtcbotd_media_sink_get_config (RtcbotdMediaSink *self);

/** Returns TRUE when @object is one of the sink's elements or inside one. */
gboolean rtcbotd_media_sink_owns (RtcbotdMediaSink *self, GstObject *object);

/** Returns FALSE while @self is down (its output or file failed; it retries). */
gboolean rtcbotd_media_sink_is_up (RtcbotdMediaSink *self);

/** Adds @self's /healthz object (state, file being written, reason when down) to @builder. */
void rtcbotd_media_sink_add_health (RtcbotdMediaSink *self, JsonBuilder *builder);

/** Adds @self's rtcbotd_sink_* series (bytes written, files, errors) to @metrics. */
void rtcbotd_media_sink_add_metrics (RtcbotdMediaSink *self, RtcbotdMetrics *metrics);

/** Finishes every recording (EOS, waiting at most @timeout_ms), stops and frees @self. */
void rtcbotd_media_sink_free (RtcbotdMediaSink *self, guint timeout_ms);

G_END_DECLS
