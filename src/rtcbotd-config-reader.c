/* rtcbotd-config-reader.c — typed, range-checked access to one INI file. */
#include "rtcbotd-config-reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rtcbotd-error.h"

struct _RtcbotdConfigReader
{
  GKeyFile *keyfile;
  char *name;
  GHashTable *lines; /* "group" or "group\nkey" -> line number */
  GHashTable *lists; /* "group\nkey" of the keys read as lists (';' is no comment there) */
};

static char *
line_key (const char *group, const char *key)
{
  return key ? g_strconcat (group, "\n", key, NULL) : g_strdup (group);
}

static guint
reader_line (RtcbotdConfigReader *self, const char *group, const char *key)
{
  g_autofree char *k = line_key (group, key);
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->lines, k));
}

/* Records where each group and key is, and rejects what GKeyFile would merge
 * silently: a group or a key given twice. */
static gboolean
index_lines (RtcbotdConfigReader *self, const char *data, GError **error)
{
  g_auto (GStrv) lines = g_strsplit (data, "\n", -1);
  g_autofree char *group = NULL;

  for (guint i = 0; lines[i]; i++)
    {
      g_autofree char *key = NULL;
      char *text = g_strstrip (lines[i]);
      guint previous;

      if (*text == '\0' || *text == '#' || *text == ';')
        continue;
      if (*text == '[')
        {
          char *end = strchr (text, ']');
          g_free (group);
          group = g_strndup (text + 1, end ? (gsize)(end - text - 1) : strlen (text + 1));
          g_strstrip (group);
        }
      else if (group && strchr (text, '='))
        key = g_strstrip (g_strndup (text, strchr (text, '=') - text));
      else
        continue;

      g_autofree char *k = line_key (group, key);
      previous = GPOINTER_TO_UINT (g_hash_table_lookup (self->lines, k));
      if (previous)
        {
          g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG,
                       "%s:%u: [%s]%s%s: given twice (first on line %u)", self->name, i + 1, group,
                       key ? " " : "", key ? key : "", previous);
          return FALSE;
        }
      g_hash_table_insert (self->lines, g_steal_pointer (&k), GUINT_TO_POINTER (i + 1));
    }
  return TRUE;
}

/* INI files commonly use ';' for whole-line comments; GKeyFile knows only '#'.
 * Returns a copy of @data where such lines start with '#', lines kept in place. */
static char *
semicolon_comments_to_hash (const char *data)
{
  char *text = g_strdup (data);
  gboolean line_start = TRUE;

  for (char *p = text; *p; p++)
    {
      if (line_start && *p == ';')
        *p = '#';
      if (*p == '\n')
        line_start = TRUE;
      else if (!g_ascii_isspace (*p))
        line_start = FALSE;
    }
  return text;
}

RtcbotdConfigReader *
rtcbotd_config_reader_new (const char *data, const char *name, GError **error)
{
  g_autoptr (RtcbotdConfigReader) self = g_new0 (RtcbotdConfigReader, 1);
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = NULL;

  self->keyfile = g_key_file_new ();
  self->name = g_strdup (name);
  self->lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->lists = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_key_file_set_list_separator (self->keyfile, ';');

  if (!g_utf8_validate (data, -1, NULL))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "%s: not UTF-8 text", name);
      return NULL;
    }
  text = semicolon_comments_to_hash (data);
  if (!g_key_file_load_from_data (self->keyfile, text, -1, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "%s: %s", name,
                   local_error->message);
      return NULL;
    }
  if (!index_lines (self, data, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
rtcbotd_config_reader_free (RtcbotdConfigReader *self)
{
  if (!self)
    return;
  g_clear_pointer (&self->keyfile, g_key_file_unref);
  g_clear_pointer (&self->lines, g_hash_table_unref);
  g_clear_pointer (&self->lists, g_hash_table_unref);
  g_free (self->name);
  g_free (self);
}

char **
rtcbotd_config_reader_get_groups (RtcbotdConfigReader *self)
{
  return g_key_file_get_groups (self->keyfile, NULL);
}

char *
rtcbotd_config_reader_where (RtcbotdConfigReader *self, const char *group, const char *key)
{
  guint line = reader_line (self, group, key);

  if (!line && key)
    line = reader_line (self, group, NULL);
  if (line)
    return g_strdup_printf ("%s:%u: [%s]%s%s", self->name, line, group, key ? " " : "",
                            key ? key : "");
  return g_strdup_printf ("%s: [%s]%s%s", self->name, group, key ? " " : "", key ? key : "");
}

void
rtcbotd_config_reader_error (RtcbotdConfigReader *self, GError **error, const char *group,
                             const char *key, const char *format, ...)
{
  g_autofree char *message = NULL;
  g_autofree char *where = rtcbotd_config_reader_where (self, group, key);
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG, "%s: %s", where, message);
}

gboolean
rtcbotd_config_reader_check_keys (RtcbotdConfigReader *self, const char *group,
                                  const char *const *allowed, GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (self->keyfile, group, NULL, NULL);

  for (guint i = 0; keys && keys[i]; i++)
    {
      if (g_strv_contains (allowed, keys[i]))
        continue;
      g_autofree char *accepted = g_strjoinv (", ", (char **)allowed);
      rtcbotd_config_reader_error (self, error, group, keys[i], "unknown key; accepted: %s",
                                   accepted);
      return FALSE;
    }
  return TRUE;
}

gboolean
rtcbotd_config_reader_has_key (RtcbotdConfigReader *self, const char *group, const char *key)
{
  return g_key_file_has_key (self->keyfile, group, key, NULL);
}

/* Returns the raw value without its inline comment, trimmed; NULL if absent.
 * A comment starts at whitespace followed by '#', or by ';' unless @list. */
static char *
get_raw_value (RtcbotdConfigReader *self, const char *group, const char *key, gboolean list)
{
  char *value = g_key_file_get_value (self->keyfile, group, key, NULL);

  if (!value)
    return NULL;
  for (char *p = value; *p; p++)
    {
      if ((*p == '#' || (*p == ';' && !list)) && (p == value || g_ascii_isspace (p[-1])))
        {
          *p = '\0';
          break;
        }
    }
  return g_strstrip (value);
}

static char *
get_raw (RtcbotdConfigReader *self, const char *group, const char *key)
{
  return get_raw_value (self, group, key, FALSE);
}

gboolean
rtcbotd_config_reader_get_string (RtcbotdConfigReader *self, const char *group, const char *key,
                                  const char *fallback, char **out, GError **error)
{
  g_autofree char *value = get_raw (self, group, key);

  if (!value)
    {
      *out = g_strdup (fallback);
      return TRUE;
    }
  if (*value == '\0')
    {
      rtcbotd_config_reader_error (self, error, group, key, "empty value");
      return FALSE;
    }
  *out = g_steal_pointer (&value);
  return TRUE;
}

gboolean
rtcbotd_config_reader_get_uint (RtcbotdConfigReader *self, const char *group, const char *key,
                                guint fallback, guint min, guint max, guint *out, GError **error)
{
  g_autofree char *value = get_raw (self, group, key);
  guint64 number;

  if (!value)
    {
      *out = fallback;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &number, NULL))
    {
      rtcbotd_config_reader_error (self, error, group, key, "\"%s\" is not a whole number", value);
      return FALSE;
    }
  if (number < min || number > max)
    {
      rtcbotd_config_reader_error (self, error, group, key, "%s is out of range; accepted: %u..%u",
                                   value, min, max);
      return FALSE;
    }
  *out = (guint)number;
  return TRUE;
}

