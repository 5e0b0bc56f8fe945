/* rtcbotd-peer-offer.c — a peer's offer role: the daemon offers, a server answers.
 *
 * RTCBot's "offload to a desktop" pattern has the desktop answer: the peer
 * declares every track (sendonly) and data channel "default" before it
 * offers, waits for complete ICE gathering (non-trickle, as RTCBot), and then
 * takes the answer. From there it connects and sends like an answering peer.
 */
#include <gst/webrtc/webrtc.h>

#include "rtcbotd-encoder.h"
#include "rtcbotd-peer-private.h"
#include "rtcbotd-sdp.h"

/* RTCBot's Python side (aiortc) takes H.264 only in packetization mode 1
 * with a profile it decodes (it matches the profile, not the level); the
 * encoders make constrained baseline. Level 4.2: rtph264pay caps what it
 * accepts at the offered level, and the Pi's encoder makes level 4. */
#define H264_OFFER_PROFILE "42e02a"

/* Gives the offer's codecs the parameters answerers match on: H.264's mode
 * and profile, and Opus's two channels (libwebrtc takes only opus/48000/2). */
static void
offer_codec_parameters (RtcbotdPeer *self, GArray *tracks)
{
  for (guint i = 0; i < tracks->len; i++)
    {
      const RtcbotdPeerTrack *track = &g_array_index (tracks, RtcbotdPeerTrack, i);
      g_autoptr (GstWebRTCRTPTransceiver) transceiver = NULL;
      g_autoptr (GstCaps) caps = NULL;

      if (track->codec == RTCBOTD_CODEC_VP8)
        continue;
      g_signal_emit_by_name (rtcbotd_peer_get_webrtc (self), "get-transceiver", track->mline,
                             &transceiver);
      if (!transceiver)
        continue;
      g_object_get (transceiver, "codec-preferences", &caps, NULL);
      if (!caps)
        continue;
      caps = gst_caps_make_writable (caps);
      if (track->codec == RTCBOTD_CODEC_OPUS)
        gst_caps_set_simple (caps, "encoding-params", G_TYPE_STRING, "2", NULL);
      else
        gst_caps_set_simple (caps, "packetization-mode", G_TYPE_STRING, "1", "profile-level-id",
                             G_TYPE_STRING, H264_OFFER_PROFILE, "level-asymmetry-allowed",
                             G_TYPE_STRING, "1", NULL);
      g_object_set (transceiver, "codec-preferences", caps, NULL);
    }
}

/* Creates data channel "default" (ordered, in-band DCEP: what RTCBot's
 * offerers create) for the channels to carry like one the offerer opened. */
static gboolean
create_default_channel (RtcbotdPeer *self)
{
  g_autoptr (GstStructure) options
      = gst_structure_new ("data-channel-options", "ordered", G_TYPE_BOOLEAN, TRUE, NULL);
  g_autoptr (GstWebRTCDataChannel) channel = NULL;

  g_signal_emit_by_name (rtcbotd_peer_get_webrtc (self), "create-data-channel", "default", options,
                         &channel);
  if (!channel)
    {
      rtcbotd_peer_fail (self, g_error_new (RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA,
                                            "webrtcbin could not create data channel "
                                            "\"default\""));
      return FALSE;
    }
  rtcbotd_channels_adopt (rtcbotd_peer_get_channels (self), channel);
  return TRUE;
}

static void
offer_created (RtcbotdPeer *self, const GstStructure *reply)
{
  GstWebRTCSessionDescription *offer = NULL;

  gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  if (!offer)
    {
      rtcbotd_peer_fail (
          self, g_error_new (RTCBOTD_ERROR, RTCBOTD_ERROR_MEDIA, "webrtcbin created no offer"));
      return;
    }
  rtcbotd_peer_emit_step (self, "set-local-description", offer, rtcbotd_peer_local_set,
                          RTCBOTD_ERROR_MEDIA, "webrtcbin could not apply its offer");
  gst_webrtc_session_description_free (offer);
}

void
rtcbotd_peer_offer_async (RtcbotdPeer *self, GArray *tracks, GInetAddress *local,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  if (!rtcbotd_peer_begin (self, tracks, local, g_task_new (self, NULL, callback, user_data))
      || !rtcbotd_peer_link_branches (self))
    return;
  offer_codec_parameters (self, tracks);
  if (!create_default_channel (self))
    return;
  rtcbotd_peer_emit_step (self, "create-offer", NULL, offer_created, RTCBOTD_ERROR_MEDIA,
                          "webrtcbin could not create an offer");
}

char *
rtcbotd_peer_offer_finish (RtcbotdPeer *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
answer_set (RtcbotdPeer *self, const GstStructure *reply)
{
  g_autoptr (GTask) task = rtcbotd_peer_steal_task (self);

  if (task)
    g_task_return_boolean (task, TRUE);
}

void
rtcbotd_peer_accept_answer_async (RtcbotdPeer *self, const char *answer,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  /* aiortc may give each bundled m-line its own ICE credentials, as in its offers. */
  g_autofree char *prepared = rtcbotd_sdp_prepare_offer (answer);
  GstSDPMessage *sdp = NULL;
  GstWebRTCSessionDescription *description;

  if (!rtcbotd_peer_begin (self, NULL, NULL, g_task_new (self, NULL, callback, user_data)))
    return;
  if (gst_sdp_message_new_from_text (prepared, &sdp) != GST_SDP_OK)
    {
      g_clear_pointer (&sdp, gst_sdp_message_free);
      rtcbotd_peer_fail (self, g_error_new (RTCBOTD_ERROR, RTCBOTD_ERROR_INVALID,
                                            "GStreamer cannot parse the answer's SDP"));
      return;
    }
  description = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
  rtcbotd_peer_emit_step (self, "set-remote-description", description, answer_set,
                          RTCBOTD_ERROR_INVALID, "webrtcbin rejected the answer");
  gst_webrtc_session_description_free (description);
}

gboolean
rtcbotd_peer_accept_answer_finish (RtcbotdPeer *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
