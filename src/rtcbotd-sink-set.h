/* rtcbotd-sink-set.h — the daemon's media sinks, built from the config and fed.
 *
 * Holds every running RtcbotdMediaSink and knows the routes between them and
 * the rest: which running sources feed which sink, which sinks take the
 * streams peers send (peers.audio, peers.video), and how a reload changes
 * the set (changed sinks are built before anything else changes, retired
 * ones finish their files, kept ones keep writing). Owned by the daemon;
 * main context only.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "rtcbotd-config.h"
#include "rtcbotd-inbound.h"
#include "rtcbotd-media-sink.h"
#include "rtcbotd-metrics.h"

G_BEGIN_DECLS

/* How long stopping or a reload waits for a recording's last file to be written. */
#define RTCBOTD_SINK_SET_FINISH_MS 5000

typedef struct _RtcbotdSinkSet RtcbotdSinkSet;

/** Creates an empty set whose sinks go into @pipeline. */
RtcbotdSinkSet *rtcbotd_sink_set_new (GstElement *pipeline);

/** Returns TRUE when a route sends source @source to media sink @sink (NULL: to any). */
gboolean rtcbotd_sink_set_routed (const RtcbotdConfig *config, const char *source,
                                  const char *sink);

/** Builds every media sink of @config and feeds it the running @sources (of RtcbotdSource). */
gboolean rtcbotd_sink_set_build (RtcbotdSinkSet *self, const RtcbotdConfig *config,
                                 GPtrArray *sources, GError **error);

/** Builds into @built, not yet fed, the sinks that @next adds or changes against @current;
 * @generation names their elements. The only step of a reload here that can fail. */
gboolean rtcbotd_sink_set_build_changed (RtcbotdSinkSet *self, RtcbotdConfig *next,
                                         RtcbotdConfig *current, guint generation, GPtrArray *built,
                                         GError **error);

/** Finishes and frees the running sinks that @next removes or changes against @current. */
void rtcbotd_sink_set_retire (RtcbotdSinkSet *self, RtcbotdConfig *next, RtcbotdConfig *current);

/** Keeps the unchanged sinks (their config entries move into @next) and adds the
 * @built ones, fed from @sources; returns the sinks that were running before (a copy). */
GPtrArray *rtcbotd_sink_set_commit (RtcbotdSinkSet *self, RtcbotdConfig *next,
                                    RtcbotdConfig *current, GPtrArray *sources, GPtrArray *built);

/** Feeds @inbound, a stream peer @peer_id sends, to every sink a route from its kind
 * names under @config, except those in @fed (may be NULL). */
void rtcbotd_sink_set_feed_stream (RtcbotdSinkSet *self, const RtcbotdConfig *config, guint peer_id,
                                   RtcbotdInbound *inbound, GPtrArray *fed);

/** Returns a new array of the sinks fed by peers.audio or peers.video (@kind). */
GPtrArray *rtcbotd_sink_set_for_peers (RtcbotdSinkSet *self, const RtcbotdConfig *config,
                                       RtcbotdKind kind);

/** Takes peer @peer_id's streams out of every sink (its recordings are finished). */
void rtcbotd_sink_set_remove_peer (RtcbotdSinkSet *self, guint peer_id);

/** Returns TRUE while every sink is up. */
gboolean rtcbotd_sink_set_all_up (RtcbotdSinkSet *self);

/** Adds the "sinks" member of /healthz. */
void rtcbotd_sink_set_add_health (RtcbotdSinkSet *self, JsonBuilder *builder);

/** Adds every sink's series to @metrics. */
void rtcbotd_sink_set_add_metrics (RtcbotdSinkSet *self, RtcbotdMetrics *metrics);

/** Appends "; sinks: NAME up|down, ..." to @status (nothing without sinks). */
void rtcbotd_sink_set_append_status (RtcbotdSinkSet *self, GString *status);

/** Finishes every recording (at most @timeout_ms each) and frees the sinks, not @self. */
void rtcbotd_sink_set_clear (RtcbotdSinkSet *self, guint timeout_ms);

/** Frees @self and whatever sinks it still holds. */
void rtcbotd_sink_set_free (RtcbotdSinkSet *self);

G_END_DECLS
