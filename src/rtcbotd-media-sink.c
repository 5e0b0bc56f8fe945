/* rtcbotd-media-sink.c — one configured media sink: record, speaker, display or gst.
 *
 * The sink's elements live in one RtcbotdSinkBin in locked state, started
 * here once the pipeline plays, so a sink that fails (a missing device, a
 * file that cannot be written) is down on its own and retried with backoff
 * while everything else runs. Inputs (a source's encoded stream, a peer's
 * stream) outlive the bin: they are linked to it while it runs and unlinked,
 * between two buffers, before it goes.
 */
#include "rtcbotd-media-sink.h"
#include "rtcbotd-element.h"

#include <stdatomic.h>
#include <string.h>

#include "rtcbotd-backoff.h"
#include "rtcbotd-config-media.h"
#include "rtcbotd-error.h"
#include "rtcbotd-recorder.h"
#include "rtcbotd-sink-bin.h"
#include "rtcbotd-sink-input.h"
#include "rtcbotd-sink-output.h"

/* Devices and directories come back (a USB speaker replugged, a disk mounted). */
#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 10000
/* While the pipeline is not playing yet, the bin cannot take its clock. */
#define WAIT_PLAYING_MS 50
/* How long a peer's recording may take to finish after the peer left. */
#define PEER_FINISH_MS 5000

typedef struct
{
  RtcbotdRecorder *recorder;
  gint64 deadline; /* monotonic µs: then it is freed, finished or not */
} Finishing;

struct _RtcbotdMediaSink
{
  const RtcbotdMediaSinkConfig *config;
  GstElement *pipeline;
  char *prefix;              /* the bin's name: "sink-rec", "sink-rec.2" after a reload */
  GPtrArray *inputs;         /* of RtcbotdSinkInput */
  GstElement *bin;           /* NULL while down */
  gboolean running;          /* the bin plays and the inputs are linked */
  gboolean started;          /* tried to start at least once */
  RtcbotdRecorder *recorder; /* record: the file of the routed sources */
  GPtrArray *finishing;      /* of Finishing: files of peers that left */
  guint finishing_id;        /* checks them every second */
  GstElement *mixer;         /* speaker, gst audio */
  GstElement *output;        /* speaker, display, gst: converter and output (a reference) */
  RtcbotdSinkInput *active;  /* display, gst video: the input shown */
  RtcbotdBackoff *backoff;
  guint wait_id;
  char *reason; /* why the sink is down; NULL while up */
  guint64 errors;
  atomic_uint_least64_t played; /* buffers that reached the output (streaming threads) */
  guint64 files;                /* of recorders already freed */
  guint64 bytes;
  GMutex lock; /* guards what streaming threads touch: below */
  GCond cond;
  char *error; /* the first error a child posted since the bin started */
  guint error_idle;
  guint reap_idle;
};

static gboolean attempt (gpointer user_data);
static void teardown (RtcbotdMediaSink *self, gboolean finish, gint64 deadline);

static gboolean
is_record (RtcbotdMediaSink *self)
{
  return self->config->type == RTCBOTD_MEDIA_SINK_RECORD;
}

static gboolean
is_rtp (RtcbotdMediaSink *self)
{
  return self->config->type == RTCBOTD_MEDIA_SINK_RTP;
}

/* Display and video gst sinks show one input; the others take all of them. */
static gboolean
shows_one (RtcbotdMediaSink *self)
{
  return !is_record (self) && !is_rtp (self) && !rtcbotd_sink_output_is_audio (self->config);
}

/* ---- messages from the bin (posting threads) ------------------------- */

/* The posting thread: "message (the debug's last line)". */
static char *
describe_error (GstMessage *message)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;
  const char *detail;

  gst_message_parse_error (message, &error, &debug);
  detail = debug ? strrchr (debug, '\n') : NULL;
  detail = detail ? detail + 1 : debug;
  /* Without the element's name: it changes at each retry, the message should not. */
  if (detail && *detail && !strstr (error->message, detail))
    return g_strdup_printf ("%s (%s)", error->message, detail);
  return g_strdup (error->message);
}

static void fail (RtcbotdMediaSink *self, const char *reason);

