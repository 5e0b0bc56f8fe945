/* test-map.c — route maps: parsing and every error message, browser keyboard
 * and gamepad, evdev, field renames, output typing, reset and copies. */
#include <math.h>

#include "rtcbotd-error.h"
#include "rtcbotd-map.h"

#define WASD                                                                                       \
  "forward=key.w*255+key.ArrowUp*255-key.s*255-key.ArrowDown*255+axis.1*-255,clamp=-255:255,"      \
  "round leftright=key.d*255-key.a*255+axis.0*255,clamp=-255:255,round"
#define ACCEPTED_TERMS "accepted: key.NAME, btn.NAME, axis.NAME, field.PATH or a number"
#define ACCEPTED_NUMBER "accepted: a finite decimal such as 255, -0.5 or 2e-3"

static RtcbotdMap *
map_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  RtcbotdMap *map = rtcbotd_map_new (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (map);
  return map;
}

/* Checks that @text fails to parse with exactly @message. */
static void
expect_error (const char *text, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdMap) map = rtcbotd_map_new (text, &error);

  g_assert_null (map);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, message);
}

/* Applies the JSON @input; returns the command as compact JSON, or NULL. */
static char *
apply (RtcbotdMap *map, const char *input)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = json_from_string (input, &error);
  g_autoptr (JsonNode) command = NULL;

  g_assert_no_error (error);
  command = rtcbotd_map_apply (map, node);
  return command ? json_to_string (command, FALSE) : NULL;
}

/* Applies @input and checks the command is exactly @expected (NULL: none). */
#define expect_apply(map, input, expected)                                                         \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *_got = apply ((map), (input));                                                \
    g_assert_cmpstr (_got, ==, (expected));                                                        \
  }                                                                                                \
  G_STMT_END

#define KEYDOWN(k, code) "{\"type\":\"keydown\",\"key\":\"" k "\",\"keyCode\":" #code "}"
#define KEYUP(k, code) "{\"type\":\"keyup\",\"key\":\"" k "\",\"keyCode\":" #code "}"

static void
test_wasd (void)
{
  g_autoptr (RtcbotdMap) map = map_ok (WASD);
  const char *const *fields = rtcbotd_map_get_fields (map);

  g_assert_cmpstr (fields[0], ==, "forward");
  g_assert_cmpstr (fields[1], ==, "leftright");
  g_assert_null (fields[2]);
  expect_apply (map, KEYDOWN ("w", 87), "{\"forward\":255,\"leftright\":0}");
  expect_apply (map, KEYDOWN ("d", 68), "{\"forward\":255,\"leftright\":255}");
  expect_apply (map, KEYUP ("w", 87), "{\"forward\":0,\"leftright\":255}");
  expect_apply (map, KEYUP ("d", 68), "{\"forward\":0,\"leftright\":0}");
  expect_apply (map, KEYDOWN ("w", 87), "{\"forward\":255,\"leftright\":0}");
  expect_apply (map, KEYDOWN ("s", 83), "{\"forward\":0,\"leftright\":0}");
  expect_apply (map, KEYUP ("s", 83), "{\"forward\":255,\"leftright\":0}");
  /* Autorepeat sends keydown again: the same command again. */
  expect_apply (map, KEYDOWN ("w", 87), "{\"forward\":255,\"leftright\":0}");
  expect_apply (map, KEYDOWN ("a", 65), "{\"forward\":255,\"leftright\":-255}");
  /* Both up and w: clamped. */
  expect_apply (map, KEYDOWN ("ArrowUp", 38), "{\"forward\":255,\"leftright\":-255}");
  expect_apply (map, KEYUP ("w", 87), "{\"forward\":255,\"leftright\":-255}");
  expect_apply (map, KEYUP ("ArrowUp", 38), "{\"forward\":0,\"leftright\":-255}");
  expect_apply (map, KEYDOWN ("ArrowDown", 40), "{\"forward\":-255,\"leftright\":-255}");
  /* A key the map does not use is not for this route. */
  expect_apply (map, KEYDOWN ("x", 88), NULL);
  expect_apply (map, "{\"type\":\"keydown\",\"key\":\"arrowdown\"}", NULL);
}

