/* rtcbotd-input-event.h — Linux input events as RTCBot-shaped JSON.
 *
 * Turns a struct input_event into the dictionary RTCBot's inputs module
 * produces: {"timestamp": seconds, "code": "ABS_X", "state": 127,
 * "event": "Absolute"}, with the names of the `inputs` package ("Key",
 * "Absolute", "Relative", "Misc", "Sync", ...). SYN_REPORT is dropped, as
 * RTCBot's default filter does. Also a reader for raw records arriving on any
 * fd (a pipe, a socket, a FIFO), which is how tests feed events without
 * /dev/uinput. Pure apart from libevdev's static name tables.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <linux/input.h>

G_BEGIN_DECLS

/** Returns @event as RTCBot-shaped JSON, or NULL for events RTCBot filters out. */
JsonNode *rtcbotd_input_event_to_json (const struct input_event *event);

typedef struct _RtcbotdInputRecords RtcbotdInputRecords;

/** Creates an assembler of struct input_event records from a byte stream. */
RtcbotdInputRecords *rtcbotd_input_records_new (void);

/** Frees @self. */
void rtcbotd_input_records_free (RtcbotdInputRecords *self);

/** Appends @size bytes; returns the complete records now available (may be empty). */
GArray *rtcbotd_input_records_feed (RtcbotdInputRecords *self, const guint8 *data, gsize size);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdInputRecords, rtcbotd_input_records_free)

G_END_DECLS
