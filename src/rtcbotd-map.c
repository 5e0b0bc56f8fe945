/* rtcbotd-map.c — parsing a route's map and turning inputs into commands.
 *
 * Parsing interns every distinct source (key.w, axis.1, field.drive.speed) as
 * a slot; terms refer to slots by index, so applying an input is a few hash
 * lookups plus one pass over the terms. The parsed definitions are immutable
 * and shared (reference counted) by every copy; only the slot values are per
 * map. libm is not needed: rounding and the integer test use casts.
 */
#include "rtcbotd-map.h"

#include <math.h>
#include <string.h>

#include "rtcbotd-error.h"

#define ACCEPTED_TERMS "accepted: key.NAME, btn.NAME, axis.NAME, field.PATH or a number"
#define ACCEPTED_NUMBER "accepted: a finite decimal such as 255, -0.5 or 2e-3"
#define ACCEPTED_OPTIONS "accepted: offset=, deadzone=, clamp=LO:HI, round"
#define ACCEPTED_DEFINITION "accepted: FIELD=EXPR[,OPTION]..."
/* Every double at or above this magnitude is a whole number. */
#define TWO_POW_52 4503599627370496.0
#define TWO_POW_53 9007199254740992.0

typedef enum
{
  SOURCE_KEY,
  SOURCE_BTN,
  SOURCE_AXIS,
  SOURCE_FIELD,
} SourceKind;

/* One input the map listens to; terms naming the same source share it. */
typedef struct
{
  SourceKind kind;
  char *name;  /* normalised: single characters lower-cased, "3" for btn3/axis3 */
  char **path; /* field. only: the member names, outermost first */
} Slot;

typedef struct
{
  int slot;      /* index into Definitions.slots, or -1 for a constant */
  double factor; /* sign times scale, or the signed constant */
} Term;

typedef struct
{
  Term terms[RTCBOTD_MAP_MAX_TERMS];
  guint n_terms;
  double offset;
  double deadzone;
  double lo, hi;
  gboolean clamp;
  gboolean round;
} Field;

/* What parsing yields; shared read-only by a map and its copies. */
typedef struct
{
  Field fields[RTCBOTD_MAP_MAX_FIELDS];
  char *names[RTCBOTD_MAP_MAX_FIELDS + 1]; /* NULL-terminated */
  guint n_fields;
  GPtrArray *slots;    /* of Slot */
  GHashTable *lookup;  /* Slot (kind, name) -> index + 1, for every slot */
  GArray *field_slots; /* of guint: the indices of field. slots */
} Definitions;

/* A slot's state in one map: the latest value and who sent it. A slot that
 * nobody set (or whose sender went away) is unset. */
typedef struct
{
  double value; /* 1/0 for keys and buttons, else the latest value */
  guint origin;
  gboolean set;
} SlotState;

struct _RtcbotdMap
{
  Definitions *defs;
  SlotState *slots; /* per slot of defs */
  guint origin;     /* of the input being applied */
};

static void
slot_free (Slot *slot)
{
  g_free (slot->name);
  g_strfreev (slot->path);
  g_free (slot);
}

static guint
slot_hash (gconstpointer key)
{
  const Slot *slot = key;

  return g_str_hash (slot->name) * 31 + slot->kind;
}

static gboolean
slot_equal (gconstpointer a, gconstpointer b)
{
  const Slot *x = a, *y = b;

  return x->kind == y->kind && strcmp (x->name, y->name) == 0;
}

static void
definitions_clear (gpointer data)
{
  Definitions *defs = data;

  for (guint i = 0; i < defs->n_fields; i++)
    g_free (defs->names[i]);
  g_hash_table_unref (defs->lookup);
  g_ptr_array_unref (defs->slots);
  g_array_unref (defs->field_slots);
}

static Definitions *
definitions_new (void)
{
  Definitions *defs = g_atomic_rc_box_new0 (Definitions);

  defs->slots = g_ptr_array_new_with_free_func ((GDestroyNotify)slot_free);
  defs->lookup = g_hash_table_new (slot_hash, slot_equal);
  defs->field_slots = g_array_new (FALSE, FALSE, sizeof (guint));
  return defs;
}