static void
test_wasd_gamepad (void)
{
  g_autoptr (RtcbotdMap) map = map_ok (WASD);

  expect_apply (map, "{\"type\":\"axis1\",\"value\":-0.5}", "{\"forward\":128,\"leftright\":0}");
  expect_apply (map, "{\"type\":\"axis0\",\"value\":0.25}", "{\"forward\":128,\"leftright\":64}");
  expect_apply (map, KEYDOWN ("w", 87), "{\"forward\":255,\"leftright\":64}");
  expect_apply (map, "{\"type\":\"axis2\",\"value\":1}", NULL);
}

static void
test_shift (void)
{
  g_autoptr (RtcbotdMap) map = map_ok (WASD);

  /* Shift held while pressing w: the browser says "W". */
  expect_apply (map, KEYDOWN ("W", 87), "{\"forward\":255,\"leftright\":0}");
  /* Shift let go first: the release says "w". */
  expect_apply (map, KEYUP ("w", 87), "{\"forward\":0,\"leftright\":0}");
  expect_apply (map, KEYDOWN ("D", 68), "{\"forward\":0,\"leftright\":255}");
  expect_apply (map, KEYUP ("D", 68), "{\"forward\":0,\"leftright\":0}");
}

static void
test_key_codes (void)
{
  g_autoptr (RtcbotdMap) map = map_ok ("forward=key.87*255 jump=key.Space one=key.1 e=key.é");

  expect_apply (map, KEYDOWN ("w", 87), "{\"forward\":255,\"jump\":0,\"one\":0,\"e\":0}");
  expect_apply (map, "{\"type\":\"keyup\",\"keyCode\":87}",
                "{\"forward\":0,\"jump\":0,\"one\":0,\"e\":0}");
  expect_apply (map, KEYDOWN (" ", 32), "{\"forward\":0,\"jump\":1,\"one\":0,\"e\":0}");
  /* key.1 is the key "1" (keyCode 49) as well as keyCode 1. */
  expect_apply (map, KEYDOWN ("1", 49), "{\"forward\":0,\"jump\":1,\"one\":1,\"e\":0}");
  expect_apply (map, "{\"type\":\"keyup\",\"key\":\"x\",\"keyCode\":1}",
                "{\"forward\":0,\"jump\":1,\"one\":0,\"e\":0}");
  /* Non-ASCII single characters fold case too. */
  expect_apply (map, KEYDOWN ("É", 0), "{\"forward\":0,\"jump\":1,\"one\":0,\"e\":1}");
  expect_apply (map, KEYDOWN ("w", -87), NULL);
  expect_apply (map, "{\"type\":\"keydown\",\"key\":\"w\",\"keyCode\":87.0}", NULL);
  expect_apply (map, "{\"type\":\"keydown\",\"key\":5,\"keyCode\":\"87\"}", NULL);
}

static void
test_gamepad_axis (void)
{
  g_autoptr (RtcbotdMap) map
      = map_ok ("forward=axis.1*-255,deadzone=10,clamp=-255:255,round turn=axis.axis0*100,round");

  expect_apply (map, "{\"type\":\"axis1\",\"value\":-0.5}", "{\"forward\":128,\"turn\":0}");
  expect_apply (map, "{\"type\":\"axis1\",\"value\":0.03}", "{\"forward\":0,\"turn\":0}");
  expect_apply (map, "{\"type\":\"axis1\",\"value\":-1.5}", "{\"forward\":255,\"turn\":0}");
  expect_apply (map, "{\"type\":\"axis1\",\"value\":1.5}", "{\"forward\":-255,\"turn\":0}");
  expect_apply (map, "{\"type\":\"axis0\",\"value\":0.123}", "{\"forward\":-255,\"turn\":12}");
  expect_apply (map, "{\"type\":\"axis0\",\"value\":-1}", "{\"forward\":-255,\"turn\":-100}");
  expect_apply (map, "{\"type\":\"axis0\",\"value\":\"left\"}", NULL);
  expect_apply (map, "{\"type\":\"axis0\"}", NULL);
  expect_apply (map, "{\"type\":\"axisx\",\"value\":1}", NULL);
  expect_apply (map, "{\"type\":\"axis\",\"value\":1}", NULL);
}