/* Main context: an element of the running bin failed. */
static gboolean
on_error_idle (gpointer user_data)
{
  RtcbotdMediaSink *self = user_data;
  g_autofree char *error = NULL;

  g_mutex_lock (&self->lock);
  self->error_idle = 0;
  error = g_steal_pointer (&self->error);
  g_mutex_unlock (&self->lock);
  if (error && self->bin && is_record (self))
    fail (self, error);
  else if (error && self->bin)
    {
      g_autofree char *output = rtcbotd_sink_output_describe (self->config);
      g_autofree char *reason = g_strdup_printf ("output %s: %s", output, error);
      fail (self, reason);
    }
  return G_SOURCE_REMOVE;
}

static void reap_finished (RtcbotdMediaSink *self, gboolean force);

/* Main context: a peer's recording may have finished. */
static gboolean
on_reap_idle (gpointer user_data)
{
  RtcbotdMediaSink *self = user_data;

  g_mutex_lock (&self->lock);
  self->reap_idle = 0;
  g_mutex_unlock (&self->lock);
  reap_finished (self, FALSE);
  return G_SOURCE_REMOVE;
}

/* The posting thread (a streaming thread, or the main context while the bin
 * changes state): keeps the first error for the main context; marks a
 * recorder whose muxer has finished its last file. */
static void
on_bin_message (GstMessage *message, gpointer user_data)
{
  RtcbotdMediaSink *self = user_data;
  RtcbotdRecorder *recorder;

  g_mutex_lock (&self->lock);
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      if (!self->error)
        self->error = describe_error (message);
      if (!self->error_idle)
        self->error_idle = g_idle_add (on_error_idle, self);
    }
  else if ((recorder = rtcbotd_recorder_from_message (message)))
    {
      rtcbotd_recorder_set_done (recorder);
      g_cond_broadcast (&self->cond);
      if (!self->reap_idle)
        self->reap_idle = g_idle_add (on_reap_idle, self);
    }
  g_mutex_unlock (&self->lock);
}

/* ---- inputs --------------------------------------------------------- */

static void
remove_from_bin (RtcbotdMediaSink *self, GstElement *element)
{
  rtcbotd_element_discard (GST_BIN (self->bin), element);
}

/* Main context: unlinks @in and drops what only it used (its recorder goes
 * to @self->finishing, or is finished and freed in teardown). */
static void
detach_input (RtcbotdMediaSink *self, RtcbotdSinkInput *in)
{
  rtcbotd_sink_input_unlink (in, self->bin);
  if (in->chain)
    {
      remove_from_bin (self, in->chain);
      g_clear_object (&in->chain);
    }
  if (in->mixer_pad)
    {
      gst_element_release_request_pad (self->mixer, in->mixer_pad);
      g_clear_object (&in->mixer_pad);
    }
  if (self->active == in)
    self->active = NULL;
}

static gboolean
attach_decoded (RtcbotdMediaSink *self, RtcbotdSinkInput *in, GError **error)
{
  g_autoptr (GstPad) chain_src = NULL;
  g_autoptr (GstPad) chain_sink = NULL;
  g_autoptr (GstPad) output = NULL;

  if (!(in->chain = rtcbotd_sink_output_make_decoder (self->config, in->codec, error)))
    return FALSE;
  gst_bin_add (GST_BIN (self->bin), in->chain);
  chain_src = gst_element_get_static_pad (in->chain, "src");
  output = self->mixer ? gst_element_request_pad_simple (self->mixer, "sink_%u")
                       : gst_element_get_static_pad (self->output, "sink");
  if (self->mixer && output)
    in->mixer_pad = gst_object_ref (output);
  if (!output || GST_PAD_LINK_FAILED (gst_pad_link (chain_src, output)))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "%s: cannot link the %s decoder",
                   self->config->label, rtcbotd_codec_to_string (in->codec));
      return FALSE;
    }
  gst_element_sync_state_with_parent (in->chain);
  chain_sink = gst_element_get_static_pad (in->chain, "sink");
  return rtcbotd_sink_input_link (in, self->bin, chain_sink, self->config->label, error);
}

