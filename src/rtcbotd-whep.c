/* rtcbotd-whep.c — WHEP (RFC 9725): any WHEP player watches one source. */
#include "rtcbotd-whep.h"

#include <string.h>

#include "rtcbotd-daemon.h"
#include "rtcbotd-error.h"
#include "rtcbotd-http.h"
#include "rtcbotd-ice-server.h"
#include "rtcbotd-sdp.h"
#include "rtcbotd-sdpfrag.h"

#define SDP_TYPE "application/sdp"
#define SDPFRAG_TYPE "application/trickle-ice-sdpfrag"

typedef struct
{
  char *id;     /* the last path segment of its Location */
  char *source; /* the source it watches */
  guint peer_id;
  char *etag;      /* quoted, as sent */
  char *ufrag;     /* the client's ICE ufrag, from the offer */
  GPtrArray *mids; /* of char *, the offer's a=mid values by m-line (NULL entries allowed) */
} Session;

struct _RtcbotdWhep
{
  RtcbotdDaemon *daemon;
  const RtcbotdConfig *config;
  GHashTable *sessions; /* id → Session */
  GPtrArray *pending;   /* of Post: offers being answered */
  gboolean freed;       /* rtcbotd_whep_free() came while offers were pending */
};

typedef struct
{
  RtcbotdWhep *whep;
  SoupServerMessage *msg;
  char *source;
  char *offer;
  gboolean replied; /* refused when the WHEP resource went away; the answer is too late */
} Post;

static void
session_free (Session *session)
{
  g_free (session->id);
  g_free (session->source);
  g_free (session->etag);
  g_free (session->ufrag);
  g_ptr_array_unref (session->mids);
  g_free (session);
}

RtcbotdWhep *
rtcbotd_whep_new (RtcbotdDaemon *daemon, const RtcbotdConfig *config)
{
  RtcbotdWhep *self = g_new0 (RtcbotdWhep, 1);

  self->daemon = daemon;
  self->config = config;
  self->sessions
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)session_free);
  self->pending = g_ptr_array_new ();
  return self;
}

void
rtcbotd_whep_set_config (RtcbotdWhep *self, const RtcbotdConfig *config)
{
  self->config = config;
}

static void
really_free (RtcbotdWhep *self)
{
  g_hash_table_unref (self->sessions);
  g_ptr_array_unref (self->pending);
  g_free (self);
}

static void fail (SoupServerMessage *msg, guint status, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

/* The offers still waiting for their answer get a 503 now: their clients
 * would otherwise wait for a reply that never comes. */
void
rtcbotd_whep_refuse_pending (RtcbotdWhep *self)
{
  for (guint i = 0; i < self->pending->len; i++)
    {
      Post *post = self->pending->pdata[i];
      if (post->replied)
        continue;
      post->replied = TRUE;
      if (rtcbotd_http_is_gone (post->msg))
        continue;
      soup_message_headers_replace (soup_server_message_get_response_headers (post->msg),
                                    "Retry-After", "5");
      fail (post->msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
            "rtcbotd is stopping; the offer was not answered");
      soup_server_message_unpause (post->msg);
    }
}

void
rtcbotd_whep_free (RtcbotdWhep *self)
{
  if (!self)
    return;
  rtcbotd_whep_refuse_pending (self);
  if (self->pending->len)
    self->freed = TRUE; /* the last answer frees it */
  else
    really_free (self);
}

gboolean
rtcbotd_whep_owns_path (const char *path)
{
  return g_str_equal (path, "/whep") || g_str_has_prefix (path, "/whep/");
}

/* Forgets the sessions whose peer has gone (closed by DELETE, a timeout, a reload). */
static void
prune (RtcbotdWhep *self)
{
  GHashTableIter iter;
  Session *session;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&session))
    if (!rtcbotd_daemon_find_peer (self->daemon, session->peer_id))
      g_hash_table_iter_remove (&iter);
}