static void
test_buttons (void)
{
  g_autoptr (RtcbotdMap) map = map_ok ("fire=btn.0 jump=btn.btn3*2 both=btn.0+btn.3");

  expect_apply (map, "{\"type\":\"btn0\",\"value\":true}", "{\"fire\":1,\"jump\":0,\"both\":1}");
  expect_apply (map, "{\"type\":\"btn3\",\"value\":true}", "{\"fire\":1,\"jump\":2,\"both\":2}");
  expect_apply (map, "{\"type\":\"btn0\",\"value\":false}", "{\"fire\":0,\"jump\":2,\"both\":1}");
  /* An analogue trigger counts as pressed when not 0. */
  expect_apply (map, "{\"type\":\"btn0\",\"value\":0.7}", "{\"fire\":1,\"jump\":2,\"both\":2}");
  expect_apply (map, "{\"type\":\"btn0\",\"value\":0}", "{\"fire\":0,\"jump\":2,\"both\":1}");
  expect_apply (map, "{\"type\":\"btn1\",\"value\":true}", NULL);
  expect_apply (map, "{\"type\":\"btn0\",\"value\":null}", NULL);
}

static void
test_evdev_absolute (void)
{
  g_autoptr (RtcbotdMap) map = map_ok ("forward=axis.ABS_Y*-2,offset=256,deadzone=20,"
                                       "clamp=-255:255,round turn=axis.REL_X");

#define ABS_Y(v) "{\"timestamp\":1.5,\"code\":\"ABS_Y\",\"state\":" #v ",\"event\":\"Absolute\"}"
  expect_apply (map, ABS_Y (128), "{\"forward\":0,\"turn\":0}");
  expect_apply (map, ABS_Y (0), "{\"forward\":255,\"turn\":0}");
  expect_apply (map, ABS_Y (255), "{\"forward\":-254,\"turn\":0}");
  expect_apply (map, ABS_Y (135), "{\"forward\":0,\"turn\":0}");
  expect_apply (map, ABS_Y (140), "{\"forward\":-24,\"turn\":0}");
  expect_apply (map, "{\"code\":\"REL_X\",\"state\":-3,\"event\":\"Relative\"}",
                "{\"forward\":-24,\"turn\":-3}");
  expect_apply (map, "{\"code\":\"ABS_X\",\"state\":3,\"event\":\"Absolute\"}", NULL);
  /* The same code from another kind of event is not an axis. */
  expect_apply (map, "{\"code\":\"ABS_Y\",\"state\":3,\"event\":\"Misc\"}", NULL);
  expect_apply (map, "{\"code\":\"ABS_Y\",\"event\":\"Absolute\"}", NULL);
#undef ABS_Y
}

static void
test_evdev_keys (void)
{
  g_autoptr (RtcbotdMap) map = map_ok ("forward=key.KEY_W*255-key.KEY_S*255 fire=btn.BTN_SOUTH");

#define KEY(code, state) "{\"code\":\"" code "\",\"state\":" #state ",\"event\":\"Key\"}"
  expect_apply (map, KEY ("KEY_W", 1), "{\"forward\":255,\"fire\":0}");
  expect_apply (map, KEY ("KEY_W", 2), "{\"forward\":255,\"fire\":0}");
  expect_apply (map, KEY ("KEY_S", 1), "{\"forward\":0,\"fire\":0}");
  expect_apply (map, KEY ("KEY_W", 0), "{\"forward\":-255,\"fire\":0}");
  expect_apply (map, KEY ("BTN_SOUTH", 1), "{\"forward\":-255,\"fire\":1}");
  expect_apply (map, KEY ("BTN_SOUTH", 0), "{\"forward\":-255,\"fire\":0}");
  expect_apply (map, KEY ("KEY_X", 1), NULL);
  expect_apply (map, "{\"code\":\"KEY_W\",\"state\":1,\"event\":\"Absolute\"}", NULL);
  expect_apply (map, "{\"code\":\"KEY_W\",\"state\":\"down\",\"event\":\"Key\"}", NULL);
  /* A browser "w" is not evdev's KEY_W. */
  expect_apply (map, KEYDOWN ("w", 87), NULL);
#undef KEY
}

