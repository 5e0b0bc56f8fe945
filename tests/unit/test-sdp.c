/* test-sdp.c — offer parsing, codec choice, aiortc BUNDLE rewriting, mDNS
 * candidate removal and msid insertion. */
#include <string.h>

#include "rtcbotd-error.h"
#include "rtcbotd-sdp.h"

/* A Chromium offer: one set of ICE credentials for every bundled m-line and
 * mDNS host candidates. */
static const char chromium_offer[]
    = "v=0\r\n"
      "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
      "s=-\r\n"
      "t=0 0\r\n"
      "a=group:BUNDLE 0 1 2\r\n"
      "a=extmap-allow-mixed\r\n"
      "a=msid-semantic: WMS\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103\r\n"
      "c=IN IP4 0.0.0.0\r\n"
      "a=rtcp:9 IN IP4 0.0.0.0\r\n"
      "a=candidate:1467250027 1 udp 2122260223 3f2c8e1a-8e2b-4f5e-9c1d-2a7b6c5d4e3f.local 54400 "
      "typ host generation 0 network-id 1\r\n"
      "a=candidate:842163049 1 udp 1677729535 203.0.113.7 54400 typ srflx raddr 0.0.0.0 rport 0 "
      "generation 0 network-id 1\r\n"
      "a=ice-ufrag:Xk3b\r\n"
      "a=ice-pwd:Pq8nR2vT5wY7zA1cE4gH6jK9\r\n"
      "a=ice-options:trickle\r\n"
      "a=setup:actpass\r\n"
      "a=mid:0\r\n"
      "a=recvonly\r\n"
      "a=rtcp-mux\r\n"
      "a=rtpmap:96 VP8/90000\r\n"
      "a=rtpmap:97 rtx/90000\r\n"
      "a=fmtp:97 apt=96\r\n"
      "a=rtpmap:102 H264/90000\r\n"
      "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
      "a=rtpmap:103 rtx/90000\r\n"
      "a=fmtp:103 apt=102\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
      "c=IN IP4 0.0.0.0\r\n"
      "a=candidate:1467250027 1 udp 2122260223 3f2c8e1a-8e2b-4f5e-9c1d-2a7b6c5d4e3f.local 54401 "
      "typ host generation 0 network-id 1\r\n"
      "a=candidate:3 1 tcp 1518280447 192.0.2.10 9 typ host tcptype active generation 0\r\n"
      "a=ice-ufrag:Xk3b\r\n"
      "a=ice-pwd:Pq8nR2vT5wY7zA1cE4gH6jK9\r\n"
      "a=mid:1\r\n"
      "a=recvonly\r\n"
      "a=rtpmap:111 opus/48000/2\r\n"
      "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
      "c=IN IP4 0.0.0.0\r\n"
      "a=ice-ufrag:Xk3b\r\n"
      "a=ice-pwd:Pq8nR2vT5wY7zA1cE4gH6jK9\r\n"
      "a=mid:2\r\n"
      "a=sctp-port:5000\r\n";

static char *
read_data (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", name, NULL);
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* Splits SDP text into sections of lines: [0] the session, [1..] the m-lines. */
static GPtrArray *
split_sections (const char *sdp)
{
  g_auto (GStrv) lines = g_strsplit (sdp, "\n", -1);
  GPtrArray *sections = g_ptr_array_new_with_free_func ((GDestroyNotify)g_ptr_array_unref);

  g_ptr_array_add (sections, g_ptr_array_new_with_free_func (g_free));
  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strchomp (lines[i]);
      if (*line == '\0')
        continue;
      if (g_str_has_prefix (line, "m="))
        g_ptr_array_add (sections, g_ptr_array_new_with_free_func (g_free));
      g_ptr_array_add (sections->pdata[sections->len - 1], g_strdup (line));
    }
  return sections;
}

/* Returns the lines of section @i of @sections that start with @prefix (or,
 * with @keep FALSE, all those that do not), joined with '\n'. */
static char *
section_lines (GPtrArray *sections, guint i, const char *prefix, gboolean keep)
{
  GPtrArray *lines = sections->pdata[i];
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint l = 0; l < lines->len; l++)
    if (g_str_has_prefix (lines->pdata[l], prefix) == keep)
      g_string_append_printf (out, "%s\n", (char *)lines->pdata[l]);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Returns @text with every line ended by CRLF, minus the lines in @drop. */
static char *
crlf_without (const char *text, const char *const *drop)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strchomp (lines[i]);
      if (*line != '\0' && !g_strv_contains (drop, line))
        g_string_append_printf (out, "%s\r\n", line);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