static void
definitions_unref (Definitions *defs)
{
  g_atomic_rc_box_release_full (defs, definitions_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Definitions, definitions_unref)

/* Sets a parse error that starts by quoting @definition. */
G_GNUC_PRINTF (3, 4)
static gboolean
fail (GError **error, const char *definition, const char *format, ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID, "\"%s\": %s", definition, detail);
  return FALSE;
}

/* Parses a whole decimal: [+-]digits[.digits][e[+-]digits], finite; no hex, inf or nan. */
static gboolean
parse_number (const char *text, double *out)
{
  const char *p = text;
  char *end = NULL;
  guint digits = 0;

  if (*p == '+' || *p == '-')
    p++;
  for (; g_ascii_isdigit (*p); p++)
    digits++;
  if (*p == '.')
    for (p++; g_ascii_isdigit (*p); p++)
      digits++;
  if (digits == 0)
    return FALSE;
  if (*p == 'e' || *p == 'E')
    {
      p++;
      if (*p == '+' || *p == '-')
        p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (*p != '\0')
    return FALSE;
  *out = g_ascii_strtod (text, &end);
  return end == p && isfinite (*out);
}

/* Single characters compare case-insensitively, so "W" (Shift held) is key.w;
 * returns @name itself or its folded form in @buf. */
static const char *
fold_key (const char *name, char buf[8])
{
  gunichar c;

  if (name[0] == '\0' || (name[1] != '\0' && (guchar)name[0] < 0x80))
    return name;
  if (name[1] == '\0')
    {
      buf[0] = g_ascii_tolower (name[0]);
      buf[1] = '\0';
      return buf;
    }
  c = g_utf8_get_char_validated (name, -1);
  if (c == (gunichar)-1 || c == (gunichar)-2 || name[g_unichar_to_utf8 (c, NULL)] != '\0')
    return name;
  buf[g_unichar_to_utf8 (g_unichar_tolower (c), buf)] = '\0';
  return buf;
}

/* NAME characters: ASCII letters, digits, '_', and any non-ASCII UTF-8. */
static gboolean
is_name (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && (guchar)*p < 0x80)
      return FALSE;
  return TRUE;
}

/* Returns what follows @prefix when that is one or more digits, else NULL. */
static const char *
digits_after (const char *text, const char *prefix)
{
  gsize len = strlen (prefix);

  if (strncmp (text, prefix, len) != 0 || text[len] == '\0')
    return NULL;
  for (const char *p = text + len; *p; p++)
    if (!g_ascii_isdigit (*p))
      return NULL;
  return text + len;
}

/* The name a slot is stored under, so that lookups need no folding of aliases. */
static char *
normalise_name (SourceKind kind, const char *name)
{
  char buf[8];
  const char *digits;

  if (kind == SOURCE_KEY && strcmp (name, "Space") == 0)
    return g_strdup (" ");
  if (kind == SOURCE_KEY)
    return g_strdup (fold_key (name, buf));
  digits = digits_after (name, kind == SOURCE_BTN ? "btn" : "axis");
  return g_strdup (digits ? digits : name);
}

/* Returns the slot index of @source ("key.w", "field.a.b"), adding it when new;
 * -1 when @source is not a source. */
static int
intern_source (Definitions *defs, const char *source)
{
  static const char *const prefixes[] = { "key.", "btn.", "axis.", "field." };
  g_auto (GStrv) path = NULL;
  Slot key = { 0 }, *slot;
  g_autofree char *name = NULL;
  guint kind;
  gpointer found;

  for (kind = 0; kind < G_N_ELEMENTS (prefixes); kind++)
    if (g_str_has_prefix (source, prefixes[kind]))
      break;
  if (kind == G_N_ELEMENTS (prefixes))
    return -1;
  source += strlen (prefixes[kind]);
  if (*source == '\0') /* g_strsplit would give no parts at all */
    return -1;
  path = g_strsplit (source, ".", -1);
  for (guint i = 0; path[i]; i++)
    if (!is_name (path[i]) || (i > 0 && kind != SOURCE_FIELD))
      return -1;
  name = kind == SOURCE_FIELD ? g_strdup (source) : normalise_name (kind, source);
  key.kind = kind;
  key.name = name;
  if (g_hash_table_lookup_extended (defs->lookup, &key, NULL, &found))
    return GPOINTER_TO_INT (found) - 1;
  slot = g_new0 (Slot, 1);
  slot->kind = kind;
  slot->name = g_steal_pointer (&name);
  if (kind == SOURCE_FIELD)
    {
      slot->path = g_steal_pointer (&path);
      g_array_append_val (defs->field_slots, defs->slots->len);
    }
  g_ptr_array_add (defs->slots, slot);
  g_hash_table_insert (defs->lookup, slot, GINT_TO_POINTER (defs->slots->len));
  return defs->slots->len - 1;
}

