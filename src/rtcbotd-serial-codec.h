/* rtcbotd-serial-codec.h — bytes on a serial line <-> JSON messages.
 *
 * The framing of RTCBot's SerialConnection, without the port: newline-
 * delimited lines (the default), raw chunks, or struct records (Python struct
 * formats, optionally mapped to and from JSON object keys), an optional
 * start-byte handshake that must arrive before anything is read, and, beyond
 * RTCBot, an optional frame marker written before every struct and searched
 * for before every incoming one, so that a lost or extra byte costs one frame.
 * Pure: no file descriptors, no main loop; the serial device object feeds it.
 * An RtcbotdSerialFormat is part of the configuration and immutable; a decoder
 * holds the read state of one open port and is owned by it.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "rtcbotd-struct.h"

G_BEGIN_DECLS

typedef enum
{
  RTCBOTD_SERIAL_READ_LINES,  /* newline-delimited; a trailing "\r" is dropped */
  RTCBOTD_SERIAL_READ_RAW,    /* every chunk read is one string message (bad UTF-8: U+FFFD) */
  RTCBOTD_SERIAL_READ_STRUCT, /* records of read_format */
} RtcbotdSerialReadMode;

typedef enum
{
  RTCBOTD_LINE_ENDING_LF,
  RTCBOTD_LINE_ENDING_CRLF,
  RTCBOTD_LINE_ENDING_NONE,
} RtcbotdLineEnding;

/* Longer lines are discarded (and counted), never delivered in pieces. */
#define RTCBOTD_SERIAL_MAX_LINE (64 * 1024)

typedef struct
{
  RtcbotdSerialReadMode read_mode;
  RtcbotdStruct *read_format;    /* RTCBOTD_SERIAL_READ_STRUCT only */
  char **read_keys;              /* NULL: records become JSON arrays */
  RtcbotdStruct *write_format;   /* NULL: messages are written as text lines */
  char **write_keys;             /* NULL: JSON arrays are packed */
  RtcbotdLineEnding line_ending; /* text writes only */
  GBytes *start_bytes;           /* NULL: the port is ready when it opens */
  GBytes *frame_marker;          /* NULL: RTCBot's bare records */
} RtcbotdSerialFormat;

/** Frees what @format holds, and @format. */
void rtcbotd_serial_format_free (RtcbotdSerialFormat *format);

/** Encodes @message for writing: a struct record (marker first) or a text line. */
GBytes *rtcbotd_serial_encode (const RtcbotdSerialFormat *format, JsonNode *message,
                               GError **error);

typedef struct _RtcbotdSerialDecoder RtcbotdSerialDecoder;

/* Called for every decoded message, from inside feed() or flush(); it may
 * call reset(), but not feed(), flush() or free(). */
typedef void (*RtcbotdSerialMessageFunc) (JsonNode *message, gpointer user_data);

typedef struct
{
  guint64 messages;  /* delivered */
  guint64 discarded; /* bytes skipped: before the start bytes are not counted, junk
                        between frames and over-long lines are */
  guint64 dropped;   /* frames or lines that could not be decoded */
} RtcbotdSerialStats;

/** Creates a decoder for @format, which must outlive it; not ready until the start bytes arrive. */
RtcbotdSerialDecoder *rtcbotd_serial_decoder_new (const RtcbotdSerialFormat *format);

/** Frees @self. */
void rtcbotd_serial_decoder_free (RtcbotdSerialDecoder *self);

/** Forgets what was read and waits for the start bytes again; the counters go on. */
void rtcbotd_serial_decoder_reset (RtcbotdSerialDecoder *self);

/** Returns TRUE once the start bytes have arrived (at once without start bytes). */
gboolean rtcbotd_serial_decoder_is_ready (RtcbotdSerialDecoder *self);

/** Feeds bytes read from the port; calls @func for each complete message. */
void rtcbotd_serial_decoder_feed (RtcbotdSerialDecoder *self, const guint8 *data, gsize size,
                                  RtcbotdSerialMessageFunc func, gpointer user_data);

/** Tells the decoder the line went idle: with a frame marker, a complete
 * frame waiting for the next marker is delivered and a partial one dropped. */
void rtcbotd_serial_decoder_flush (RtcbotdSerialDecoder *self, RtcbotdSerialMessageFunc func,
                                   gpointer user_data);

/** Returns TRUE when bytes wait for flush() (a frame-marker frame not yet confirmed). */
gboolean rtcbotd_serial_decoder_has_pending (RtcbotdSerialDecoder *self);

/** Returns the decoder's counters. */
const RtcbotdSerialStats *rtcbotd_serial_decoder_get_stats (RtcbotdSerialDecoder *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdSerialDecoder, rtcbotd_serial_decoder_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdSerialFormat, rtcbotd_serial_format_free)

G_END_DECLS