assert_crlf (const char *text)
{
  for (const char *p = strchr (text, '\n'); p; p = strchr (p + 1, '\n'))
    g_assert_true (p > text && p[-1] == '\r');
  g_assert_true (g_str_has_suffix (text, "\r\n"));
}

static void
expect_parse_error (const char *text, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdSdp) sdp = rtcbotd_sdp_parse (text, &error);

  g_assert_null (sdp);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, message);
}

static RtcbotdSdp *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  RtcbotdSdp *sdp = rtcbotd_sdp_parse (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (sdp);
  return sdp;
}

static const RtcbotdSdpCodec *
media_codec (const RtcbotdSdp *sdp, guint m, guint c)
{
  const RtcbotdSdpMedia *media = sdp->media->pdata[m];

  g_assert_cmpuint (c, <, media->codecs->len);
  return media->codecs->pdata[c];
}

static void
test_parse_errors (void)
{
  g_autoptr (GString) many = g_string_new ("v=0\n");
  g_autofree char *long_line = g_strnfill (100, 'x');
  g_autofree char *long_text = g_strconcat ("v=0\n", long_line, "\n", NULL);
  g_autofree char *long_message = NULL;

  expect_parse_error ("", "SDP line 1: an SDP description starts with \"v=0\": \"\"");
  expect_parse_error ("\r\n\r\nv=1\r\n", "SDP line 3: an SDP description starts with \"v=0\": "
                                         "\"v=1\"");
  expect_parse_error ("o=- 1 1 IN IP4 0.0.0.0\nv=0\n",
                      "SDP line 1: an SDP description starts with \"v=0\": \"o=- 1 1 IN IP4 "
                      "0.0.0.0\"");
  expect_parse_error ("v=0\nhello\n", "SDP line 2: not a \"x=value\" SDP line: \"hello\"");
  expect_parse_error ("v=0\r\ns=-\r\nM=video 9 RTP/AVP 96\r\n",
                      "SDP line 3: not a \"x=value\" SDP line: \"M=video 9 RTP/AVP 96\"");
  expect_parse_error ("v=0\nm=video 9 RTP/AVP\n",
                      "SDP line 2: not an m-line of the form \"m=KIND PORT PROTO FORMAT...\": "
                      "\"m=video 9 RTP/AVP\"");
  expect_parse_error ("v=0\nm=video 70000 RTP/AVP 96\n",
                      "SDP line 2: not an m-line of the form \"m=KIND PORT PROTO FORMAT...\": "
                      "\"m=video 70000 RTP/AVP 96\"");
  expect_parse_error ("v=0\nm= 9 RTP/AVP 96\n",
                      "SDP line 2: not an m-line of the form \"m=KIND PORT PROTO FORMAT...\": "
                      "\"m= 9 RTP/AVP 96\"");
  expect_parse_error ("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\na=group:BUNDLE 0\n",
                      "the SDP has no m-line: it offers neither media nor a data channel");

  long_message = g_strdup_printf ("SDP line 2: not a \"x=value\" SDP line: \"%.60s\"", long_line);
  expect_parse_error (long_text, long_message);

  for (guint i = 0; i < 32; i++)
    g_string_append_printf (many, "m=audio 9 RTP/AVP 0\na=mid:%u\n", i);
  g_autoptr (RtcbotdSdp) sdp = parse_ok (many->str);
  g_assert_cmpuint (sdp->media->len, ==, 32);
  g_string_append (many, "m=audio 9 RTP/AVP 8\n");
  expect_parse_error (many->str, "SDP line 66: more m-lines than the 32 rtcbotd accepts: "
                                 "\"m=audio 9 RTP/AVP 8\"");
}

static void
test_parse_error_not_utf8 (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RtcbotdSdp) sdp = rtcbotd_sdp_parse ("v=0\n\xff\xfe=x\n", &error);

  g_assert_null (sdp);
  g_assert_error (error, RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_true (g_str_has_prefix (error->message, "SDP line 2: not a \"x=value\" SDP line: "));
}

/* Found by fuzz-sdp: "a=rtpmap:96 " (a payload type, then nothing) read past
 * the end of the split name; an offer with it must parse and name no codec. */
static void
test_parse_rtpmap_without_name (void)
{
  g_autoptr (RtcbotdSdp) sdp = parse_ok ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                                         "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
                                         "a=rtpmap:96 \r\na=rtpmap:97 /\r\n"
                                         "a=recvonly\r\n");
  const RtcbotdSdpMedia *video = sdp->media->pdata[0];

  g_assert_null (rtcbotd_sdp_media_find_codec (video, RTCBOTD_CODEC_VP8));
  g_assert_null (rtcbotd_sdp_media_find_codec (video, RTCBOTD_CODEC_H264));
}

