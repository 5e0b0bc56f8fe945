/* rtcbotd-stamp.c — the glass-to-glass latency stamp drawn into raw video. */
#include "rtcbotd-stamp.h"

#include <string.h>

/* Video-range luma: what decoders turn into RGB 255, 0 and mid-grey. */
#define LUMA_WHITE 235
#define LUMA_BLACK 16
#define LUMA_GREY 128
#define CHROMA_NEUTRAL 128
#define DATA_BITS 32
/* Blocks 0 and 1 must differ by this much between the bands (a full swing is
 * 219): a frame without a stamp, or one the codec smeared, reads as none. */
#define SYNC_MARGIN 64

typedef struct
{
  GstVideoInfo info;
  gboolean have_info; /* the pad's caps were I420 */
} RtcbotdStamp;

gboolean
rtcbotd_stamp_fits (guint width)
{
  return width >= RTCBOTD_STAMP_BLOCKS && width % RTCBOTD_STAMP_BLOCKS == 0;
}

guint32
rtcbotd_stamp_now (void)
{
  return (guint32)((guint64)(g_get_real_time () / 1000) & G_MAXUINT32);
}

/* Whether block @k of band A is white (band B is the opposite). */
static gboolean
block_is_white (guint k, guint32 stamp)
{
  if (k == 0)
    return TRUE;
  if (k == 1)
    return FALSE;
  return (stamp >> (DATA_BITS - 1 - (k - 2))) & 1;
}

static void
fill_chroma (GstVideoFrame *frame, guint plane, guint rows)
{
  guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, plane);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, plane);
  guint width = GST_VIDEO_FRAME_COMP_WIDTH (frame, plane);

  for (guint y = 0; y < rows; y++)
    memset (data + (gsize)y * stride, CHROMA_NEUTRAL, width);
}

gboolean
rtcbotd_stamp_draw (GstVideoFrame *frame, guint32 stamp)
{
  guint width = GST_VIDEO_FRAME_WIDTH (frame);
  guint height = GST_VIDEO_FRAME_HEIGHT (frame);
  guint8 *luma = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  guint b, rows;

  if (GST_VIDEO_FRAME_FORMAT (frame) != GST_VIDEO_FORMAT_I420 || !rtcbotd_stamp_fits (width))
    return FALSE;
  b = width / RTCBOTD_STAMP_BLOCKS;
  rows = MIN (2 * b, height); /* a frame too short for band B gets what fits */
  for (guint y = 0; y < rows; y++)
    {
      guint8 *row = luma + (gsize)y * stride;
      gboolean band_b = y >= b;

      memset (row, LUMA_GREY, width);
      for (guint k = 0; k < 2 + DATA_BITS; k++)
        memset (row + k * b, block_is_white (k, stamp) != band_b ? LUMA_WHITE : LUMA_BLACK, b);
    }
  /* I420 chroma rows cover two luma rows each; 2B is even, so B rows cover the band. */
  fill_chroma (frame, 1, MIN (b, (guint)GST_VIDEO_FRAME_COMP_HEIGHT (frame, 1)));
  fill_chroma (frame, 2, MIN (b, (guint)GST_VIDEO_FRAME_COMP_HEIGHT (frame, 2)));
  return TRUE;
}

/* Mean luma of the middle half of block @k of the band starting at row @top:
 * codec ringing at the block edges stays out. */
static guint
block_mean (const GstVideoFrame *frame, guint b, guint top, guint k)
{
  const guint8 *luma = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  guint inset = b / 4, size = b - 2 * inset;
  guint64 sum = 0;

  for (guint y = top + inset; y < top + inset + size; y++)
    for (guint x = k * b + inset; x < k * b + inset + size; x++)
      sum += luma[(gsize)y * stride + x];
  return sum / ((guint64)size * size);
}

gboolean
rtcbotd_stamp_read (const GstVideoFrame *frame, guint32 *stamp)
{
  guint width = GST_VIDEO_FRAME_WIDTH (frame);
  guint b;
  guint32 value = 0;

  if (GST_VIDEO_FRAME_FORMAT (frame) != GST_VIDEO_FORMAT_I420 || !rtcbotd_stamp_fits (width))
    return FALSE;
  b = width / RTCBOTD_STAMP_BLOCKS;
  if ((guint)GST_VIDEO_FRAME_HEIGHT (frame) < 2 * b)
    return FALSE;
  if (block_mean (frame, b, 0, 0) < block_mean (frame, b, b, 0) + SYNC_MARGIN
      || block_mean (frame, b, b, 1) < block_mean (frame, b, 0, 1) + SYNC_MARGIN)
    return FALSE;
  for (guint k = 2; k < 2 + DATA_BITS; k++)
    value = (value << 1) | (block_mean (frame, b, 0, k) > block_mean (frame, b, b, k));
  *stamp = value;
  return TRUE;
}

/* Streaming thread of @pad: the caps say how to map the frames, and every
 * buffer gets S of the moment it leaves the capture elements, which for a live
 * source is when it was captured. */
static GstPadProbeReturn
on_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdStamp *self = user_data;
  GstVideoFrame frame;
  GstBuffer *buffer;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
    {
      GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
      GstCaps *caps;

      if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS)
        {
          gst_event_parse_caps (event, &caps);
          self->have_info = gst_video_info_from_caps (&self->info, caps)
                            && GST_VIDEO_INFO_FORMAT (&self->info) == GST_VIDEO_FORMAT_I420;
        }
      return GST_PAD_PROBE_OK;
    }
  if (!self->have_info)
    return GST_PAD_PROBE_OK;
  /* The pool's buffer usually has one owner, so this copies nothing. */
  buffer = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  GST_PAD_PROBE_INFO_DATA (info) = buffer;
  if (gst_video_frame_map (&frame, &self->info, buffer, GST_MAP_WRITE))
    {
      rtcbotd_stamp_draw (&frame, rtcbotd_stamp_now ());
      gst_video_frame_unmap (&frame);
    }
  return GST_PAD_PROBE_OK;
}

gulong
rtcbotd_stamp_attach (GstPad *pad)
{
  RtcbotdStamp *self = g_new0 (RtcbotdStamp, 1);
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);

  /* Attached to a pad already flowing, the caps event is behind us. */
  self->have_info = caps && gst_video_info_from_caps (&self->info, caps)
                    && GST_VIDEO_INFO_FORMAT (&self->info) == GST_VIDEO_FORMAT_I420;

  return gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                            on_probe, self, g_free);
}
