/* rtcbotd-stamp.h — the glass-to-glass latency stamp drawn into raw video.
 *
 * Draws the capture time into the top of each I420 frame in the form
 * DESIGN.md "Latency stamp" fixes (B = width/40; rows 0..2B-1 grey; band A:
 * block 0 white, block 1 black, blocks 2..33 bits 31..0 of S; band B the same
 * inverted; chroma 128; S = Unix ms mod 2^32), so any viewer on the same clock
 * reads its latency off a decoded frame. rtcbotd_stamp_attach() makes a stamp
 * that lives in a pad probe: it is freed when the probe is removed or the pad
 * goes, and only the pad's streaming thread touches it. The draw/read
 * functions are pure and work on any mapped frame.
 */
#pragma once

#include <gst/video/video.h>

G_BEGIN_DECLS

/* Blocks across the width: B = width / RTCBOTD_STAMP_BLOCKS pixels each. */
#define RTCBOTD_STAMP_BLOCKS 40

/** Returns whether a frame @width pixels wide can carry a stamp (a multiple of 40). */
gboolean rtcbotd_stamp_fits (guint width);

/** Returns S for now: Unix time in ms, mod 2^32. */
guint32 rtcbotd_stamp_now (void);

/** Draws @stamp into the I420 @frame (mapped writable); FALSE when its format or width cannot carry
 * one. */
gboolean rtcbotd_stamp_draw (GstVideoFrame *frame, guint32 stamp);

/** Reads the stamp of an I420 @frame into @stamp; FALSE when blocks 0/1 show no valid stamp. */
gboolean rtcbotd_stamp_read (const GstVideoFrame *frame, guint32 *stamp);

/** Adds a probe to @pad (raw I420 video) drawing S into every buffer at the moment it passes;
 * returns the probe id (0 when the pad refused it). */
gulong rtcbotd_stamp_attach (GstPad *pad);

G_END_DECLS
