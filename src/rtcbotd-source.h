/* rtcbotd-source.h — one configured media source, captured and encoded once.
 *
 * A source adds its elements to the daemon's pipeline: a capture bin
 * (rtcbotd-capture: device to raw media, or a camera's own H.264) ! raw tee,
 * then one branch per codec in use (leaky queue ! encoder ! encoded tee; for
 * H.264 passed through, a parser instead of the encoder). The capture bin's
 * state is locked: the source starts it, and when it fails (a device missing
 * or unplugged, a gst fragment's error) the source is down with the cause,
 * logged once, and builds a new bin with backoff until it works; so it does
 * when the running capture gives nothing without an error (stalled, see
 * rtcbotd-stall), and it stays down until a frame comes after that. With
 * on-demand the capture runs only while something consumes the source
 * (rtcbotd_source_acquire() .. rtcbotd_source_unuse()). A
 * peer takes a request pad of the encoded tee for each track, so any number of
 * viewers share one encoder per codec. Key frames are requested here,
 * rate-limited, whether a peer joins or sends a PLI. The source's preferred
 * codec branch lives as long as the source; other branches are torn down when
 * their last user goes. The source counts what each encoder produces (pad
 * probes, atomics) and is "up" while every encoder produces frames, "down"
 * with a reason after a pipeline error for one of its elements or when an
 * encoder has produced nothing for a few seconds (checked every second, each
 * change logged once). Owned by the daemon; lives until the pipeline stops, or
 * until a reload that changed it has seen its last peer leave.
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "rtcbotd-config.h"
#include "rtcbotd-metrics.h"
#include "rtcbotd-sdp.h"

G_BEGIN_DECLS

typedef struct _RtcbotdSource RtcbotdSource;

/** Builds @config's elements into @pipeline (not yet playing); @generation
 * (0 at start-up) keeps element names unique when a reload rebuilds a source. */
RtcbotdSource *rtcbotd_source_new (const RtcbotdSourceConfig *config, GstElement *pipeline,
                                   guint generation, GError **error);

/** Stops and removes @self's elements from the pipeline, and frees @self; no
 * peer may use it any more (rtcbotd_source_is_idle()). */
void rtcbotd_source_free (RtcbotdSource *self);

/** Makes @self own @config, its own configuration taken out of a config about
 * to be freed (a reload retiring @self while peers still leave). */
void rtcbotd_source_take_config (RtcbotdSource *self, RtcbotdSourceConfig *config);

/** Starts @self once the main loop runs (the pipeline playing by then): its capture,
 * unless on demand with no consumer; retried with backoff while it fails. */
void rtcbotd_source_start (RtcbotdSource *self);

/** Stops @self's capture for good (a reload retired it), freeing its device for its successor. */
void rtcbotd_source_stop (RtcbotdSource *self);

/** Returns TRUE when no peer uses @self and no encoder is being torn down. */
gboolean rtcbotd_source_is_idle (RtcbotdSource *self);

/** Returns the configuration @self was built from. */
const RtcbotdSourceConfig *rtcbotd_source_get_config (RtcbotdSource *self);

/** Picks the codec and offered payload for sending @self on @media; NONE if impossible. */
RtcbotdCodec rtcbotd_source_choose_codec (RtcbotdSource *self, const RtcbotdSdpMedia *media,
                                          const RtcbotdSdpCodec **offered);

/** Returns the codec @self encodes from the start (what recordings take: no second encoder). */
RtcbotdCodec rtcbotd_source_get_preferred_codec (RtcbotdSource *self);

/** Returns a new request pad of the encoded stream in @codec, building its encoder if needed
 * and, for the first consumer of an on-demand source, starting the capture. */
GstPad *rtcbotd_source_acquire (RtcbotdSource *self, RtcbotdCodec codec, GError **error);

/** Gives back a pad from rtcbotd_source_acquire() that its user has already unlinked
 * and released; main context only. */
void rtcbotd_source_unuse (RtcbotdSource *self, RtcbotdCodec codec);

/** Asks for a key frame in @codec soon (at most one per 300 ms); any thread. */
void rtcbotd_source_request_key_frame (RtcbotdSource *self, RtcbotdCodec codec);

/** Records @viewer's receive estimate (REMB) for @codec in @kbps, 0 to forget it; with
 * bitrate-mode = min-peer the encoder follows the lowest; main context. */
void rtcbotd_source_set_estimate (RtcbotdSource *self, RtcbotdCodec codec, gconstpointer viewer,
                                  guint kbps);

/** Returns the bitrate @codec's encoder runs at now in kbit/s (0: no such video encoder). */
guint rtcbotd_source_get_bitrate (RtcbotdSource *self, RtcbotdCodec codec);

/** Returns "videotestsrc 640x480@30 → x264enc (…) → H.264", the start-up log line. */
char *rtcbotd_source_describe_chain (RtcbotdSource *self);

/** Returns a one-line description of the encoders in use, for logs and /healthz. */
char *rtcbotd_source_describe (RtcbotdSource *self);

/** Returns TRUE when @object is one of the source's elements or inside one. */
gboolean rtcbotd_source_owns (RtcbotdSource *self, GstObject *object);

/** Records that @element posted the error @message: down until its frames flow again. */
void rtcbotd_source_set_error (RtcbotdSource *self, const char *element, const char *message);

/** Returns TRUE while every encoder of @self produces frames. */
gboolean rtcbotd_source_is_up (RtcbotdSource *self);

/** Adds @self's /healthz object (state, reason when down, frames) to @builder. */
void rtcbotd_source_add_health (RtcbotdSource *self, JsonBuilder *builder);

/** Adds @self's rtcbotd_source_* series to @metrics. */
void rtcbotd_source_add_metrics (RtcbotdSource *self, RtcbotdMetrics *metrics);

G_END_DECLS
