/* rtcbotd-daemon-private.h — the inside of RtcbotdDaemon, shared by its files.
 *
 * rtcbotd-daemon.c runs the daemon (start, reload, stop, peers);
 * rtcbotd-daemon-report.c renders what it reports about itself (/healthz,
 * /metrics, the service manager's status line). Only those files include
 * this header.
 */
#pragma once

#include <gst/gst.h>

#include "rtcbotd-control-plane.h"
#include "rtcbotd-daemon.h"
#include "rtcbotd-http.h"
#include "rtcbotd-relay-client.h"
#include "rtcbotd-sink-set.h"
#include "rtcbotd-trim.h"

G_BEGIN_DECLS

/* How long after the last peer left its threads' memory is trimmed (rtcbotd-trim.h). */
#define RTCBOTD_DAEMON_TRIM_DELAY_MS 500

struct _RtcbotdDaemon
{
  GObject parent;
  RtcbotdConfig *config;
  GstElement *pipeline;
  guint bus_watch_id;
  GPtrArray *sources;    /* of RtcbotdSource, routed to peers */
  GPtrArray *retired;    /* of RtcbotdSource: replaced by a reload, freed once no peer uses them */
  RtcbotdSinkSet *sinks; /* the media sinks: record, speaker, display, gst, rtp */
  guint reap_id;
  guint generation;  /* reloads so far, to name rebuilt sources' elements */
  GHashTable *peers; /* id -> RtcbotdPeer */
  guint next_peer_id;
  RtcbotdControlPlane *control;
  RtcbotdHttp *http;
  guint64 accepted;       /* /connect requests answered */
  guint64 refused_busy;   /* ... refused for max-peers (503) */
  guint64 refused_offer;  /* ... refused for their offer (400) */
  guint64 refused_failed; /* ... that failed here (500) */

  RtcbotdRelayClient *relay; /* [daemon] relay; NULL: none */

  /* Offerer mode: the [peer NAME] groups and their peers, not in "peers". */
  GPtrArray *outbounds;       /* of RtcbotdOutbound, one per [peer NAME] */
  GHashTable *outbound_peers; /* id -> RtcbotdPeer of an outbound, until "closed" */

  RtcbotdTrim *trim; /* malloc_trim() after peers leave */
};

G_END_DECLS
