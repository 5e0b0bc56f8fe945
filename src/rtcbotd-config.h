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

/* Media sources (RtcbotdSource); names in rtcbotd-config-media.c. */
typedef enum
{
  RTCBOTD_SOURCE_TEST_VIDEO,
  RTCBOTD_SOURCE_TEST_AUDIO,
  RTCBOTD_SOURCE_V4L2,      /* a V4L2 camera (UVC webcam, Pi camera via the legacy stack) */
  RTCBOTD_SOURCE_LIBCAMERA, /* a libcamera camera (Raspberry Pi camera modules) */
  RTCBOTD_SOURCE_ALSA,      /* an ALSA microphone */
  RTCBOTD_SOURCE_PULSE,     /* a PulseAudio/PipeWire microphone */
  RTCBOTD_SOURCE_GST,       /* a user-written GStreamer pipeline fragment */
} RtcbotdSourceType;

typedef enum
{
  RTCBOTD_ENCODER_AUTO,
  RTCBOTD_ENCODER_X264,
  RTCBOTD_ENCODER_OPENH264,
  RTCBOTD_ENCODER_VP8,
  RTCBOTD_ENCODER_H264_HW, /* v4l2h264enc: the Raspberry Pi's hardware encoder */
} RtcbotdEncoder;

/* What a camera is asked to deliver (format = ...). */
typedef enum
{
  RTCBOTD_CAPTURE_FORMAT_AUTO,  /* H.264 if the camera has it, else MJPEG, else raw */
  RTCBOTD_CAPTURE_FORMAT_H264,  /* the camera's own H.264, passed through without re-encoding */
  RTCBOTD_CAPTURE_FORMAT_MJPEG, /* MJPEG, decoded once */
  RTCBOTD_CAPTURE_FORMAT_RAW,   /* uncompressed frames */
} RtcbotdCaptureFormat;

/* How a shared encoder's bitrate is chosen (bitrate-mode = ...). */
typedef enum
{
  RTCBOTD_BITRATE_FIXED,    /* always the configured bitrate */
  RTCBOTD_BITRATE_MIN_PEER, /* the slowest viewer's estimate, at most the configured bitrate */
} RtcbotdBitrateMode;

/* Media sinks (RtcbotdMediaSink); names in rtcbotd-config-media.c. */
typedef enum
{
  RTCBOTD_MEDIA_SINK_RECORD,  /* files (mkv/mp4), rotated, without a second encode */
  RTCBOTD_MEDIA_SINK_SPEAKER, /* audio out: alsa or pulse */
  RTCBOTD_MEDIA_SINK_DISPLAY, /* video on a local screen: kmssink or autovideosink */
  RTCBOTD_MEDIA_SINK_GST,     /* a user-written pipeline fragment fed raw media */
  RTCBOTD_MEDIA_SINK_RTP, /* RTP over UDP to an SFU (Janus, MediaMTX), without a second encode */
} RtcbotdMediaSinkType;

typedef enum
{
  RTCBOTD_RECORD_MKV,
  RTCBOTD_RECORD_MP4,
} RtcbotdRecordFormat;

/* Which output element a speaker or display uses (output = ...). */
typedef enum
{
  RTCBOTD_OUTPUT_AUTO,  /* speaker: autoaudiosink; display: autovideosink */
  RTCBOTD_OUTPUT_ALSA,  /* speaker: alsasink */
  RTCBOTD_OUTPUT_PULSE, /* speaker: pulsesink */
  RTCBOTD_OUTPUT_KMS,   /* display: kmssink, straight to the screen without a desktop */
} RtcbotdOutput;

/* The built-in route ends, besides named sources and sinks. */
typedef enum
{
  RTCBOTD_NODE_NAMED,          /* a media [source NAME] */
  RTCBOTD_NODE_PEERS,          /* "peers": media or messages to every peer */
  RTCBOTD_NODE_PEERS_MESSAGES, /* "peers.messages": messages from any of the peers' data channels */
  RTCBOTD_NODE_PEERS_CHANNEL,  /* "peers.channel.LABEL": one data channel, both ways */
  RTCBOTD_NODE_LOG,            /* "log": messages to the log */
  RTCBOTD_NODE_ENDPOINT,       /* a message source or sink: serial, evdev, exec, ... */
  RTCBOTD_NODE_PEERS_VIDEO,    /* "peers.video": video the peers send (their cameras) */
  RTCBOTD_NODE_PEERS_AUDIO,    /* "peers.audio": audio the peers send (talk-back) */
  RTCBOTD_NODE_MEDIA_SINK,     /* a media [sink NAME]: record, speaker, display, gst */
  RTCBOTD_NODE_PEER,           /* "peer.NAME": messages to one [peer NAME] the daemon offers to */
  RTCBOTD_NODE_PEER_MESSAGES,  /* "peer.NAME.messages": messages that [peer NAME] sends */
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
  gboolean on_demand; /* capture only while something consumes the source */
  /* video: test-video, v4l2, libcamera, gst with media = video */
  guint width;  /* 0 for gst: whatever the fragment makes */
  guint height; /* 0 for gst */
  guint framerate;
  gboolean clock_overlay;
  RtcbotdEncoder encoder;
  guint bitrate;           /* kbit/s */
  guint keyframe_interval; /* frames */
  RtcbotdBitrateMode bitrate_mode;
  /* test-video */
  char *pattern;  /* a videotestsrc pattern nick */
  guint motion;   /* pixels per frame the pattern scrolls */
  gboolean stamp; /* draw the capture time into each frame (DESIGN.md "Latency stamp") */
  /* v4l2, alsa, pulse */
  char *device; /* v4l2: /dev/video0; alsa: "default"; pulse: NULL for the default source */
  /* v4l2, libcamera */
  RtcbotdCaptureFormat format;
  /* libcamera */
  char *camera_name; /* NULL: the first camera */
  /* alsa, pulse */
  guint rate;     /* Hz */
  guint channels; /* 1 or 2 */
  /* test-audio */
  double frequency; /* Hz */
  double volume;    /* 0..1 */
  /* gst */
  char *pipeline;       /* the fragment, gst-launch syntax */
  char *pipeline_where; /* "FILE:LINE: [source NAME] pipeline", for errors found when built */
  char *fingerprint;    /* the group's canonical text: equal fingerprints, equal sources */
} RtcbotdSourceConfig;

