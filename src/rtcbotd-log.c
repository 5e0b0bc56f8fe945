/* rtcbotd-log.c — where rtcbotd's log messages go, and which ones. */
#include "rtcbotd-log.h"

#include <gst/gst.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for GLib's own fields (PRIORITY, GLIB_DOMAIN, MESSAGE, CODE_*, a few
 * more from g_log_structured callers) plus ours; a message with more is sent
 * without ours rather than truncated. */
#define MAX_FIELDS 24

typedef struct
{
  guint verbosity;
  gboolean journal; /* stderr is the journal's stream: send entries instead */
} RtcbotdLog;

/* "peer N: " at @text: sets the span of N and returns the length of the prefix, or 0. */
static gsize
parse_peer (const char *text, RtcbotdLogPrefix *prefix)
{
  gsize digits = 0;

  if (!g_str_has_prefix (text, "peer "))
    return 0;
  while (g_ascii_isdigit (text[5 + digits]))
    digits++;
  if (digits == 0 || text[5 + digits] != ':' || text[6 + digits] != ' ')
    return 0;
  prefix->peer = text + 5;
  prefix->peer_len = digits;
  return 7 + digits;
}

/* "[GROUP]: " at @text, GROUP a configuration group ("daemon", "source camera"):
 * sets its span and returns the length of the prefix, or 0. */
static gsize
parse_group (const char *text, RtcbotdLogPrefix *prefix)
{
  gsize word = 0, end;

  if (text[0] != '[')
    return 0;
  while (g_ascii_islower (text[1 + word]))
    word++;
  if (word == 0)
    return 0;
  end = 1 + word;
  if (text[end] == ' ')
    {
      gsize name = 0;
      while (text[end + 1 + name] && text[end + 1 + name] != ']' && text[end + 1 + name] != '['
             && !g_ascii_iscntrl (text[end + 1 + name]))
        name++;
      if (name == 0)
        return 0;
      end += 1 + name;
    }
  if (text[end] != ']' || text[end + 1] != ':' || text[end + 2] != ' ')
    return 0;
  prefix->group = text + 1;
  prefix->group_len = end - 1;
  return end + 3;
}

gboolean
rtcbotd_log_parse_prefix (const char *message, RtcbotdLogPrefix *prefix)
{
  gsize skip;

  memset (prefix, 0, sizeof *prefix);
  if (!message)
    return FALSE;
  skip = parse_group (message, prefix);
  parse_peer (message + skip, prefix);
  return prefix->group || prefix->peer;
}

const char *
rtcbotd_log_gst_thresholds (guint verbosity)
{
  if (verbosity >= 3)
    return "2,webrtc*:4,nice*:4";
  if (verbosity == 2)
    return "2";
  return NULL;
}

static const char *
field_string (const GLogField *fields, gsize n_fields, const char *key)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, key) && fields[i].length < 0)
      return fields[i].value;
  return NULL;
}

/* Our debug messages follow --verbose; everyone else's (GLib, libnice,
 * GStreamer's GLib messages) follow G_MESSAGES_DEBUG, as GLib's writer does. */
static gboolean
dropped (RtcbotdLog *self, GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
  const char *domain = field_string (fields, n_fields, "GLIB_DOMAIN");

  if (!(level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)))
    return FALSE;
  if (self->verbosity >= 1 && g_strcmp0 (domain, G_LOG_DOMAIN) == 0)
    return FALSE;
  return g_log_writer_default_would_drop (level, domain);
}

static GLogWriterOutput
write_journal (GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
  GLogField all[MAX_FIELDS];
  gsize n = 0;
  RtcbotdLogPrefix prefix;

  if (n_fields + 3 > MAX_FIELDS)
    return g_log_writer_journald (level, fields, n_fields, NULL);
  memcpy (all, fields, n_fields * sizeof *fields);
  n = n_fields;
  if (!field_string (fields, n_fields, "SYSLOG_IDENTIFIER"))
    all[n++] = (GLogField){ "SYSLOG_IDENTIFIER", "rtcbotd", -1 };
  if (rtcbotd_log_parse_prefix (field_string (fields, n_fields, "MESSAGE"), &prefix))
    {
      if (prefix.group)
        all[n++] = (GLogField){ "RTCBOTD_GROUP", prefix.group, prefix.group_len };
      if (prefix.peer)
        all[n++] = (GLogField){ "RTCBOTD_PEER", prefix.peer, prefix.peer_len };
    }
  return g_log_writer_journald (level, all, n, NULL);
}

/* Any thread: whichever logs. */
static GLogWriterOutput
write_log (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  RtcbotdLog *self = user_data;

  if (dropped (self, level, fields, n_fields))
    return G_LOG_WRITER_HANDLED;
  /* A journal that refuses (full, restarting) must not lose the message. */
  if (self->journal && write_journal (level, fields, n_fields) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_standard_streams (level, fields, n_fields, NULL);
}

/* systemd sets JOURNAL_STREAM=DEVICE:INODE of the stream it gave us as
 * stderr; GLib only recognises the journal by its socket's path, which a
 * stream passed on (or seen from another mount namespace) does not show. */
static gboolean
stderr_is_journal (void)
{
  const char *stream = g_getenv ("JOURNAL_STREAM");
  guint64 device, inode;
  struct stat st;

  if (g_log_writer_is_journald (fileno (stderr)))
    return TRUE;
  if (!stream || sscanf (stream, "%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, &device, &inode) != 2)
    return FALSE;
  return fstat (fileno (stderr), &st) == 0 && st.st_dev == device && st.st_ino == inode;
}

void
rtcbotd_log_install (guint verbosity)
{
  RtcbotdLog *self = g_new0 (RtcbotdLog, 1);

  self->verbosity = verbosity;
  self->journal = stderr_is_journal ();
  /* GLib sends debug and info to stdout; a daemon's log is all on stderr. */
  g_log_writer_default_set_use_stderr (TRUE);
  g_log_set_writer_func (write_log, self, g_free);
}

void
rtcbotd_log_configure_gstreamer (guint verbosity)
{
  const char *thresholds = rtcbotd_log_gst_thresholds (verbosity);

  /* GST_DEBUG is the user saying exactly what they want. */
  if (thresholds && !g_getenv ("GST_DEBUG"))
    gst_debug_set_threshold_from_string (thresholds, TRUE);
  /* GStreamer colours its lines even into a pipe or the journal. */
  if (!isatty (fileno (stderr)) && !g_getenv ("GST_DEBUG_COLOR_MODE")
      && !g_getenv ("GST_DEBUG_NO_COLOR"))
    gst_debug_set_color_mode (GST_DEBUG_COLOR_MODE_OFF);
}
