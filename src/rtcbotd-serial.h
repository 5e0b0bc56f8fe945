/* rtcbotd-serial.h — a serial port as a message source and sink (RTCBot's SerialConnection).
 *
 * Opens the configured tty raw at its baud rate (8N1, no flow control, RTS
 * cleared as RTCBot does), decodes what the microcontroller sends with an
 * RtcbotdSerialDecoder and writes what routes send through a bounded
 * RtcbotdWriter. Writes wait until the port is ready (the start bytes arrived,
 * then delay-write-start passed); commands queued for a port that went away
 * are dropped, never replayed. A missing or unplugged port is reported down
 * with the cause and reopened with backoff. Created by the daemon from a
 * [source]/[sink] group of type serial; main context only.
 */
#pragma once

#include "rtcbotd-endpoint.h"

G_BEGIN_DECLS

#define RTCBOTD_TYPE_SERIAL (rtcbotd_serial_get_type ())
G_DECLARE_FINAL_TYPE (RtcbotdSerial, rtcbotd_serial, RTCBOTD, SERIAL, RtcbotdEndpoint)

/** Creates the serial endpoint of @config (type serial); start() opens the port. */
RtcbotdEndpoint *rtcbotd_serial_new (const RtcbotdEndpointConfig *config);

G_END_DECLS
