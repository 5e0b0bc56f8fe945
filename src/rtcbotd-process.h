/* rtcbotd-process.h — what the kernel says about this process, for /metrics.
 *
 * Reads the daemon's own resident and virtual memory (/proc/self/statm), CPU
 * time (getrusage), open file descriptors (/proc/self/fd) and their limit,
 * threads and start time (/proc/self/stat, /proc/stat), and adds them as
 * rtcbotd_process_* series. Stateless: each call reads afresh, and a figure
 * the kernel does not give (no /proc) is left out. Main context.
 */
#pragma once

#include "rtcbotd-metrics.h"

G_BEGIN_DECLS

/** Adds the rtcbotd_process_* series of the calling process to @metrics. */
void rtcbotd_process_add_metrics (RtcbotdMetrics *metrics);

G_END_DECLS
