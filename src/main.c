/* main.c — rtcbotd's entry point: arguments, configuration, main loop, exit code. */
#include <gst/gst.h>
#include <locale.h>
#include <signal.h>
#include <sys/stat.h>

#include "rtcbotd-build-config.h"
#include "rtcbotd-capture.h"
#include "rtcbotd-config.h"
#include "rtcbotd-daemon.h"
#include "rtcbotd-error.h"
#include "rtcbotd-log.h"
#include "rtcbotd-notify.h"
#include "rtcbotd-relay-command.h"
#include "rtcbotd-signals.h"

#define DEFAULT_CONFIG "/etc/rtcbotd/rtcbotd.conf"
/* Bounds the wait for the pipeline to play before telling systemd we are ready. */
#define PLAYING_TIMEOUT_MS 10000
#define STATUS_INTERVAL_S 5
/* RTCBOTD_TEST_HOOKS=1: SIGUSR2 blocks the main loop this long (docs/operations.md). */
#define TEST_STALL_US (3 * G_USEC_PER_SEC)

enum
{
  EXIT_OK = 0,
  EXIT_USAGE = 64,
  EXIT_INTERNAL = 70,
  EXIT_CONFIG = 78,
};

typedef struct
{
  char *config;
  char *check_config;
  char *listen;
  guint verbose; /* how many -v */
  gboolean version;
} Options;

/* What the signal handlers and timers of run() share; lives on run()'s stack. */
typedef struct
{
  Options *options;
  const char *path;
  RtcbotdDaemon *daemon;
  RtcbotdNotify *notify;
  GMainLoop *loop;
} App;

static gboolean
on_verbose (const char *name, const char *value, gpointer data, GError **error)
{
  ((Options *)data)->verbose++;
  return TRUE;
}

static gboolean
parse_options (int *argc, char ***argv, Options *options, GError **error)
{
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &options->config,
      "Configuration file (default " DEFAULT_CONFIG ")", "FILE" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &options->listen,
      "HTTP address, overriding [daemon] listen", "ADDR:PORT" },
    { "check-config", 0, 0, G_OPTION_ARG_FILENAME, &options->check_config,
      "Validate FILE and exit (0 valid, 78 invalid)", "FILE" },
    { "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, on_verbose,
      "More log output, repeatable: -v rtcbotd's debug messages, -vv also GStreamer's "
      "warnings, -vvv also GStreamer's info for webrtc and nice",
      NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &options->version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- robot WebRTC daemon");
  GOptionGroup *group = g_option_group_new (NULL, NULL, NULL, options, NULL);

  /* A group of our own, so that on_verbose gets @options. */
  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (context, group);
  g_option_context_set_summary (context, "Puts a robot's cameras, microphones and controls on "
                                         "the web with WebRTC, as one INI file declares.");
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (*argc > 1)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_USAGE, "unexpected argument \"%s\"",
                   (*argv)[1]);
      return FALSE;
    }
  return TRUE;
}

static int
check_config (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdConfig) config = rtcbotd_config_load_file (path, &error);
  guint sinks = 0;

  /* Only to parse the gst fragments: nothing is started. */
  gst_init (NULL, NULL);
  if (!config || !rtcbotd_capture_check_config (config, &error))
    {
      g_printerr ("%s\n", error->message);
      return EXIT_CONFIG;
    }
  for (guint i = 0; i < config->endpoints->len; i++)
    sinks += ((RtcbotdEndpointConfig *)config->endpoints->pdata[i])->sink_group;
  g_print ("%s: valid (%u sources, %u sinks, %u routes)\n", path,
           config->sources->len + config->endpoints->len - sinks, sinks, config->routes->len);
  return EXIT_OK;
}

/* A token in a file every local user can read is no secret. */
static void
warn_if_exposed (const char *path, const RtcbotdConfig *config)
{
  struct stat st;

  if ((config->token || config->viewer_token || config->control_token) && stat (path, &st) == 0
      && (st.st_mode & S_IROTH))
    g_warning ("%s holds a token and every user of this machine can read it; make it "
               "readable by the daemon only (chmod 0640, group rtcbotd)",
               path);
}

/* Loads the file again with --listen applied, and hands it to the daemon. */
static gboolean
reload (App *app, GError **error)
{
  g_autoptr (RtcbotdConfig) config = rtcbotd_config_load_file (app->path, error);

  if (!config)
    return FALSE;
  if (app->options->listen && !rtcbotd_config_set_listen (config, app->options->listen, error))
    return FALSE;
  warn_if_exposed (app->path, config);
  return rtcbotd_daemon_reload (app->daemon, g_steal_pointer (&config), error);
}

/* SIGHUP, main context (RtcbotdSignals), like every handler below. A bad
 * file keeps the running configuration: the daemon is as ready as before. */
static char *
on_reload_signal (gpointer user_data)
{
  App *app = user_data;
  g_autoptr (GError) error = NULL;

  g_message ("SIGHUP: reloading %s", app->path);
  /* Success is logged by the daemon ("configuration reloaded from ..."). */
  if (!reload (app, &error))
    g_warning ("reload: %s; keeping the running configuration", error->message);
  return rtcbotd_daemon_status_text (app->daemon);
}

/* Test hook: a main loop that hangs, to prove the watchdog pings stop with it. */
static gboolean
on_stall_signal (gpointer user_data)
{
  g_warning ("test hook: SIGUSR2: blocking the main loop for %d s",
             (int)(TEST_STALL_US / G_USEC_PER_SEC));
  g_usleep (TEST_STALL_US);
  g_message ("test hook: the main loop runs again");
  return G_SOURCE_CONTINUE;
}

