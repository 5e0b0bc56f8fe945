/* rtcbotd-sdp.c — text-level reading and rewriting of SDP offers and answers. */
#include "rtcbotd-sdp.h"

#include <string.h>

#include "rtcbotd-error.h"

#define MAX_MEDIA 32

static void
codec_free (RtcbotdSdpCodec *codec)
{
  g_free (codec->name);
  g_free (codec->fmtp);
  g_free (codec);
}

static void
media_free (RtcbotdSdpMedia *media)
{
  g_free (media->kind);
  g_free (media->mid);
  g_ptr_array_unref (media->codecs);
  g_free (media);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdSdpMedia, media_free)

static RtcbotdSdpMedia *
media_new (const char *kind)
{
  RtcbotdSdpMedia *media = g_new0 (RtcbotdSdpMedia, 1);

  media->kind = g_strdup (kind);
  media->wants_receive = TRUE;
  media->wants_send = TRUE;
  media->codecs = g_ptr_array_new_with_free_func ((GDestroyNotify)codec_free);
  return media;
}

void
rtcbotd_sdp_free (RtcbotdSdp *self)
{
  if (!self)
    return;
  g_ptr_array_unref (self->media);
  g_free (self);
}

const char *
rtcbotd_codec_to_string (RtcbotdCodec codec)
{
  switch (codec)
    {
      case RTCBOTD_CODEC_H264:
        return "H264";
      case RTCBOTD_CODEC_VP8:
        return "VP8";
      case RTCBOTD_CODEC_OPUS:
        return "opus";
      case RTCBOTD_CODEC_NONE:
        break;
    }
  return "none";
}

/* Splits SDP text into lines without their CR. */
static GStrv
split_lines (const char *text)
{
  GStrv lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i]; i++)
    {
      gsize n = strlen (lines[i]);
      if (n > 0 && lines[i][n - 1] == '\r')
        lines[i][n - 1] = '\0';
    }
  return lines;
}

static gboolean
fail (GError **error, guint line, const char *format, const char *text)
{
  g_autofree char *shown = g_utf8_make_valid (text, MIN (strlen (text), 60));

  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID, "SDP line %u: %s: \"%s\"", line, format,
               shown);
  return FALSE;
}

static RtcbotdSdpMedia *
parse_m_line (const char *line, guint number, GError **error)
{
  g_auto (GStrv) tokens = g_strsplit (line + 2, " ", -1);
  guint64 port;
  RtcbotdSdpMedia *media;

  if (g_strv_length (tokens) < 4 || *tokens[0] == '\0'
      || !g_ascii_string_to_unsigned (g_strdelimit (tokens[1], "/", '\0'), 10, 0, 65535, &port,
                                      NULL))
    {
      fail (error, number, "not an m-line of the form \"m=KIND PORT PROTO FORMAT...\"", line);
      return NULL;
    }
  media = media_new (tokens[0]);
  media->rejected = port == 0;
  /* Formats keep the m-line's preference order; rtpmap fills in names. */
  for (guint i = 3; tokens[i]; i++)
    {
      guint64 pt;
      if (!g_ascii_string_to_unsigned (tokens[i], 10, 0, 127, &pt, NULL))
        continue;
      RtcbotdSdpCodec *codec = g_new0 (RtcbotdSdpCodec, 1);
      codec->pt = pt;
      g_ptr_array_add (media->codecs, codec);
    }
  return media;
}

static RtcbotdSdpCodec *
media_codec (RtcbotdSdpMedia *media, const char *pt_text)
{
  guint64 pt;

  if (!g_ascii_string_to_unsigned (pt_text, 10, 0, 127, &pt, NULL))
    return NULL;
  for (guint i = 0; i < media->codecs->len; i++)
    {
      RtcbotdSdpCodec *codec = media->codecs->pdata[i];
      if (codec->pt == pt)
        return codec;
    }
  return NULL;
}

