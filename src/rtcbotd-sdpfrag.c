/* rtcbotd-sdpfrag.c — a WHEP PATCH body: a trickle-ICE SDP fragment (RFC 8840). */
#include "rtcbotd-sdpfrag.h"

#include <string.h>

#include "rtcbotd-error.h"

#define MAX_LINE 1024

static void
candidate_free (RtcbotdSdpfragCandidate *c)
{
  g_free (c->mid);
  g_free (c->candidate);
  g_free (c);
}

void
rtcbotd_sdpfrag_free (RtcbotdSdpfrag *self)
{
  if (!self)
    return;
  g_free (self->ufrag);
  g_free (self->pwd);
  g_ptr_array_unref (self->candidates);
  g_free (self);
}

static gboolean
invalid (GError **error, guint line, const char *problem)
{
  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID, "trickle-ice-sdpfrag line %u: %s", line,
               problem);
  return FALSE;
}

/* "candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ TYPE ...". */
static gboolean
candidate_is_valid (const char *value)
{
  g_auto (GStrv) fields = g_strsplit (value, " ", 0);
  guint n = g_strv_length (fields);

  return n >= 8 && g_str_has_prefix (value, "candidate:") && fields[0][10] != '\0'
         && g_str_equal (fields[6], "typ");
}

/* Reads one "a=..." or "m=..." line; @m counts the m= sections so far. */
static gboolean
parse_line (RtcbotdSdpfrag *self, const char *line, guint number, guint *m, char **mid,
            GError **error)
{
  if (g_str_has_prefix (line, "m="))
    {
      (*m)++;
      g_clear_pointer (mid, g_free);
      return TRUE;
    }
  if (g_str_has_prefix (line, "a=mid:"))
    {
      g_free (*mid);
      *mid = g_strdup (line + 6);
      return TRUE;
    }
  if (g_str_has_prefix (line, "a=ice-ufrag:") || g_str_has_prefix (line, "a=ice-pwd:"))
    {
      gboolean ufrag = line[6] == 'u';
      const char *value = strchr (line, ':') + 1;
      if (!*value || strchr (value, ' '))
        return invalid (error, number, "an empty or spaced ICE credential");
      g_free (ufrag ? self->ufrag : self->pwd);
      *(ufrag ? &self->ufrag : &self->pwd) = g_strdup (value);
      return TRUE;
    }
  if (g_str_has_prefix (line, "a=candidate:"))
    {
      RtcbotdSdpfragCandidate *c;
      if (!candidate_is_valid (line + 2))
        return invalid (error, number,
                        "not an ICE candidate (candidate:FOUNDATION COMPONENT "
                        "TRANSPORT PRIORITY ADDRESS PORT typ TYPE)");
      if (self->candidates->len >= RTCBOTD_SDPFRAG_MAX_CANDIDATES)
        return invalid (error, number, "too many candidates (at most 64 per request)");
      c = g_new0 (RtcbotdSdpfragCandidate, 1);
      c->mid = g_strdup (*mid);
      c->mline = *m ? *m - 1 : 0;
      c->candidate = g_strdup (line + 2);
      g_ptr_array_add (self->candidates, c);
      return TRUE;
    }
  if (g_str_equal (line, "a=end-of-candidates"))
    self->end_of_candidates = TRUE;
  /* Other attributes (a=ice-options, a=group, c=) say nothing we act on. */
  return TRUE;
}

RtcbotdSdpfrag *
rtcbotd_sdpfrag_parse (const char *text, gsize length, GError **error)
{
  g_autoptr (RtcbotdSdpfrag) self = g_new0 (RtcbotdSdpfrag, 1);
  g_autofree char *copy = NULL;
  g_autofree char *mid = NULL;
  g_auto (GStrv) lines = NULL;
  guint m = 0;

  self->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify)candidate_free);
  /* An empty body comes as (NULL, 0): nothing to split, and nothing to do. */
  if (!text || length == 0)
    {
      invalid (error, 1, "an empty fragment; send the candidates or the new credentials");
      return NULL;
    }
  if (memchr (text, '\0', length) || !g_utf8_validate (text, length, NULL))
    {
      invalid (error, 1, "not UTF-8 text");
      return NULL;
    }
  copy = g_strndup (text, length);
  lines = g_strsplit (copy, "\n", 0);
  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strchomp (lines[i]);
      if (!*line)
        continue;
      if (strlen (line) > MAX_LINE)
        invalid (error, i + 1, "longer than 1 KiB");
      else if (line[1] != '=' || !g_ascii_isalpha (line[0]))
        invalid (error, i + 1, "not an SDP line (x=...)");
      else if (parse_line (self, line, i + 1, &m, &mid, error))
        continue;
      return NULL;
    }
  if ((self->ufrag == NULL) != (self->pwd == NULL))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "trickle-ice-sdpfrag: a=ice-ufrag and a=ice-pwd go together");
      return NULL;
    }
  return g_steal_pointer (&self);
}
