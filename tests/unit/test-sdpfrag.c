/* test-sdpfrag.c — WHEP PATCH bodies (RFC 8840 trickle-ICE fragments): what
 * is read, and the errors, including the empty body that once crashed. */
#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-sdpfrag.h"

static void
test_parse (void)
{
  static const char text[] = "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef0123\r\n"
                             "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
                             "a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 typ host\r\n"
                             "m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:v\r\n"
                             "a=candidate:2 1 UDP 2130706431 192.0.2.1 5002 typ host\r\n"
                             "a=end-of-candidates\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdSdpfrag) frag = rtcbotd_sdpfrag_parse (text, strlen (text), &error);
  const RtcbotdSdpfragCandidate *second;

  g_assert_no_error (error);
  g_assert_cmpstr (frag->ufrag, ==, "abcd");
  g_assert_cmpuint (frag->candidates->len, ==, 2);
  second = frag->candidates->pdata[1];
  g_assert_cmpstr (second->mid, ==, "v");
  g_assert_cmpuint (second->mline, ==, 1);
  g_assert_true (g_str_has_prefix (second->candidate, "candidate:2 1 UDP"));
  g_assert_true (frag->end_of_candidates);
}

static void
check_error (const char *text, gsize length, const char *message)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (rtcbotd_sdpfrag_parse (text, length, &error));
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_errors (void)
{
  g_autoptr (GString) many = g_string_new (NULL);

  /* An empty HTTP body arrives as (NULL, 0). */
  check_error (NULL, 0,
               "trickle-ice-sdpfrag line 1: an empty fragment; send the candidates or "
               "the new credentials");
  check_error ("", 0,
               "trickle-ice-sdpfrag line 1: an empty fragment; send the candidates or the "
               "new credentials");
  check_error ("a=candidate:junk", 16,
               "trickle-ice-sdpfrag line 1: not an ICE candidate (candidate:FOUNDATION COMPONENT "
               "TRANSPORT PRIORITY ADDRESS PORT typ TYPE)");
  check_error ("a=ice-ufrag:x\n", 14, "trickle-ice-sdpfrag: a=ice-ufrag and a=ice-pwd go together");
  check_error ("a\0b", 3, "trickle-ice-sdpfrag line 1: not UTF-8 text");
  for (guint i = 0; i <= RTCBOTD_SDPFRAG_MAX_CANDIDATES; i++)
    g_string_append_printf (many, "a=candidate:%u 1 UDP 1 192.0.2.1 %u typ host\n", i, 5000 + i);
  check_error (many->str, many->len,
               "trickle-ice-sdpfrag line 65: too many candidates (at most 64 per request)");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sdpfrag/parse", test_parse);
  g_test_add_func ("/sdpfrag/errors", test_errors);
  return g_test_run ();
}