/* Reads one a= attribute of @media. */
static void
parse_attribute (RtcbotdSdpMedia *media, const char *value)
{
  g_auto (GStrv) parts = NULL;
  RtcbotdSdpCodec *codec;

  if (g_str_has_prefix (value, "mid:"))
    {
      g_free (media->mid);
      media->mid = g_strdup (value + 4);
    }
  else if (g_str_equal (value, "sendonly") || g_str_equal (value, "inactive")
           || g_str_equal (value, "recvonly") || g_str_equal (value, "sendrecv"))
    {
      media->wants_receive = g_str_equal (value, "recvonly") || g_str_equal (value, "sendrecv");
      media->wants_send = g_str_equal (value, "sendonly") || g_str_equal (value, "sendrecv");
    }
  else if (g_str_has_prefix (value, "rtpmap:") || g_str_has_prefix (value, "fmtp:"))
    {
      parts = g_strsplit (strchr (value, ':') + 1, " ", 2);
      if (!parts[0] || !parts[1] || !(codec = media_codec (media, parts[0])))
        return;
      if (value[0] == 'f')
        {
          g_free (codec->fmtp);
          codec->fmtp = g_strdup (parts[1]);
          return;
        }
      g_auto (GStrv) name = g_strsplit (parts[1], "/", 3);
      guint64 rate = 0;
      if (!name[0]) /* "a=rtpmap:96 " names no codec: name[1] is past the end */
        return;
      g_free (codec->name);
      codec->name = g_strdup (name[0]);
      if (name[1])
        g_ascii_string_to_unsigned (name[1], 10, 0, G_MAXUINT, &rate, NULL);
      codec->clock_rate = rate;
    }
}

RtcbotdSdp *
rtcbotd_sdp_parse (const char *text, GError **error)
{
  g_auto (GStrv) lines = split_lines (text);
  g_autoptr (RtcbotdSdp) self = g_new0 (RtcbotdSdp, 1);
  RtcbotdSdpMedia *media = NULL;
  g_autoptr (RtcbotdSdpMedia) session = media_new ("session");
  guint first = 0;

  self->media = g_ptr_array_new_with_free_func ((GDestroyNotify)media_free);
  while (lines[first] && *lines[first] == '\0')
    first++;
  if (!lines[first] || !g_str_equal (lines[first], "v=0"))
    {
      fail (error, first + 1, "an SDP description starts with \"v=0\"",
            lines[first] ? lines[first] : "");
      return NULL;
    }
  for (guint i = first; lines[i]; i++)
    {
      const char *line = lines[i];
      if (*line == '\0')
        continue;
      if (!g_ascii_islower (line[0]) || line[1] != '=')
        return fail (error, i + 1, "not a \"x=value\" SDP line", line), NULL;
      if (line[0] == 'm')
        {
          if (self->media->len == MAX_MEDIA)
            return fail (error, i + 1, "more m-lines than the 32 rtcbotd accepts", line), NULL;
          if (!(media = parse_m_line (line, i + 1, error)))
            return NULL;
          /* A session-level direction applies to every m-line unless it says otherwise. */
          media->wants_receive = session->wants_receive;
          media->wants_send = session->wants_send;
          g_ptr_array_add (self->media, media);
        }
      else if (line[0] == 'a')
        parse_attribute (media ? media : session, line + 2);
    }
  if (self->media->len == 0)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "the SDP has no m-line: it offers neither media nor a data channel");
      return NULL;
    }
  return g_steal_pointer (&self);
}

/* Returns the value of @key in an fmtp parameter list, or NULL. */
static char *
fmtp_get (const char *fmtp, const char *key)
{
  g_auto (GStrv) params = g_strsplit (fmtp ? fmtp : "", ";", -1);

  for (guint i = 0; params[i]; i++)
    {
      char *param = g_strstrip (params[i]);
      gsize n = strlen (key);
      if (g_ascii_strncasecmp (param, key, n) == 0 && param[n] == '=')
        return g_strdup (param + n + 1);
    }
  return NULL;
}

/* H.264 we can send: packetization-mode 1, a baseline-family profile, since
 * the encoders produce constrained baseline. */
static gboolean
h264_acceptable (const RtcbotdSdpCodec *codec)
{
  g_autofree char *mode = fmtp_get (codec->fmtp, "packetization-mode");
  g_autofree char *profile = fmtp_get (codec->fmtp, "profile-level-id");

  if (!mode || !g_str_equal (mode, "1"))
    return FALSE;
  return !profile || (strlen (profile) == 6 && g_ascii_strncasecmp (profile, "42", 2) == 0);
}

