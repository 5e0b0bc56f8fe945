/* rtcbotd-log.h — where rtcbotd's log messages go, and which ones.
 *
 * RtcbotdLog is the GLib structured log writer that main() installs once, for
 * the life of the process (GLib keeps it; it is never freed). When stderr is
 * systemd's journal stream (JOURNAL_STREAM), each message becomes a journal
 * entry with structured fields: PRIORITY, MESSAGE, SYSLOG_IDENTIFIER=rtcbotd,
 * GLIB_DOMAIN, CODE_FILE/LINE/FUNC when the caller gave them, and fields read
 * from rtcbotd's message prefixes (RTCBOTD_GROUP from "[source camera]: ",
 * RTCBOTD_PEER from "peer 3: "). Otherwise it writes GLib's usual stderr
 * lines, unchanged. The verbosity (--verbose, counted) decides which debug
 * messages pass. The writer runs on whichever thread logs; it is immutable
 * once installed.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The journal fields a message's text implies; spans into the message, not
 * NUL-terminated. */
typedef struct
{
  const char *group; /* "source camera" of "[source camera]: ...", or NULL */
  gsize group_len;
  const char *peer; /* "3" of "peer 3: ..." (also after a group prefix), or NULL */
  gsize peer_len;
} RtcbotdLogPrefix;

/** Reads @message's "[GROUP]: " and "peer N: " prefixes into @prefix; FALSE when it has neither. */
gboolean rtcbotd_log_parse_prefix (const char *message, RtcbotdLogPrefix *prefix);

/** Returns GStreamer's debug thresholds for @verbosity (GST_DEBUG syntax), or NULL for none. */
const char *rtcbotd_log_gst_thresholds (guint verbosity);

/** Installs the process's log writer: 0 quiet, 1 and more also rtcbotd's debug messages. */
void rtcbotd_log_install (guint verbosity);

/** Applies rtcbotd_log_gst_thresholds() after gst_init(), unless GST_DEBUG is set. */
void rtcbotd_log_configure_gstreamer (guint verbosity);

G_END_DECLS