gboolean
rtcbotd_config_reader_get_double (RtcbotdConfigReader *self, const char *group, const char *key,
                                  double fallback, double min, double max, double *out,
                                  GError **error)
{
  g_autofree char *value = get_raw (self, group, key);
  char *end = NULL;
  double number;

  if (!value)
    {
      *out = fallback;
      return TRUE;
    }
  errno = 0;
  number = g_ascii_strtod (value, &end);
  if (*value == '\0' || *end != '\0' || errno != 0 || number != number)
    {
      rtcbotd_config_reader_error (self, error, group, key, "\"%s\" is not a number", value);
      return FALSE;
    }
  if (number < min || number > max)
    {
      rtcbotd_config_reader_error (self, error, group, key, "%s is out of range; accepted: %g..%g",
                                   value, min, max);
      return FALSE;
    }
  *out = number;
  return TRUE;
}

gboolean
rtcbotd_config_reader_get_choice (RtcbotdConfigReader *self, const char *group, const char *key,
                                  const char *const *names, guint fallback, guint *out,
                                  GError **error)
{
  g_autofree char *value = get_raw (self, group, key);

  if (!value)
    {
      *out = fallback;
      return TRUE;
    }
  for (guint i = 0; names[i]; i++)
    {
      if (g_str_equal (names[i], value))
        {
          *out = i;
          return TRUE;
        }
    }
  g_autofree char *accepted = g_strjoinv ("|", (char **)names);
  rtcbotd_config_reader_error (self, error, group, key, "\"%s\" is not accepted; accepted: %s",
                               value, accepted);
  return FALSE;
}

gboolean
rtcbotd_config_reader_get_list (RtcbotdConfigReader *self, const char *group, const char *key,
                                char ***out, GError **error)
{
  g_autofree char *value = get_raw_value (self, group, key, TRUE);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  g_hash_table_add (self->lists, line_key (group, key));
  g_auto (GStrv) items = NULL;

  if (!value || *value == '\0')
    {
      rtcbotd_config_reader_error (self, error, group, key, "%s",
                                   value ? "empty value" : "missing; this key is required");
      return FALSE;
    }
  items = g_strsplit (value, ";", -1);
  /* Names hold no spaces: an item with inner whitespace is an inline comment
   * ("to = peers   ; every viewer"), and so is everything after it. */
  for (guint i = 0; items[i]; i++)
    {
      char *item = g_strstrip (items[i]);
      if (strpbrk (item, " \t"))
        break;
      if (*item != '\0')
        g_strv_builder_add (builder, item);
    }
  *out = g_strv_builder_end (builder);
  if (!**out)
    {
      g_clear_pointer (out, g_strfreev);
      rtcbotd_config_reader_error (self, error, group, key,
                                   "\"%s\" names nothing; separate names with ';' (a name "
                                   "holds no spaces)",
                                   value);
      return FALSE;
    }
  return TRUE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

char *
rtcbotd_config_reader_fingerprint (RtcbotdConfigReader *self, const char *group)
{
  g_auto (GStrv) keys = g_key_file_get_keys (self->keyfile, group, NULL, NULL);
  g_autoptr (GString) text = g_string_new (group);

  if (keys)
    qsort (keys, g_strv_length (keys), sizeof (char *), compare_strings);
  for (guint i = 0; keys && keys[i]; i++)
    {
      g_autofree char *k = line_key (group, keys[i]);
      g_autofree char *value
          = get_raw_value (self, group, keys[i], g_hash_table_contains (self->lists, k));
      g_string_append_printf (text, "\n%s=%s", keys[i], value ? value : "");
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}