static void
test_fields (void)
{
  g_autoptr (RtcbotdMap) map
      = map_ok ("speed=field.velocity turn=field.drive.turn*2 on=field.enabled");

  expect_apply (map, "{\"velocity\":1.5}", "{\"speed\":1.5,\"turn\":0,\"on\":0}");
  expect_apply (map, "{\"drive\":{\"turn\":0.25}}", "{\"speed\":1.5,\"turn\":0.5,\"on\":0}");
  expect_apply (map, "{\"enabled\":true,\"other\":3}", "{\"speed\":1.5,\"turn\":0.5,\"on\":1}");
  expect_apply (map, "{\"velocity\":-2,\"enabled\":false}", "{\"speed\":-2,\"turn\":0.5,\"on\":0}");
  expect_apply (map, "{\"velocity\":\"fast\"}", NULL);
  expect_apply (map, "{\"velocity\":[1]}", NULL);
  expect_apply (map, "{\"velocity\":null}", NULL);
  expect_apply (map, "{\"drive\":5}", NULL);
  expect_apply (map, "{\"drive\":{\"turn\":{\"x\":1}}}", NULL);
  expect_apply (map, "{\"turn\":1}", NULL);
  expect_apply (map, "{\"drive\":{\"speed\":1}}", NULL);
}

static void
test_field_rounding (void)
{
  g_autoptr (RtcbotdMap) map = map_ok ("v=field.x,round");

  expect_apply (map, "{\"x\":2.5}", "{\"v\":3}");
  expect_apply (map, "{\"x\":-2.5}", "{\"v\":-3}");
  expect_apply (map, "{\"x\":-0.5}", "{\"v\":-1}");
  expect_apply (map, "{\"x\":0.49999999999999994}", "{\"v\":0}");
  expect_apply (map, "{\"x\":-0.3}", "{\"v\":0}");
  expect_apply (map, "{\"x\":4503599627370497}", "{\"v\":4503599627370497}");
}

/* The type json-glib holds for member @name of the command after @input. */
static GType
output_type (RtcbotdMap *map, const char *input, const char *name, double *value)
{
  g_autoptr (JsonNode) node = json_from_string (input, NULL);
  g_autoptr (JsonNode) command = rtcbotd_map_apply (map, node);
  JsonNode *member;

  g_assert_nonnull (command);
  member = json_object_get_member (json_node_get_object (command), name);
  g_assert_nonnull (member);
  *value = json_node_get_double (member);
  return json_node_get_value_type (member);
}

static void
test_output_types (void)
{
  g_autoptr (RtcbotdMap) map = map_ok ("a=field.x b=field.x*0.5 c=field.x*-1e20 d=-field.x*0 "
                                       "e=field.x*10,clamp=-255:255 f=field.x*10");
  double v;

  g_assert_cmpuint (output_type (map, "{\"x\":3}", "a", &v), ==, G_TYPE_INT64);
  g_assert_cmpfloat (v, ==, 3);
  g_assert_cmpuint (output_type (map, "{\"x\":3}", "b", &v), ==, G_TYPE_DOUBLE);
  g_assert_cmpfloat (v, ==, 1.5);
  g_assert_cmpuint (output_type (map, "{\"x\":3}", "c", &v), ==, G_TYPE_DOUBLE);
  g_assert_cmpfloat (v, ==, -3e20);
  g_assert_cmpuint (output_type (map, "{\"x\":3}", "d", &v), ==, G_TYPE_INT64);
  g_assert_cmpfloat (v, ==, 0);
  g_assert_cmpuint (output_type (map, "{\"x\":9007199254740991}", "a", &v), ==, G_TYPE_INT64);
  g_assert_cmpuint (output_type (map, "{\"x\":9007199254740992}", "a", &v), ==, G_TYPE_DOUBLE);
  g_assert_cmpuint (output_type (map, "{\"x\":2.0}", "a", &v), ==, G_TYPE_INT64);
  /* Overflow to infinity: clamped where there is a clamp, else 0. */
  g_assert_cmpuint (output_type (map, "{\"x\":1e308}", "e", &v), ==, G_TYPE_INT64);
  g_assert_cmpfloat (v, ==, 255);
  g_assert_cmpuint (output_type (map, "{\"x\":1e308}", "f", &v), ==, G_TYPE_INT64);
  g_assert_cmpfloat (v, ==, 0);
}

