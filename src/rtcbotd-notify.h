/* rtcbotd-notify.h — the daemon's link to its service manager (sd_notify).
 *
 * RtcbotdNotify tells systemd (Type=notify) when rtcbotd is ready, reloading
 * or stopping, keeps its one-line STATUS= current, and, when the unit sets
 * WatchdogSec=, pings the watchdog from a main-loop timeout every half period
 * while a health callback says the daemon is healthy. The pings come from the
 * main loop on purpose: a stuck loop sends none and systemd restarts the
 * daemon. Without NOTIFY_SOCKET (a plain foreground process) or without
 * libsystemd every call does nothing. Created by main() before the daemon
 * starts, freed after it stopped; main context only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RtcbotdNotify RtcbotdNotify;

/* Says whether the daemon deserves a watchdog ping; main context. */
typedef gboolean (*RtcbotdNotifyHealthFunc) (gpointer user_data);

/** Creates the link from the environment (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID). */
RtcbotdNotify *rtcbotd_notify_new (void);

/** Stops the watchdog pings and frees @self. */
void rtcbotd_notify_free (RtcbotdNotify *self);

/** Returns TRUE when a service manager listens (NOTIFY_SOCKET is set). */
gboolean rtcbotd_notify_is_active (RtcbotdNotify *self);

/** Sends READY=1 with @status (may be NULL) as STATUS=. */
void rtcbotd_notify_ready (RtcbotdNotify *self, const char *status);

/** Sends RELOADING=1 with MONOTONIC_USEC= now; READY=1 must follow. */
void rtcbotd_notify_reloading (RtcbotdNotify *self);

/** Sends STOPPING=1. */
void rtcbotd_notify_stopping (RtcbotdNotify *self);

/** Sends STATUS=@status, only when it differs from the last one sent. */
void rtcbotd_notify_status (RtcbotdNotify *self, const char *status);

/** Pings every WATCHDOG_USEC/2 while @healthy (@user_data) says so; returns the period
 * in µs, or 0 when the service manager asked for no watchdog. */
guint64 rtcbotd_notify_start_watchdog (RtcbotdNotify *self, RtcbotdNotifyHealthFunc healthy,
                                       gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdNotify, rtcbotd_notify_free)

G_END_DECLS
