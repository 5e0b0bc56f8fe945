/* rtcbotd-config-media.h — the config layer's parser for media sources and sinks.
 *
 * Part of the pure configuration layer (see rtcbotd-config.h): reads one
 * [source NAME] group whose type is a media source (test-video, test-audio,
 * v4l2, libcamera, alsa, pulse, gst) into an RtcbotdSourceConfig, and one
 * [sink NAME] group whose type is a media sink (record, speaker, display, gst)
 * into an RtcbotdMediaSinkConfig, checking every key, range and combination.
 * GStreamer fragments (type = gst) are only checked for being present here;
 * they are parsed when built, and their errors then name pipeline_where.
 * Used only by rtcbotd-config.c.
 */
#pragma once

#include "rtcbotd-config-reader.h"
#include "rtcbotd-config.h"

G_BEGIN_DECLS

/* The media source types, in RtcbotdSourceType order, NULL-terminated. */
extern const char *const rtcbotd_media_source_type_names[];

/* The media sink types, in RtcbotdMediaSinkType order, NULL-terminated. */
extern const char *const rtcbotd_media_sink_type_names[];

/** Parses group @group (a [source @name]) of media source type @type. */
RtcbotdSourceConfig *rtcbotd_config_parse_media_source (RtcbotdConfigReader *reader,
                                                        const char *group, const char *name,
                                                        const char *type, GError **error);

/** Parses group @group (a [sink @name]) of media sink type @type. */
RtcbotdMediaSinkConfig *rtcbotd_config_parse_media_sink (RtcbotdConfigReader *reader,
                                                         const char *group, const char *name,
                                                         const char *type, GError **error);

/** Frees @sink and everything in it. */
void rtcbotd_media_sink_config_free (RtcbotdMediaSinkConfig *sink);

G_END_DECLS
