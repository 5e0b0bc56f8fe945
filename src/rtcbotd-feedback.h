/* rtcbotd-feedback.h — the receive estimates (REMB) one peer reports.
 *
 * Chromium and aiortc tell a sender how much they can receive with REMB
 * (RTCP payload-specific feedback, "Receiver Estimated Maximum Bitrate",
 * draft-alvestrand-rmcat-remb) when the answer offers `goog-remb`. This
 * watches the RTP session of one peer's webrtcbin ("on-feedback-rtcp", on
 * the RTCP thread), parses REMB, and hands each estimate to a callback on
 * the peer's main context. The peer owns it from connected to closing;
 * estimates still in flight when it is freed are dropped.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _RtcbotdFeedback RtcbotdFeedback;

/* Main context: @bitrate bit/s for the media SSRCs @ssrcs (@n_ssrcs of them). */
typedef void (*RtcbotdFeedbackFunc) (guint64 bitrate, const guint32 *ssrcs, guint n_ssrcs,
                                     gpointer user_data);

/** Parses a REMB FCI (after the feedback header); FALSE if it is not one. @ssrcs may be NULL. */
gboolean rtcbotd_feedback_parse_remb (const guint8 *fci, gsize size, guint64 *bitrate,
                                      GArray *ssrcs);

/** Starts watching @webrtc's RTP session; @func runs on @context for every REMB. */
RtcbotdFeedback *rtcbotd_feedback_new (GstElement *webrtc, GMainContext *context,
                                       RtcbotdFeedbackFunc func, gpointer user_data);

/** Stops watching and frees @self. */
void rtcbotd_feedback_free (RtcbotdFeedback *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdFeedback, rtcbotd_feedback_free)

G_END_DECLS
