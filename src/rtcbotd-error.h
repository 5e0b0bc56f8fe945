/* rtcbotd-error.h — the RTCBOTD_ERROR domain.
 *
 * Every fallible rtcbotd function reports through a GError in this domain; the
 * code tells the caller (main.c, the HTTP layer) how to map it to an exit
 * status or an HTTP status, the message names the offending thing.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RTCBOTD_ERROR (rtcbotd_error_quark ())

typedef enum
{
  RTCBOTD_ERROR_CONFIG,      /* the configuration file is wrong: exit 78 */
  RTCBOTD_ERROR_USAGE,       /* a command-line argument is wrong: exit 64 */
  RTCBOTD_ERROR_INVALID,     /* a peer sent something malformed: HTTP 400 */
  RTCBOTD_ERROR_UNSUPPORTED, /* valid, but nothing here can serve it: HTTP 400 */
  RTCBOTD_ERROR_BUSY,        /* a limit is reached (max-peers): HTTP 503 */
  RTCBOTD_ERROR_MEDIA,       /* GStreamer could not build or run something */
  RTCBOTD_ERROR_INTERNAL,    /* a bug or an environment failure: exit 70 */
} RtcbotdError;

/** Returns the quark of the RTCBOTD_ERROR domain. */
GQuark rtcbotd_error_quark (void);

G_END_DECLS