static void
test_constants_and_sharing (void)
{
  g_autoptr (RtcbotdMap) map
      = map_ok ("a=5\tb=-key.w*2+3\n c=key.w+key.w*-0.5+1.5e1-2.5E-1 d-1=-7.5 e_2=.5");

  expect_apply (map, KEYDOWN ("w", 87), "{\"a\":5,\"b\":1,\"c\":15.25,\"d-1\":-7.5,\"e_2\":0.5}");
  expect_apply (map, KEYUP ("w", 87), "{\"a\":5,\"b\":3,\"c\":14.75,\"d-1\":-7.5,\"e_2\":0.5}");
}

static void
test_options (void)
{
  /* Options apply in a fixed order whatever order they are written in. */
  g_autoptr (RtcbotdMap) map = map_ok ("v=field.x,round,clamp=0:10,deadzone=2,offset=-0.6");

  /* Round last: 3 - 0.6 = 2.4, rounded to 2 (not 2.4). */
  expect_apply (map, "{\"x\":3}", "{\"v\":2}");
  /* Offset before deadzone: 2.55 - 0.6 is inside it. */
  expect_apply (map, "{\"x\":2.55}", "{\"v\":0}");
  expect_apply (map, "{\"x\":-5}", "{\"v\":0}");
  expect_apply (map, "{\"x\":100}", "{\"v\":10}");
  expect_apply (map, "{\"x\":7.2}", "{\"v\":7}");
}

static void
test_not_for_this_map (void)
{
  g_autoptr (RtcbotdMap) map = map_ok ("forward=key.w speed=field.v*2");
  g_autoptr (JsonNode) empty = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonNode) nan = json_from_string ("{\"v\":1}", NULL);
  const char *inputs[] = {
    "[1, 2]",
    "null",
    "\"keydown\"",
    "42",
    "true",
    "{}",
    "{\"type\":\"keydown\"}",
    "{\"type\":null,\"key\":\"w\"}",
    "{\"type\":[\"keydown\"],\"key\":\"w\"}",
    "{\"type\":\"keydown\",\"key\":{\"w\":1}}",
    "{\"event\":\"Key\",\"code\":null,\"state\":1}",
    "{\"v\":{\"v\":{\"v\":{\"v\":[[[[1]]]]}}}}",
    "{\"x\":1e308,\"v\":\"1e308\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    expect_apply (map, inputs[i], NULL);
  g_assert_null (rtcbotd_map_apply (map, NULL));
  g_assert_null (rtcbotd_map_apply (map, empty));
  json_object_set_double_member (json_node_get_object (nan), "v", NAN);
  g_assert_null (rtcbotd_map_apply (map, nan));
  json_object_set_double_member (json_node_get_object (nan), "v", INFINITY);
  g_assert_null (rtcbotd_map_apply (map, nan));
  /* Not UTF-8 (json-glib's parser would not let this through). */
  json_object_set_string_member (json_node_get_object (nan), "type", "keydown");
  json_object_set_string_member (json_node_get_object (nan), "key", "\xf0");
  g_assert_null (rtcbotd_map_apply (map, nan));
  /* Huge but finite numbers are used; the product overflows to 0. */
  expect_apply (map, "{\"v\":1e308}", "{\"forward\":0,\"speed\":0}");
  expect_apply (map, "{\"v\":-9223372036854775808}",
                "{\"forward\":0,\"speed\":-1.8446744073709552e+19}");
}

