/* rtcbotd-feedback.c — the receive estimates (REMB) one peer reports. */
#include "rtcbotd-feedback.h"

#include <string.h>

/* RFC 4585: payload-specific feedback, application layer (REMB is one).
 * Spelled out here rather than linking gstreamer-rtp for two numbers. */
#define RTCP_PSFB 206
#define RTCP_PSFB_AFB 15

/* What the RTCP thread and the main context share; refcounted (g_rc_box),
 * because an estimate may be on its way to the main context when the peer
 * frees its RtcbotdFeedback. */
typedef struct
{
  GMutex lock;
  gboolean closed; /* guarded by lock */
  GMainContext *context;
  RtcbotdFeedbackFunc func;
  gpointer user_data;
} Shared;

struct _RtcbotdFeedback
{
  GObject *session; /* webrtcbin's RTPSession 0 (max-bundle: all media), or NULL */
  gulong handler;
  Shared *shared;
};

typedef struct
{
  Shared *shared;
  guint64 bitrate;
  GArray *ssrcs;
} Estimate;

gboolean
rtcbotd_feedback_parse_remb (const guint8 *fci, gsize size, guint64 *bitrate, GArray *ssrcs)
{
  guint n, exponent;
  guint32 mantissa;

  if (size < 8 || memcmp (fci, "REMB", 4) != 0)
    return FALSE;
  n = fci[4];
  exponent = fci[5] >> 2;
  mantissa = ((guint32)(fci[5] & 0x3) << 16) | ((guint32)fci[6] << 8) | fci[7];
  if (size < 8 + 4 * (gsize)n)
    return FALSE;
  /* 18-bit mantissa: shifts beyond 46 would overflow; no link is that fast. */
  *bitrate = exponent > 46 ? G_MAXUINT64 : (guint64)mantissa << exponent;
  for (guint i = 0; ssrcs && i < n; i++)
    {
      guint32 ssrc = GST_READ_UINT32_BE (fci + 8 + 4 * i);
      g_array_append_val (ssrcs, ssrc);
    }
  return TRUE;
}

static void
shared_clear (Shared *shared)
{
  g_mutex_clear (&shared->lock);
  g_main_context_unref (shared->context);
}

static void
shared_unref (gpointer shared)
{
  g_rc_box_release_full (shared, (GDestroyNotify)shared_clear);
}

static void
shared_closure_notify (gpointer shared, GClosure *closure)
{
  shared_unref (shared);
}

static void
estimate_free (Estimate *e)
{
  shared_unref (e->shared);
  g_array_unref (e->ssrcs);
  g_free (e);
}

/* Main context. */
static gboolean
deliver (gpointer user_data)
{
  Estimate *e = user_data;
  gboolean closed;

  g_mutex_lock (&e->shared->lock);
  closed = e->shared->closed;
  g_mutex_unlock (&e->shared->lock);
  if (!closed)
    e->shared->func (e->bitrate, (const guint32 *)e->ssrcs->data, e->ssrcs->len,
                     e->shared->user_data);
  return G_SOURCE_REMOVE;
}

/* RTCP thread of the peer's transport: every feedback packet; REMB goes on. */
static void
on_feedback (GObject *session, guint type, guint fbtype, guint sender_ssrc, guint media_ssrc,
             GstBuffer *fci, gpointer user_data)
{
  Shared *shared = user_data;
  g_autoptr (GArray) ssrcs = g_array_new (FALSE, FALSE, sizeof (guint32));
  GstMapInfo map;
  guint64 bitrate = 0;
  gboolean remb, closed;
  Estimate *e;

  if (type != RTCP_PSFB || fbtype != RTCP_PSFB_AFB || !fci
      || !gst_buffer_map (fci, &map, GST_MAP_READ))
    return;
  remb = rtcbotd_feedback_parse_remb (map.data, map.size, &bitrate, ssrcs);
  gst_buffer_unmap (fci, &map);
  g_mutex_lock (&shared->lock);
  closed = shared->closed;
  g_mutex_unlock (&shared->lock);
  if (!remb || closed)
    return;
  e = g_new0 (Estimate, 1);
  e->shared = g_rc_box_acquire (shared);
  e->bitrate = bitrate;
  e->ssrcs = g_steal_pointer (&ssrcs);
  g_main_context_invoke_full (shared->context, G_PRIORITY_DEFAULT, deliver, e,
                              (GDestroyNotify)estimate_free);
}

static GObject *
get_session (GstElement *webrtc)
{
  g_autoptr (GstElement) rtpbin = gst_bin_get_by_name (GST_BIN (webrtc), "rtpbin");
  GObject *session = NULL;

  if (rtpbin)
    g_signal_emit_by_name (rtpbin, "get-internal-session", 0, &session);
  return session;
}

RtcbotdFeedback *
rtcbotd_feedback_new (GstElement *webrtc, GMainContext *context, RtcbotdFeedbackFunc func,
                      gpointer user_data)
{
  RtcbotdFeedback *self = g_new0 (RtcbotdFeedback, 1);

  self->shared = g_rc_box_new0 (Shared);
  g_mutex_init (&self->shared->lock);
  self->shared->context = g_main_context_ref (context);
  self->shared->func = func;
  self->shared->user_data = user_data;
  if (!(self->session = get_session (webrtc)))
    {
      g_debug ("%s: no RTP session; REMB is not watched", GST_ELEMENT_NAME (webrtc));
      return self;
    }
  self->handler
      = g_signal_connect_data (self->session, "on-feedback-rtcp", G_CALLBACK (on_feedback),
                               g_rc_box_acquire (self->shared), shared_closure_notify, 0);
  return self;
}

void
rtcbotd_feedback_free (RtcbotdFeedback *self)
{
  if (!self)
    return;
  g_mutex_lock (&self->shared->lock);
  self->shared->closed = TRUE;
  g_mutex_unlock (&self->shared->lock);
  if (self->session)
    g_signal_handler_disconnect (self->session, self->handler);
  g_clear_object (&self->session);
  shared_unref (self->shared);
  g_free (self);
}
