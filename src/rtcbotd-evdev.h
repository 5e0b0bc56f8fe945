/* rtcbotd-evdev.h — a message source reading a Linux input device.
 *
 * Reads [source NAME] type = evdev: a gamepad, keyboard or mouse at `device`
 * (best a /dev/input/by-id/... link, which survives replugging), read with
 * libevdev and optionally grabbed, and emits every event as RTCBot's Python
 * inputs module shapes it ({"timestamp", "code", "state", "event"}, see
 * rtcbotd-input-event.h). `device` may also be a FIFO or a unix stream
 * socket carrying raw struct input_event records, so another program (or a
 * test, as there is no /dev/uinput everywhere) can feed events. A device
 * that is missing, unreadable or unplugged marks the source down with the
 * cause and is retried with backoff (500 ms doubling to 10 s), so a device
 * plugged in later is picked up. Created by the daemon from the
 * configuration, which outlives it; main context only.
 */
#pragma once

#include "rtcbotd-endpoint.h"

G_BEGIN_DECLS

#define RTCBOTD_TYPE_EVDEV (rtcbotd_evdev_get_type ())
G_DECLARE_FINAL_TYPE (RtcbotdEvdev, rtcbotd_evdev, RTCBOTD, EVDEV, RtcbotdEndpoint)

/** Creates the source for @config (type evdev), which must outlive it; start() opens it. */
RtcbotdEndpoint *rtcbotd_evdev_new (const RtcbotdEndpointConfig *config);

G_END_DECLS