static void
test_reset (void)
{
  g_autoptr (RtcbotdMap) map = map_ok (WASD " speed=field.v");

  expect_apply (map, KEYDOWN ("w", 87), "{\"forward\":255,\"leftright\":0,\"speed\":0}");
  expect_apply (map, "{\"type\":\"axis0\",\"value\":0.5}",
                "{\"forward\":255,\"leftright\":128,\"speed\":0}");
  expect_apply (map, "{\"v\":3}", "{\"forward\":255,\"leftright\":128,\"speed\":3}");
  rtcbotd_map_reset (map);
  expect_apply (map, KEYDOWN ("d", 68), "{\"forward\":0,\"leftright\":255,\"speed\":0}");
}

static void
test_copy (void)
{
  RtcbotdMap *original = map_ok ("forward=key.w*255 speed=field.v");
  g_autoptr (RtcbotdMap) copy = NULL;
  g_autoptr (RtcbotdMap) second = NULL;

  expect_apply (original, KEYDOWN ("w", 87), "{\"forward\":255,\"speed\":0}");
  copy = rtcbotd_map_copy (original);
  /* A copy starts released, and each keeps its own state. */
  expect_apply (copy, "{\"v\":1}", "{\"forward\":0,\"speed\":1}");
  expect_apply (original, "{\"v\":2}", "{\"forward\":255,\"speed\":2}");
  expect_apply (copy, KEYUP ("w", 87), "{\"forward\":0,\"speed\":1}");
  expect_apply (original, "{\"v\":3}", "{\"forward\":255,\"speed\":3}");
  rtcbotd_map_free (original);
  /* The definitions outlive the map they were parsed for. */
  second = rtcbotd_map_copy (copy);
  g_assert_cmpstr (rtcbotd_map_get_fields (second)[1], ==, "speed");
  expect_apply (copy, KEYDOWN ("w", 87), "{\"forward\":255,\"speed\":1}");
  expect_apply (second, "{\"v\":4}", "{\"forward\":0,\"speed\":4}");
}

static void
test_limits (void)
{
  g_autoptr (GString) fields = g_string_new (NULL);
  g_autoptr (GString) terms = g_string_new ("f=key.a");
  g_autoptr (RtcbotdMap) map = NULL;
  g_autofree char *message = NULL;
  g_autofree char *over = NULL;

  for (guint i = 0; i < RTCBOTD_MAP_MAX_FIELDS; i++)
    g_string_append_printf (fields, "f%u=key.a ", i);
  g_clear_pointer (&map, rtcbotd_map_free);
  map = map_ok (fields->str);
  g_string_append (fields, "extra=key.b");
  expect_error (fields->str, "\"extra=key.b\": more than 32 fields; accepted: at most 32");

  for (guint i = 1; i < RTCBOTD_MAP_MAX_TERMS; i++)
    g_string_append_printf (terms, "+key.k%u", i);
  g_clear_pointer (&map, rtcbotd_map_free);
  map = map_ok (terms->str);
  over = g_strconcat (terms->str, "+1", NULL);
  message = g_strdup_printf ("\"%s\": more than 32 terms; accepted: at most 32 in a field", over);
  expect_error (over, message);
}

