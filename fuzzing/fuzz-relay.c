/* fuzz-relay.c — what `rtcbotd relay` and a daemon's relay client read from
 * each other: envelopes (robot -> relay, relay -> robot), robot ids from
 * request paths, secrets files; and what the relay writes must read back. */
#include <string.h>

#include "fuzz-common.h"
#include "rtcbotd-relay-protocol.h"

/* Encodes an envelope of @kind from @m's fields, parses it back, compares. */
static void
round_trip (const RtcbotdRelayMessage *m)
{
  g_autofree char *json = NULL;
  g_autoptr (RtcbotdRelayMessage) back = NULL;

  if (m->kind == RTCBOTD_RELAY_OFFER)
    json = rtcbotd_relay_offer_json (m->request, m->body, m->token);
  else if (m->kind == RTCBOTD_RELAY_ANSWER)
    json = rtcbotd_relay_answer_json (m->request, m->body);
  else
    json = rtcbotd_relay_error_json (m->request, m->status, m->error);
  back = rtcbotd_relay_message_parse (json, strlen (json), NULL);
  /* Strings holding NUL cannot survive C text; everything else must. */
  if (!back || back->kind != m->kind || g_strcmp0 (back->request, m->request) != 0
      || g_strcmp0 (back->body, m->body) != 0 || g_strcmp0 (back->token, m->token) != 0
      || back->status != m->status || g_strcmp0 (back->error, m->error) != 0)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = fuzz_text (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdRelayMessage) m = NULL;
  g_autoptr (GHashTable) secrets = NULL;
  g_autoptr (GError) secrets_error = NULL;
  const char *newline;

  fuzz_quiet ();
  /* Exactly one of a message and an error. */
  m = rtcbotd_relay_message_parse ((const char *)data, size, &error);
  if (!m == !error)
    abort ();
  if (m && m->kind == RTCBOTD_RELAY_ERROR && (m->status < 400 || m->status > 599))
    abort ();
  if (m && strlen (text) == size)
    round_trip (m);
  secrets = rtcbotd_relay_parse_secrets (text, "fuzz.secrets", &secrets_error);
  if (!secrets == !secrets_error)
    abort ();
  if (rtcbotd_relay_check_id (text, NULL)
      && (strlen (text) == 0 || strlen (text) > RTCBOTD_RELAY_MAX_ID
          || strspn (text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-")
                 != strlen (text)))
    abort ();
  /* The first line as a request id, the rest as a body: any text the relay
   * forwards reads back unchanged. */
  if ((newline = strchr (text, '\n')) && g_utf8_validate (text, -1, NULL))
    {
      g_autofree char *request = g_strndup (text, newline - text);
      RtcbotdRelayMessage offer = { RTCBOTD_RELAY_OFFER, request, (char *)newline + 1, NULL };
      RtcbotdRelayMessage failure
          = { RTCBOTD_RELAY_ERROR, request, NULL, NULL, 400 + size % 200, (char *)newline + 1 };
      round_trip (&offer);
      round_trip (&failure);
    }
  return 0;
}
