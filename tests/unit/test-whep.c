/* test-whep.c — WHEP requests on a local SoupServer, answered by a daemon that was never
 * started (its offers fail fast, on a later main-context iteration, as answers do). */
#include <libsoup/soup.h>
#include <string.h>

#include "rtcbotd-daemon.h"
#include "rtcbotd-whep.h"
#include "test-utils.h"

static const char config_text[] = "[source camera]\ntype = test-video\n"
                                  "[route media]\nfrom = camera\nto = peers\n";

typedef struct
{
  RtcbotdDaemon *daemon;
  RtcbotdWhep *whep;
  SoupServer *server;
  SoupSession *session;
  char *url;
  gboolean free_after_post; /* frees the WHEP resource right after it took a POST */
  guint status;             /* of the client's reply, once there is one */
  char *body;
} Fixture;

/* Main context: the server hands the request to WHEP, as the daemon's HTTP server does. */
static void
on_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr (GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));

  rtcbotd_whep_handle (f->whep, msg, path, body, RTCBOTD_ROLE_DRIVER, NULL);
  if (f->free_after_post)
    g_clear_pointer (&f->whep, rtcbotd_whep_free);
}

static void
setup (Fixture *f, gconstpointer data)
{
  RtcbotdConfig *config = rtcbotd_test_config_ok (config_text);

  f->daemon = rtcbotd_daemon_new (config);
  f->whep = rtcbotd_whep_new (f->daemon, config);
  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, "/whep", on_request, f, NULL);
  f->url
      = g_strdup_printf ("http://127.0.0.1:%u/whep/camera", rtcbotd_test_listen_local (f->server));
  f->session = soup_session_new ();
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->session);
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_clear_pointer (&f->whep, rtcbotd_whep_free);
  g_clear_object (&f->daemon);
  g_free (f->url);
  g_free (f->body);
}

/* Main context: the client's reply. */
static void
on_reply (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body
      = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);

  g_assert_no_error (error);
  f->status = soup_message_get_status (soup_session_get_async_result_message (f->session, result));
  f->body = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

static gboolean
has_reply (gpointer data)
{
  return ((Fixture *)data)->body != NULL;
}

/* POSTs @offer as a WHEP client does and waits for the reply (5 s at most). */
static void
post (Fixture *f, const char *offer)
{
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", f->url);
  g_autoptr (GBytes) body = g_bytes_new_static (offer, strlen (offer));

  soup_message_set_request_body_from_bytes (msg, "application/sdp", body);
  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, on_reply, f);
  g_assert_true (rtcbotd_test_wait_until (has_reply, f, 5000));
}

/* The machinery itself: an offer that is no SDP is refused with 400, after the daemon tried. */
static void
test_bad_offer (Fixture *f, gconstpointer data)
{
  post (f, "hello");
  g_assert_cmpuint (f->status, ==, SOUP_STATUS_BAD_REQUEST);
  g_assert_nonnull (strstr (f->body, "\"error\""));
}

/* Freed while an offer waits for its answer (the daemon stopping): the client gets a 503
 * with a JSON error at once, not a request that never ends. */
static void
test_freed_while_answering (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) json = NULL;

  f->free_after_post = TRUE;
  post (f, "hello");
  g_assert_null (f->whep);
  g_assert_cmpuint (f->status, ==, SOUP_STATUS_SERVICE_UNAVAILABLE);
  json = rtcbotd_test_parse_json (f->body);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json), "error"), ==,
                   "rtcbotd is stopping; the offer was not answered");
  /* The late answer (a refusal here) frees what was left. */
  rtcbotd_test_run_for (50);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/whep/bad-offer", Fixture, NULL, setup, test_bad_offer, teardown);
  g_test_add ("/whep/freed-while-answering", Fixture, NULL, setup, test_freed_while_answering,
              teardown);
  return g_test_run ();
}
