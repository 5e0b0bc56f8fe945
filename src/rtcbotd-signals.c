/* rtcbotd-signals.c — how a running rtcbotd process (the daemon or the relay) answers signals. */
#include "rtcbotd-signals.h"

#include <glib-unix.h>
#include <signal.h>

struct _RtcbotdSignals
{
  GMainLoop *loop;
  RtcbotdNotify *notify;
  RtcbotdSignalsReloadFunc reload;
  gpointer user_data;
  GArray *sources; /* of guint: the g_unix_signal_add() ids */
};

/* Main context (g_unix_signal_add), like the handler below. */
static gboolean
on_stop_signal (gpointer user_data)
{
  RtcbotdSignals *self = user_data;

  g_message ("stopping");
  rtcbotd_notify_stopping (self->notify);
  g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload_signal (gpointer user_data)
{
  RtcbotdSignals *self = user_data;
  g_autofree char *status = NULL;

  rtcbotd_notify_reloading (self->notify);
  status = self->reload (self->user_data);
  rtcbotd_notify_ready (self->notify, status);
  return G_SOURCE_CONTINUE;
}

RtcbotdSignals *
rtcbotd_signals_new (GMainLoop *loop, RtcbotdNotify *notify, RtcbotdSignalsReloadFunc reload,
                     gpointer user_data)
{
  RtcbotdSignals *self = g_new0 (RtcbotdSignals, 1);

  self->loop = loop;
  self->notify = notify;
  self->reload = reload;
  self->user_data = user_data;
  self->sources = g_array_new (FALSE, FALSE, sizeof (guint));
  signal (SIGPIPE, SIG_IGN);
  rtcbotd_signals_add (self, SIGINT, on_stop_signal, self);
  rtcbotd_signals_add (self, SIGTERM, on_stop_signal, self);
  rtcbotd_signals_add (self, SIGHUP, on_reload_signal, self);
  return self;
}

void
rtcbotd_signals_add (RtcbotdSignals *self, int signum, GSourceFunc func, gpointer user_data)
{
  guint id = g_unix_signal_add (signum, func, user_data);

  g_array_append_val (self->sources, id);
}

void
rtcbotd_signals_free (RtcbotdSignals *self)
{
  if (!self)
    return;
  for (guint i = 0; i < self->sources->len; i++)
    g_source_remove (g_array_index (self->sources, guint, i));
  g_array_unref (self->sources);
  g_free (self);
}
