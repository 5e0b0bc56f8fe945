/* rtcbotd-relay-command.c — `rtcbotd relay`: options, the relay server, the main loop. */
#include "rtcbotd-relay-command.h"

#include "rtcbotd-config.h"
#include "rtcbotd-error.h"
#include "rtcbotd-log.h"
#include "rtcbotd-notify.h"
#include "rtcbotd-relay-server.h"
#include "rtcbotd-signals.h"

enum
{
  EXIT_OK = 0,
  EXIT_USAGE = 64,
  EXIT_INTERNAL = 70,
  EXIT_CONFIG = 78,
};

typedef struct
{
  char *listen;
  char *secrets;
  char *tls_certificate;
  char *tls_key;
  guint verbose;
  RtcbotdRelayServer *server;
  RtcbotdNotify *notify;
  GMainLoop *loop;
} Relay;

static gboolean
on_verbose (const char *name, const char *value, gpointer data, GError **error)
{
  ((Relay *)data)->verbose++;
  return TRUE;
}

static gboolean
parse_options (Relay *relay, int *argc, char ***argv, GError **error)
{
  const GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &relay->listen,
      "Address to listen on (default " RTCBOTD_RELAY_DEFAULT_LISTEN ")", "ADDR:PORT" },
    { "secrets", 's', 0, G_OPTION_ARG_FILENAME, &relay->secrets,
      "Lines \"ID SECRET\": only these ids may be held, each with its secret", "FILE" },
    { "tls-certificate", 0, 0, G_OPTION_ARG_FILENAME, &relay->tls_certificate,
      "PEM certificate: serve https and wss", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &relay->tls_key, "PEM key of the certificate",
      "FILE" },
    { "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, on_verbose, "More log output",
      NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- rtcbotd's relay for robots");
  GOptionGroup *group = g_option_group_new (NULL, NULL, NULL, relay, NULL);

  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (context, group);
  g_option_context_set_summary (context, "Lets clients reach robots behind NAT: robots hold a "
                                         "websocket at /ID, clients POST offers to /ID "
                                         "(RTCBot's rtcbot.dev protocol).");
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (*argc > 1)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_USAGE, "unexpected argument \"%s\"",
                   (*argv)[1]);
      return FALSE;
    }
  if (!relay->tls_certificate != !relay->tls_key)
    {
      g_set_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_USAGE,
                   "--tls-certificate and --tls-key go together");
      return FALSE;
    }
  return TRUE;
}

/* SIGHUP, main context (RtcbotdSignals): the secrets file again. */
static char *
on_reload_signal (gpointer user_data)
{
  Relay *relay = user_data;
  g_autoptr (GError) error = NULL;

  if (relay->secrets && !rtcbotd_relay_server_load_secrets (relay->server, relay->secrets, &error))
    g_warning ("reload: %s; keeping the secrets in use", error->message);
  return g_strdup ("relay");
}

/* Builds the server from the options; returns an exit code. */
static int
start (Relay *relay)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autofree char *host = NULL;
  guint16 port;

  if (!rtcbotd_config_parse_address (relay->listen ? relay->listen : RTCBOTD_RELAY_DEFAULT_LISTEN,
                                     &host, &port, &error))
    {
      g_printerr ("rtcbotd relay: --listen: %s\n", error->message);
      return EXIT_USAGE;
    }
  relay->server = rtcbotd_relay_server_new ();
  if (relay->secrets && !rtcbotd_relay_server_load_secrets (relay->server, relay->secrets, &error))
    {
      g_printerr ("rtcbotd relay: %s\n", error->message);
      return EXIT_CONFIG;
    }
  if (relay->tls_certificate
      && !(certificate
           = g_tls_certificate_new_from_files (relay->tls_certificate, relay->tls_key, &error)))
    {
      g_printerr ("rtcbotd relay: --tls-certificate: %s\n", error->message);
      return EXIT_CONFIG;
    }
  if (!rtcbotd_relay_server_listen (relay->server, host, port, certificate, &error))
    {
      g_printerr ("rtcbotd relay: %s\n", error->message);
      return g_error_matches (error, RTCBOTD_ERROR, RTCBOTD_ERROR_USAGE) ? EXIT_USAGE
                                                                         : EXIT_INTERNAL;
    }
  return EXIT_OK;
}

int
rtcbotd_relay_command_run (int argc, char **argv)
{
  Relay relay = { 0 };
  g_autoptr (GError) error = NULL;
  RtcbotdSignals *signals;
  int status;

  if (!parse_options (&relay, &argc, &argv, &error))
    {
      g_printerr ("rtcbotd relay: %s (see rtcbotd relay --help)\n", error->message);
      status = EXIT_USAGE;
      goto out;
    }
  rtcbotd_log_install (relay.verbose);
  relay.loop = g_main_loop_new (NULL, FALSE);
  relay.notify = rtcbotd_notify_new ();
  signals = rtcbotd_signals_new (relay.loop, relay.notify, on_reload_signal, &relay);
  if ((status = start (&relay)) == EXIT_OK)
    {
      rtcbotd_notify_ready (relay.notify, "relay");
      g_main_loop_run (relay.loop);
    }
  rtcbotd_signals_free (signals);
  g_clear_pointer (&relay.server, rtcbotd_relay_server_free);
  g_clear_pointer (&relay.notify, rtcbotd_notify_free);
  g_clear_pointer (&relay.loop, g_main_loop_unref);
out:
  g_free (relay.listen);
  g_free (relay.secrets);
  g_free (relay.tls_certificate);
  g_free (relay.tls_key);
  return status;
}