const RtcbotdSdpCodec *
rtcbotd_sdp_media_find_codec (const RtcbotdSdpMedia *media, RtcbotdCodec codec)
{
  for (guint i = 0; i < media->codecs->len; i++)
    {
      const RtcbotdSdpCodec *c = media->codecs->pdata[i];
      if (!c->name)
        continue;
      if (codec == RTCBOTD_CODEC_H264 && g_ascii_strcasecmp (c->name, "H264") == 0
          && c->clock_rate == 90000 && h264_acceptable (c))
        return c;
      if (codec == RTCBOTD_CODEC_VP8 && g_ascii_strcasecmp (c->name, "VP8") == 0
          && c->clock_rate == 90000)
        return c;
      if (codec == RTCBOTD_CODEC_OPUS && g_ascii_strcasecmp (c->name, "opus") == 0
          && c->clock_rate == 48000)
        return c;
    }
  return NULL;
}

const RtcbotdSdpCodec *
rtcbotd_sdp_media_find_receivable (const RtcbotdSdpMedia *media, RtcbotdCodec codec)
{
  for (guint i = 0; i < media->codecs->len; i++)
    {
      const RtcbotdSdpCodec *c = media->codecs->pdata[i];
      g_autofree char *mode = NULL;
      if (!c->name || g_ascii_strcasecmp (c->name, rtcbotd_codec_to_string (codec)) != 0
          || c->clock_rate != (codec == RTCBOTD_CODEC_OPUS ? 48000 : 90000))
        continue;
      /* Any H.264 profile can be recorded or decoded; rtph264depay takes
       * single NAL units and FU-A, not the interleaved mode 2. */
      mode = codec == RTCBOTD_CODEC_H264 ? fmtp_get (c->fmtp, "packetization-mode") : NULL;
      if (!mode || g_str_equal (mode, "0") || g_str_equal (mode, "1"))
        return c;
    }
  return NULL;
}

static void
replace_str (char **slot, const char *value)
{
  g_free (*slot);
  *slot = g_strdup (value);
}

static gboolean
candidate_is_mdns (const char *line)
{
  g_auto (GStrv) tokens = g_strsplit (line, " ", 6);

  return g_strv_length (tokens) >= 5 && g_str_has_suffix (tokens[4], ".local");
}

typedef struct
{
  char *mid;
  char *ufrag;
  char *pwd;
  gboolean bundled;
} Section;

static void
section_clear (Section *section)
{
  g_free (section->mid);
  g_free (section->ufrag);
  g_free (section->pwd);
}

/* Collects each m-section's mid and ICE credentials, and whether it is bundled. */
static GArray *
collect_sections (GStrv lines)
{
  GArray *sections = g_array_new (FALSE, TRUE, sizeof (Section));
  g_auto (GStrv) mids = NULL;
  Section *current = NULL;

  g_array_set_clear_func (sections, (GDestroyNotify)section_clear);
  for (guint i = 0; lines[i]; i++)
    {
      const char *line = lines[i];
      if (!current && g_str_has_prefix (line, "a=group:BUNDLE ") && !mids)
        mids = g_strsplit (line + strlen ("a=group:BUNDLE "), " ", -1);
      else if (g_str_has_prefix (line, "m="))
        {
          g_array_set_size (sections, sections->len + 1);
          current = &g_array_index (sections, Section, sections->len - 1);
        }
      else if (current && g_str_has_prefix (line, "a=mid:"))
        replace_str (&current->mid, line + 6);
      else if (current && g_str_has_prefix (line, "a=ice-ufrag:"))
        replace_str (&current->ufrag, line + 12);
      else if (current && g_str_has_prefix (line, "a=ice-pwd:"))
        replace_str (&current->pwd, line + 10);
    }
  for (guint i = 0; i < sections->len && mids; i++)
    {
      Section *s = &g_array_index (sections, Section, i);
      s->bundled = s->mid && g_strv_contains ((const char *const *)mids, s->mid);
    }
  return sections;
}

/* Returns the index of the bundled section whose credentials every bundled
 * section must share (aiortc gives each its own), or -1 when they agree. */
