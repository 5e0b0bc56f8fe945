/* test-config-daemon.c — the [daemon] group's access keys: tokens, and TLS
 * certificates made with the openssl command (skipped without it). */
#include <glib/gstdio.h>

#include "rtcbotd-config.h"
#include "rtcbotd-error.h"
#include "test-utils.h"

#define TOKEN_CHARS "; use printable ASCII without spaces, '\"', ',', ';' or '\\'"

static void
test_tokens (void)
{
  g_autoptr (RtcbotdConfig) open = rtcbotd_test_config_ok ("[daemon]\nmax-peers = 2\n");
  g_autoptr (RtcbotdConfig) tokens
      = rtcbotd_test_config_ok ("[daemon]\ntoken = 0123456789abcdef\nviewer-token = watch-only!\n");
  g_autoptr (RtcbotdConfig) told
      = rtcbotd_test_config_ok ("[daemon]\ntoken = 0123456789abcdef\nlisten = 127.0.0.1:9000\n");

  /* The listen default follows the token: loopback only without one. */
  g_assert_cmpstr (open->listen_host, ==, "127.0.0.1");
  g_assert_cmpstr (tokens->listen_host, ==, "0.0.0.0");
  g_assert_cmpuint (tokens->listen_port, ==, 8080);
  g_assert_cmpstr (tokens->token, ==, "0123456789abcdef");
  g_assert_cmpstr (tokens->viewer_token, ==, "watch-only!");
  g_assert_cmpstr (told->listen_host, ==, "127.0.0.1");
  g_assert_cmpuint (told->listen_port, ==, 9000);

  rtcbotd_test_config_error ("[daemon]\ntoken = short\n",
                             "test.conf:2: [daemon] token: 5 characters are too "
                             "few; at least 8 (e.g. the output of openssl rand "
                             "-hex 16)");
  rtcbotd_test_config_error (
      "[daemon]\ntoken = two words here\n",
      "test.conf:2: [daemon] token: character 4 is not accepted" TOKEN_CHARS);
  rtcbotd_test_config_error (
      "[daemon]\ntoken = abcdefgh;ij\n",
      "test.conf:2: [daemon] token: character 9 is not accepted" TOKEN_CHARS);
  rtcbotd_test_config_error (
      "[daemon]\ntoken = \xc3\xa9t\xc3\xa9-token\n",
      "test.conf:2: [daemon] token: character 1 is not accepted" TOKEN_CHARS);
  rtcbotd_test_config_error (
      "[daemon]\ntoken = 0123456789abcdef\nviewer-token = tiny\n",
      "test.conf:3: [daemon] viewer-token: 4 characters are too few; at least 8 (e.g. "
      "the output of openssl rand -hex 16)");
  rtcbotd_test_config_error (
      "[daemon]\nviewer-token = 0123456789abcdef\n",
      "test.conf:2: [daemon] viewer-token: needs token as well (without token everyone "
      "drives)");
  rtcbotd_test_config_error (
      "[daemon]\ntoken = 0123456789abcdef\nviewer-token = 0123456789abcdef\n",
      "test.conf:3: [daemon] viewer-token: must differ from token");
}

/* Writes a self-signed certificate and its key into @dir with the openssl
 * command; FALSE (the test skipped) without it. */
static gboolean
make_certificate (const char *dir, char **cert, char **key)
{
  g_autoptr (GError) error = NULL;
  int status = -1;

  *cert = g_build_filename (dir, "cert.pem", NULL);
  *key = g_build_filename (dir, "key.pem", NULL);
  const char *argv[] = { "openssl",
                         "req",
                         "-x509",
                         "-newkey",
                         "ec",
                         "-pkeyopt",
                         "ec_paramgen_curve:prime256v1",
                         "-nodes",
                         "-days",
                         "2",
                         "-subj",
                         "/CN=localhost",
                         "-keyout",
                         *key,
                         "-out",
                         *cert,
                         NULL };
  if (!g_spawn_sync (NULL, (char **)argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, &error)
      || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_skip ("the openssl command does not run");
      return FALSE;
    }
  return TRUE;
}

static void
expect_tls_error (const char *cert, const char *key, const char *message)
{
  g_autoptr (GString) text = g_string_new ("[daemon]\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdConfig) config = NULL;

  if (cert)
    g_string_append_printf (text, "tls-certificate = %s\n", cert);
  if (key)
    g_string_append_printf (text, "tls-key = %s\n", key);
  config = rtcbotd_config_load_data (text->str, "test.conf", &error);
  g_assert_null (config);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG);
  if (!g_str_has_prefix (error->message, message))
    g_error ("\"%s\" does not start with \"%s\"", error->message, message);
}