/* Parses one TERM (@text, without its sign) of @definition into @term. */
static gboolean
parse_term (Definitions *defs, const char *definition, const char *text, double sign, Term *term,
            GError **error)
{
  const char *star = strchr (text, '*');
  g_autofree char *source = NULL;
  double value = 1;

  if (g_ascii_isdigit (*text) || *text == '.')
    {
      if (star)
        return fail (error, definition, "\"%s\" is not a term; " ACCEPTED_TERMS, text);
      if (!parse_number (text, &value))
        return fail (error, definition, "\"%s\" is not a number; " ACCEPTED_NUMBER, text);
      term->slot = -1;
      term->factor = sign * value;
      return TRUE;
    }
  source = star ? g_strndup (text, star - text) : g_strdup (text);
  term->slot = intern_source (defs, source);
  if (term->slot < 0)
    return fail (error, definition, "\"%s\" is not a term; " ACCEPTED_TERMS, text);
  if (star && !parse_number (star + 1, &value))
    return fail (error, definition, "\"%s\" is not a number; " ACCEPTED_NUMBER, star + 1);
  term->factor = sign * value;
  return TRUE;
}

/* Where the term starting at @p ends: at a '+' or '-' that is neither the sign
 * of a scale (after '*') nor of a number's exponent. */
static const char *
term_end (const char *p)
{
  gboolean in_number = g_ascii_isdigit (*p) || *p == '.';
  const char *start = p;

  for (; *p; p++)
    {
      if (*p == '*')
        {
          in_number = TRUE;
          if (p[1] == '+' || p[1] == '-')
            p++;
        }
      else if ((*p == '+' || *p == '-')
               && !(in_number && p > start && (p[-1] == 'e' || p[-1] == 'E')))
        return p;
    }
  return p;
}

/* Parses EXPR: TERM ((+|-) TERM)*, a leading '-' negating the first term. */
static gboolean
parse_expression (Definitions *defs, Field *field, const char *definition, const char *expr,
                  GError **error)
{
  const char *p = expr;
  char after = '=';
  double sign = 1;

  if (*p == '-')
    {
      sign = -1;
      after = *p++;
    }
  for (;;)
    {
      const char *end = term_end (p);
      g_autofree char *text = g_strndup (p, end - p);

      if (end == p)
        return fail (error, definition, "a term is missing after '%c'; " ACCEPTED_TERMS, after);
      if (field->n_terms == RTCBOTD_MAP_MAX_TERMS)
        return fail (error, definition, "more than %d terms; accepted: at most %d in a field",
                     RTCBOTD_MAP_MAX_TERMS, RTCBOTD_MAP_MAX_TERMS);
      if (!parse_term (defs, definition, text, sign, &field->terms[field->n_terms], error))
        return FALSE;
      field->n_terms++;
      if (*end == '\0')
        return TRUE;
      after = *end;
      sign = *end == '-' ? -1 : 1;
      p = end + 1;
    }
}

/* Parses the value of "clamp=" (@value is LO:HI). */
static gboolean
parse_clamp (Field *field, const char *definition, const char *option, const char *value,
             GError **error)
{
  g_auto (GStrv) bounds = g_strsplit (value, ":", 2);

  if (!bounds[0] || !bounds[1])
    return fail (error, definition,
                 "\"%s\" is not LO:HI; accepted: clamp=LO:HI such as clamp=-255:255", option);
  if (!parse_number (bounds[0], &field->lo))
    return fail (error, definition, "\"%s\" is not a number; " ACCEPTED_NUMBER, bounds[0]);
  if (!parse_number (bounds[1], &field->hi))
    return fail (error, definition, "\"%s\" is not a number; " ACCEPTED_NUMBER, bounds[1]);
  if (field->lo > field->hi)
    return fail (error, definition, "\"%s\": LO is above HI", option);
  field->clamp = TRUE;
  return TRUE;
}