guint
rtcbotd_whep_get_n_sessions (RtcbotdWhep *self)
{
  prune (self);
  return g_hash_table_size (self->sessions);
}

/* Browser players fetch from other origins: every reply says who may read what. */
static void
add_cors (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (h, "Access-Control-Allow-Origin", "*");
  soup_message_headers_replace (h, "Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS");
  soup_message_headers_replace (h, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, If-Match");
  soup_message_headers_replace (h, "Access-Control-Expose-Headers", "Location, ETag, Link");
}

/* RFC 9725 §4.6: one Link header per STUN/TURN server, TURN with its credentials. */
static void
add_links (RtcbotdWhep *self, SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  for (guint i = 0; i < self->config->ice_servers->len; i++)
    {
      const RtcbotdIceServer *server = self->config->ice_servers->pdata[i];
      g_autofree char *url = rtcbotd_ice_server_to_url (server);
      g_autofree char *link = NULL;

      if (server->scheme == RTCBOTD_ICE_STUN)
        link = g_strdup_printf ("<%s>; rel=\"ice-server\"", url);
      else
        link = g_strdup_printf ("<%s>; rel=\"ice-server\"; username=\"%s\"; credential=\"%s\"; "
                                "credential-type=\"password\"",
                                url, server->username, server->credential);
      soup_message_headers_append (h, "Link", link);
    }
}

static void
fail (SoupServerMessage *msg, guint status, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  add_cors (msg);
  rtcbotd_http_reply_error (msg, status, message);
}

/* TRUE when @msg's Content-Type is @type (parameters such as charset aside). */
static gboolean
has_type (SoupServerMessage *msg, const char *type)
{
  const char *given
      = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);

  return given && g_ascii_strcasecmp (given, type) == 0;
}

/* The sources a WHEP player may watch: those routed to peers. */
static char *
watchable (RtcbotdWhep *self)
{
  g_autoptr (GString) names = g_string_new (NULL);

  for (guint i = 0; i < self->config->sources->len; i++)
    {
      const RtcbotdSourceConfig *s = self->config->sources->pdata[i];
      if (rtcbotd_config_source_routed_to_peers (self->config, s->name))
        g_string_append_printf (names, "%s%s", names->len ? ", " : "", s->name);
    }
  return g_string_free (g_steal_pointer (&names), FALSE);
}

/* The offer's ICE ufrag (the first one: BUNDLE shares it) and its a=mid values by m-line. */
static void
read_offer (const char *offer, char **ufrag, GPtrArray *mids)
{
  g_auto (GStrv) lines = g_strsplit (offer, "\n", 0);

  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strchomp (lines[i]);
      if (g_str_has_prefix (line, "m="))
        g_ptr_array_add (mids, NULL);
      else if (g_str_has_prefix (line, "a=mid:") && mids->len > 0 && !mids->pdata[mids->len - 1])
        mids->pdata[mids->len - 1] = g_strdup (line + 6);
      else if (g_str_has_prefix (line, "a=ice-ufrag:") && !*ufrag)
        *ufrag = g_strdup (line + 12);
    }
}

static Session *
session_new (Post *post, guint peer_id)
{
  Session *session = g_new0 (Session, 1);
  g_autofree char *uuid = g_uuid_string_random ();

  session->id = g_strdup (uuid);
  session->source = g_strdup (post->source);
  session->peer_id = peer_id;
  session->etag = g_strdup_printf ("\"%08x\"", g_random_int ());
  session->mids = g_ptr_array_new_with_free_func (g_free);
  read_offer (post->offer, &session->ufrag, session->mids);
  return session;
}

static void
post_free (Post *post)
{
  g_object_unref (post->msg);
  g_free (post->source);
  g_free (post->offer);
  g_free (post);
}

