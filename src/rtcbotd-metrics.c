/* rtcbotd-metrics.c — a Prometheus text exposition (format 0.0.4) being built. */
#include "rtcbotd-metrics.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

typedef struct
{
  char *name;
  RtcbotdMetricsType type;
  char *help;
  GString *samples; /* finished sample lines */
} Family;

struct _RtcbotdMetrics
{
  GPtrArray *families; /* of Family, in order of first use */
  GHashTable *by_name; /* name -> Family (not owned) */
};

static void
family_free (Family *family)
{
  g_free (family->name);
  g_free (family->help);
  g_string_free (family->samples, TRUE);
  g_free (family);
}

RtcbotdMetrics *
rtcbotd_metrics_new (void)
{
  RtcbotdMetrics *self = g_new0 (RtcbotdMetrics, 1);

  self->families = g_ptr_array_new_with_free_func ((GDestroyNotify)family_free);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

void
rtcbotd_metrics_free (RtcbotdMetrics *self)
{
  if (!self)
    return;
  g_hash_table_unref (self->by_name);
  g_ptr_array_unref (self->families);
  g_free (self);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; without ':' for label names. */
static gboolean
valid_name (const char *name, gboolean colon)
{
  if (!name || !*name || g_ascii_isdigit (*name))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && !(colon && *p == ':'))
      return FALSE;
  return TRUE;
}

static char *
escape (const char *text, gboolean quote)
{
  g_autofree char *valid = g_utf8_make_valid (text ? text : "", -1);
  GString *out = g_string_sized_new (strlen (valid) + 8);

  for (const char *p = valid; *p; p++)
    {
      if (*p == '\\')
        g_string_append (out, "\\\\");
      else if (*p == '\n')
        g_string_append (out, "\\n");
      else if (*p == '"' && quote)
        g_string_append (out, "\\\"");
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

char *
rtcbotd_metrics_escape_label (const char *text)
{
  return escape (text, TRUE);
}

char *
rtcbotd_metrics_escape_help (const char *text)
{
  return escape (text, FALSE);
}

/* Go's ParseFloat reads what is written here: NaN, +Inf, -Inf or a decimal,
 * the shortest of %.15g and %.17g that reads back as the same number. */
static void
append_value (GString *out, double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (value))
    g_string_append (out, "NaN");
  else if (isinf (value))
    g_string_append (out, value > 0 ? "+Inf" : "-Inf");
  else
    {
      g_ascii_formatd (buffer, sizeof buffer, "%.15g", value);
      if (g_ascii_strtod (buffer, NULL) != value)
        g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
      g_string_append (out, buffer);
    }
}

static Family *
get_family (RtcbotdMetrics *self, const char *name, RtcbotdMetricsType type, const char *help)
{
  Family *family = g_hash_table_lookup (self->by_name, name);

  if (family)
    {
      g_return_val_if_fail (family->type == type, NULL);
      return family;
    }
  g_return_val_if_fail (valid_name (name, TRUE), NULL);
  g_return_val_if_fail (type != RTCBOTD_METRICS_COUNTER || g_str_has_suffix (name, "_total"), NULL);
  family = g_new0 (Family, 1);
  family->name = g_strdup (name);
  family->type = type;
  family->help = rtcbotd_metrics_escape_help (help);
  family->samples = g_string_new (NULL);
  g_ptr_array_add (self->families, family);
  g_hash_table_insert (self->by_name, family->name, family);
  return family;
}

static void
add_sample (RtcbotdMetrics *self, const char *name, RtcbotdMetricsType type, const char *help,
            double value, va_list labels)
{
  Family *family = get_family (self, name, type, help);
  g_autoptr (GString) line = NULL;
  const char *label;
  guint n = 0;

  if (!family)
    return;
  line = g_string_new (name);
  while ((label = va_arg (labels, const char *)))
    {
      const char *text = va_arg (labels, const char *);
      g_autofree char *escaped = rtcbotd_metrics_escape_label (text);
      g_return_if_fail (valid_name (label, FALSE) && !g_str_has_prefix (label, "__"));
      g_string_append_printf (line, "%s%s=\"%s\"", n++ ? "," : "{", label, escaped);
    }
  if (n)
    g_string_append_c (line, '}');
  g_string_append_c (line, ' ');
  append_value (line, value);
  g_string_append_c (line, '\n');
  g_string_append_len (family->samples, line->str, line->len);
}

void
rtcbotd_metrics_counter (RtcbotdMetrics *self, const char *name, const char *help, double value,
                         ...)
{
  va_list labels;

  va_start (labels, value);
  add_sample (self, name, RTCBOTD_METRICS_COUNTER, help, value, labels);
  va_end (labels);
}

void
rtcbotd_metrics_gauge (RtcbotdMetrics *self, const char *name, const char *help, double value, ...)
{
  va_list labels;

  va_start (labels, value);
  add_sample (self, name, RTCBOTD_METRICS_GAUGE, help, value, labels);
  va_end (labels);
}

char *
rtcbotd_metrics_to_text (RtcbotdMetrics *self)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < self->families->len; i++)
    {
      Family *family = self->families->pdata[i];
      g_string_append_printf (
          out, "# HELP %s %s\n# TYPE %s %s\n%s", family->name, family->help, family->name,
          family->type == RTCBOTD_METRICS_COUNTER ? "counter" : "gauge", family->samples->str);
    }
  return g_string_free (out, FALSE);
}