static char *
peer_suffix (RtcbotdSinkInput *in)
{
  return g_strdup_printf ("-peer%u-%s", in->peer_id,
                          in->codec == RTCBOTD_CODEC_OPUS ? "audio" : "video");
}

static GstPadProbeReturn on_played (GstPad *pad, GstPadProbeInfo *info, gpointer user_data);

/* An rtp sink's input: payloaded as it is (no decode) and sent to the SFU;
 * "played" counts the frames sent. */
static gboolean
attach_rtp (RtcbotdMediaSink *self, RtcbotdSinkInput *in, GError **error)
{
  g_autoptr (GstPad) chain_sink = NULL;

  if (!(in->chain = rtcbotd_sink_output_make_rtp (self->config, in->codec, g_random_int (), error)))
    return FALSE;
  gst_bin_add (GST_BIN (self->bin), in->chain);
  gst_element_sync_state_with_parent (in->chain);
  chain_sink = gst_element_get_static_pad (in->chain, "sink");
  gst_pad_add_probe (chain_sink, GST_PAD_PROBE_TYPE_BUFFER, on_played, self, NULL);
  return rtcbotd_sink_input_link (in, self->bin, chain_sink, self->config->label, error);
}

/* Main context: feeds @in into the running bin. */
static gboolean
attach_input (RtcbotdMediaSink *self, RtcbotdSinkInput *in, GError **error)
{
  g_autoptr (GstPad) target = NULL;

  if (is_rtp (self))
    return attach_rtp (self, in, error);
  if (!is_record (self))
    return attach_decoded (self, in, error);
  if (in->source)
    target = in->target ? gst_object_ref (in->target) : NULL;
  else
    {
      g_autofree char *suffix = peer_suffix (in);
      if ((in->recorder = rtcbotd_recorder_new (GST_BIN (self->bin), self->config, suffix, error)))
        target = rtcbotd_recorder_add_stream (in->recorder, in->codec, error);
      if (target)
        rtcbotd_recorder_start (in->recorder);
    }
  if (!target && error && !*error)
    g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                 "%s: a source routed here after the file started", self->config->label);
  return target && rtcbotd_sink_input_link (in, self->bin, target, self->config->label, error);
}

/* The input a display or video gst sink shows: the latest peer's stream,
 * else the first routed source. */
static RtcbotdSinkInput *
choose_active (RtcbotdMediaSink *self)
{
  for (guint i = self->inputs->len; i > 0; i--)
    if (!((RtcbotdSinkInput *)self->inputs->pdata[i - 1])->source)
      return self->inputs->pdata[i - 1];
  return self->inputs->len ? self->inputs->pdata[0] : NULL;
}