static void
on_answered (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Post *post = user_data;
  RtcbotdWhep *self = post->whep;
  SoupServerMessage *msg = post->msg;
  g_autoptr (GError) error = NULL;
  guint peer_id = 0;
  g_autofree char *answer
      = rtcbotd_daemon_answer_sdp_finish (RTCBOTD_DAEMON (object), result, &peer_id, &error);

  g_ptr_array_remove_fast (self->pending, post);
  if (post->replied || rtcbotd_http_is_gone (msg))
    {
      if (answer)
        rtcbotd_daemon_close_peer (RTCBOTD_DAEMON (object), peer_id, "its WHEP client went away");
    }
  else if (!answer)
    {
      if (rtcbotd_http_status_for (error) == SOUP_STATUS_SERVICE_UNAVAILABLE)
        soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                      "5");
      fail (msg, rtcbotd_http_status_for (error), "%s", error->message);
    }
  else
    {
      Session *session = session_new (post, peer_id);
      SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
      g_autofree char *location = g_strdup_printf ("/whep/%s/%s", session->source, session->id);

      g_hash_table_insert (self->sessions, session->id, session);
      soup_message_headers_replace (h, "Location", location);
      soup_message_headers_replace (h, "ETag", session->etag);
      add_links (self, msg);
      add_cors (msg);
      rtcbotd_http_reply (msg, SOUP_STATUS_CREATED, SDP_TYPE, answer, strlen (answer));
      g_message ("peer %u: WHEP session %s watches [source %s]", peer_id, session->id,
                 session->source);
    }
  if (!post->replied && !rtcbotd_http_is_gone (msg))
    soup_server_message_unpause (msg);
  post_free (post);
  if (self->freed && self->pending->len == 0)
    really_free (self);
}

static void
serve_post (RtcbotdWhep *self, SoupServerMessage *msg, const char *source, GBytes *body,
            RtcbotdRole role, GInetAddress *local)
{
  gsize length;
  const char *data = g_bytes_get_data (body, &length);
  const RtcbotdSourceConfig *config = rtcbotd_config_find_source (self->config, source);
  Post *post;

  if (!config || !rtcbotd_config_source_routed_to_peers (self->config, source))
    {
      g_autofree char *names = watchable (self);
      fail (msg, SOUP_STATUS_NOT_FOUND, "no source \"%s\" is sent to peers; WHEP serves: %s",
            source, *names ? names : "nothing (no source is routed to peers)");
      return;
    }
  if (!has_type (msg, SDP_TYPE))
    {
      fail (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "a WHEP offer is sent as " SDP_TYPE);
      return;
    }
  if (length == 0 || memchr (data, '\0', length) || !g_utf8_validate (data, length, NULL))
    {
      fail (msg, SOUP_STATUS_BAD_REQUEST, "the offer is not SDP text");
      return;
    }
  post = g_new0 (Post, 1);
  post->whep = self;
  post->msg = g_object_ref (msg);
  post->source = g_strdup (source);
  post->offer = g_strndup (data, length);
  g_ptr_array_add (self->pending, post);
  soup_server_message_pause (msg);
  rtcbotd_daemon_answer_sdp_async (self->daemon, post->offer, source, local, role, on_answered,
                                   post);
}

/* The offer's m-line of @mid; the fragment's own m= position when it names none. */
static gboolean
mline_of (Session *session, const RtcbotdSdpfragCandidate *c, guint *mline)
{
  if (!c->mid)
    {
      *mline = c->mline;
      return c->mline < session->mids->len;
    }
  for (guint i = 0; i < session->mids->len; i++)
    if (g_strcmp0 (session->mids->pdata[i], c->mid) == 0)
      {
        *mline = i;
        return TRUE;
      }
  return FALSE;
}

