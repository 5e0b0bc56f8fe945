/* fuzz-config.c — the configuration layer: any text as a config file. */
#include "fuzz-common.h"
#include "rtcbotd-config.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = fuzz_text (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdConfig) config = NULL;

  fuzz_quiet ();
  config = rtcbotd_config_load_data (text, "fuzz.conf", &error);
  /* Exactly one of a config and an error, and the error names the file. */
  if ((config == NULL) == (error == NULL)
      || (error && !g_str_has_prefix (error->message, "fuzz.conf")))
    abort ();
  return 0;
}