/* Main context: links what should be linked (every input, or the one shown). */
static gboolean
attach_inputs (RtcbotdMediaSink *self, GError **error)
{
  RtcbotdSinkInput *active = shows_one (self) ? choose_active (self) : NULL;

  if (shows_one (self) && active != self->active)
    {
      if (self->active)
        detach_input (self, self->active);
      if (active && !attach_input (self, active, error))
        return FALSE;
      self->active = active;
      return TRUE;
    }
  for (guint i = 0; i < self->inputs->len && !shows_one (self); i++)
    {
      RtcbotdSinkInput *in = self->inputs->pdata[i];
      if (!rtcbotd_sink_input_is_linked (in) && !attach_input (self, in, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- the bin --------------------------------------------------------- */

static void
set_up (RtcbotdMediaSink *self)
{
  g_autofree char *output = is_record (self) ? NULL : rtcbotd_sink_output_describe (self->config);

  if (self->reason || !self->started)
    g_message ("%s: up (%s%s)", self->config->label,
               is_record (self) ? "recording to " : "playing through ",
               is_record (self) ? self->config->path : output);
  g_clear_pointer (&self->reason, g_free);
  self->started = TRUE;
  rtcbotd_backoff_reset (self->backoff);
}

/* Main context: the sink is down for @reason; it tries again later. */
static void
fail (RtcbotdMediaSink *self, const char *reason)
{
  /* "[sink rec]: down: path ...", not "[sink rec]: down: [sink rec] path ...". */
  if (g_str_has_prefix (reason, self->config->label))
    reason += strlen (self->config->label);
  while (*reason == ':' || *reason == ' ')
    reason++;
  self->errors++;
  self->started = TRUE;
  if (g_strcmp0 (reason, self->reason) != 0)
    g_warning ("%s: down: %s (retrying with backoff)", self->config->label, reason);
  g_free (self->reason);
  self->reason = g_strdup (reason);
  teardown (self, FALSE, 0);
  rtcbotd_backoff_schedule (self->backoff);
}

/* Streaming thread of the output: counts what is played, shown or handed to the fragment. */
static GstPadProbeReturn
on_played (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtcbotdMediaSink *self = user_data;

  atomic_fetch_add_explicit (&self->played, 1, memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

/* Builds the outputs inside the new bin: the sources' recorder, or the
 * mixer and output a speaker, display or gst sink plays through. */
static gboolean
build_outputs (RtcbotdMediaSink *self, GError **error)
{
  g_autoptr (GstPad) mixer_src = NULL;
  g_autoptr (GstPad) output_sink = NULL;

  if (is_rtp (self))
    return TRUE; /* one payloader and udpsink per input, made as they link */
  if (is_record (self))
    {
      gboolean sources = FALSE;
      for (guint i = 0; i < self->inputs->len; i++)
        sources |= ((RtcbotdSinkInput *)self->inputs->pdata[i])->source != NULL;
      /* Only with sources: an empty splitmuxsink would hold the bin's state
       * change (it waits for data to preroll), and peers' files with it. */
      return rtcbotd_recorder_check_path (self->config, error)
             && (!sources
                 || (self->recorder
                     = rtcbotd_recorder_new (GST_BIN (self->bin), self->config, NULL, error)));
    }
  if (!(self->output = rtcbotd_sink_output_make (self->config, error)))
    return FALSE;
  gst_bin_add (GST_BIN (self->bin), self->output);
  output_sink = gst_element_get_static_pad (self->output, "sink");
  gst_pad_add_probe (output_sink, GST_PAD_PROBE_TYPE_BUFFER, on_played, self, NULL);
  if (!rtcbotd_sink_output_is_audio (self->config))
    return TRUE;
  if (!(self->mixer = gst_element_factory_make ("audiomixer", NULL)))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "%s: the GStreamer element \"audiomixer\" is not installed",
                   self->config->label);
      return FALSE;
    }
  gst_bin_add (GST_BIN (self->bin), self->mixer);
  mixer_src = gst_element_get_static_pad (self->mixer, "src");
  return GST_PAD_LINK_SUCCESSFUL (gst_pad_link (mixer_src, output_sink));
}

/* Main context: the pipeline plays; build the bin, start it on the
 * pipeline's clock and link the inputs. */
static gboolean
start_bin (RtcbotdMediaSink *self, GError **error)
{
  g_autoptr (GstClock) clock = gst_element_get_clock (self->pipeline);
  g_autofree char *failure = NULL;

  self->bin = rtcbotd_sink_bin_new (self->prefix);
  rtcbotd_sink_bin_set_handler (RTCBOTD_SINK_BIN (self->bin), on_bin_message, self);
  gst_bin_add (GST_BIN (self->pipeline), self->bin);
  if (!build_outputs (self, error))
    return FALSE;
  for (guint i = 0; is_record (self) && i < self->inputs->len; i++)
    {
      RtcbotdSinkInput *in = self->inputs->pdata[i];
      /* The file's streams are fixed before it starts; they are linked once it plays. */
      if (in->source
          && !(in->target = rtcbotd_recorder_add_stream (self->recorder, in->codec, error)))
        return FALSE;
    }
  /* Locked out of the pipeline's state changes: take its clock and time by hand. */
  if (clock)
    gst_element_set_clock (self->bin, clock);
  gst_element_set_base_time (self->bin, gst_element_get_base_time (self->pipeline));
  gst_element_set_start_time (self->bin, GST_CLOCK_TIME_NONE);
  if (gst_element_set_state (self->bin, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_mutex_lock (&self->lock);
      failure = g_steal_pointer (&self->error);
      g_mutex_unlock (&self->lock);
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "%s",
                   failure ? failure : "the output does not start");
      return FALSE;
    }
  self->running = TRUE;
  return attach_inputs (self, error);
}

/* Main context: (re)starts the sink once the pipeline plays. */
static gboolean
attempt (gpointer user_data)
{
  RtcbotdMediaSink *self = user_data;
  g_autoptr (GError) error = NULL;
  GstState state = GST_STATE_NULL, pending = GST_STATE_NULL;

  self->wait_id = 0;
  if (self->bin)
    return G_SOURCE_REMOVE;
  gst_element_get_state (self->pipeline, &state, &pending, 0);
  if (state != GST_STATE_PLAYING)
    {
      self->wait_id = g_timeout_add (WAIT_PLAYING_MS, attempt, self);
      return G_SOURCE_REMOVE;
    }
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->error, g_free);
  g_mutex_unlock (&self->lock);
  if (start_bin (self, &error))
    set_up (self);
  else
    {
      g_autofree char *output = rtcbotd_sink_output_describe (self->config);
      g_autofree char *reason
          = is_record (self) || g_str_has_prefix (error->message, self->config->label)
                ? g_strdup (error->message)
                : g_strdup_printf ("output %s: %s", output, error->message);
      fail (self, reason);
    }
  return G_SOURCE_REMOVE;
}

/* Main context: the recorders @self holds that are not done. */
static gboolean
all_done (RtcbotdMediaSink *self)
{
  if (self->recorder && !rtcbotd_recorder_is_done (self->recorder))
    return FALSE;
  for (guint i = 0; i < self->inputs->len; i++)
    {
      RtcbotdSinkInput *in = self->inputs->pdata[i];
      if (in->recorder && !rtcbotd_recorder_is_done (in->recorder))
        return FALSE;
    }
  for (guint i = 0; i < self->finishing->len; i++)
    if (!rtcbotd_recorder_is_done (((Finishing *)self->finishing->pdata[i])->recorder))
      return FALSE;
  return TRUE;
}

static void
free_recorder (RtcbotdMediaSink *self, RtcbotdRecorder *recorder)
{
  if (!recorder)
    return;
  self->files += rtcbotd_recorder_get_files (recorder);
  self->bytes += rtcbotd_recorder_get_bytes (recorder);
  rtcbotd_recorder_free (recorder);
}

/* Main context: frees the peers' recorders that finished, or whose time is
 * up (all with @force). */
static void
reap_finished (RtcbotdMediaSink *self, gboolean force)
{
  gint64 now = g_get_monotonic_time ();

  for (guint i = self->finishing->len; i > 0; i--)
    {
      Finishing *f = self->finishing->pdata[i - 1];
      gboolean done = rtcbotd_recorder_is_done (f->recorder);
      if (!done && !force && now < f->deadline)
        continue;
      if (!done)
        g_warning ("%s: a peer's recording did not finish in time; its last file may be "
                   "incomplete",
                   self->config->label);
      else
        g_message ("%s: a peer's recording is finished", self->config->label);
      free_recorder (self, f->recorder);
      g_ptr_array_remove_index (self->finishing, i - 1);
    }
  if (self->finishing->len == 0)
    g_clear_handle_id (&self->finishing_id, g_source_remove);
}

/* Main context, every second while peers' recordings finish. */
static gboolean
on_finishing_check (gpointer user_data)
{
  RtcbotdMediaSink *self = user_data;

  reap_finished (self, FALSE);
  return self->finishing_id ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Main context: unlinks every input and removes the bin; with @finish, the
 * recordings end first (EOS, waiting until @deadline). */
static void
teardown (RtcbotdMediaSink *self, gboolean finish, gint64 deadline)
{
  for (guint i = 0; i < self->inputs->len; i++)
    detach_input (self, self->inputs->pdata[i]);
  if (finish && self->bin && self->running)
    {
      if (self->recorder)
        rtcbotd_recorder_finish (self->recorder);
      for (guint i = 0; i < self->inputs->len; i++)
        if (((RtcbotdSinkInput *)self->inputs->pdata[i])->recorder)
          rtcbotd_recorder_finish (((RtcbotdSinkInput *)self->inputs->pdata[i])->recorder);
      g_mutex_lock (&self->lock);
      while (!all_done (self) && g_cond_wait_until (&self->cond, &self->lock, deadline))
        ;
      g_mutex_unlock (&self->lock);
      if (!all_done (self))
        g_warning ("%s: the recording did not finish in time; the last file may be incomplete",
                   self->config->label);
    }
  if (self->bin)
    {
      rtcbotd_sink_bin_set_handler (RTCBOTD_SINK_BIN (self->bin), NULL, NULL);
      gst_element_set_state (self->bin, GST_STATE_NULL);
    }
  for (guint i = 0; i < self->inputs->len; i++)
    {
      RtcbotdSinkInput *in = self->inputs->pdata[i];
      free_recorder (self, g_steal_pointer (&in->recorder));
      g_clear_object (&in->target);
    }
  reap_finished (self, TRUE);
  free_recorder (self, g_steal_pointer (&self->recorder));
  g_clear_object (&self->output);
  self->mixer = NULL;
  if (self->bin)
    gst_bin_remove (GST_BIN (self->pipeline), self->bin);
  self->bin = NULL;
  self->running = FALSE;
}

/* ---- public ----------------------------------------------------------- */

RtcbotdMediaSink *
rtcbotd_media_sink_new (const RtcbotdMediaSinkConfig *config, GstElement *pipeline,
                        guint generation, GError **error)
{
  RtcbotdMediaSink *self;

  /* A fragment that does not parse is the config's fault: refuse it now. */
  if (config->type == RTCBOTD_MEDIA_SINK_GST)
    {
      g_autoptr (GstElement) output = rtcbotd_sink_output_make (config, error);
      if (!output)
        return NULL;
    }
  self = g_new0 (RtcbotdMediaSink, 1);
  self->config = config;
  self->pipeline = pipeline;
  self->prefix = generation ? g_strdup_printf ("sink-%s.%u", config->name, generation)
                            : g_strdup_printf ("sink-%s", config->name);
  self->inputs = g_ptr_array_new_with_free_func ((GDestroyNotify)rtcbotd_sink_input_free);
  self->finishing = g_ptr_array_new_with_free_func (g_free);
  self->backoff = rtcbotd_backoff_new (RETRY_MIN_MS, RETRY_MAX_MS, attempt, self);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->wait_id = g_idle_add (attempt, self);
  return self;
}

/* Main context: a new input while the bin runs. A record sink starts a new
 * file for its sources (a file's streams are fixed when it starts). */
static void
add_running (RtcbotdMediaSink *self, RtcbotdSinkInput *in)
{
  g_autoptr (GError) error = NULL;

  if (!self->running)
    return;
  if (is_record (self) && in->source)
    {
      teardown (self, TRUE, g_get_monotonic_time () + PEER_FINISH_MS * G_TIME_SPAN_MILLISECOND);
      g_clear_handle_id (&self->wait_id, g_source_remove);
      self->wait_id = g_idle_add (attempt, self);
      return;
    }
  if (!attach_inputs (self, &error))
    fail (self, error->message); /* the sink retries; the input stays */
}

/* Checks that a record sink can hold @codec besides what it has. */
static gboolean
check_codec (RtcbotdMediaSink *self, RtcbotdCodec codec, gboolean from_source, GError **error)
{
  if (codec == RTCBOTD_CODEC_NONE)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "%s: the stream is none of H.264, VP8 or Opus", self->config->label);
      return FALSE;
    }
  if (!is_record (self))
    return TRUE;
  if (codec == RTCBOTD_CODEC_VP8 && self->config->format == RTCBOTD_RECORD_MP4)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                   "%s: mp4 cannot hold VP8 video; use format = mkv (or an H.264 encoder)",
                   self->config->label);
      return FALSE;
    }
  for (guint i = 0; from_source && codec != RTCBOTD_CODEC_OPUS && i < self->inputs->len; i++)
    {
      RtcbotdSinkInput *in = self->inputs->pdata[i];
      if (in->source && in->codec != RTCBOTD_CODEC_OPUS)
        {
          g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                       "%s: a file holds one video stream, and [source %s] already gives one",
                       self->config->label, rtcbotd_source_get_config (in->source)->name);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
rtcbotd_media_sink_add_source (RtcbotdMediaSink *self, RtcbotdSource *source, GError **error)
{
  RtcbotdCodec codec = rtcbotd_source_get_preferred_codec (source);
  RtcbotdSinkInput *in;
  g_autoptr (GstPad) pad = NULL;

  if (!check_codec (self, codec, TRUE, error)
      || !(pad = rtcbotd_source_acquire (source, codec, error)))
    return FALSE;
  in = rtcbotd_sink_input_new (source, 0, codec, pad);
  g_ptr_array_add (self->inputs, in);
  add_running (self, in);
  return TRUE;
}

gboolean
rtcbotd_media_sink_add_peer_stream (RtcbotdMediaSink *self, guint peer_id, GstPad *pad,
                                    GError **error)
{
  RtcbotdCodec codec = rtcbotd_sink_input_codec_of (pad);
  RtcbotdSinkInput *in;

  if (!check_codec (self, codec, FALSE, error))
    return FALSE;
  if ((codec == RTCBOTD_CODEC_OPUS && !self->config->takes_audio)
      || (codec != RTCBOTD_CODEC_OPUS && !self->config->takes_video))
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "%s takes no %s", self->config->label,
                   codec == RTCBOTD_CODEC_OPUS ? "audio" : "video");
      return FALSE;
    }
  in = rtcbotd_sink_input_new (NULL, peer_id, codec, pad);
  g_ptr_array_add (self->inputs, in);
  g_message ("%s: peer %u's %s stream joins", self->config->label, peer_id,
             rtcbotd_codec_to_string (codec));
  add_running (self, in);
  return TRUE;
}

