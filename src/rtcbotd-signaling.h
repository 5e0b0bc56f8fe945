/* rtcbotd-signaling.h — RTCBot's JSON signaling: the /connect offer and answer.
 *
 * Stateless helpers with no GStreamer in them: they turn an HTTP body into an
 * offer's SDP text (or a GError naming what was wrong) and build the JSON
 * replies. Fuzzable on their own.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/** Extracts the SDP of an RTCBot offer body {"type":"offer","sdp":"..."}. */
char *rtcbotd_signaling_parse_offer (const char *body, gsize length, GError **error);

/** Returns the JSON text {"sdp": @sdp, "type": "answer"}. */
char *rtcbotd_signaling_answer_json (const char *sdp);

/** Extracts the SDP of an answer body {"sdp": "...", "type": "answer"} (offerer mode). */
char *rtcbotd_signaling_parse_answer (const char *body, gsize length, GError **error);

/** Returns the JSON text {"sdp": @sdp, "type": "offer"}, as RTCBot's Python offerer sends. */
char *rtcbotd_signaling_offer_json (const char *sdp);

/** Returns the JSON text {"error": @message}. */
char *rtcbotd_signaling_error_json (const char *message);

G_END_DECLS
