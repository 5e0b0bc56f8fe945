/* test-utils.h — what the unit tests share: running the main context until
 * something happens (with a deadline, never a bare sleep), JSON, and config
 * text. Linked
 * into every unit test. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "rtcbotd-config.h"

G_BEGIN_DECLS

typedef gboolean (*RtcbotdTestCondition) (gpointer data);

/** Runs the default main context until @done (@data) or @timeout_ms pass; returns @done. */
gboolean rtcbotd_test_wait_until (RtcbotdTestCondition done, gpointer data, guint timeout_ms);

/** Runs the default main context for @ms milliseconds. */
void rtcbotd_test_run_for (guint ms);

/** Parses @text, which must be JSON (the test fails otherwise). */
JsonNode *rtcbotd_test_parse_json (const char *text);

/** Loads @text as "test.conf", which must be accepted (the test fails otherwise). */
RtcbotdConfig *rtcbotd_test_config_ok (const char *text);

/** Loads @text as "test.conf", which must fail with exactly @message. */
void rtcbotd_test_config_error (const char *text, const char *message);

/** Makes @server listen on a free port of 127.0.0.1 (the test fails otherwise); returns the port.
 */
guint rtcbotd_test_listen_local (SoupServer *server);

/** Returns FALSE in a sanitizer build, where wall-clock bounds say nothing about the code. */
gboolean rtcbotd_test_timing_is_meaningful (void);

G_END_DECLS
