/* rtcbotd-notify.c — the daemon's link to its service manager (sd_notify). */
#include "rtcbotd-notify.h"

#include "rtcbotd-build-config.h"

#if HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

struct _RtcbotdNotify
{
  gboolean active;     /* NOTIFY_SOCKET was set */
  gboolean send_error; /* a send failed and was reported; later failures are quiet */
  char *status;        /* the STATUS= last sent */
  guint watchdog_id;
  RtcbotdNotifyHealthFunc healthy;
  gpointer user_data;
  gboolean unhealthy; /* the last check said no: pings are held back */
};

RtcbotdNotify *
rtcbotd_notify_new (void)
{
  RtcbotdNotify *self = g_new0 (RtcbotdNotify, 1);

  self->active = HAVE_SYSTEMD && g_getenv ("NOTIFY_SOCKET") != NULL;
  return self;
}

void
rtcbotd_notify_free (RtcbotdNotify *self)
{
  if (!self)
    return;
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_free (self->status);
  g_free (self);
}

gboolean
rtcbotd_notify_is_active (RtcbotdNotify *self)
{
  return self->active;
}

static void
send_state (RtcbotdNotify *self, const char *state)
{
#if HAVE_SYSTEMD
  int r;

  if (!self->active)
    return;
  /* unset_environment stays 0: every later message needs NOTIFY_SOCKET too. */
  r = sd_notify (0, state);
  if (r < 0 && !self->send_error)
    {
      g_warning ("systemd: cannot notify the service manager: %s", g_strerror (-r));
      self->send_error = TRUE;
    }
#endif
}

static void
send_with_status (RtcbotdNotify *self, const char *state, const char *status)
{
  g_autofree char *text = NULL;

  if (status)
    {
      g_free (self->status);
      self->status = g_strdup (status);
      text = g_strdup_printf ("%s%sSTATUS=%s", state ? state : "", state ? "\n" : "", status);
    }
  else
    text = g_strdup (state);
  send_state (self, text);
}

void
rtcbotd_notify_ready (RtcbotdNotify *self, const char *status)
{
  send_with_status (self, "READY=1", status);
}

void
rtcbotd_notify_reloading (RtcbotdNotify *self)
{
  g_autofree char *state = NULL;

  /* systemd (Type=notify-reload) matches the timestamp against the reload it asked for. */
  state
      = g_strdup_printf ("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time ());
  send_with_status (self, state, "reloading the configuration");
}

void
rtcbotd_notify_stopping (RtcbotdNotify *self)
{
  send_with_status (self, "STOPPING=1", "stopping");
}

void
rtcbotd_notify_status (RtcbotdNotify *self, const char *status)
{
  if (!status || g_strcmp0 (status, self->status) == 0)
    return;
  send_with_status (self, NULL, status);
}

/* Main context: a loop that does not get here sends nothing, which is the point. */
static gboolean
on_watchdog (gpointer user_data)
{
  RtcbotdNotify *self = user_data;
  gboolean healthy = self->healthy (self->user_data);

  if (healthy)
    send_state (self, "WATCHDOG=1");
  if (healthy == self->unhealthy)
    {
      if (healthy)
        g_message ("systemd: healthy again; watchdog pings resume");
      else
        g_warning ("systemd: unhealthy; watchdog pings held back");
      self->unhealthy = !healthy;
    }
  return G_SOURCE_CONTINUE;
}

guint64
rtcbotd_notify_start_watchdog (RtcbotdNotify *self, RtcbotdNotifyHealthFunc healthy,
                               gpointer user_data)
{
  guint64 usec = 0;

#if HAVE_SYSTEMD
  /* sd_watchdog_enabled checks WATCHDOG_PID against our pid when it is set. */
  if (self->active && sd_watchdog_enabled (0, &usec) <= 0)
    usec = 0;
#endif
  if (!self->active || usec == 0)
    return 0;
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  self->healthy = healthy;
  self->user_data = user_data;
  self->unhealthy = FALSE;
  self->watchdog_id = g_timeout_add (MAX (usec / 2000, 1), on_watchdog, self);
  g_message ("systemd: watchdog %" G_GUINT64_FORMAT " ms; pinging every %" G_GUINT64_FORMAT
             " ms while healthy",
             usec / 1000, MAX (usec / 2000, 1));
  return usec;
}