/* Parses one OPTION; @seen collects the options already given, by bit. */
static gboolean
parse_option (Field *field, const char *definition, const char *option, guint *seen, GError **error)
{
  static const char *const names[] = { "offset=", "deadzone=", "clamp=", "round" };
  const char *value;
  guint which;

  for (which = 0; which < G_N_ELEMENTS (names); which++)
    if (which == 3 ? strcmp (option, names[which]) == 0 : g_str_has_prefix (option, names[which]))
      break;
  if (which == G_N_ELEMENTS (names))
    return fail (error, definition, "unknown option \"%s\"; " ACCEPTED_OPTIONS, option);
  if (*seen & (1u << which))
    return fail (error, definition, "option \"%.*s\" is given twice",
                 (int)strcspn (names[which], "="), names[which]);
  *seen |= 1u << which;
  value = option + strlen (names[which]);
  if (which == 0 && !parse_number (value, &field->offset))
    return fail (error, definition, "\"%s\" is not a number; " ACCEPTED_NUMBER, value);
  if (which == 1 && !parse_number (value, &field->deadzone))
    return fail (error, definition, "\"%s\" is not a number; " ACCEPTED_NUMBER, value);
  if (which == 1 && field->deadzone < 0)
    return fail (error, definition, "\"%s\": the deadzone is negative; accepted: 0 or more",
                 option);
  if (which == 2)
    return parse_clamp (field, definition, option, value, error);
  field->round = field->round || which == 3;
  return TRUE;
}

/* Parses FIELD=EXPR[,OPTION]... and adds it to @defs. */
static gboolean
parse_definition (Definitions *defs, const char *definition, GError **error)
{
  const char *equals = strchr (definition, '=');
  g_autofree char *name = NULL;
  g_auto (GStrv) parts = NULL;
  Field *field;
  guint seen = 0;

  if (!equals)
    return fail (error, definition, "missing '='; " ACCEPTED_DEFINITION);
  name = g_strndup (definition, equals - definition);
  if (*name == '\0'
      || strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789_-")
             != strlen (name))
    return fail (error, definition,
                 "\"%s\" is not a field name; accepted: letters, digits, '_' and '-'", name);
  if (g_strv_contains ((const char *const *)defs->names, name))
    return fail (error, definition, "\"%s\" is defined twice", name);
  if (defs->n_fields == RTCBOTD_MAP_MAX_FIELDS)
    return fail (error, definition, "more than %d fields; accepted: at most %d",
                 RTCBOTD_MAP_MAX_FIELDS, RTCBOTD_MAP_MAX_FIELDS);
  field = &defs->fields[defs->n_fields];
  parts = g_strsplit (equals + 1, ",", -1); /* no parts at all when empty */
  if (!parse_expression (defs, field, definition, parts[0] ? parts[0] : "", error))
    return FALSE;
  for (guint i = 1; parts[0] && parts[i]; i++)
    if (!parse_option (field, definition, parts[i], &seen, error))
      return FALSE;
  defs->names[defs->n_fields++] = g_steal_pointer (&name);
  return TRUE;
}

static RtcbotdMap *
map_new (Definitions *defs)
{
  RtcbotdMap *self = g_new0 (RtcbotdMap, 1);

  self->defs = defs;
  self->slots = g_new0 (SlotState, MAX (defs->slots->len, 1));
  return self;
}

RtcbotdMap *
rtcbotd_map_new (const char *text, GError **error)
{
  g_autoptr (Definitions) defs = NULL;
  const char *p = text ? text : "";

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_utf8_validate (p, -1, NULL))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID, "the map is not UTF-8 text");
      return NULL;
    }
  defs = definitions_new ();
  for (;;)
    {
      g_autofree char *definition = NULL;
      gsize len;

      while (g_ascii_isspace (*p))
        p++;
      if (*p == '\0')
        break;
      for (len = 0; p[len] && !g_ascii_isspace (p[len]); len++)
        ;
      definition = g_strndup (p, len);
      if (!parse_definition (defs, definition, error))
        return NULL;
      p += len;
    }
  if (defs->n_fields == 0)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                   "the map is empty; " ACCEPTED_DEFINITION " separated by spaces");
      return NULL;
    }
  return map_new (g_steal_pointer (&defs));
}