void
rtcbotd_media_sink_remove_peer (RtcbotdMediaSink *self, guint peer_id)
{
  g_autoptr (GError) error = NULL;

  for (guint i = self->inputs->len; i > 0; i--)
    {
      RtcbotdSinkInput *in = self->inputs->pdata[i - 1];
      if (in->source || in->peer_id != peer_id)
        continue;
      detach_input (self, in);
      if (in->recorder)
        {
          Finishing *f = g_new0 (Finishing, 1);
          f->recorder = g_steal_pointer (&in->recorder);
          f->deadline = g_get_monotonic_time () + PEER_FINISH_MS * G_TIME_SPAN_MILLISECOND;
          rtcbotd_recorder_finish (f->recorder);
          g_ptr_array_add (self->finishing, f);
          if (!self->finishing_id)
            self->finishing_id = g_timeout_add_seconds (1, on_finishing_check, self);
        }
      g_ptr_array_remove_index (self->inputs, i - 1);
    }
  if (self->running && !attach_inputs (self, &error))
    fail (self, error->message);
}

const RtcbotdMediaSinkConfig *
rtcbotd_media_sink_get_config (RtcbotdMediaSink *self)
{
  return self->config;
}

gboolean
rtcbotd_media_sink_owns (RtcbotdMediaSink *self, GstObject *object)
{
  return self->bin && gst_object_has_as_ancestor (object, GST_OBJECT (self->bin));
}