static void
test_errors (void)
{
  expect_error ("", "the map is empty; accepted: FIELD=EXPR[,OPTION]... separated by spaces");
  expect_error (" \t\n", "the map is empty; accepted: FIELD=EXPR[,OPTION]... separated by spaces");
  expect_error (NULL, "the map is empty; accepted: FIELD=EXPR[,OPTION]... separated by spaces");
  expect_error ("forward=\xff", "the map is not UTF-8 text");
  expect_error ("forward", "\"forward\": missing '='; accepted: FIELD=EXPR[,OPTION]...");
  expect_error ("forward=key.w turn", "\"turn\": missing '='; accepted: FIELD=EXPR[,OPTION]...");
  expect_error ("=key.w", "\"=key.w\": \"\" is not a field name; accepted: letters, digits, "
                          "'_' and '-'");
  expect_error ("fo.o=key.w", "\"fo.o=key.w\": \"fo.o\" is not a field name; accepted: letters, "
                              "digits, '_' and '-'");
  expect_error ("forward=key.w forward=key.s", "\"forward=key.s\": \"forward\" is defined twice");
  expect_error ("forward=kee.w", "\"forward=kee.w\": \"kee.w\" is not a term; " ACCEPTED_TERMS);
  expect_error ("forward=key", "\"forward=key\": \"key\" is not a term; " ACCEPTED_TERMS);
  expect_error ("forward=key.", "\"forward=key.\": \"key.\" is not a term; " ACCEPTED_TERMS);
  expect_error ("forward=key.a.b",
                "\"forward=key.a.b\": \"key.a.b\" is not a term; " ACCEPTED_TERMS);
  expect_error ("forward=key.w!", "\"forward=key.w!\": \"key.w!\" is not a term; " ACCEPTED_TERMS);
  expect_error ("a=field.x..y", "\"a=field.x..y\": \"field.x..y\" is not a term; " ACCEPTED_TERMS);
  expect_error ("a=field.x.", "\"a=field.x.\": \"field.x.\" is not a term; " ACCEPTED_TERMS);
  expect_error ("a=2*3", "\"a=2*3\": \"2*3\" is not a term; " ACCEPTED_TERMS);
  expect_error ("a=key.w*", "\"a=key.w*\": \"\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=key.w*x", "\"a=key.w*x\": \"x\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=key.w*0x10", "\"a=key.w*0x10\": \"0x10\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=key.w*inf", "\"a=key.w*inf\": \"inf\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=key.w*2*3", "\"a=key.w*2*3\": \"2*3\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=1e999", "\"a=1e999\": \"1e999\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=1.2.3", "\"a=1.2.3\": \"1.2.3\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=", "\"a=\": a term is missing after '='; " ACCEPTED_TERMS);
  expect_error ("a=key.w+", "\"a=key.w+\": a term is missing after '+'; " ACCEPTED_TERMS);
  expect_error ("a=--key.w", "\"a=--key.w\": a term is missing after '-'; " ACCEPTED_TERMS);
  expect_error ("a=+key.w", "\"a=+key.w\": a term is missing after '='; " ACCEPTED_TERMS);
  expect_error ("a=,round", "\"a=,round\": a term is missing after '='; " ACCEPTED_TERMS);
  expect_error ("forward=key.w,speed=2", "\"forward=key.w,speed=2\": unknown option \"speed=2\"; "
                                         "accepted: offset=, deadzone=, clamp=LO:HI, round");
  expect_error ("a=key.w,", "\"a=key.w,\": unknown option \"\"; "
                            "accepted: offset=, deadzone=, clamp=LO:HI, round");
  expect_error ("a=key.w,round=1", "\"a=key.w,round=1\": unknown option \"round=1\"; "
                                   "accepted: offset=, deadzone=, clamp=LO:HI, round");
  expect_error ("a=key.w,offset", "\"a=key.w,offset\": unknown option \"offset\"; "
                                  "accepted: offset=, deadzone=, clamp=LO:HI, round");
  expect_error ("a=key.w,clamp=5:1", "\"a=key.w,clamp=5:1\": \"clamp=5:1\": LO is above HI");
  expect_error ("a=key.w,clamp=5", "\"a=key.w,clamp=5\": \"clamp=5\" is not LO:HI; accepted: "
                                   "clamp=LO:HI such as clamp=-255:255");
  expect_error ("a=key.w,clamp=x:5",
                "\"a=key.w,clamp=x:5\": \"x\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=key.w,clamp=1:5:6",
                "\"a=key.w,clamp=1:5:6\": \"5:6\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=key.w,clamp=", "\"a=key.w,clamp=\": \"clamp=\" is not LO:HI; accepted: "
                                  "clamp=LO:HI such as clamp=-255:255");
  expect_error ("a=key.w,offset=", "\"a=key.w,offset=\": \"\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=key.w,offset=nan",
                "\"a=key.w,offset=nan\": \"nan\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=key.w,deadzone=x",
                "\"a=key.w,deadzone=x\": \"x\" is not a number; " ACCEPTED_NUMBER);
  expect_error ("a=key.w,deadzone=-1", "\"a=key.w,deadzone=-1\": \"deadzone=-1\": the deadzone "
                                       "is negative; accepted: 0 or more");
  expect_error ("a=key.w,round,round", "\"a=key.w,round,round\": option \"round\" is given twice");
  expect_error ("a=key.w,offset=1,offset=2",
                "\"a=key.w,offset=1,offset=2\": option \"offset\" is given twice");
}

