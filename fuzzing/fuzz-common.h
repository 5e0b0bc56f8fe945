/* fuzz-common.h — what every rtcbotd fuzz target shares.
 *
 * libFuzzer hands bytes; the parsers take NUL-terminated text or bytes.
 * fuzz_text() makes the text (a copy, so reading past the input is caught),
 * and fuzz_quiet() keeps GLib's warnings from flooding the fuzzer's output
 * while leaving criticals fatal: a g_return_if_fail hit by input is a bug.
 */
#pragma once

#include <glib.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>

/** Returns @size bytes of @data as a NUL-terminated copy (free with g_free). */
static inline char *
fuzz_text (const uint8_t *data, size_t size)
{
  return g_strndup ((const char *)data, size);
}

static void
fuzz_log (const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
    {
      g_printerr ("%s: %s\n", domain ? domain : "", message);
      abort ();
    }
}

/** Silences messages and warnings; criticals abort (the fuzzer reports them). */
static inline void
fuzz_quiet (void)
{
  static gsize once;

  if (g_once_init_enter (&once))
    {
      g_log_set_default_handler (fuzz_log, NULL);
      g_once_init_leave (&once, 1);
    }
}
