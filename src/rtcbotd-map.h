/* rtcbotd-map.h — a route's "map": input events to robot commands.
 *
 * A map turns what drivers send (browser key and gamepad events, evdev
 * events, plain JSON objects) into one command object with a fixed set of
 * fields, as RTCBot's tutorials did by hand:
 *
 *   forward=key.w*255-key.s*255+axis.1*-255,clamp=-255:255,round
 *
 * Each whitespace-separated FIELD=EXPR defines one output field; EXPR sums
 * terms (key./btn. held = 1, axis. latest value, field. a member of an
 * incoming object, or a number), each with an optional *SCALE, then applies
 * options (offset=, deadzone=, clamp=LO:HI, round). The map remembers every
 * source's latest input and who sent it (the origin: a peer, an endpoint),
 * so a key release or one axis moving yields the whole command again, and an
 * origin that goes away can be forgotten on its own. A source nobody has set
 * is unset; a field whose sources are all unset is 0. docs/config.md is the
 * reference. Pure (no main loop); the
 * parsed text is part of the configuration, the state belongs to the route.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _RtcbotdMap RtcbotdMap;

/* More fields, or terms in one field, are refused. */
#define RTCBOTD_MAP_MAX_FIELDS 32
#define RTCBOTD_MAP_MAX_TERMS 32

/** Parses @text; the error (RTCBOTD_ERROR_INVALID) quotes the offending part. */
RtcbotdMap *rtcbotd_map_new (const char *text, GError **error);

/** Returns an independent copy of @self with every input released. */
RtcbotdMap *rtcbotd_map_copy (const RtcbotdMap *self);

/** Frees @self. */
void rtcbotd_map_free (RtcbotdMap *self);

/** Returns the command after @input, or NULL when @input touches no term. */
JsonNode *rtcbotd_map_apply (RtcbotdMap *self, JsonNode *input);

/** As rtcbotd_map_apply(), for @input sent by @origin. */
JsonNode *rtcbotd_map_apply_from (RtcbotdMap *self, JsonNode *input, guint origin);

/** Returns the command from the sources as they are now. */
JsonNode *rtcbotd_map_get_command (RtcbotdMap *self);

/** Unsets every source @origin set last; returns TRUE if there was one. */
gboolean rtcbotd_map_release (RtcbotdMap *self, guint origin);

/** Unsets every source: keys released, axes and fields unknown (after a failsafe). */
void rtcbotd_map_reset (RtcbotdMap *self);

/** Returns the output field names, in order. */
const char *const *rtcbotd_map_get_fields (const RtcbotdMap *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdMap, rtcbotd_map_free)

G_END_DECLS
