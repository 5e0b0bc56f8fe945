/* rtcbotd-rate-limit.c — a token bucket: at most @rate events a second, @burst at once. */
#include "rtcbotd-rate-limit.h"

/* Tokens are counted in millionths, so that refilling for any number of
 * microseconds is exact integer arithmetic: one microsecond adds @rate. */
#define UNIT G_USEC_PER_SEC

struct _RtcbotdRateLimit
{
  GMutex lock;
  guint rate;
  guint64 capacity; /* burst * UNIT */
  guint64 tokens;   /* in millionths of a token */
  gint64 last_us;   /* when tokens was last brought up to date; 0 before the first take */
  guint64 refused;
};

RtcbotdRateLimit *
rtcbotd_rate_limit_new (guint rate, guint burst)
{
  RtcbotdRateLimit *self = g_new0 (RtcbotdRateLimit, 1);

  g_mutex_init (&self->lock);
  self->rate = rate;
  self->capacity = (guint64)MAX (burst, 1) * UNIT;
  self->tokens = self->capacity;
  return self;
}

void
rtcbotd_rate_limit_free (RtcbotdRateLimit *self)
{
  if (!self)
    return;
  g_mutex_clear (&self->lock);
  g_free (self);
}

/* Called with the lock held. */
static void
refill (RtcbotdRateLimit *self, gint64 now_us)
{
  guint64 elapsed;

  if (self->last_us == 0 || now_us <= self->last_us)
    {
      self->last_us = MAX (self->last_us, now_us);
      return;
    }
  elapsed = (guint64)(now_us - self->last_us);
  self->last_us = now_us;
  /* Past the time a refill from empty takes, the bucket is full anyway (and
   * elapsed * rate cannot overflow). */
  if (elapsed >= self->capacity / self->rate + 1)
    self->tokens = self->capacity;
  else
    self->tokens = MIN (self->capacity, self->tokens + elapsed * self->rate);
}

gboolean
rtcbotd_rate_limit_take (RtcbotdRateLimit *self, gint64 now_us)
{
  gboolean passed = TRUE;

  if (self->rate == 0)
    return TRUE;
  g_mutex_lock (&self->lock);
  refill (self, now_us);
  if (self->tokens >= UNIT)
    self->tokens -= UNIT;
  else
    {
      self->refused++;
      passed = FALSE;
    }
  g_mutex_unlock (&self->lock);
  return passed;
}

guint64
rtcbotd_rate_limit_get_refused (RtcbotdRateLimit *self)
{
  guint64 refused;

  g_mutex_lock (&self->lock);
  refused = self->refused;
  g_mutex_unlock (&self->lock);
  return refused;
}

guint
rtcbotd_rate_limit_get_rate (RtcbotdRateLimit *self)
{
  return self->rate;
}
