/* rtcbotd-websocket.h — a message source or sink served at GET /ws/NAME.
 *
 * A [source NAME] or [sink NAME] with type = websocket: any program (a ROS
 * bridge, a script, a dashboard) connects to /ws/NAME on the daemon's HTTP
 * server and exchanges one JSON value per text frame, both ways. What clients
 * send is decoded as data-channel text is (JSON, or else the text as a string)
 * and emitted; what routes send is broadcast to every client. At most
 * RTCBOTD_WEBSOCKET_MAX_CLIENTS clients (more get 503); a frame over 64 KiB
 * ends its connection; binary frames are ignored and counted as dropped.
 * libsoup 3.2 does not bound a message sent in many fragments (3.8 does, and
 * is told to): do not expose the endpoint to clients you do not trust.
 *
 * Outgoing memory is bounded per client. libsoup 3.2 queues what it cannot
 * write without limit and does not say how much it holds, so each client has
 * a queue of its own (config queue-length and overflow) and a message goes to
 * libsoup only when libsoup has written everything it was given and the
 * kernel holds less than RTCBOTD_WEBSOCKET_KERNEL_QUEUE bytes not yet
 * acknowledged by the client. Both are read from the kernel: what libsoup has
 * written is the connection's TCP byte count (TCP_INFO bytes acked plus
 * SIOCOUTQ), compared with the bytes, headers included, handed to libsoup
 * (so the handshake agrees to no permessage-deflate). libsoup therefore holds
 * at most the one frame the kernel took in part, and the daemon holds at most
 * queue-length messages per client (shared between clients) plus that frame.
 * While messages wait, a RETRY_MS timer hands them on as the client reads; a
 * client whose TCP acknowledges nothing for RTCBOTD_WEBSOCKET_STALL_US while
 * messages wait has stopped reading, and its connection is closed at once.
 *
 * Created by the daemon with its HTTP server (it keeps a reference); the
 * handler is installed by start() and removed, every client closed with 1001,
 * by stop(). Main context only.
 */
#pragma once

#include <libsoup/soup.h>

#include "rtcbotd-endpoint.h"

G_BEGIN_DECLS

#define RTCBOTD_TYPE_WEBSOCKET (rtcbotd_websocket_get_type ())
G_DECLARE_FINAL_TYPE (RtcbotdWebsocket, rtcbotd_websocket, RTCBOTD, WEBSOCKET, RtcbotdEndpoint)

/* Clients one endpoint serves at once; more get 503 (or close code 1013 if they race). */
#define RTCBOTD_WEBSOCKET_MAX_CLIENTS 16
/* The largest text frame a client may send. */
#define RTCBOTD_WEBSOCKET_MAX_PAYLOAD (64 * 1024)
/* Bytes a client's kernel send queue may hold before frames wait in ours. */
#define RTCBOTD_WEBSOCKET_KERNEL_QUEUE (128 * 1024)
/* How long a client may acknowledge nothing while messages wait (µs). */
#define RTCBOTD_WEBSOCKET_STALL_US (5 * G_USEC_PER_SEC)

/** Creates the websocket endpoint of @config, to be served by @server at /ws/NAME. */
RtcbotdEndpoint *rtcbotd_websocket_new (const RtcbotdEndpointConfig *config, SoupServer *server);

/** Returns the number of connected clients. */
guint rtcbotd_websocket_get_n_clients (RtcbotdWebsocket *self);

/** Returns the most messages any one client's queue has held since start. */
guint rtcbotd_websocket_get_max_waiting (RtcbotdWebsocket *self);

G_END_DECLS
