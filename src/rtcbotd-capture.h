/* rtcbotd-capture.h — the capture part of a source: from the device to raw media or parsed H.264.
 *
 * An RtcbotdCapture is a GstBin holding one source's capture elements
 * (v4l2src, libcamerasrc, alsasrc, pulsesrc, a user's gst fragment, or the
 * test sources) and the converters behind them. Its "src" ghost pad gives I420
 * video, raw audio, or, when a camera's own H.264 is passed through, H.264 that
 * no encoder touches. What a camera is asked for is planned first
 * (rtcbotd_capture_plan(): from the config and the caps a probe of the device
 * found, or none), then built (rtcbotd_capture_new()), so the construction is
 * testable without a device. The bin keeps the first error one of its
 * elements posts, does not pass errors on to the pipeline's bus, and reports
 * that one error on the main context, so the source that owns it can stop it
 * and retry with a new bin. The source adds it to the daemon's pipeline with
 * its state locked (a missing camera must not keep the pipeline from
 * playing), starts and stops it, and drops it after a failure.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-config.h"

G_BEGIN_DECLS

#define RTCBOTD_TYPE_CAPTURE (rtcbotd_capture_get_type ())
G_DECLARE_FINAL_TYPE (RtcbotdCapture, rtcbotd_capture, RTCBOTD, CAPTURE, GstBin)

/* What a camera is asked to deliver. */
typedef struct
{
  RtcbotdCaptureFormat format; /* H264, MJPEG or RAW (RAW for every type but v4l2) */
  GstCaps *caps;               /* what the device is asked for; NULL: whatever it gives */
} RtcbotdCapturePlan;

/** Main context: the first error posted inside @capture, as "MESSAGE (DETAIL)". */
typedef void (*RtcbotdCaptureErrorFunc) (RtcbotdCapture *capture, const char *message,
                                         gpointer user_data);

/** Frees what @plan holds (not @plan itself). */
void rtcbotd_capture_plan_clear (RtcbotdCapturePlan *plan);

/** Opens the V4L2 @device briefly (v4l2src to READY) and returns the caps it can deliver. */
GstCaps *rtcbotd_capture_probe_v4l2 (const char *device, GError **error);

/** Decides, before the first start, whether @config's capture gives H.264 to pass through
 * (*h264) or raw media; probes a v4l2 camera with format = auto, parses a gst fragment. */
gboolean rtcbotd_capture_decide (const RtcbotdSourceConfig *config, gboolean *h264, GError **error);

/** Plans what @config's camera is asked for among the caps @probed (NULL: not probed):
 * only H.264 if @h264, else MJPEG or raw as format says; the error lists what it offers. */
gboolean rtcbotd_capture_plan (const RtcbotdSourceConfig *config, GstCaps *probed, gboolean h264,
                               RtcbotdCapturePlan *plan, GError **error);

/** Builds @config's capture elements following @plan (NULL: no camera plan) in a new bin
 * "PREFIX-input", its elements named "PREFIX-ROLE" (@prefix: the source's element prefix). */
RtcbotdCapture *rtcbotd_capture_new (const RtcbotdSourceConfig *config, const char *prefix,
                                     const RtcbotdCapturePlan *plan, GError **error);

/** Has @func called (main context) with the first error posted inside @self; NULL to stop. */
void rtcbotd_capture_set_error_func (RtcbotdCapture *self, RtcbotdCaptureErrorFunc func,
                                     gpointer user_data);

/** Returns the first error posted inside @self so far, or NULL; any thread. */
char *rtcbotd_capture_dup_error (RtcbotdCapture *self);

/** Returns how messages name @config's capture: "v4l2 camera /dev/video0", "test pattern". */
char *rtcbotd_capture_label (const RtcbotdSourceConfig *config);

/** Returns @config's source element and device for the start-up line: "v4l2src /dev/video0". */
char *rtcbotd_capture_describe_input (const RtcbotdSourceConfig *config);

/** Returns @caps as a short readable list ("MJPEG 1280x720 30/1; YUY2 640x480 {30/1, 15/1}"). */
char *rtcbotd_capture_describe_caps (const GstCaps *caps);

/** Parses every gst source fragment of @config, starting nothing (for --check-config). */
gboolean rtcbotd_capture_check_config (const RtcbotdConfig *config, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RtcbotdCapturePlan, rtcbotd_capture_plan_clear)

G_END_DECLS