/* The file being written: the sources' recorder's, else the latest peer's. */
static char *
current_file (RtcbotdMediaSink *self)
{
  char *location = self->recorder ? rtcbotd_recorder_get_location (self->recorder) : NULL;

  for (guint i = self->inputs->len; i > 0 && !location; i--)
    if (((RtcbotdSinkInput *)self->inputs->pdata[i - 1])->recorder)
      location = rtcbotd_recorder_get_location (
          ((RtcbotdSinkInput *)self->inputs->pdata[i - 1])->recorder);
  return location;
}

static void
add_counts (RtcbotdRecorder *recorder, guint64 *files, guint64 *bytes)
{
  if (!recorder)
    return;
  *files += rtcbotd_recorder_get_files (recorder);
  *bytes += rtcbotd_recorder_get_bytes (recorder);
}

/* Files started and bytes written over the sink's life. */
static void
count (RtcbotdMediaSink *self, guint64 *files, guint64 *bytes)
{
  *files = self->files;
  *bytes = self->bytes;
  add_counts (self->recorder, files, bytes);
  for (guint i = 0; i < self->inputs->len; i++)
    add_counts (((RtcbotdSinkInput *)self->inputs->pdata[i])->recorder, files, bytes);
  for (guint i = 0; i < self->finishing->len; i++)
    add_counts (((Finishing *)self->finishing->pdata[i])->recorder, files, bytes);
}

