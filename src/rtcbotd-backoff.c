/* rtcbotd-backoff.c — retry timing for devices and processes that fail. */
#include "rtcbotd-backoff.h"

struct _RtcbotdBackoff
{
  guint min_ms;
  guint max_ms;
  guint next_ms;
  GSourceFunc func;
  gpointer user_data;
  guint timeout_id;
};

RtcbotdBackoff *
rtcbotd_backoff_new (guint min_ms, guint max_ms, GSourceFunc func, gpointer user_data)
{
  RtcbotdBackoff *self = g_new0 (RtcbotdBackoff, 1);

  self->min_ms = MAX (min_ms, 1);
  self->max_ms = MAX (max_ms, self->min_ms);
  self->next_ms = self->min_ms;
  self->func = func;
  self->user_data = user_data;
  return self;
}

void
rtcbotd_backoff_free (RtcbotdBackoff *self)
{
  if (!self)
    return;
  rtcbotd_backoff_cancel (self);
  g_free (self);
}

static gboolean
on_timeout (gpointer user_data)
{
  RtcbotdBackoff *self = user_data;

  self->timeout_id = 0;
  self->func (self->user_data);
  return G_SOURCE_REMOVE;
}

guint
rtcbotd_backoff_schedule (RtcbotdBackoff *self)
{
  guint delay = self->next_ms;

  if (self->timeout_id)
    return delay;
  self->timeout_id = g_timeout_add (delay, on_timeout, self);
  self->next_ms = MIN (self->max_ms, self->next_ms * 2);
  return delay;
}

void
rtcbotd_backoff_cancel (RtcbotdBackoff *self)
{
  g_clear_handle_id (&self->timeout_id, g_source_remove);
}

void
rtcbotd_backoff_reset (RtcbotdBackoff *self)
{
  self->next_ms = self->min_ms;
}