static void
test_parse_codecs (void)
{
  g_autoptr (RtcbotdSdp) sdp
      = parse_ok ("v=0\r\n"
                  "o=- 1 1 IN IP4 0.0.0.0\r\n"
                  "s=-\r\n"
                  "t=0 0\r\n"
                  "a=sendonly\r\n"
                  "m=video 9 UDP/TLS/RTP/SAVPF 102 96 35 0\r\n"
                  "a=mid:video0\r\n"
                  "a=sendrecv\r\n"
                  "a=rtpmap:96 VP8/90000\r\n"
                  "a=rtpmap:102 H264/90000\r\n"
                  "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n"
                  "a=rtpmap:35 AV1/90000\r\n"
                  "a=rtpmap:120 ghost/90000\r\n"
                  "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"
                  "a=mid:a\r\n"
                  "a=sendonly\r\n"
                  "a=rtpmap:111 opus/48000/2\r\n"
                  "m=video 9/2 RTP/AVP 96\r\n"
                  "a=inactive\r\n"
                  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                  "a=mid:data\r\n");
  const RtcbotdSdpMedia *video, *audio, *inactive, *data;
  const RtcbotdSdpCodec *codec;

  g_assert_cmpuint (sdp->media->len, ==, 4);
  video = sdp->media->pdata[0];
  audio = sdp->media->pdata[1];
  inactive = sdp->media->pdata[2];
  data = sdp->media->pdata[3];

  g_assert_cmpstr (video->kind, ==, "video");
  g_assert_cmpstr (video->mid, ==, "video0");
  g_assert_false (video->rejected);
  g_assert_true (video->wants_receive);
  g_assert_true (video->wants_send);
  g_assert_cmpuint (video->codecs->len, ==, 4);
  codec = media_codec (sdp, 0, 0);
  g_assert_cmpuint (codec->pt, ==, 102);
  g_assert_cmpstr (codec->name, ==, "H264");
  g_assert_cmpuint (codec->clock_rate, ==, 90000);
  g_assert_cmpstr (codec->fmtp, ==, "packetization-mode=1;profile-level-id=42e01f");
  codec = media_codec (sdp, 0, 1);
  g_assert_cmpuint (codec->pt, ==, 96);
  g_assert_cmpstr (codec->name, ==, "VP8");
  g_assert_null (codec->fmtp);
  g_assert_cmpstr (media_codec (sdp, 0, 2)->name, ==, "AV1");
  /* A static payload type without rtpmap keeps no name. */
  g_assert_cmpuint (media_codec (sdp, 0, 3)->pt, ==, 0);
  g_assert_null (media_codec (sdp, 0, 3)->name);

  g_assert_cmpstr (audio->kind, ==, "audio");
  g_assert_true (audio->rejected);
  g_assert_false (audio->wants_receive);
  g_assert_true (audio->wants_send);
  codec = media_codec (sdp, 1, 0);
  g_assert_cmpstr (codec->name, ==, "opus");
  g_assert_cmpuint (codec->clock_rate, ==, 48000);

  g_assert_null (inactive->mid);
  g_assert_false (inactive->rejected);
  g_assert_false (inactive->wants_receive);
  g_assert_false (inactive->wants_send);

  g_assert_cmpstr (data->kind, ==, "application");
  g_assert_cmpstr (data->mid, ==, "data");
  g_assert_cmpuint (data->codecs->len, ==, 0);
  /* No direction of its own: the session-level a=sendonly applies. */
  g_assert_false (data->wants_receive);
  g_assert_true (data->wants_send);
}

