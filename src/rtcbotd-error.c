/* rtcbotd-error.c — the RTCBOTD_ERROR domain. */
#include "rtcbotd-error.h"

G_DEFINE_QUARK (rtcbotd-error-quark, rtcbotd_error)