/* Applies @input from @origin; returns the command as compact JSON, or NULL. */
static char *
apply_from (RtcbotdMap *map, const char *input, guint origin)
{
  g_autoptr (JsonNode) node = json_from_string (input, NULL);
  g_autoptr (JsonNode) command = rtcbotd_map_apply_from (map, node, origin);

  return command ? json_to_string (command, FALSE) : NULL;
}

static char *
command_now (RtcbotdMap *map)
{
  g_autoptr (JsonNode) command = rtcbotd_map_get_command (map);

  return json_to_string (command, FALSE);
}

/* A field nobody has reported is 0, offset or not: an axis resting at 128
 * must not read as full travel before it first reports. */
static void
test_unset (void)
{
  g_autoptr (RtcbotdMap) map = map_ok ("forward=axis.ABS_Y*-2,offset=256,clamp=-255:255,round "
                                       "turn=axis.ABS_X*2,offset=-256,clamp=-255:255,round "
                                       "mode=2");
  g_autofree char *start = command_now (map);

  g_assert_cmpstr (start, ==, "{\"forward\":0,\"turn\":0,\"mode\":2}");
  expect_apply (map, "{\"code\":\"ABS_Y\",\"state\":0,\"event\":\"Absolute\"}",
                "{\"forward\":255,\"turn\":0,\"mode\":2}");
}

/* What one origin set is forgotten on its own when it goes away. */
static void
test_release (void)
{
  g_autoptr (RtcbotdMap) map
      = map_ok ("forward=key.w*255+axis.ABS_Y*-1,clamp=-255:255 turn=key.d*50");
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

  a = apply_from (map, KEYDOWN ("w", 87), 1);                                          /* peer 1 */
  b = apply_from (map, "{\"code\":\"ABS_Y\",\"state\":-1,\"event\":\"Absolute\"}", 9); /* pad */
  c = apply_from (map, KEYDOWN ("d", 68), 2);                                          /* peer 2 */
  g_assert_cmpstr (a, ==, "{\"forward\":255,\"turn\":0}");
  g_assert_cmpstr (b, ==, "{\"forward\":255,\"turn\":0}");
  g_assert_cmpstr (c, ==, "{\"forward\":255,\"turn\":50}");
  /* Peer 1 leaves while holding w: its key is released, the others' stay. */
  g_assert_true (rtcbotd_map_release (map, 1));
  d = command_now (map);
  g_assert_cmpstr (d, ==, "{\"forward\":1,\"turn\":50}");
  g_assert_false (rtcbotd_map_release (map, 1));
  g_assert_true (rtcbotd_map_release (map, 9));
  g_assert_true (rtcbotd_map_release (map, 2));
  e = command_now (map);
  g_assert_cmpstr (e, ==, "{\"forward\":0,\"turn\":0}");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/map/wasd", test_wasd);
  g_test_add_func ("/map/wasd-gamepad", test_wasd_gamepad);
  g_test_add_func ("/map/shift", test_shift);
  g_test_add_func ("/map/key-codes", test_key_codes);
  g_test_add_func ("/map/gamepad-axis", test_gamepad_axis);
  g_test_add_func ("/map/buttons", test_buttons);
  g_test_add_func ("/map/evdev-absolute", test_evdev_absolute);
  g_test_add_func ("/map/evdev-keys", test_evdev_keys);
  g_test_add_func ("/map/fields", test_fields);
  g_test_add_func ("/map/field-rounding", test_field_rounding);
  g_test_add_func ("/map/output-types", test_output_types);
  g_test_add_func ("/map/constants-and-sharing", test_constants_and_sharing);
  g_test_add_func ("/map/options", test_options);
  g_test_add_func ("/map/not-for-this-map", test_not_for_this_map);
  g_test_add_func ("/map/reset", test_reset);
  g_test_add_func ("/map/unset", test_unset);
  g_test_add_func ("/map/release", test_release);
  g_test_add_func ("/map/copy", test_copy);
  g_test_add_func ("/map/limits", test_limits);
  g_test_add_func ("/map/errors", test_errors);
  return g_test_run ();
}