RtcbotdMap *
rtcbotd_map_copy (const RtcbotdMap *self)
{
  return map_new (g_atomic_rc_box_acquire (self->defs));
}

void
rtcbotd_map_free (RtcbotdMap *self)
{
  if (!self)
    return;
  definitions_unref (self->defs);
  g_free (self->slots);
  g_free (self);
}

void
rtcbotd_map_reset (RtcbotdMap *self)
{
  memset (self->slots, 0, sizeof (SlotState) * self->defs->slots->len);
}

gboolean
rtcbotd_map_release (RtcbotdMap *self, guint origin)
{
  gboolean released = FALSE;

  for (guint i = 0; i < self->defs->slots->len; i++)
    if (self->slots[i].set && self->slots[i].origin == origin)
      {
        memset (&self->slots[i], 0, sizeof (SlotState));
        released = TRUE;
      }
  return released;
}

const char *const *
rtcbotd_map_get_fields (const RtcbotdMap *self)
{
  return (const char *const *)self->defs->names;
}

/* The string member @name of @object, or NULL. */
static const char *
get_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (!node || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* Reads a number or a boolean (1/0) from @node; FALSE for anything else. */
static gboolean
get_number (JsonNode *node, double *out)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  switch (json_node_get_value_type (node))
    {
      case G_TYPE_INT64:
        *out = json_node_get_int (node);
        return TRUE;
      case G_TYPE_DOUBLE:
        if (!isfinite (json_node_get_double (node)))
          return FALSE;
        *out = json_node_get_double (node);
        return TRUE;
      case G_TYPE_BOOLEAN:
        *out = json_node_get_boolean (node) ? 1 : 0;
        return TRUE;
      default:
        return FALSE;
    }
}

static void
store (RtcbotdMap *self, guint index, double value)
{
  self->slots[index].value = value;
  self->slots[index].origin = self->origin;
  self->slots[index].set = TRUE;
}

/* Stores @value in the slot of source @kind @name, if the map has one. */
static gboolean
set_slot (RtcbotdMap *self, SourceKind kind, const char *name, double value)
{
  Slot key = { .kind = kind, .name = (char *)name };
  gpointer found = g_hash_table_lookup (self->defs->lookup, &key);

  if (!found)
    return FALSE;
  store (self, GPOINTER_TO_INT (found) - 1, value);
  return TRUE;
}

/* Browser keyboard messages: {"type": "keydown"|"keyup", "key": "w", "keyCode": 87}. */
static gboolean
match_browser_key (RtcbotdMap *self, JsonObject *object, double held)
{
  const char *key = get_string (object, "key");
  JsonNode *code = json_object_get_member (object, "keyCode");
  gboolean matched = FALSE;
  char buf[8];

  if (key)
    matched |= set_slot (self, SOURCE_KEY, fold_key (key, buf), held);
  if (code && JSON_NODE_HOLDS_VALUE (code) && json_node_get_value_type (code) == G_TYPE_INT64
      && json_node_get_int (code) >= 0)
    {
      char digits[24];

      g_snprintf (digits, sizeof digits, "%" G_GINT64_FORMAT, json_node_get_int (code));
      matched |= set_slot (self, SOURCE_KEY, digits, held);
    }
  return matched;
}

/* Browser messages, told apart by "type": keys, and gamepad btnN and axisN. */
static gboolean
match_browser (RtcbotdMap *self, JsonObject *object)
{
  const char *type = get_string (object, "type");
  const char *index;
  double value;

  if (!type)
    return FALSE;
  if (strcmp (type, "keydown") == 0 || strcmp (type, "keyup") == 0)
    return match_browser_key (self, object, type[3] == 'd' ? 1 : 0);
  if (!get_number (json_object_get_member (object, "value"), &value))
    return FALSE;
  if ((index = digits_after (type, "btn")))
    return set_slot (self, SOURCE_BTN, index, value != 0 ? 1 : 0);
  if ((index = digits_after (type, "axis")))
    return set_slot (self, SOURCE_AXIS, index, value);
  return FALSE;
}