gboolean
rtcbotd_media_sink_is_up (RtcbotdMediaSink *self)
{
  return self->reason == NULL;
}

static const char *
state_name (RtcbotdMediaSink *self)
{
  return self->reason ? "down" : self->started ? "up" : "starting";
}

void
rtcbotd_media_sink_add_health (RtcbotdMediaSink *self, JsonBuilder *b)
{
  g_autofree char *file = is_record (self) ? current_file (self) : NULL;
  guint64 files, bytes;

  count (self, &files, &bytes);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, rtcbotd_media_sink_type_names[self->config->type]);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, state_name (self));
  if (self->reason)
    {
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, self->reason);
    }
  json_builder_set_member_name (b, "inputs");
  json_builder_add_int_value (b, self->inputs->len);
  if (!is_record (self))
    {
      json_builder_set_member_name (b, "played");
      json_builder_add_int_value (b, atomic_load (&self->played));
    }
  else
    {
      json_builder_set_member_name (b, "file");
      if (file)
        json_builder_add_string_value (b, file);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "files");
      json_builder_add_int_value (b, files);
      json_builder_set_member_name (b, "bytes");
      json_builder_add_int_value (b, bytes);
      json_builder_set_member_name (b, "finishing");
      json_builder_add_int_value (b, self->finishing->len);
    }
  json_builder_end_object (b);
}

