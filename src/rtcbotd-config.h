/* rtcbotd-config.h — the parsed and validated configuration file.
 *
 * A pure layer: it reads the INI text with GKeyFile, checks every group, key,
 * value and route end, and produces plain structs. It knows nothing of
 * GStreamer, so it is unit-tested with strings. An RtcbotdConfig is immutable
 * once loaded (except for rtcbotd_config_set_listen(), used by --listen before
 * the daemon starts) and is owned by whoever loaded it.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "rtcbotd-map.h"
#include "rtcbotd-serial-codec.h"

G_BEGIN_DECLS

typedef enum
{
  RTCBOTD_KIND_VIDEO,
  RTCBOTD_KIND_AUDIO,
  RTCBOTD_KIND_MESSAGES,
} RtcbotdKind;

typedef enum
{
  RTCBOTD_SOURCE_TEST_VIDEO,
  RTCBOTD_SOURCE_TEST_AUDIO,
} RtcbotdSourceType;

typedef enum
{
  RTCBOTD_ENCODER_AUTO,
  RTCBOTD_ENCODER_X264,
  RTCBOTD_ENCODER_OPENH264,
  RTCBOTD_ENCODER_VP8,
} RtcbotdEncoder;

/* The built-in route ends, besides named sources and sinks. */
typedef enum
{
  RTCBOTD_NODE_NAMED,          /* a media [source NAME] */
  RTCBOTD_NODE_PEERS,          /* "peers": media or messages to every peer */
  RTCBOTD_NODE_PEERS_MESSAGES, /* "peers.messages": messages from any of the peers' data channels */
  RTCBOTD_NODE_PEERS_CHANNEL,  /* "peers.channel.LABEL": one data channel, both ways */
  RTCBOTD_NODE_LOG,            /* "log": messages to the log */
  RTCBOTD_NODE_ENDPOINT,       /* a message source or sink: serial, evdev, exec, ... */
} RtcbotdNodeType;

/* Message sources and sinks that talk to the world (RtcbotdEndpoint). */
typedef enum
{
  RTCBOTD_ENDPOINT_SERIAL,
  RTCBOTD_ENDPOINT_EVDEV,
  RTCBOTD_ENDPOINT_EXEC,
  RTCBOTD_ENDPOINT_WEBSOCKET,
  RTCBOTD_ENDPOINT_SOCKET,
} RtcbotdEndpointType;

/* What a full per-consumer queue gives up. */
typedef enum
{
  RTCBOTD_OVERFLOW_DROP_OLDEST, /* the oldest waiting message */
  RTCBOTD_OVERFLOW_MOST_RECENT, /* everything but the newest (RTCBot's MostRecentSubscription) */
} RtcbotdOverflow;

typedef enum
{
  RTCBOTD_CONTROL_SINGLE, /* one peer drives at a time, the others watch */
  RTCBOTD_CONTROL_SHARED, /* every peer's messages are routed */
} RtcbotdControlMode;

typedef struct
{
  char *name;
  RtcbotdSourceType type;
  RtcbotdKind kind;
  /* test-video */
  guint width;
  guint height;
  guint framerate;
  char *pattern; /* a videotestsrc pattern nick */
  guint motion;  /* pixels per frame the pattern scrolls */
  gboolean clock_overlay;
  RtcbotdEncoder encoder;
  guint bitrate;           /* kbit/s */
  guint keyframe_interval; /* frames */
  /* test-audio */
  double frequency;  /* Hz */
  double volume;     /* 0..1 */
  char *fingerprint; /* the group's canonical text: equal fingerprints, equal sources */
} RtcbotdSourceConfig;

typedef struct
{
  char *name;
  char *label;         /* the group, for messages: "[sink arduino]" */
  gboolean sink_group; /* declared as [sink NAME], not [source NAME] */
  RtcbotdEndpointType type;
  gboolean readable; /* produces messages: may be a route's "from" */
  gboolean writable; /* consumes messages: may be a route's "to" */
  RtcbotdOverflow overflow;
  guint queue_length; /* messages waiting per consumer (per client for sockets) */
  /* serial, evdev, socket */
  char *device; /* serial and evdev: the device path; socket: the socket path */
  /* serial */
  guint baudrate;
  RtcbotdSerialFormat *format;
  guint delay_write_start; /* ms after ready before the first write */
  /* evdev */
  gboolean grab;
  /* exec */
  char **argv;
  guint max_rate;    /* messages per second read from the worker */
  char *fingerprint; /* the group's canonical text */
} RtcbotdEndpointConfig;

typedef struct
{
  RtcbotdNodeType type;
  char *name; /* the source or sink name for RTCBOTD_NODE_NAMED, else the built-in's name */
} RtcbotdRouteEnd;

