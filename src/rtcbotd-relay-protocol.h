/* rtcbotd-relay-protocol.h — the relay's wire: ids, secrets files, the envelope.
 *
 * Stateless helpers with no libsoup in them, shared by the relay server
 * (rtcbotd-relay-server.h) and the daemon's relay client
 * (rtcbotd-relay-client.h), and unit-tested with strings. RTCBot's relay
 * protocol forwards an offer and its answer verbatim, one exchange per robot
 * websocket. A robot that asks for the websocket subprotocol
 * RTCBOTD_RELAY_SUBPROTOCOL keeps one socket for many clients: offers and
 * answers then travel in JSON envelopes that carry a request id
 * (docs/protocol.md "Relay").
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The websocket subprotocol of the multiplexing extension. */
#define RTCBOTD_RELAY_SUBPROTOCOL "rtcbotd-relay.1"
/* The largest offer, answer or envelope either side accepts (RTCBot's relay: 8 KiB). */
#define RTCBOTD_RELAY_MAX_MESSAGE (256 * 1024)
/* How long a client's POST waits for the robot's answer, as RTCBot's relay. */
#define RTCBOTD_RELAY_ANSWER_TIMEOUT_S 10
/* The longest robot id. */
#define RTCBOTD_RELAY_MAX_ID 128

typedef enum
{
  RTCBOTD_RELAY_OFFER,  /* relay -> robot: a client's POST body */
  RTCBOTD_RELAY_ANSWER, /* robot -> relay: the answer, returned 200 */
  RTCBOTD_RELAY_ERROR,  /* robot -> relay: a refusal, returned with its status */
} RtcbotdRelayKind;

/* One envelope, decoded. */
typedef struct
{
  RtcbotdRelayKind kind;
  char *request; /* the request id the relay chose */
  char *body;    /* offer: the POST body; answer: the answer text; error: NULL */
  char *token;   /* offer: the token the client presented, or NULL */
  guint status;  /* error: 400..599 */
  char *error;   /* error: the message */
} RtcbotdRelayMessage;

/** Frees @self. */
void rtcbotd_relay_message_free (RtcbotdRelayMessage *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdRelayMessage, rtcbotd_relay_message_free)

/** Checks that @id is 1..RTCBOTD_RELAY_MAX_ID characters of [A-Za-z0-9._~-]. */
gboolean rtcbotd_relay_check_id (const char *id, GError **error);

/** Parses a secrets file's text (lines "ID SECRET", '#' comments); @name is used in messages.
 * Returns id -> secret. */
GHashTable *rtcbotd_relay_parse_secrets (const char *text, const char *name, GError **error);

/** Returns the offer envelope for request @request with POST body @body and @token (may be NULL).
 */
char *rtcbotd_relay_offer_json (const char *request, const char *body, const char *token);

/** Returns the answer envelope for @request carrying the answer text @answer. */
char *rtcbotd_relay_answer_json (const char *request, const char *answer);

/** Returns the error envelope for @request: HTTP @status (400..599) and @message. */
char *rtcbotd_relay_error_json (const char *request, guint status, const char *message);

/** Decodes one envelope of @length bytes; never asserts on what a peer sent. */
RtcbotdRelayMessage *rtcbotd_relay_message_parse (const char *text, gsize length, GError **error);

G_END_DECLS
