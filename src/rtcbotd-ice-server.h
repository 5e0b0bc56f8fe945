/* rtcbotd-ice-server.h — one STUN or TURN server of [daemon] ice-servers.
 *
 * Part of the pure configuration layer: parses the URL forms a robot builder
 * writes (RFC 7064/7065 "stun:host:port", "turn:host:port?transport=tcp",
 * "turns:…", with credentials as "turn:USER:PASSWORD@host:port", and the
 * "stun://" spellings webrtcbin uses), and renders a server for webrtcbin
 * (stun-server / add-turn-server URIs) and for browsers (an RTCIceServer
 * object in GET /api/robot). Immutable once parsed; owned by the config.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  RTCBOTD_ICE_STUN,
  RTCBOTD_ICE_TURN,
  RTCBOTD_ICE_TURNS, /* TURN over TLS */
} RtcbotdIceScheme;

typedef struct
{
  RtcbotdIceScheme scheme;
  char *host;       /* a name, an IPv4 address, or an IPv6 address without brackets */
  guint16 port;     /* 3478, or 5349 for turns, unless given */
  char *username;   /* TURN only; NULL for STUN */
  char *credential; /* TURN only */
  char *transport;  /* "udp", "tcp" or NULL (the scheme's default) */
} RtcbotdIceServer;

/** Parses one server URL; the error says what is wrong with @text (but never echoes a password). */
RtcbotdIceServer *rtcbotd_ice_server_parse (const char *text, GError **error);

/** Returns the URI webrtcbin takes: "stun://host:port" or
 * "turn(s)://user:pass@host:port[?transport=]". */
char *rtcbotd_ice_server_to_gst_uri (const RtcbotdIceServer *self);

/** Returns the RFC 7064/7065 URL without credentials: "turn:host:port?transport=tcp". */
char *rtcbotd_ice_server_to_url (const RtcbotdIceServer *self);

/** Adds @self as a browser RTCIceServer object ({"urls", "username", "credential"}) to @builder. */
void rtcbotd_ice_server_add_json (const RtcbotdIceServer *self, JsonBuilder *builder);

/** Frees @self. */
void rtcbotd_ice_server_free (RtcbotdIceServer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdIceServer, rtcbotd_ice_server_free)

G_END_DECLS
