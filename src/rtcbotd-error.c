/* rtcbotd-error.c — the RTCBOTD_ERROR domain. */
#include "rtcbotd-error.h"

GQuark
rtcbotd_error_quark (void)
{
  return g_quark_from_static_string ("rtcbotd-error-quark");
}
