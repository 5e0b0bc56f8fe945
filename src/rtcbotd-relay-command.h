/* rtcbotd-relay-command.h — `rtcbotd relay`: options, the relay server, the main loop.
 *
 * The relay is a mode of the rtcbotd binary: `rtcbotd relay [--listen
 * ADDR:PORT] [--secrets FILE] [--tls-certificate FILE --tls-key FILE] [-v]`
 * runs an RtcbotdRelayServer until SIGINT or SIGTERM; SIGHUP loads the
 * secrets file again (a bad file keeps the old one). It tells systemd
 * READY/RELOADING/STOPPING like the daemon does. Called by main.c only; it
 * returns the process's exit code (0, 64 usage, 78 bad secrets file, 70
 * cannot listen).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* RTCBot's rtcbot.dev listens on this port. */
#define RTCBOTD_RELAY_DEFAULT_LISTEN "0.0.0.0:1452"

/** Runs the relay with @argv (argv[0] is "relay"); returns the exit code. */
int rtcbotd_relay_command_run (int argc, char **argv);

G_END_DECLS