/* A media [sink NAME]. */
typedef struct
{
  char *name;
  char *label; /* "[sink recorder]", for messages */
  RtcbotdMediaSinkType type;
  gboolean takes_video; /* which kinds of media routes may end here */
  gboolean takes_audio;
  /* record */
  char *path; /* strftime pattern of the file names */
  RtcbotdRecordFormat format;
  guint64 max_size;     /* bytes per file; 0: no limit */
  guint64 max_duration; /* nanoseconds per file; 0: no limit */
  /* speaker, display */
  RtcbotdOutput output;
  char *device; /* speaker: the alsa/pulse device; NULL for the default */
  /* gst */
  char *pipeline;       /* the fragment, fed raw media on its first element's sink pad */
  char *pipeline_where; /* "FILE:LINE: [sink NAME] pipeline" */
  /* rtp */
  char *host;       /* where the RTP goes: an address or a name */
  guint video_port; /* UDP port of the video stream; 0: no video */
  guint audio_port; /* UDP port of the audio stream; 0: no audio */
  guint video_pt;   /* RTP payload types, as the SFU's mountpoint expects */
  guint audio_pt;
  char *fingerprint;
} RtcbotdMediaSinkConfig;

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

/* A [peer NAME]: a server the daemon offers to (RTCBot's "offload to a desktop"). */
typedef struct
{
  char *name;
  char *label;    /* "[peer desktop]", for messages */
  char *offer_to; /* the http:// or https:// URL the offer is POSTed to */
  char *token;    /* sent as "Authorization: Bearer TOKEN"; NULL: none */
  char **sources; /* the media sources sent; NULL: every source routed to peers */
  char *fingerprint;
} RtcbotdPeerConfig;

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
  guint peer_timeout;            /* seconds without packets before a connected peer is dropped */
  guint max_messages_per_second; /* per peer, all its data channels; 0: unlimited */
  RtcbotdControlMode control;
  char *control_token;    /* NULL: no peer may take control from the driver */
  GPtrArray *sources;     /* of RtcbotdSourceConfig: media */
  GPtrArray *endpoints;   /* of RtcbotdEndpointConfig: message sources and sinks */
  GPtrArray *media_sinks; /* of RtcbotdMediaSinkConfig */
  GPtrArray *routes;      /* of RtcbotdRouteConfig */
  GPtrArray *peers;       /* of RtcbotdPeerConfig: [peer NAME], the servers offered to */

  /* Access to the HTTP surface (docs/security.md). */
  char *token;           /* the driver's token; NULL: no token, everything is open */
  char *viewer_token;    /* a token that may only watch; NULL: none (needs token) */
  char *tls_certificate; /* PEM file; NULL: plain HTTP (then tls_key is NULL too) */
  char *tls_key;         /* PEM file with the certificate's private key */

  /* Connectivity (docs/config.md "ice-servers"). */
  GPtrArray *ice_servers;  /* of RtcbotdIceServer, for webrtcbin and the peers; empty: none */
  gboolean ice_relay_only; /* ice-transport-policy = relay: only TURN-relayed paths */
  char *relay;             /* ws(s):// URL of a relay to hold a websocket to; NULL: none */
  char *relay_secret;      /* presented to the relay as Authorization: Bearer; NULL: none */
  char *relay_ca;          /* PEM file of the CAs a wss:// relay is checked against; NULL: system */
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

/** Returns the media sink named @name, or NULL. */
const RtcbotdMediaSinkConfig *rtcbotd_config_find_media_sink (const RtcbotdConfig *self,
                                                              const char *name);

/** Returns the [peer NAME] named @name, or NULL. */
const RtcbotdPeerConfig *rtcbotd_config_find_peer (const RtcbotdConfig *self, const char *name);

/** Returns a copy of @peer (an outbound keeps its own across reloads). */
RtcbotdPeerConfig *rtcbotd_peer_config_copy (const RtcbotdPeerConfig *peer);

/** Frees @peer and everything in it. */
void rtcbotd_peer_config_free (RtcbotdPeerConfig *peer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdPeerConfig, rtcbotd_peer_config_free)

/** Returns TRUE when some route takes the peers' @kind media (peers.video or peers.audio). */
gboolean rtcbotd_config_peers_media_routed (const RtcbotdConfig *self, RtcbotdKind kind);

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
  RTCBOTD_CONFIG_MEDIA_SINK,
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