static gint
bundle_leader (GArray *sections)
{
  gint leader = -1;
  gboolean differ = FALSE;

  for (guint i = 0; i < sections->len; i++)
    {
      Section *s = &g_array_index (sections, Section, i);
      if (!s->bundled || !s->ufrag || !s->pwd)
        continue;
      if (leader < 0)
        leader = i;
      else
        differ |= !g_str_equal (s->ufrag, g_array_index (sections, Section, leader).ufrag)
                  || !g_str_equal (s->pwd, g_array_index (sections, Section, leader).pwd);
    }
  return differ ? leader : -1;
}

char *
rtcbotd_sdp_prepare_offer (const char *text)
{
  g_auto (GStrv) lines = split_lines (text);
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GArray) sections = collect_sections (lines);
  gint leader = bundle_leader (sections);
  gint section = -1;

  for (guint i = 0; lines[i]; i++)
    {
      const char *line = lines[i];
      gboolean follower;
      if (*line == '\0')
        continue;
      section += g_str_has_prefix (line, "m=");
      follower = leader >= 0 && section >= 0 && section != leader
                 && g_array_index (sections, Section, section).bundled;
      if (follower && g_str_has_prefix (line, "a=ice-ufrag:"))
        g_string_append_printf (out, "a=ice-ufrag:%s\r\n",
                                g_array_index (sections, Section, leader).ufrag);
      else if (follower && g_str_has_prefix (line, "a=ice-pwd:"))
        g_string_append_printf (out, "a=ice-pwd:%s\r\n",
                                g_array_index (sections, Section, leader).pwd);
      else if (g_str_has_prefix (line, "a=candidate:") && (follower || candidate_is_mdns (line)))
        continue;
      else
        g_string_append_printf (out, "%s\r\n", line);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Ends m-section @section of @out: its msid and ssrc lines, unless it has them. */
static void
end_section (GString *out, gint section, const char *stream, const char *const *tracks,
             const guint *ssrcs, guint n_tracks, gboolean has_msid, gboolean has_ssrc)
{
  if (section < 0 || (guint)section >= n_tracks || !tracks[section])
    return;
  if (!has_msid)
    g_string_append_printf (out, "a=msid:%s %s\r\n", stream, tracks[section]);
  if (ssrcs && ssrcs[section] && !has_ssrc)
    g_string_append_printf (out, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:%s %s\r\n", ssrcs[section],
                            stream, ssrcs[section], stream, tracks[section]);
}

/* Appends @line, an "a=ssrc:N ATTR" line of a track's m-section, to @out with
 * the track's own cname and msid: webrtcbin names its SSRCs (the track's and
 * its RTX one) after itself, and a peer should see one stream per track. */
static void
append_ssrc_line (GString *out, const char *line, const char *stream, const char *track)
{
  const char *attribute = strchr (line, ' ');

  if (attribute && g_str_has_prefix (attribute + 1, "msid:"))
    g_string_append_printf (out, "%.*s msid:%s %s\r\n", (int)(attribute - line), line, stream,
                            track);
  else if (attribute && g_str_has_prefix (attribute + 1, "cname:"))
    g_string_append_printf (out, "%.*s cname:%s\r\n", (int)(attribute - line), line, stream);
  else
    g_string_append_printf (out, "%s\r\n", line);
}

char *
rtcbotd_sdp_add_msid (const char *answer, const char *stream, const char *const *tracks,
                      const guint *ssrcs, guint n_tracks)
{
  g_auto (GStrv) lines = split_lines (answer);
  g_autoptr (GString) out = g_string_new (NULL);
  gint section = -1;
  gboolean has_msid = FALSE, has_ssrc = FALSE;

  for (guint i = 0;; i++)
    {
      const char *line = lines[i];
      const char *track;
      if (!line || g_str_has_prefix (line, "m="))
        end_section (out, section, stream, tracks, ssrcs, n_tracks, has_msid, has_ssrc);
      if (!line)
        break;
      if (*line == '\0')
        continue;
      if (g_str_has_prefix (line, "m="))
        section++, has_msid = has_ssrc = FALSE;
      track = section >= 0 && (guint)section < n_tracks ? tracks[section] : NULL;
      has_msid |= g_str_has_prefix (line, "a=msid:");
      if (track && g_str_has_prefix (line, "a=ssrc:"))
        {
          g_autofree char *own = g_strdup_printf ("a=ssrc:%u ", ssrcs ? ssrcs[section] : 0);
          has_ssrc |= g_str_has_prefix (line, own);
          append_ssrc_line (out, line, stream, track);
        }
      else
        g_string_append_printf (out, "%s\r\n", line);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The payload types each m-section of @lines offers goog-remb feedback for
 * (a GPtrArray per section of payload-type strings; "*" for all). */
static GPtrArray *
collect_remb (GStrv lines)
{
  GPtrArray *sections = g_ptr_array_new_with_free_func ((GDestroyNotify)g_ptr_array_unref);

  for (guint i = 0; lines[i]; i++)
    {
      const char *line = lines[i];
      g_auto (GStrv) parts = NULL;
      if (g_str_has_prefix (line, "m="))
        g_ptr_array_add (sections, g_ptr_array_new_with_free_func (g_free));
      if (!sections->len || !g_str_has_prefix (line, "a=rtcp-fb:"))
        continue;
      parts = g_strsplit (line + strlen ("a=rtcp-fb:"), " ", 3);
      if (parts[0] && parts[1] && g_str_equal (parts[1], "goog-remb"))
        g_ptr_array_add (sections->pdata[sections->len - 1], g_strdup (parts[0]));
    }
  return sections;
}

/* Returns "PT" when @line is "a=rtcp-fb:PT @type" (nothing after @type). */
static char *
feedback_pt (const char *line, const char *type)
{
  g_auto (GStrv) parts = NULL;

  if (!g_str_has_prefix (line, "a=rtcp-fb:"))
    return NULL;
  parts = g_strsplit (line + strlen ("a=rtcp-fb:"), " ", 3);
  if (!parts[0] || !parts[1] || parts[2] || !g_str_equal (parts[1], type))
    return NULL;
  return g_strdup (parts[0]);
}

/* Returns TRUE when @pt of the m-section's @remb list, as offered, has goog-remb. */
static gboolean
remb_offered (GPtrArray *remb, const char *pt)
{
  for (guint i = 0; remb && i < remb->len; i++)
    if (g_str_equal (remb->pdata[i], pt) || g_str_equal (remb->pdata[i], "*"))
      return TRUE;
  return FALSE;
}

char *
rtcbotd_sdp_answer_feedback (const char *answer, const char *offer)
{
  g_auto (GStrv) lines = split_lines (answer);
  g_auto (GStrv) offer_lines = split_lines (offer);
  g_autoptr (GPtrArray) remb = collect_remb (offer_lines);
  g_autoptr (GString) out = g_string_new (NULL);
  gboolean sized = strstr (answer, "a=max-message-size:") != NULL;
  gint section = -1;

  for (guint i = 0; lines[i]; i++)
    {
      const char *line = lines[i];
      g_autofree char *twcc = feedback_pt (line, "transport-cc");
      g_autofree char *own_remb = feedback_pt (line, "goog-remb");
      GPtrArray *offered = section >= 0 && (guint)section < remb->len ? remb->pdata[section] : NULL;
      g_auto (GStrv) rtpmap = NULL;
      if (*line == '\0' || twcc || own_remb)
        continue;
      section += g_str_has_prefix (line, "m=");
      g_string_append_printf (out, "%s\r\n", line);
      if (!sized && g_str_has_prefix (line, "a=sctp-port:"))
        g_string_append_printf (out, "a=max-message-size:%d\r\n", RTCBOTD_SDP_MAX_MESSAGE_SIZE);
      if (!g_str_has_prefix (line, "a=rtpmap:"))
        continue;
      rtpmap = g_strsplit_set (line + strlen ("a=rtpmap:"), " /", 3);
      if (rtpmap[0] && rtpmap[1] && g_ascii_strcasecmp (rtpmap[1], "rtx") != 0
          && remb_offered (offered, rtpmap[0]))
        g_string_append_printf (out, "a=rtcp-fb:%s goog-remb\r\n", rtpmap[0]);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
