/* rtcbotd-filler.h — keeps a source's tracks alive while its capture gives nothing.
 *
 * While a capture is down (a camera unplugged, a udpsrc sender gone, a
 * restart with backoff), its encoders get nothing, so the peers' RTP for it
 * stops. GStreamer's rtpsession times out a sender that has sent nothing for
 * 5 s and sends an RTCP BYE for it (every SSRC of a peer but the last one it
 * was given), and aiortc, RTCBot's Python side, ends that track for good on
 * a BYE: the picture would never come back for that viewer.
 *
 * An RtcbotdFiller watches the pad every capture delivers to (the raw tee's
 * input) and remembers the last picture (a copy, at most one a second, so no
 * device's buffer pool is held), the last key frame of a camera's own H.264,
 * or only the caps of raw audio. Once nothing has come for the filler's
 * interval, rtcbotd_filler_push() hands an encoder's input that picture again,
 * that key frame, or 20 ms of silence: viewers see the last picture frozen, a
 * viewer who joins meanwhile gets it too, and no track times out. What it
 * pushes never passes the watched pad, so it hides no stall.
 *
 * Owned by the source, freed before the pad's element. The probe runs on the
 * capture's streaming thread, everything else on the main context.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _RtcbotdFiller RtcbotdFiller;

/** Watches @pad; a filler is due @interval_us after its last buffer. */
RtcbotdFiller *rtcbotd_filler_new (GstPad *pad, gint64 interval_us);

/** Removes the probe, drops the copy and frees @self (NULL is fine). */
void rtcbotd_filler_free (RtcbotdFiller *self);

/** Drops the picture and caps kept so far: a capture stopped for lack of consumers. */
void rtcbotd_filler_forget (RtcbotdFiller *self);

/** Returns TRUE when nothing came for the interval and there is something to push. */
gboolean rtcbotd_filler_is_due (RtcbotdFiller *self);

/** Pushes a filler at @running_time into @sink (an encoder's input, with the watched caps). */
GstFlowReturn rtcbotd_filler_push (RtcbotdFiller *self, GstPad *sink, GstClockTime running_time);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdFiller, rtcbotd_filler_free)

G_END_DECLS
