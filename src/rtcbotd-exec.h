/* rtcbotd-exec.h — a worker process that speaks JSON lines ([sink NAME] type = exec).
 *
 * Runs the configured command (no shell) with stdin, stdout and stderr on
 * pipes. Every line the worker prints on stdout is a message (JSON, or else the
 * line as a string), at most max-rate of them a second; every message routed
 * here is written to its stdin as one line of compact JSON, through a bounded
 * queue, so a worker that stops reading never blocks the daemon. Its stderr
 * goes to the log, line by line. A worker that exits or cannot be started is
 * down and is started again with a growing delay. Created by the daemon from
 * the configuration, which outlives it; stop() (or the last unref) terminates
 * the worker. Main context only; a "message" handler must not stop it.
 */
#pragma once

#include "rtcbotd-endpoint.h"

G_BEGIN_DECLS

#define RTCBOTD_TYPE_EXEC (rtcbotd_exec_get_type ())
G_DECLARE_FINAL_TYPE (RtcbotdExec, rtcbotd_exec, RTCBOTD, EXEC, RtcbotdEndpoint)

/* Lines a worker may log on stderr per second; the rest are counted. */
#define RTCBOTD_EXEC_STDERR_RATE 20

/* Bytes of a stderr line that reach the log. */
#define RTCBOTD_EXEC_STDERR_MAX_LINE 1024

/** Creates the endpoint for the exec @config; start() spawns the worker. */
RtcbotdEndpoint *rtcbotd_exec_new (const RtcbotdEndpointConfig *config);

G_END_DECLS