static void
refresh_status (App *app)
{
  g_autofree char *status = rtcbotd_daemon_status_text (app->daemon);

  rtcbotd_notify_status (app->notify, status);
}

static gboolean
on_status_timeout (gpointer user_data)
{
  refresh_status (user_data);
  return G_SOURCE_CONTINUE;
}

static void
on_peers_changed (RtcbotdDaemon *daemon, gpointer user_data)
{
  refresh_status (user_data);
}

/* The watchdog's health check: the loop runs (or we would not be here) and the media plays. */
static gboolean
is_healthy (gpointer user_data)
{
  return rtcbotd_daemon_wait_playing (user_data, 0, NULL);
}

static int
start_daemon (App *app, RtcbotdConfig *config)
{
  g_autoptr (GError) error = NULL;

  app->daemon = rtcbotd_daemon_new (config);
  if (!rtcbotd_daemon_start (app->daemon, &error)
      || !rtcbotd_daemon_wait_playing (app->daemon, PLAYING_TIMEOUT_MS, &error))
    {
      g_printerr ("rtcbotd: %s\n", error->message);
      return g_error_matches (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG) ? EXIT_CONFIG
                                                                          : EXIT_INTERNAL;
    }
  return EXIT_OK;
}

/* Runs the loop until SIGINT or SIGTERM; systemd hears READY=1 once HTTP
 * listens and the pipeline plays. */
static void
serve (App *app)
{
  g_autofree char *status = rtcbotd_daemon_status_text (app->daemon);
  guint status_timeout = g_timeout_add_seconds (STATUS_INTERVAL_S, on_status_timeout, app);

  g_signal_connect (app->daemon, "peers-changed", G_CALLBACK (on_peers_changed), app);
  rtcbotd_notify_ready (app->notify, status);
  rtcbotd_notify_start_watchdog (app->notify, is_healthy, app->daemon);
  g_main_loop_run (app->loop);
  g_source_remove (status_timeout);
  g_signal_handlers_disconnect_by_data (app->daemon, app);
}

static int
run (Options *options)
{
  App app = { .options = options, .path = options->config ? options->config : DEFAULT_CONFIG };
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdConfig) config = NULL;
  RtcbotdSignals *signals;
  int status;

  if (!options->config && !g_file_test (app.path, G_FILE_TEST_EXISTS))
    {
      g_printerr ("rtcbotd: no --config given and %s does not exist\n", app.path);
      return EXIT_USAGE;
    }
  if (!(config = rtcbotd_config_load_file (app.path, &error)))
    {
      g_printerr ("rtcbotd: %s\n", error->message);
      return EXIT_CONFIG;
    }
  if (options->listen && !rtcbotd_config_set_listen (config, options->listen, &error))
    {
      g_printerr ("rtcbotd: --listen: %s\n", error->message);
      return EXIT_USAGE;
    }
  warn_if_exposed (app.path, config);
  app.loop = g_main_loop_new (NULL, FALSE);
  app.notify = rtcbotd_notify_new ();
  /* Before starting: a signal during start-up waits for the loop instead of
   * killing us. SIGPIPE is ignored from here on; workers get the default back
   * (rtcbotd-exec). */
  signals = rtcbotd_signals_new (app.loop, app.notify, on_reload_signal, &app);
  if (g_strcmp0 (g_getenv ("RTCBOTD_TEST_HOOKS"), "1") == 0)
    rtcbotd_signals_add (signals, SIGUSR2, on_stall_signal, &app);
  status = start_daemon (&app, g_steal_pointer (&config));
  if (status == EXIT_OK)
    serve (&app);
  /* Stopping iterates the main context: no handler may run on a daemon going away. */
  rtcbotd_signals_free (signals);
  rtcbotd_daemon_stop (app.daemon);
  g_clear_object (&app.daemon);
  g_clear_pointer (&app.notify, rtcbotd_notify_free);
  g_clear_pointer (&app.loop, g_main_loop_unref);
  return status;
}

int
main (int argc, char **argv)
{
  Options options = { 0 };
  g_autoptr (GError) error = NULL;
  int status;

  setlocale (LC_ALL, "");
  /* `rtcbotd relay ...`: the relay server, a mode of its own with its own options. */
  if (argc > 1 && g_str_equal (argv[1], "relay"))
    return rtcbotd_relay_command_run (argc - 1, argv + 1);
  if (!parse_options (&argc, &argv, &options, &error))
    {
      g_printerr ("rtcbotd: %s (see rtcbotd --help)\n", error->message);
      return EXIT_USAGE;
    }
  if (options.version)
    {
      g_print ("rtcbotd %s\n", RTCBOTD_VERSION);
      return EXIT_OK;
    }
  rtcbotd_log_install (options.verbose);
  /* libcamera logs to stderr each time a camera manager starts, so at every
   * retry of a missing camera; its errors reach us through libcamerasrc anyway.
   * Before any thread: setenv is not thread-safe. */
  if (!options.verbose)
    g_setenv ("LIBCAMERA_LOG_LEVELS", "*:ERROR", FALSE);
  if (options.check_config)
    status = check_config (options.check_config);
  else
    {
      gst_init (NULL, NULL);
      rtcbotd_log_configure_gstreamer (options.verbose);
      status = run (&options);
      gst_deinit ();
    }
  g_free (options.config);
  g_free (options.check_config);
  g_free (options.listen);
  return status;
}