/* What a peer may send us: any H.264 profile in packetization mode 0 or 1. */
static void
test_find_receivable (void)
{
  g_autoptr (RtcbotdSdp) sdp
      = parse_ok ("v=0\r\n"
                  "m=video 9 UDP/TLS/RTP/SAVPF 100 102 104 96\r\n"
                  "a=recvonly\r\n"
                  "a=rtpmap:100 H264/90000\r\n"
                  "a=fmtp:100 packetization-mode=2;profile-level-id=42e01f\r\n"
                  "a=rtpmap:102 H264/90000\r\n"
                  "a=fmtp:102 packetization-mode=1;profile-level-id=64001f\r\n"
                  "a=rtpmap:104 VP8/48000\r\n"
                  "a=rtpmap:96 VP8/90000\r\n"
                  "m=audio 9 UDP/TLS/RTP/SAVPF 0 111\r\n"
                  "a=rtpmap:111 OPUS/48000/2\r\n");
  const RtcbotdSdpMedia *video = sdp->media->pdata[0], *audio = sdp->media->pdata[1];

  g_assert_true (video->wants_receive);
  g_assert_false (video->wants_send);
  /* High profile cannot be sent (the encoders make baseline) but can be recorded. */
  g_assert_null (rtcbotd_sdp_media_find_codec (video, RTCBOTD_CODEC_H264));
  g_assert_cmpuint (rtcbotd_sdp_media_find_receivable (video, RTCBOTD_CODEC_H264)->pt, ==, 102);
  g_assert_cmpuint (rtcbotd_sdp_media_find_receivable (video, RTCBOTD_CODEC_VP8)->pt, ==, 96);
  g_assert_null (rtcbotd_sdp_media_find_receivable (video, RTCBOTD_CODEC_OPUS));
  g_assert_true (audio->wants_receive && audio->wants_send);
  g_assert_cmpuint (rtcbotd_sdp_media_find_receivable (audio, RTCBOTD_CODEC_OPUS)->pt, ==, 111);
}

static void
test_parse_aiortc (void)
{
  g_autofree char *offer = read_data ("aiortc-offer.sdp");
  g_autoptr (RtcbotdSdp) sdp = parse_ok (offer);
  const RtcbotdSdpMedia *video, *audio, *data;

  g_assert_cmpuint (sdp->media->len, ==, 3);
  video = sdp->media->pdata[0];
  audio = sdp->media->pdata[1];
  data = sdp->media->pdata[2];
  g_assert_cmpstr (video->kind, ==, "video");
  g_assert_cmpstr (video->mid, ==, "0");
  g_assert_true (video->wants_receive);
  g_assert_cmpuint (video->codecs->len, ==, 6);
  g_assert_cmpuint (rtcbotd_sdp_media_find_codec (video, RTCBOTD_CODEC_VP8)->pt, ==, 97);
  g_assert_cmpuint (rtcbotd_sdp_media_find_codec (video, RTCBOTD_CODEC_H264)->pt, ==, 99);
  g_assert_null (rtcbotd_sdp_media_find_codec (video, RTCBOTD_CODEC_OPUS));
  g_assert_cmpstr (audio->mid, ==, "1");
  g_assert_true (audio->wants_receive);
  g_assert_cmpuint (rtcbotd_sdp_media_find_codec (audio, RTCBOTD_CODEC_OPUS)->pt, ==, 96);
  g_assert_cmpstr (data->kind, ==, "application");
  g_assert_cmpstr (data->mid, ==, "2");
}

/* Parses one video m-line with payload types 96, 97, 98 and @attributes, and
 * returns the payload type find_codec picks for @codec, or -1. */
static gint
pick (const char *attributes, RtcbotdCodec codec)
{
  g_autofree char *text
      = g_strconcat ("v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96 97 98\n", attributes, NULL);
  g_autoptr (RtcbotdSdp) sdp = parse_ok (text);
  const RtcbotdSdpCodec *found = rtcbotd_sdp_media_find_codec (sdp->media->pdata[0], codec);

  return found ? (gint)found->pt : -1;
}

static void
test_find_codec_h264 (void)
{
  const RtcbotdCodec h264 = RTCBOTD_CODEC_H264;

  g_assert_cmpint (pick ("a=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1\n", h264), ==, 96);
  g_assert_cmpint (pick ("a=rtpmap:96 H264/90000\n"
                         "a=fmtp:96 packetization-mode=1;profile-level-id=42001f\n",
                         h264),
                   ==, 96);
  g_assert_cmpint (pick ("a=rtpmap:96 h264/90000\n"
                         "a=fmtp:96 profile-level-id=42E01F; Packetization-Mode=1\n",
                         h264),
                   ==, 96);
  g_assert_cmpint (pick ("a=rtpmap:96 H264/90000\n", h264), ==, -1);
  g_assert_cmpint (pick ("a=rtpmap:96 H264/90000\na=fmtp:96 profile-level-id=42e01f\n", h264), ==,
                   -1);
  g_assert_cmpint (pick ("a=rtpmap:96 H264/90000\n"
                         "a=fmtp:96 packetization-mode=0;profile-level-id=42e01f\n",
                         h264),
                   ==, -1);
  g_assert_cmpint (pick ("a=rtpmap:96 H264/90000\n"
                         "a=fmtp:96 packetization-mode=1;profile-level-id=640c1f\n",
                         h264),
                   ==, -1);
  g_assert_cmpint (pick ("a=rtpmap:96 H264/90000\n"
                         "a=fmtp:96 packetization-mode=1;profile-level-id=4d001f\n",
                         h264),
                   ==, -1);
  g_assert_cmpint (pick ("a=rtpmap:96 H264/90000\n"
                         "a=fmtp:96 packetization-mode=1;profile-level-id=42e01\n",
                         h264),
                   ==, -1);
  g_assert_cmpint (pick ("a=rtpmap:96 H264/8000\na=fmtp:96 packetization-mode=1\n", h264), ==, -1);
  /* The first acceptable one in the m-line's order wins. */
  g_assert_cmpint (pick ("a=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=0\n"
                         "a=rtpmap:97 H264/90000\n"
                         "a=fmtp:97 packetization-mode=1;profile-level-id=640c1f\n"
                         "a=rtpmap:98 H264/90000\n"
                         "a=fmtp:98 packetization-mode=1;profile-level-id=42e01f\n",
                         h264),
                   ==, 98);
  g_assert_cmpint (pick ("a=rtpmap:97 H264/90000\na=fmtp:97 packetization-mode=1\n"
                         "a=rtpmap:98 H264/90000\na=fmtp:98 packetization-mode=1\n",
                         h264),
                   ==, 97);
}

