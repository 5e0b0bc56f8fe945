/* rtcbotd-config-peer.h — the config layer's parser for [peer NAME] groups.
 *
 * Part of the pure configuration layer (see rtcbotd-config.h): reads one
 * [peer NAME] group (a server the daemon offers to, as RTCBot's desktop side
 * answers: offer-to, token, sources) into an RtcbotdPeerConfig, and resolves
 * the route ends that name it, "peer.NAME.messages" (from) and "peer.NAME"
 * (to). Used only by rtcbotd-config.c; the daemon reads the structs.
 */
#pragma once

#include "rtcbotd-config-reader.h"
#include "rtcbotd-config.h"

G_BEGIN_DECLS

/** Parses group @group, [peer @name], except that its sources exist (see below). */
RtcbotdPeerConfig *rtcbotd_config_parse_peer (RtcbotdConfigReader *reader, const char *group,
                                              const char *name, GError **error);

/** Checks that the sources [peer @name] lists are media sources routed to peers. */
gboolean rtcbotd_config_check_peer_sources (RtcbotdConfig *self, RtcbotdConfigReader *reader,
                                            const char *group, const char *name, GError **error);

/** Checks route end @end ("peer.NAME.messages" when @from, else "peer.NAME")
 * of group @group's @key: it must name a [peer NAME] in the right form. */
gboolean rtcbotd_config_check_peer_end (RtcbotdConfig *self, RtcbotdConfigReader *reader,
                                        const char *group, const char *key, const char *end,
                                        gboolean from, GError **error);

G_END_DECLS