/* evdev messages: {"event": "Key"|"Absolute"|"Relative", "code": "KEY_W", "state": 1}. */
static gboolean
match_evdev (RtcbotdMap *self, JsonObject *object)
{
  const char *event = get_string (object, "event");
  const char *code = get_string (object, "code");
  double state;

  if (!event || !code || !get_number (json_object_get_member (object, "state"), &state))
    return FALSE;
  if (strcmp (event, "Key") == 0)
    return set_slot (self, SOURCE_KEY, code, state != 0 ? 1 : 0)
           | set_slot (self, SOURCE_BTN, code, state != 0 ? 1 : 0);
  if (strcmp (event, "Absolute") == 0 || strcmp (event, "Relative") == 0)
    return set_slot (self, SOURCE_AXIS, code, state);
  return FALSE;
}

/* The member of @object at @path, or NULL. */
static JsonNode *
find_member (JsonObject *object, char **path)
{
  JsonNode *node = NULL;

  for (guint i = 0; path[i]; i++)
    {
      if (!object || !(node = json_object_get_member (object, path[i])))
        return NULL;
      object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    }
  return node;
}

/* field.PATH terms: the member at PATH, when it is a number or a boolean. */
static gboolean
match_fields (RtcbotdMap *self, JsonObject *object)
{
  gboolean matched = FALSE;

  for (guint i = 0; i < self->defs->field_slots->len; i++)
    {
      guint index = g_array_index (self->defs->field_slots, guint, i);
      const Slot *slot = self->defs->slots->pdata[index];

      double value;

      if (get_number (find_member (object, slot->path), &value))
        {
          store (self, index, value);
          matched = TRUE;
        }
    }
  return matched;
}

/* Half away from zero, like round(3). */
static double
round_half_away (double v)
{
  double whole;

  if (!(ABS (v) < TWO_POW_52))
    return v;
  whole = (double)(gint64)v;
  if (v - whole >= 0.5)
    whole += 1;
  else if (whole - v >= 0.5)
    whole -= 1;
  return whole;
}

/* The field's value: the sum of its terms, then offset, deadzone, clamp,
 * round. A field whose sources are all unset is 0 (its offset is for sources
 * that report, such as an axis resting at 128, and must not turn "nothing
 * known" into full travel); unset sources count as 0 in the sum. */
static double
field_value (const Field *field, const SlotState *slots)
{
  gboolean has_sources = FALSE, any_set = FALSE;
  double v = 0;

  for (guint i = 0; i < field->n_terms; i++)
    {
      const Term *term = &field->terms[i];
      if (term->slot < 0)
        {
          v += term->factor;
          continue;
        }
      has_sources = TRUE;
      any_set |= slots[term->slot].set;
      v += term->factor * slots[term->slot].value;
    }
  if (has_sources && !any_set)
    return 0;
  if (isnan (v))
    v = 0;
  v += field->offset;
  if (ABS (v) < field->deadzone)
    v = 0;
  if (field->clamp)
    v = CLAMP (v, field->lo, field->hi);
  if (field->round)
    v = round_half_away (v);
  return isfinite (v) ? v : 0;
}

static JsonNode *
build_command (RtcbotdMap *self)
{
  JsonObject *object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  for (guint i = 0; i < self->defs->n_fields; i++)
    {
      double v = field_value (&self->defs->fields[i], self->slots);

      if (ABS (v) < TWO_POW_53 && v == (double)(gint64)v)
        json_object_set_int_member (object, self->defs->names[i], (gint64)v);
      else
        json_object_set_double_member (object, self->defs->names[i], v);
    }
  json_node_take_object (node, object);
  return node;
}

JsonNode *
rtcbotd_map_get_command (RtcbotdMap *self)
{
  return build_command (self);
}

JsonNode *
rtcbotd_map_apply (RtcbotdMap *self, JsonNode *input)
{
  return rtcbotd_map_apply_from (self, input, 0);
}

JsonNode *
rtcbotd_map_apply_from (RtcbotdMap *self, JsonNode *input, guint origin)
{
  JsonObject *object;
  gboolean matched;

  if (!input || !JSON_NODE_HOLDS_OBJECT (input) || !(object = json_node_get_object (input)))
    return NULL;
  self->origin = origin;
  /* Not ||: one message may feed several kinds of term (keyCode is also a field). */
  matched = match_browser (self, object);
  matched |= match_evdev (self, object);
  matched |= match_fields (self, object);
  return matched ? build_command (self) : NULL;
}
