/* main.c — rtcbotd's entry point: arguments, configuration, main loop, exit code. */
#include <glib-unix.h>
#include <gst/gst.h>
#include <locale.h>
#include <signal.h>

#include "rtcbotd-build-config.h"
#include "rtcbotd-config.h"
#include "rtcbotd-daemon.h"
#include "rtcbotd-error.h"

#define DEFAULT_CONFIG "/etc/rtcbotd/rtcbotd.conf"

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
  gboolean verbose;
  gboolean version;
} Options;

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
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose, "Log debug messages", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &options->version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- robot WebRTC daemon");

  g_option_context_add_main_entries (context, entries, NULL);
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

  if (!config)
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

static gboolean
on_stop_signal (gpointer user_data)
{
  g_message ("stopping");
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  RtcbotdDaemon *daemon;
  const char *path;
  const char *listen;
} Reload;

static gboolean
on_reload_signal (gpointer user_data)
{
  Reload *r = user_data;
  g_autoptr (GError) error = NULL;
  RtcbotdConfig *config = rtcbotd_config_load_file (r->path, &error);

  if (config && r->listen && !rtcbotd_config_set_listen (config, r->listen, &error))
    g_clear_pointer (&config, rtcbotd_config_free);
  if (!config || !rtcbotd_daemon_reload (r->daemon, config, &error))
    g_warning ("reload: %s; keeping the running configuration", error->message);
  return G_SOURCE_CONTINUE;
}

static int
run (Options *options)
{
  const char *path = options->config ? options->config : DEFAULT_CONFIG;
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdConfig) config = NULL;
  g_autoptr (RtcbotdDaemon) daemon = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  guint sigint, sigterm, sighup;
  Reload reload = { 0 };

  if (!options->config && !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_printerr ("rtcbotd: no --config given and %s does not exist\n", path);
      return EXIT_USAGE;
    }
  if (!(config = rtcbotd_config_load_file (path, &error)))
    {
      g_printerr ("rtcbotd: %s\n", error->message);
      return EXIT_CONFIG;
    }
  if (options->listen && !rtcbotd_config_set_listen (config, options->listen, &error))
    {
      g_printerr ("rtcbotd: --listen: %s\n", error->message);
      return EXIT_USAGE;
    }
  /* A worker or socket client that goes away must turn our next write into
   * EPIPE, not kill the daemon; workers get the default back (rtcbotd-exec). */
  signal (SIGPIPE, SIG_IGN);
  daemon = rtcbotd_daemon_new (g_steal_pointer (&config));
  if (!rtcbotd_daemon_start (daemon, &error))
    {
      g_printerr ("rtcbotd: %s\n", error->message);
      return g_error_matches (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG) ? EXIT_CONFIG
                                                                          : EXIT_INTERNAL;
    }
  loop = g_main_loop_new (NULL, FALSE);
  sigint = g_unix_signal_add (SIGINT, on_stop_signal, loop);
  sigterm = g_unix_signal_add (SIGTERM, on_stop_signal, loop);
  reload = (Reload){ daemon, path, options->listen };
  sighup = g_unix_signal_add (SIGHUP, on_reload_signal, &reload);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_source_remove (sighup);
  rtcbotd_daemon_stop (daemon);
  return EXIT_OK;
}

int
main (int argc, char **argv)
{
  Options options = { 0 };
  g_autoptr (GError) error = NULL;
  int status;

  setlocale (LC_ALL, "");
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
  if (options.verbose)
    g_log_set_debug_enabled (TRUE);
  if (options.check_config)
    status = check_config (options.check_config);
  else
    {
      gst_init (NULL, NULL);
      status = run (&options);
      gst_deinit ();
    }
  g_free (options.config);
  g_free (options.check_config);
  g_free (options.listen);
  return status;
}
