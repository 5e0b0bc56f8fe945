/* rtcbotd-whep.h — WHEP (RFC 9725): any WHEP player watches one source.
 *
 * Serves POST /whep/SOURCE (an application/sdp offer; 201 Created with the
 * answer, Location /whep/SOURCE/SESSION, an ETag and a Link rel="ice-server"
 * header per configured STUN/TURN server), PATCH of a session (a
 * trickle-ice-sdpfrag: its candidates go to the peer, 204; a new ufrag is
 * an ICE restart, answered 200 with the new fragment), DELETE (closes the
 * peer, 200) and OPTIONS (CORS preflight, so browser players work). Every
 * reply carries CORS headers; errors are JSON with 400, 404, 405, 412, 415
 * or 503. A session lives as long as its peer. The HTTP server owns the
 * object and hands it the requests under /whep; main context only.
 */
#pragma once

#include <libsoup/soup.h>

#include "rtcbotd-access.h"
#include "rtcbotd-config.h"

G_BEGIN_DECLS

typedef struct _RtcbotdDaemon RtcbotdDaemon;
typedef struct _RtcbotdWhep RtcbotdWhep;

/** Creates the WHEP resource of @daemon, serving @config (see rtcbotd_whep_set_config()). */
RtcbotdWhep *rtcbotd_whep_new (RtcbotdDaemon *daemon, const RtcbotdConfig *config);

/** Serves @config from now on (a reload); running sessions keep their peers. */
void rtcbotd_whep_set_config (RtcbotdWhep *self, const RtcbotdConfig *config);

/** Returns TRUE when @path ("/whep", "/whep/...") is for @self. */
gboolean rtcbotd_whep_owns_path (const char *path);

/** Serves @msg to @path with its @body; @role and @local come from the gate and the socket. */
void rtcbotd_whep_handle (RtcbotdWhep *self, SoupServerMessage *msg, const char *path, GBytes *body,
                          RtcbotdRole role, GInetAddress *local);

/** Returns how many WHEP sessions have a live peer. */
guint rtcbotd_whep_get_n_sessions (RtcbotdWhep *self);

/** Replies 503 to the offers still being answered (their peers close when the answer comes). */
void rtcbotd_whep_refuse_pending (RtcbotdWhep *self);

/** Frees @self (the sessions' peers stay); offers still being answered get 503 at once. */
void rtcbotd_whep_free (RtcbotdWhep *self);

G_END_DECLS