static void
test_tls (void)
{
  g_autofree char *dir = g_dir_make_tmp ("rtcbotd-tls-XXXXXX", NULL);
  g_autofree char *cert = NULL, *key = NULL, *text = NULL, *junk = NULL, *message = NULL;
  g_autoptr (RtcbotdConfig) config = NULL;

  if (!make_certificate (dir, &cert, &key))
    return;
  text = g_strdup_printf ("[daemon]\ntls-certificate = %s\ntls-key = %s\n", cert, key);
  config = rtcbotd_test_config_ok (text);
  g_assert_cmpstr (config->tls_certificate, ==, cert);
  g_assert_cmpstr (config->tls_key, ==, key);

  expect_tls_error (cert, NULL,
                    "test.conf:2: [daemon] tls-certificate: needs tls-key as well "
                    "(both or neither)");
  expect_tls_error (NULL, key,
                    "test.conf:2: [daemon] tls-key: needs tls-certificate as well "
                    "(both or neither)");
  expect_tls_error ("/nonexistent/cert.pem", key,
                    "test.conf:2: [daemon] tls-certificate: \"/nonexistent/cert.pem\" is not a "
                    "file");
  expect_tls_error (cert, "/nonexistent/key.pem",
                    "test.conf:3: [daemon] tls-key: \"/nonexistent/key.pem\" is not a file");
  /* Files that exist but hold no certificate, or no key: named, with the TLS library's reason. */
  junk = g_build_filename (dir, "junk.pem", NULL);
  g_assert_true (g_file_set_contents (junk, "not PEM\n", -1, NULL));
  message = g_strdup_printf ("test.conf:2: [daemon] tls-certificate: \"%s\": ", junk);
  expect_tls_error (junk, key, message);
  g_free (message);
  message = g_strdup_printf ("test.conf:3: [daemon] tls-key: \"%s\": ", junk);
  expect_tls_error (cert, junk, message);
  g_free (message);
  message = g_strdup_printf ("test.conf:3: [daemon] tls-key: \"%s\": ", cert);
  expect_tls_error (cert, cert, message); /* the certificate given as its own key */

  g_unlink (junk);
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
}

static void
test_relay (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdConfig) c = rtcbotd_config_load_data (
      "[daemon]\nrelay = wss://relay.example.org/base/my-robot_1\nrelay-secret = 0123456789\n",
      "test.conf", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (c->relay, ==, "wss://relay.example.org/base/my-robot_1");
  g_assert_cmpstr (c->relay_secret, ==, "0123456789");
  g_clear_pointer (&c, rtcbotd_config_free);
  c = rtcbotd_config_load_data ("[daemon]\n", "test.conf", &error);
  g_assert_no_error (error);
  g_assert_null (c->relay);

  rtcbotd_test_config_error (
      "[daemon]\nrelay = http://relay.example.org/robot\n",
      "test.conf:2: [daemon] relay: \"http://relay.example.org/robot\" is "
      "not a ws:// or wss:// URL (e.g. wss://relay.example.org/my-robot-id)");
  rtcbotd_test_config_error ("[daemon]\nrelay = not a url\n",
                             "test.conf:2: [daemon] relay: \"not a url\" is not a ws:// or wss:// "
                             "URL (e.g. wss://relay.example.org/my-robot-id)");
  rtcbotd_test_config_error (
      "[daemon]\nrelay = ws://relay.example.org/robot?secret=x\n",
      "test.conf:2: [daemon] relay: \"ws://relay.example.org/robot?secret=x\""
      ": needs a host, and no user, query or fragment (the secret goes in "
      "relay-secret)");
  rtcbotd_test_config_error ("[daemon]\nrelay = ws://me:pw@relay.example.org/robot\n",
                             "test.conf:2: [daemon] relay: \"ws://me:pw@relay.example.org/robot\""
                             ": needs a host, and no user, query or fragment (the secret goes in "
                             "relay-secret)");
  rtcbotd_test_config_error (
      "[daemon]\nrelay = ws://relay.example.org/\n",
      "test.conf:2: [daemon] relay: \"ws://relay.example.org/\": the path "
      "must end in the robot's id: a robot id has 1 to 128 characters, not 0");
  rtcbotd_test_config_error ("[daemon]\nrelay = ws://relay.example.org\n",
                             "test.conf:2: [daemon] relay: \"ws://relay.example.org\": the path "
                             "must end in the robot's id: there is no path");
  rtcbotd_test_config_error ("[daemon]\nrelay = ws://relay.example.org/r%20b\n",
                             "test.conf:2: [daemon] relay: \"ws://relay.example.org/r%20b\": the "
                             "path must end in the robot's id: a robot id holds letters, digits "
                             "and ._~- only; character 2 is not one");
  rtcbotd_test_config_error ("[daemon]\nrelay-secret = 0123456789\n",
                             "test.conf:2: [daemon] relay-secret: needs relay as well");
  rtcbotd_test_config_error ("[daemon]\nrelay = ws://127.0.0.1:1452/r\nrelay-secret = short\n",
                             "test.conf:3: [daemon] relay-secret: 5 characters are too few; at "
                             "least 8 (e.g. the output of openssl rand -hex 16)");
}

