/* rtcbotd-rate-control.c — the bitrate one shared encoder should run at. */
#include "rtcbotd-rate-control.h"

/* Encoders reconfigure on every change: at most one a second. */
#define STEP_INTERVAL_US G_USEC_PER_SEC
/* After a step down, wait before trying more again (a probe up that
 * overshoots would be answered by the next report, and so on). */
#define HOLD_AFTER_DOWN_US (3 * G_USEC_PER_SEC)
#define STALE_US (10 * G_USEC_PER_SEC)
/* Differences within this fraction of the target are noise, not news. */
#define DEAD_BAND 0.05
#define MAX_STEP_UP 0.15

typedef struct
{
  guint kbps;
  gint64 time;
} Estimate;

struct _RtcbotdRateControl
{
  guint max_kbps;
  guint floor_kbps;
  guint target;
  gint64 last_step; /* monotonic µs; long ago at first */
  gint64 last_down;
  GHashTable *estimates; /* viewer → Estimate */
};

RtcbotdRateControl *
rtcbotd_rate_control_new (guint max_kbps, guint floor_kbps)
{
  RtcbotdRateControl *self = g_new0 (RtcbotdRateControl, 1);

  self->max_kbps = max_kbps;
  self->floor_kbps = MIN (floor_kbps, max_kbps);
  self->target = max_kbps;
  self->last_step = self->last_down = G_MININT64 / 2;
  self->estimates = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  return self;
}

void
rtcbotd_rate_control_free (RtcbotdRateControl *self)
{
  if (!self)
    return;
  g_hash_table_unref (self->estimates);
  g_free (self);
}

void
rtcbotd_rate_control_set_estimate (RtcbotdRateControl *self, gconstpointer viewer, guint kbps,
                                   gint64 now)
{
  Estimate *e;

  if (kbps == 0)
    {
      g_hash_table_remove (self->estimates, viewer);
      return;
    }
  e = g_new (Estimate, 1);
  e->kbps = kbps;
  e->time = now;
  g_hash_table_replace (self->estimates, (gpointer)viewer, e);
}

/* The lowest fresh report, clamped to [floor, max]; max when there is none. */
static guint
wanted (RtcbotdRateControl *self, gint64 now)
{
  GHashTableIter iter;
  Estimate *e;
  guint lowest = self->max_kbps;

  g_hash_table_iter_init (&iter, self->estimates);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&e))
    if (now - e->time <= STALE_US)
      lowest = MIN (lowest, e->kbps);
  return CLAMP (lowest, self->floor_kbps, self->max_kbps);
}

static gboolean
has_fresh (RtcbotdRateControl *self, gint64 now)
{
  GHashTableIter iter;
  Estimate *e;

  g_hash_table_iter_init (&iter, self->estimates);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&e))
    if (now - e->time <= STALE_US)
      return TRUE;
  return FALSE;
}

gboolean
rtcbotd_rate_control_update (RtcbotdRateControl *self, gint64 now)
{
  guint want = wanted (self, now);
  guint next = self->target;

  if (now - self->last_step < STEP_INTERVAL_US)
    return FALSE;
  if (want < self->target * (1 - DEAD_BAND))
    {
      next = want;
      self->last_down = now;
    }
  else if (want > self->target && !has_fresh (self, now))
    next = want; /* nobody reports a limit any more: back to the configured rate */
  else if (want > self->target && now - self->last_down >= HOLD_AFTER_DOWN_US
           && (want > self->target * (1 + DEAD_BAND) || want == self->max_kbps))
    next = MIN (want, (guint)(self->target * (1 + MAX_STEP_UP)));
  if (next == self->target)
    return FALSE;
  self->target = next;
  self->last_step = now;
  return TRUE;
}

guint
rtcbotd_rate_control_get_target (RtcbotdRateControl *self)
{
  return self->target;
}