void
rtcbotd_media_sink_add_metrics (RtcbotdMediaSink *self, RtcbotdMetrics *m)
{
  const char *name = self->config->name;
  guint64 files, bytes;

  count (self, &files, &bytes);
  rtcbotd_metrics_gauge (m, "rtcbotd_sink_up",
                         "1 while the media sink runs, 0 when it is down (/healthz says why).",
                         self->reason ? 0 : 1, "sink", name, NULL);
  rtcbotd_metrics_gauge (m, "rtcbotd_sink_inputs",
                         "Streams routed into the media sink now (sources and peers).",
                         self->inputs->len, "sink", name, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_sink_errors_total",
                           "Times the media sink failed (a device, a file) and went down.",
                           self->errors, "sink", name, NULL);
  if (!is_record (self))
    {
      rtcbotd_metrics_counter (m, "rtcbotd_sink_played_buffers_total",
                               "Buffers of decoded media the sink played, showed or fed to its "
                               "pipeline.",
                               atomic_load (&self->played), "sink", name, NULL);
      return;
    }
  rtcbotd_metrics_counter (m, "rtcbotd_sink_files_total", "Files the record sink has started.",
                           files, "sink", name, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_sink_written_bytes_total",
                           "Bytes the record sink's muxers have written.", bytes, "sink", name,
                           NULL);
}

void
rtcbotd_media_sink_free (RtcbotdMediaSink *self, guint timeout_ms)
{
  if (!self)
    return;
  g_clear_pointer (&self->backoff, rtcbotd_backoff_free);
  g_clear_handle_id (&self->wait_id, g_source_remove);
  g_clear_handle_id (&self->finishing_id, g_source_remove);
  teardown (self, TRUE, g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND);
  for (guint i = 0; i < self->inputs->len; i++)
    {
      RtcbotdSinkInput *in = self->inputs->pdata[i];
      g_autoptr (GstElement) tee = NULL;
      if (!in->source)
        continue;
      if ((tee = gst_pad_get_parent_element (in->upstream)))
        gst_element_release_request_pad (tee, in->upstream);
      rtcbotd_source_unuse (in->source, in->codec);
    }
  g_mutex_lock (&self->lock);
  g_clear_handle_id (&self->error_idle, g_source_remove);
  g_clear_handle_id (&self->reap_idle, g_source_remove);
  g_mutex_unlock (&self->lock);
  g_ptr_array_unref (self->inputs);
  g_ptr_array_unref (self->finishing);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self->error);
  g_free (self->reason);
  g_free (self->prefix);
  g_free (self);
}
