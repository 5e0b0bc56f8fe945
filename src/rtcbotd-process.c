/* rtcbotd-process.c — what the kernel says about this process, for /metrics. */
#include "rtcbotd-process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void
add_memory (RtcbotdMetrics *m)
{
  g_autofree char *statm = NULL;
  unsigned long long size, resident;
  long page = sysconf (_SC_PAGESIZE);

  if (!g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL) || page <= 0
      || sscanf (statm, "%llu %llu", &size, &resident) != 2)
    return;
  rtcbotd_metrics_gauge (m, "rtcbotd_process_resident_memory_bytes",
                         "Resident memory of the daemon, in bytes.", (double)resident * page, NULL);
  rtcbotd_metrics_gauge (m, "rtcbotd_process_virtual_memory_bytes",
                         "Virtual memory of the daemon, in bytes.", (double)size * page, NULL);
}

static void
add_cpu (RtcbotdMetrics *m)
{
  struct rusage usage;

  if (getrusage (RUSAGE_SELF, &usage) != 0)
    return;
  rtcbotd_metrics_counter (m, "rtcbotd_process_cpu_seconds_total",
                           "CPU time the daemon used (user and system, all threads), in seconds.",
                           usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
                               + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6,
                           NULL);
}

static void
add_fds (RtcbotdMetrics *m)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  struct rlimit limit;
  guint n = 0;

  if (dir)
    {
      while (g_dir_read_name (dir))
        n++;
      /* The directory being read holds one descriptor of its own. */
      rtcbotd_metrics_gauge (m, "rtcbotd_process_open_fds", "Open file descriptors.",
                             n > 0 ? n - 1 : 0, NULL);
    }
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    rtcbotd_metrics_gauge (m, "rtcbotd_process_max_fds",
                           "The limit on open file descriptors (RLIMIT_NOFILE).",
                           (double)limit.rlim_cur, NULL);
}

/* The boot time in Unix seconds, from /proc/stat, or 0. */
static guint64
boot_time (void)
{
  g_autofree char *stat = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/stat", &stat, NULL, NULL) || !(line = strstr (stat, "\nbtime ")))
    return 0;
  return g_ascii_strtoull (line + strlen ("\nbtime "), NULL, 10);
}

/* /proc/self/stat: the command name may hold spaces and parentheses, so the
 * fields are counted from its last ')': state is field 3, num_threads 20,
 * starttime 22 (clock ticks after boot). */
static void
add_stat (RtcbotdMetrics *m)
{
  g_autofree char *stat = NULL;
  g_auto (GStrv) fields = NULL;
  const char *end;
  long ticks = sysconf (_SC_CLK_TCK);
  guint64 boot;

  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL) || !(end = strrchr (stat, ')')))
    return;
  fields = g_strsplit (end + 1, " ", -1); /* fields[0] is empty, fields[1] is field 3 */
  if (g_strv_length (fields) < 21)
    return;
  rtcbotd_metrics_gauge (m, "rtcbotd_process_threads", "Threads of the daemon.",
                         g_ascii_strtod (fields[18], NULL), NULL);
  if (ticks > 0 && (boot = boot_time ()) > 0)
    rtcbotd_metrics_gauge (m, "rtcbotd_process_start_time_seconds",
                           "When the daemon started, in seconds since the Unix epoch.",
                           boot + g_ascii_strtod (fields[20], NULL) / ticks, NULL);
}

void
rtcbotd_process_add_metrics (RtcbotdMetrics *metrics)
{
  add_memory (metrics);
  add_cpu (metrics);
  add_fds (metrics);
  add_stat (metrics);
}