static void
test_find_codec_vp8_opus (void)
{
  g_assert_cmpint (pick ("a=rtpmap:97 VP8/90000\n", RTCBOTD_CODEC_VP8), ==, 97);
  g_assert_cmpint (pick ("a=rtpmap:96 VP9/90000\na=rtpmap:98 vp8/90000\n", RTCBOTD_CODEC_VP8), ==,
                   98);
  g_assert_cmpint (pick ("a=rtpmap:97 VP8/48000\n", RTCBOTD_CODEC_VP8), ==, -1);
  g_assert_cmpint (pick ("a=rtpmap:97 VP8/90000\n", RTCBOTD_CODEC_H264), ==, -1);
  g_assert_cmpint (pick ("a=rtpmap:96 opus/48000/2\n", RTCBOTD_CODEC_OPUS), ==, 96);
  g_assert_cmpint (pick ("a=rtpmap:96 OPUS/48000\n", RTCBOTD_CODEC_OPUS), ==, 96);
  g_assert_cmpint (
      pick ("a=rtpmap:96 opus/16000/1\na=rtpmap:97 opus/48000/2\n", RTCBOTD_CODEC_OPUS), ==, 97);
  g_assert_cmpint (pick ("a=rtpmap:96 opus/16000/1\n", RTCBOTD_CODEC_OPUS), ==, -1);
  g_assert_cmpint (pick ("", RTCBOTD_CODEC_VP8), ==, -1);
  g_assert_cmpstr (rtcbotd_codec_to_string (RTCBOTD_CODEC_H264), ==, "H264");
  g_assert_cmpstr (rtcbotd_codec_to_string (RTCBOTD_CODEC_VP8), ==, "VP8");
  g_assert_cmpstr (rtcbotd_codec_to_string (RTCBOTD_CODEC_OPUS), ==, "opus");
  g_assert_cmpstr (rtcbotd_codec_to_string (RTCBOTD_CODEC_NONE), ==, "none");
}