typedef struct
{
  char *name;
  gboolean messages; /* TRUE for a message route, FALSE for a media route */
  GPtrArray *from;   /* of RtcbotdRouteEnd */
  GPtrArray *to;     /* of RtcbotdRouteEnd */
  RtcbotdMap *map;   /* NULL: messages pass unchanged */
  guint failsafe_ms; /* 0: no failsafe */
  JsonNode *failsafe;
  char *fingerprint; /* the group's canonical text */
} RtcbotdRouteConfig;

typedef struct
{
  char *path; /* the file name used in messages */
  char *listen_host;
  guint16 listen_port;
  char *web_root; /* NULL for the built-in page */
  guint max_peers;
  guint peer_timeout; /* seconds without packets before a connected peer is dropped */
  RtcbotdControlMode control;
  char *control_token;  /* NULL: no peer may take control from the driver */
  GPtrArray *sources;   /* of RtcbotdSourceConfig: media */
  GPtrArray *endpoints; /* of RtcbotdEndpointConfig: message sources and sinks */
  GPtrArray *routes;    /* of RtcbotdRouteConfig */

  /* Access to the HTTP surface (docs/security.md). */
  char *token;           /* the driver's token; NULL: no token, everything is open */
  char *viewer_token;    /* a token that may only watch; NULL: none (needs token) */
  char *tls_certificate; /* PEM file; NULL: plain HTTP (then tls_key is NULL too) */
  char *tls_key;         /* PEM file with the certificate's private key */
} RtcbotdConfig;

/** Loads and validates the configuration file at @path. */
RtcbotdConfig *rtcbotd_config_load_file (const char *path, GError **error);

/** Loads and validates configuration text; @name is used in messages. */
RtcbotdConfig *rtcbotd_config_load_data (const char *data, const char *name, GError **error);

/** Overrides [daemon] listen with @address ("HOST:PORT", "[V6]:PORT" or ":PORT"). */
gboolean rtcbotd_config_set_listen (RtcbotdConfig *self, const char *address, GError **error);

/** Splits "HOST:PORT" into its parts, port 0..65535. */
gboolean rtcbotd_config_parse_address (const char *text, char **host, guint16 *port,
                                       GError **error);

/** Returns the source named @name, or NULL. */
const RtcbotdSourceConfig *rtcbotd_config_find_source (const RtcbotdConfig *self, const char *name);

/** Returns the message source or sink named @name, or NULL. */
const RtcbotdEndpointConfig *rtcbotd_config_find_endpoint (const RtcbotdConfig *self,
                                                           const char *name);

/** Returns the name of @type as written in the config file. */
const char *rtcbotd_endpoint_type_to_string (RtcbotdEndpointType type);

/** Returns TRUE when some route sends source @name to the built-in "peers" node. */
gboolean rtcbotd_config_source_routed_to_peers (const RtcbotdConfig *self, const char *name);

/** Returns TRUE when some route sends "peers.messages" to the built-in node @node. */
gboolean rtcbotd_config_messages_routed_to (const RtcbotdConfig *self, RtcbotdNodeType node);

/* What rtcbotd_config_take_unchanged() compares. */
typedef enum
{
  RTCBOTD_CONFIG_SOURCE,   /* a media source */
  RTCBOTD_CONFIG_ENDPOINT, /* a message source or sink */
  RTCBOTD_CONFIG_ROUTE,
} RtcbotdConfigPart;

/** Takes @source out of @self: the caller owns it (rtcbotd_source_config_free()). */
RtcbotdSourceConfig *rtcbotd_config_steal_source (RtcbotdConfig *self,
                                                  const RtcbotdSourceConfig *source);

/** Frees a source's configuration taken with rtcbotd_config_steal_source(). */
void rtcbotd_source_config_free (RtcbotdSourceConfig *source);

/** Returns TRUE when @part NAME exists in both and reads the same in @self and @old. */
gboolean rtcbotd_config_same (RtcbotdConfig *self, RtcbotdConfig *old, RtcbotdConfigPart part,
                              const char *name);

/** When @part NAME reads the same in @self and @old, moves @old's entry into
 * @self (and @self's into @old), so that what runs from it keeps valid
 * pointers across a reload; returns TRUE if it did. */
gboolean rtcbotd_config_take_unchanged (RtcbotdConfig *self, RtcbotdConfig *old,
                                        RtcbotdConfigPart part, const char *name);

/** Returns the name of @kind as used in messages ("video", "audio", "messages"). */
const char *rtcbotd_kind_to_string (RtcbotdKind kind);

/** Returns the name of @encoder as written in the config file. */
const char *rtcbotd_encoder_to_string (RtcbotdEncoder encoder);

/** Frees @self and everything in it. */
void rtcbotd_config_free (RtcbotdConfig *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdConfig, rtcbotd_config_free)

G_END_DECLS
