/* rtcbotd-signals.h — how a running rtcbotd process (the daemon or the relay) answers signals.
 *
 * RtcbotdSignals installs the handlers both modes share, on the main context:
 * SIGINT and SIGTERM log "stopping", tell the service manager STOPPING=1 and
 * quit the main loop; SIGHUP tells it RELOADING=1, calls the mode's reload
 * function and then says READY=1 with the status that function returns.
 * SIGPIPE is ignored from then on, so that a peer or worker that goes away
 * turns the next write into EPIPE instead of killing the process. Created
 * before the mode starts (a signal during start-up waits for the loop instead
 * of killing the process), freed before it stops, so that no handler runs on
 * something going away; main context only.
 */
#pragma once

#include <glib.h>

#include "rtcbotd-notify.h"

G_BEGIN_DECLS

typedef struct _RtcbotdSignals RtcbotdSignals;

/* SIGHUP: reloads what the mode reloads (and logs how it went); returns the STATUS= line for
 * READY=1 (newly allocated, may be NULL). Main context. */
typedef char *(*RtcbotdSignalsReloadFunc) (gpointer user_data);

/** Installs the handlers: stop quits @loop, SIGHUP calls @reload; @loop, @notify outlive it. */
RtcbotdSignals *rtcbotd_signals_new (GMainLoop *loop, RtcbotdNotify *notify,
                                     RtcbotdSignalsReloadFunc reload, gpointer user_data);

/** Also handles @signum with @func (@user_data) until @self is freed. */
void rtcbotd_signals_add (RtcbotdSignals *self, int signum, GSourceFunc func, gpointer user_data);

/** Removes every handler (SIGPIPE stays ignored) and frees @self. */
void rtcbotd_signals_free (RtcbotdSignals *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdSignals, rtcbotd_signals_free)

G_END_DECLS
