/* rtcbotd-source-private.h — the inside of RtcbotdSource, shared by its files.
 *
 * rtcbotd-source.c captures and encodes (the capture bin, one branch per
 * codec, health); rtcbotd-source-report.c renders what a source reports
 * (/healthz, /metrics). Only those files include this header.
 */
#pragma once

#include <stdatomic.h>

#include "rtcbotd-backoff.h"
#include "rtcbotd-capture.h"
#include "rtcbotd-encoder.h"
#include "rtcbotd-rate-control.h"
#include "rtcbotd-source.h"
#include "rtcbotd-filler.h"
#include "rtcbotd-stall.h"

G_BEGIN_DECLS

#define N_CODECS (RTCBOTD_CODEC_OPUS + 1)

/* What one codec's encoder produced over the source's life (a torn-down
 * branch's counts stay). Written by streaming threads without a lock, read
 * on the main context. */
typedef struct
{
  atomic_uint_least64_t frames;
  atomic_uint_least64_t bytes;
  atomic_uint_least64_t dropped;    /* raw frames the leaky encoder queue let go */
  atomic_uint_least64_t key_frames; /* encoded buffers without the delta-unit flag */
  atomic_int_least64_t last_frame;  /* monotonic µs, 0 before the first */
  const char *encoder;              /* element factory; NULL while never used */
} Counters;

typedef struct
{
  RtcbotdSource *source;
  RtcbotdCodec codec;
  RtcbotdEncoder encoder;
  GstElement *queue;
  GstElement *encoder_bin;
  GstElement *tee;
  GstPad *raw_pad; /* our request pad on the raw tee */
  guint users;
  Counters *counters;
  gint64 started; /* monotonic µs: a new encoder has this long before it counts as stalled */
  GMutex lock;    /* guards the key-frame state, used from streaming threads */
  gint64 last_key_frame;
  gboolean key_frame_wanted;
  RtcbotdRateControl *rate; /* min-peer video only: follows the viewers' estimates */
  guint bitrate;            /* kbit/s the encoder runs at now; 0 for Opus */
} Branch;

typedef enum
{
  CAPTURE_STOPPED, /* not started, or on demand and nothing consumes the source */
  CAPTURE_RUNNING,
  CAPTURE_FAILED, /* stopped after an error; a retry is pending while something wants it */
} CaptureState;

struct _RtcbotdSource
{
  const RtcbotdSourceConfig *config;
  GstElement *pipeline;
  GstElement *raw_tee;
  RtcbotdCodec preferred;
  gboolean passthrough;    /* the capture gives H.264 that no encoder touches */
  RtcbotdCapture *capture; /* in the pipeline, state locked: running, or failed until retried */
  CaptureState capture_state;
  gint64 capture_started; /* monotonic µs of the last start: a stall counts from there */
  guint restarts;         /* starts after a failure */
  RtcbotdBackoff *retry;
  RtcbotdStall *stall;   /* on the raw tee's input: a running capture that gives nothing */
  gboolean stalled;      /* logged, restarting; until a buffer flows again */
  RtcbotdFiller *filler; /* on the raw tee's input: the last picture, again while none comes */
  guint start_id;        /* the first start, once the main loop runs */
  gboolean stopped;      /* for good: a reload retired the source */
  guint consumers;       /* users of all branches: peers' tracks, recordings */
  /* The wait from the first consumer to its first key frame: set on the main
   * context, taken by the encoded tees' streaming threads. */
  atomic_int_least64_t first_wait;     /* monotonic µs the first consumer came; 0: none waits */
  atomic_int_least64_t first_frame_us; /* the last such wait */
  atomic_uint first_frames;            /* waits measured so far */
  guint first_frames_logged;
  RtcbotdEncoder encoders[N_CODECS]; /* chosen at start-up, per codec; AUTO: none */
  GPtrArray *branches;               /* of Branch, one per codec in use */
  guint branch_serial;
  RtcbotdSourceConfig *owned; /* config, once a reload retired the config it came from */
  char *prefix;        /* of element names: "camera", or "camera.2" once rebuilt by a reload */
  guint teardowns;     /* branches unlinked but not yet removed */
  GPtrArray *elements; /* every element of ours in the pipeline (a reference each) */
  Counters counters[N_CODECS];
  char *error;       /* the last error the pipeline posted for one of our elements */
  gint64 error_time; /* monotonic µs */
  char *reason;      /* why the source is down, NULL while it is up */
  guint health_id;
};

/** Recomputes why the source is down (NULL: up) and logs a change. */
void rtcbotd_source_update_health (RtcbotdSource *self);

/** Returns the branch encoding @codec, or NULL. */
Branch *rtcbotd_source_find_branch (RtcbotdSource *self, RtcbotdCodec codec);

G_END_DECLS
