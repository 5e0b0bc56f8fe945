/* rtcbotd-arbiter.c — who may drive: control arbitration between peers. */
#include "rtcbotd-arbiter.h"

#include "rtcbotd-access.h"
#include "rtcbotd-error.h"

struct _RtcbotdArbiter
{
  RtcbotdControlMode mode;
  char *token;
  GArray *peers; /* of guint, in the order they arrived */
  guint driver;
};

RtcbotdArbiter *
rtcbotd_arbiter_new (RtcbotdControlMode mode, const char *token)
{
  RtcbotdArbiter *self = g_new0 (RtcbotdArbiter, 1);

  self->mode = mode;
  self->token = g_strdup (token);
  self->peers = g_array_new (FALSE, FALSE, sizeof (guint));
  return self;
}

void
rtcbotd_arbiter_free (RtcbotdArbiter *self)
{
  if (!self)
    return;
  g_free (self->token);
  g_array_unref (self->peers);
  g_free (self);
}

gboolean
rtcbotd_arbiter_reconfigure (RtcbotdArbiter *self, RtcbotdControlMode mode, const char *token)
{
  guint driver = 0;

  g_free (self->token);
  self->token = g_strdup (token);
  if (mode == RTCBOTD_CONTROL_SINGLE)
    driver = self->driver       ? self->driver
             : self->peers->len ? g_array_index (self->peers, guint, 0)
                                : 0;
  if (mode == self->mode && driver == self->driver)
    return FALSE;
  self->mode = mode;
  self->driver = driver;
  return TRUE;
}

static gint
find (RtcbotdArbiter *self, guint peer)
{
  for (guint i = 0; i < self->peers->len; i++)
    if (g_array_index (self->peers, guint, i) == peer)
      return (gint)i;
  return -1;
}

gboolean
rtcbotd_arbiter_add (RtcbotdArbiter *self, guint peer)
{
  if (peer == 0 || find (self, peer) >= 0)
    return FALSE;
  g_array_append_val (self->peers, peer);
  if (self->mode == RTCBOTD_CONTROL_SINGLE && self->driver == 0)
    self->driver = peer;
  return TRUE;
}

guint
rtcbotd_arbiter_remove (RtcbotdArbiter *self, guint peer)
{
  gint index = find (self, peer);

  if (index < 0)
    return 0;
  g_array_remove_index (self->peers, index);
  if (self->mode != RTCBOTD_CONTROL_SINGLE || self->driver != peer)
    return 0;
  self->driver = self->peers->len ? g_array_index (self->peers, guint, 0) : 0;
  return self->driver;
}

gboolean
rtcbotd_arbiter_may_drive (RtcbotdArbiter *self, guint peer)
{
  return self->mode == RTCBOTD_CONTROL_SHARED || (peer != 0 && peer == self->driver);
}

gboolean
rtcbotd_arbiter_take (RtcbotdArbiter *self, guint peer, const char *token, guint *previous,
                      GError **error)
{
  *previous = 0;
  if (self->mode == RTCBOTD_CONTROL_SHARED)
    return TRUE;
  if (!self->token)
    {
      g_set_error_literal (error, RTCBOTD_ERROR, RTCBOTD_ERROR_UNSUPPORTED,
                           "control cannot be taken: the robot has no control-token");
      return FALSE;
    }
  if (!token || !rtcbotd_access_token_equal (token, self->token))
    {
      g_set_error_literal (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                           "control not taken: wrong or missing token");
      return FALSE;
    }
  if (find (self, peer) < 0)
    g_array_append_val (self->peers, peer);
  if (self->driver != peer)
    *previous = self->driver;
  self->driver = peer;
  return TRUE;
}

guint
rtcbotd_arbiter_get_driver (RtcbotdArbiter *self)
{
  return self->mode == RTCBOTD_CONTROL_SINGLE ? self->driver : 0;
}

const char *
rtcbotd_arbiter_get_role (RtcbotdArbiter *self, guint peer)
{
  return rtcbotd_arbiter_may_drive (self, peer) ? "driver" : "viewer";
}

gboolean
rtcbotd_arbiter_is_single (RtcbotdArbiter *self)
{
  return self->mode == RTCBOTD_CONTROL_SINGLE;
}
