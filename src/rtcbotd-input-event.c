/* rtcbotd-input-event.c — Linux input events as RTCBot-shaped JSON.
 *
 * Names: the event type as the `inputs` package spells it (its EVENT_TYPES
 * table), the code as libevdev spells it, which is the kernel's macro name
 * and, for codes with aliases, the same one `inputs` ends up with (0x130 is
 * "BTN_SOUTH", not "BTN_GAMEPAD"). `inputs` raises UnknownEventCode on a code
 * it has no name for; we cannot stop reading for that, so such a code is
 * named "UNKNOWN_<type>_<code>" in decimal ("UNKNOWN_1_767") and a type
 * without a name is "Unknown".
 */
#include "rtcbotd-input-event.h"

#include <libevdev/libevdev.h>
#include <string.h>

struct _RtcbotdInputRecords
{
  guint8 partial[sizeof (struct input_event)];
  gsize partial_len;
};

/* The `inputs` package's EVENT_TYPES. */
static const char *const event_types[EV_CNT] = {
  [EV_SYN] = "Sync",         [EV_KEY] = "Key",   [EV_REL] = "Relative",
  [EV_ABS] = "Absolute",     [EV_MSC] = "Misc",  [EV_SW] = "Switch",
  [EV_LED] = "LED",          [EV_SND] = "Sound", [EV_REP] = "Repeat",
  [EV_FF] = "ForceFeedback", [EV_PWR] = "Power", [EV_FF_STATUS] = "ForceFeedbackStatus",
  [EV_MAX] = "Max",
};

static const char *
event_type_name (guint16 type)
{
  return type < EV_CNT && event_types[type] ? event_types[type] : "Unknown";
}

JsonNode *
rtcbotd_input_event_to_json (const struct input_event *event)
{
  g_autoptr (JsonBuilder) builder = NULL;
  g_autofree char *unknown = NULL;
  const char *code;

  if (event->type == EV_SYN && event->code == SYN_REPORT)
    return NULL;
  code = libevdev_event_code_get_name (event->type, event->code);
  if (!code)
    code = unknown = g_strdup_printf ("UNKNOWN_%u_%u", event->type, event->code);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "timestamp");
  json_builder_add_double_value (builder, (double)event->input_event_sec
                                              + (double)event->input_event_usec / 1e6);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "state");
  json_builder_add_int_value (builder, event->value);
  json_builder_set_member_name (builder, "event");
  json_builder_add_string_value (builder, event_type_name (event->type));
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

RtcbotdInputRecords *
rtcbotd_input_records_new (void)
{
  return g_new0 (RtcbotdInputRecords, 1);
}

void
rtcbotd_input_records_free (RtcbotdInputRecords *self)
{
  g_free (self);
}

/* The returned array is new and the caller's (g_array_unref). A record split
 * across feeds waits in @self until its last byte arrives. */
GArray *
rtcbotd_input_records_feed (RtcbotdInputRecords *self, const guint8 *data, gsize size)
{
  const gsize record = sizeof (struct input_event);
  GArray *records = g_array_sized_new (FALSE, FALSE, record, (self->partial_len + size) / record);

  if (self->partial_len > 0)
    {
      gsize take = MIN (record - self->partial_len, size);

      memcpy (self->partial + self->partial_len, data, take);
      self->partial_len += take;
      data += take;
      size -= take;
      if (self->partial_len < record)
        return records;
      g_array_append_vals (records, self->partial, 1);
      self->partial_len = 0;
    }
  g_array_append_vals (records, data, size / record);
  self->partial_len = size % record;
  if (self->partial_len > 0)
    memcpy (self->partial, data + size - self->partial_len, self->partial_len);
  return records;
}