static void
serve_patch (RtcbotdWhep *self, SoupServerMessage *msg, Session *session, GBytes *body)
{
  const char *match
      = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "If-Match");
  RtcbotdPeer *peer = rtcbotd_daemon_find_peer (self->daemon, session->peer_id);
  g_autoptr (RtcbotdSdpfrag) frag = NULL;
  g_autoptr (GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (body, &length);
  guint mline;

  if (!has_type (msg, SDPFRAG_TYPE))
    {
      fail (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "a WHEP PATCH is sent as " SDPFRAG_TYPE);
      return;
    }
  if (match && !g_str_equal (match, "*") && !g_str_equal (match, session->etag))
    {
      fail (msg, SOUP_STATUS_PRECONDITION_FAILED, "If-Match %s is not the session's ETag", match);
      return;
    }
  if (!(frag = rtcbotd_sdpfrag_parse (data, length, &error)))
    {
      fail (msg, SOUP_STATUS_BAD_REQUEST, "%s", error->message);
      return;
    }
  if (frag->ufrag && g_strcmp0 (frag->ufrag, session->ufrag) != 0)
    {
      fail (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY,
            "ICE restarts are not supported; DELETE this session and POST a new offer");
      return;
    }
  for (guint i = 0; i < frag->candidates->len; i++)
    if (!mline_of (session, frag->candidates->pdata[i], &mline))
      {
        fail (msg, SOUP_STATUS_BAD_REQUEST, "candidate %u names a=mid:%s, not in the offer", i + 1,
              ((RtcbotdSdpfragCandidate *)frag->candidates->pdata[i])->mid);
        return;
      }
  for (guint i = 0; i < frag->candidates->len; i++)
    {
      const RtcbotdSdpfragCandidate *c = frag->candidates->pdata[i];
      mline_of (session, c, &mline);
      rtcbotd_peer_add_ice_candidate (peer, mline, c->candidate);
    }
  add_cors (msg);
  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
}

static void
serve_delete (RtcbotdWhep *self, SoupServerMessage *msg, Session *session)
{
  g_message ("peer %u: WHEP session %s deleted", session->peer_id, session->id);
  rtcbotd_daemon_close_peer (self->daemon, session->peer_id, "its WHEP session was deleted");
  g_hash_table_remove (self->sessions, session->id);
  add_cors (msg);
  rtcbotd_http_reply (msg, SOUP_STATUS_OK, "text/plain", "", 0);
}

static void
method_not_allowed (SoupServerMessage *msg, const char *allow)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
  fail (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed here; allowed: %s", allow);
}

/* "/whep/SOURCE" or "/whep/SOURCE/SESSION"; FALSE for anything else. */
static gboolean
split_path (const char *path, char **source, char **session)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", 0);
  guint n = g_strv_length (parts); /* "", "whep", SOURCE[, SESSION] */

  if (n < 3 || n > 4 || !*parts[2] || (n == 4 && !*parts[3]))
    return FALSE;
  *source = g_strdup (parts[2]);
  *session = n == 4 ? g_strdup (parts[3]) : NULL;
  return TRUE;
}

void
rtcbotd_whep_handle (RtcbotdWhep *self, SoupServerMessage *msg, const char *path, GBytes *body,
                     RtcbotdRole role, GInetAddress *local)
{
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *source = NULL;
  g_autofree char *id = NULL;
  Session *session = NULL;

  prune (self);
  if (!split_path (path, &source, &id))
    {
      fail (msg, SOUP_STATUS_NOT_FOUND, "WHEP lives at /whep/SOURCE");
      return;
    }
  if (id
      && (!(session = g_hash_table_lookup (self->sessions, id))
          || !g_str_equal (session->source, source)))
    {
      fail (msg, SOUP_STATUS_NOT_FOUND, "no WHEP session %s (it ended, or never was)", id);
      return;
    }
  if (g_str_equal (method, "OPTIONS"))
    {
      add_cors (msg);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    id ? "PATCH, DELETE, OPTIONS" : "POST, OPTIONS");
      soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
    }
  else if (!id && g_str_equal (method, "POST"))
    serve_post (self, msg, source, body, role, local);
  else if (id && g_str_equal (method, "PATCH"))
    serve_patch (self, msg, session, body);
  else if (id && g_str_equal (method, "DELETE"))
    serve_delete (self, msg, session);
  else
    method_not_allowed (msg, id ? "PATCH, DELETE, OPTIONS" : "POST, OPTIONS");
}