/* [daemon] relay-ca: a PEM file that loads, only with a wss:// relay. */
static void
test_relay_ca (void)
{
  g_autofree char *dir = g_dir_make_tmp ("rtcbotd-relay-ca-XXXXXX", NULL);
  g_autofree char *cert = NULL, *key = NULL, *text = NULL, *junk = NULL;
  g_autoptr (RtcbotdConfig) config = NULL;
  g_autoptr (GError) error = NULL;

  rtcbotd_test_config_error ("[daemon]\nrelay = ws://127.0.0.1:1452/r\nrelay-ca = /x.pem\n",
                             "test.conf:3: [daemon] relay-ca: needs a wss:// relay");
  rtcbotd_test_config_error ("[daemon]\nrelay-ca = /x.pem\n",
                             "test.conf:2: [daemon] relay-ca: needs a wss:// relay");
  rtcbotd_test_config_error ("[daemon]\nrelay = wss://relay.example.org/r\nrelay-ca = "
                             "/nonexistent/ca.pem\n",
                             "test.conf:3: [daemon] relay-ca: \"/nonexistent/ca.pem\" is not a "
                             "file");
  if (!make_certificate (dir, &cert, &key))
    return;
  text = g_strdup_printf ("[daemon]\nrelay = wss://relay.example.org/r\nrelay-ca = %s\n", cert);
  config = rtcbotd_test_config_ok (text);
  g_assert_cmpstr (config->relay_ca, ==, cert);
  g_clear_pointer (&config, rtcbotd_config_free);
  g_free (text);
  junk = g_build_filename (dir, "junk.pem", NULL);
  g_assert_true (g_file_set_contents (junk, "-----BEGIN CERTIFICATE-----\nnot base64\n", -1, NULL));
  text = g_strdup_printf ("[daemon]\nrelay = wss://relay.example.org/r\nrelay-ca = %s\n", junk);
  config = rtcbotd_config_load_data (text, "test.conf", &error);
  g_assert_null (config);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, "test.conf:3: [daemon] relay-ca: \""));
  g_unlink (junk);
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
}

static void
test_message_rate (void)
{
  g_autoptr (RtcbotdConfig) fallback = rtcbotd_test_config_ok ("[daemon]\n");
  g_autoptr (RtcbotdConfig) low
      = rtcbotd_test_config_ok ("[daemon]\nmax-messages-per-second = 50\n");
  g_autoptr (RtcbotdConfig) off
      = rtcbotd_test_config_ok ("[daemon]\nmax-messages-per-second = 0\n");

  g_assert_cmpuint (fallback->max_messages_per_second, ==, 1000);
  g_assert_cmpuint (low->max_messages_per_second, ==, 50);
  g_assert_cmpuint (off->max_messages_per_second, ==, 0);
  rtcbotd_test_config_error ("[daemon]\nmax-messages-per-second = lots\n",
                             "test.conf:2: [daemon] max-messages-per-second: \"lots\" is not a "
                             "whole number");
  rtcbotd_test_config_error ("[daemon]\nmax-messages-per-second = 2000000\n",
                             "test.conf:2: [daemon] max-messages-per-second: 2000000 is out of "
                             "range; accepted: 0..1000000");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/config/tokens", test_tokens);
  g_test_add_func ("/config/tls", test_tls);
  g_test_add_func ("/config/relay", test_relay);
  g_test_add_func ("/config/relay-ca", test_relay_ca);
  g_test_add_func ("/config/message-rate", test_message_rate);
  return g_test_run ();
}