/* Returns section @i of @sections without its ICE credentials and candidates. */
static char *
section_rest (GPtrArray *sections, guint i)
{
  GPtrArray *lines = sections->pdata[i];
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint l = 0; l < lines->len; l++)
    {
      const char *line = lines->pdata[l];
      if (!g_str_has_prefix (line, "a=ice-ufrag:") && !g_str_has_prefix (line, "a=ice-pwd:")
          && !g_str_has_prefix (line, "a=candidate:"))
        g_string_append_printf (out, "%s\n", line);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
check_aiortc_prepared (const char *offer)
{
  g_autofree char *prepared = rtcbotd_sdp_prepare_offer (offer);
  g_autoptr (GPtrArray) in = split_sections (offer);
  g_autoptr (GPtrArray) out = split_sections (prepared);
  g_autofree char *ufrag = section_lines (in, 1, "a=ice-ufrag:", TRUE);
  g_autofree char *pwd = section_lines (in, 1, "a=ice-pwd:", TRUE);
  g_autofree char *candidates = section_lines (in, 1, "a=candidate:", TRUE);
  g_autofree char *follower_ufrag = section_lines (in, 2, "a=ice-ufrag:", TRUE);

  assert_crlf (prepared);
  g_assert_cmpuint (in->len, ==, 4);
  g_assert_cmpuint (out->len, ==, in->len);
  /* aiortc gives each m-line its own credentials: that is what gets fixed. */
  g_assert_cmpstr (follower_ufrag, !=, ufrag);
  g_assert_nonnull (strstr (candidates, "a=candidate:"));
  for (guint i = 0; i < out->len; i++)
    {
      g_autofree char *out_ufrag = section_lines (out, i, "a=ice-ufrag:", TRUE);
      g_autofree char *out_pwd = section_lines (out, i, "a=ice-pwd:", TRUE);
      g_autofree char *out_candidates = section_lines (out, i, "a=candidate:", TRUE);
      g_autofree char *rest_in = section_rest (in, i);
      g_autofree char *rest_out = section_rest (out, i);

      g_assert_cmpstr (out_ufrag, ==, i == 0 ? "" : ufrag);
      g_assert_cmpstr (out_pwd, ==, i == 0 ? "" : pwd);
      /* The first m-line keeps its candidates, the followers lose theirs. */
      g_assert_cmpstr (out_candidates, ==, i == 1 ? candidates : "");
      /* Everything else is untouched, in order. */
      g_assert_cmpstr (rest_out, ==, rest_in);
    }
}

static void
test_prepare_aiortc (void)
{
  g_autofree char *offer = read_data ("aiortc-offer.sdp");
  g_auto (GStrv) lines = g_strsplit (offer, "\n", -1);
  g_autofree char *crlf = g_strjoinv ("\r\n", lines);
  g_autofree char *from_lf = rtcbotd_sdp_prepare_offer (offer);
  g_autofree char *from_crlf = rtcbotd_sdp_prepare_offer (crlf);
  g_autofree char *twice = rtcbotd_sdp_prepare_offer (from_lf);

  check_aiortc_prepared (offer);
  g_assert_cmpstr (from_crlf, ==, from_lf);
  /* A prepared offer is stable and still parses. */
  g_assert_cmpstr (twice, ==, from_lf);
  g_autoptr (RtcbotdSdp) sdp = parse_ok (from_lf);
  g_assert_cmpuint (sdp->media->len, ==, 3);
}

static void
test_prepare_chromium (void)
{
  const char *const mdns[]
      = { "a=candidate:1467250027 1 udp 2122260223 3f2c8e1a-8e2b-4f5e-9c1d-2a7b6c5d4e3f.local "
          "54400 typ host generation 0 network-id 1",
          "a=candidate:1467250027 1 udp 2122260223 3f2c8e1a-8e2b-4f5e-9c1d-2a7b6c5d4e3f.local "
          "54401 typ host generation 0 network-id 1",
          NULL };
  g_autofree char *prepared = rtcbotd_sdp_prepare_offer (chromium_offer);
  g_autofree char *expected = crlf_without (chromium_offer, mdns);

  g_assert_cmpuint (strlen (expected), <, strlen (chromium_offer));
  g_assert_cmpstr (prepared, ==, expected);
  g_assert_null (strstr (prepared, ".local "));
  /* Real addresses stay, in every section. */
  g_assert_nonnull (strstr (prepared, " 203.0.113.7 54400 typ srflx "));
  g_assert_nonnull (strstr (prepared, " 192.0.2.10 9 typ host tcptype active "));
}

static void
test_prepare_unbundled (void)
{
  /* Only m-lines listed in the BUNDLE group take the first one's credentials. */
  const char *offer = "v=0\n"
                      "a=group:BUNDLE a b\n"
                      "m=video 9 RTP/AVP 96\na=mid:a\na=ice-ufrag:AAAA\na=ice-pwd:aaaa\n"
                      "a=candidate:1 1 udp 1 192.0.2.1 1000 typ host\n"
                      "m=audio 9 RTP/AVP 111\na=mid:b\na=ice-ufrag:BBBB\na=ice-pwd:bbbb\n"
                      "a=candidate:2 1 udp 1 192.0.2.1 1001 typ host\n"
                      "m=audio 9 RTP/AVP 111\na=mid:c\na=ice-ufrag:CCCC\na=ice-pwd:cccc\n"
                      "a=candidate:3 1 udp 1 192.0.2.1 1002 typ host\n";
  const char *expected
      = "v=0\r\n"
        "a=group:BUNDLE a b\r\n"
        "m=video 9 RTP/AVP 96\r\na=mid:a\r\na=ice-ufrag:AAAA\r\na=ice-pwd:aaaa\r\n"
        "a=candidate:1 1 udp 1 192.0.2.1 1000 typ host\r\n"
        "m=audio 9 RTP/AVP 111\r\na=mid:b\r\na=ice-ufrag:AAAA\r\na=ice-pwd:aaaa\r\n"
        "m=audio 9 RTP/AVP 111\r\na=mid:c\r\na=ice-ufrag:CCCC\r\na=ice-pwd:cccc\r\n"
        "a=candidate:3 1 udp 1 192.0.2.1 1002 typ host\r\n";
  const char *no_bundle = "v=0\n"
                          "m=video 9 RTP/AVP 96\na=mid:a\na=ice-ufrag:AAAA\na=ice-pwd:aaaa\n"
                          "a=candidate:1 1 udp 1 192.0.2.1 1000 typ host\n"
                          "m=audio 9 RTP/AVP 111\na=mid:b\na=ice-ufrag:BBBB\na=ice-pwd:bbbb\n"
                          "a=candidate:2 1 udp 1 192.0.2.1 1001 typ host\n";
  const char *drop[] = { NULL };
  g_autofree char *prepared = rtcbotd_sdp_prepare_offer (offer);
  g_autofree char *unchanged = rtcbotd_sdp_prepare_offer (no_bundle);
  g_autofree char *no_bundle_crlf = crlf_without (no_bundle, drop);

  g_assert_cmpstr (prepared, ==, expected);
  g_assert_cmpstr (unchanged, ==, no_bundle_crlf);
}

static void
test_prepare_line_endings (void)
{
  g_autofree char *mixed = rtcbotd_sdp_prepare_offer ("v=0\ns=-\r\n\r\n\nm=audio 9 RTP/AVP 0\r\n"
                                                      "a=candidate:1 1 udp 1 robot.local 9 typ "
                                                      "host\na=mid:0");
  g_autofree char *empty = rtcbotd_sdp_prepare_offer ("");

  g_assert_cmpstr (mixed, ==, "v=0\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n");
  g_assert_cmpstr (empty, ==, "");
}

static const char answer[] = "v=0\r\n"
                             "o=- 1 2 IN IP4 127.0.0.1\r\n"
                             "s=-\r\n"
                             "t=0 0\r\n"
                             "a=group:BUNDLE 0 1 2\r\n"
                             "a=msid-semantic:WMS rtcbotd\r\n"
                             "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
                             "a=mid:0\r\n"
                             "a=sendonly\r\n"
                             "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
                             "a=mid:1\r\n"
                             "a=msid:other audio-track\r\n"
                             "a=sendonly\r\n"
                             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                             "a=mid:2\r\n";

static void
test_add_msid (void)
{
  const char *const tracks[] = { "video0", "audio0", "data" };
  const char *const last_only[] = { NULL, NULL, "data" };
  g_autofree char *two = rtcbotd_sdp_add_msid (answer, "rtcbotd", tracks, NULL, 2);
  g_autofree char *last = rtcbotd_sdp_add_msid (answer, "s", last_only, NULL, 3);
  g_autofree char *none = rtcbotd_sdp_add_msid (answer, "rtcbotd", NULL, NULL, 0);
  g_autofree char *lf = NULL;
  g_auto (GStrv) lf_lines = g_strsplit (answer, "\r\n", -1);
  g_autofree char *lf_answer = g_strjoinv ("\n", lf_lines);

  /* Added at the end of the m-section, not where an a=msid already is. */
  g_assert_cmpstr (two, ==,
                   "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n"
                   "a=msid-semantic:WMS rtcbotd\r\n"
                   "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\n"
                   "a=msid:rtcbotd video0\r\n"
                   "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=msid:other audio-track\r\n"
                   "a=sendonly\r\n"
                   "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n");
  g_assert_true (g_str_has_suffix (last, "a=mid:2\r\na=msid:s data\r\n"));
  g_assert_cmpuint (strlen (last), ==, strlen (answer) + strlen ("a=msid:s data\r\n"));
  g_assert_cmpstr (none, ==, answer);
  lf = rtcbotd_sdp_add_msid (lf_answer, "rtcbotd", tracks, NULL, 2);
  g_assert_cmpstr (lf, ==, two);
}

/* Two tracks with one payload type are told apart by their SSRC lines. */
static void
test_add_ssrc (void)
{
  const char *const tracks[] = { "cam1", "cam2", NULL };
  const guint ssrcs[] = { 11, 0, 33 };
  g_autofree char *out = rtcbotd_sdp_add_msid (answer, "rtcbotd", tracks, ssrcs, 3);

  g_assert_nonnull (strstr (out, "a=mid:0\r\na=sendonly\r\na=msid:rtcbotd cam1\r\n"
                                 "a=ssrc:11 cname:rtcbotd\r\na=ssrc:11 msid:rtcbotd cam1\r\n"
                                 "m=audio"));
  /* No SSRC given, or no track on the m-line: no ssrc line. */
  g_assert_null (strstr (out, "a=ssrc:0"));
  g_assert_null (strstr (out, "a=ssrc:33"));
}

/* webrtcbin names the track's SSRCs (media and RTX) after itself: they get the track's names. */
static void
test_add_msid_rewrites_ssrc (void)
{
  const char *const tracks[] = { "cam" };
  const guint ssrcs[] = { 11 };
  const char *in = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:0\r\n"
                   "a=ssrc-group:FID 11 12\r\na=ssrc:11 msid:user1@host webrtctransceiver0\r\n"
                   "a=ssrc:11 cname:user1@host\r\na=ssrc:12 msid:user1@host webrtctransceiver0\r\n"
                   "a=ssrc:12 cname:user1@host\r\n";
  g_autofree char *out = rtcbotd_sdp_add_msid (in, "rtcbotd", tracks, ssrcs, 1);

  g_assert_cmpstr (out, ==,
                   "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:0\r\n"
                   "a=ssrc-group:FID 11 12\r\na=ssrc:11 msid:rtcbotd cam\r\n"
                   "a=ssrc:11 cname:rtcbotd\r\na=ssrc:12 msid:rtcbotd cam\r\n"
                   "a=ssrc:12 cname:rtcbotd\r\na=msid:rtcbotd cam\r\n");
}

/* goog-remb comes back where it was offered (per m-line and payload type,
 * never for rtx), transport-cc goes, the rest stays. */
static void
test_answer_feedback (void)
{
  const char *offer = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\na=mid:0\r\n"
                      "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\n"
                      "a=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 nack\r\n"
                      "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
                      "a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\n"
                      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n";
  const char *reply = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:0\r\n"
                      "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
                      "a=rtcp-fb:96 transport-cc\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
                      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n"
                      "a=rtcp-fb:96 transport-cc\r\n";
  g_autofree char *out = rtcbotd_sdp_answer_feedback (reply, offer);

  g_assert_cmpstr (out, ==,
                   "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:0\r\n"
                   "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 nack\r\n"
                   "a=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
                   "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n");
  /* Nothing offered (or an offer that is not SDP): only transport-cc goes. */
  g_free (out);
  out = rtcbotd_sdp_answer_feedback (reply, "junk");
  g_assert_null (strstr (out, "goog-remb"));
  g_assert_null (strstr (out, "transport-cc"));
  g_assert_nonnull (strstr (out, "a=rtcp-fb:96 nack pli\r\n"));
}

/* The data section says how long a message may be, once. */
static void
test_answer_max_message_size (void)
{
  const char *reply = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n"
                      "a=sctp-port:5000\r\n";
  g_autofree char *out = rtcbotd_sdp_answer_feedback (reply, "v=0\r\n");
  g_autofree char *again = rtcbotd_sdp_answer_feedback (out, "v=0\r\n");

  g_assert_cmpstr (out, ==,
                   "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n"
                   "a=sctp-port:5000\r\na=max-message-size:65536\r\n");
  g_assert_cmpstr (again, ==, out);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sdp/parse/errors", test_parse_errors);
  g_test_add_func ("/sdp/add-ssrc", test_add_ssrc);
  g_test_add_func ("/sdp/parse/not-utf8", test_parse_error_not_utf8);
  g_test_add_func ("/sdp/parse/codecs", test_parse_codecs);
  g_test_add_func ("/sdp/parse/rtpmap-without-name", test_parse_rtpmap_without_name);
  g_test_add_func ("/sdp/parse/aiortc", test_parse_aiortc);
  g_test_add_func ("/sdp/find-receivable", test_find_receivable);
  g_test_add_func ("/sdp/find-codec/h264", test_find_codec_h264);
  g_test_add_func ("/sdp/find-codec/vp8-opus", test_find_codec_vp8_opus);
  g_test_add_func ("/sdp/prepare/aiortc", test_prepare_aiortc);
  g_test_add_func ("/sdp/prepare/chromium", test_prepare_chromium);
  g_test_add_func ("/sdp/prepare/unbundled", test_prepare_unbundled);
  g_test_add_func ("/sdp/prepare/line-endings", test_prepare_line_endings);
  g_test_add_func ("/sdp/add-msid", test_add_msid);
  g_test_add_func ("/sdp/add-msid/ssrc-lines", test_add_msid_rewrites_ssrc);
  g_test_add_func ("/sdp/answer-feedback", test_answer_feedback);
  g_test_add_func ("/sdp/answer-max-message-size", test_answer_max_message_size);

  return g_test_run ();
}
