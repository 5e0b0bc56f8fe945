/* rtcbotd-route.c — one message route at run time: map, failsafe, counters. */
#include "rtcbotd-route.h"

struct _RtcbotdRoute
{
  const RtcbotdRouteConfig *config;
  RtcbotdRouteDeliverFunc func;
  gpointer user_data;
  RtcbotdMap *map; /* this route's own state; NULL without a map */
  guint driver;    /* origin of the last input, 0 for none */
  GArray *origins; /* of guint: every origin whose input it carried since the last failsafe */
  gboolean armed;  /* input carried since the last failsafe */
  guint failsafe_id;
  guint confirm_id;
  gint64 last_input; /* monotonic µs */
  guint64 in;
  guint64 out;
  guint64 unmatched; /* messages the map had no use for */
  guint64 failsafes;
};

RtcbotdRoute *
rtcbotd_route_new (const RtcbotdRouteConfig *config, RtcbotdRouteDeliverFunc func,
                   gpointer user_data)
{
  RtcbotdRoute *self = g_new0 (RtcbotdRoute, 1);

  self->config = config;
  self->func = func;
  self->user_data = user_data;
  self->origins = g_array_new (FALSE, FALSE, sizeof (guint));
  if (config->map)
    self->map = rtcbotd_map_copy (config->map);
  return self;
}

void
rtcbotd_route_free (RtcbotdRoute *self)
{
  if (!self)
    return;
  g_clear_handle_id (&self->failsafe_id, g_source_remove);
  g_clear_handle_id (&self->confirm_id, g_source_remove);
  g_clear_pointer (&self->map, rtcbotd_map_free);
  g_array_unref (self->origins);
  g_free (self);
}

const RtcbotdRouteConfig *
rtcbotd_route_get_config (RtcbotdRoute *self)
{
  return self->config;
}

guint
rtcbotd_route_get_driver (RtcbotdRoute *self)
{
  return self->driver;
}

/* The position of @origin in the set of origins that fed the route, or -1. */
static gint
find_origin (RtcbotdRoute *self, guint origin)
{
  for (guint i = 0; i < self->origins->len; i++)
    if (g_array_index (self->origins, guint, i) == origin)
      return (gint)i;
  return -1;
}

static gboolean on_silence (gpointer user_data);

/* Runs the silence timer until @deadline; one timer per silence, not per message. */
static void
wait_until (RtcbotdRoute *self, gint64 deadline)
{
  gint64 left_ms = (deadline - g_get_monotonic_time () + 999) / 1000;

  self->failsafe_id = g_timeout_add (MAX (left_ms, 1), on_silence, self);
}

/* Fires the failsafe if input is still missing; else waits for the new deadline. */
static gboolean
on_confirm (gpointer user_data)
{
  RtcbotdRoute *self = user_data;
  gint64 deadline = self->last_input + self->config->failsafe_ms * (gint64)1000;
  g_autofree char *why = NULL;

  self->confirm_id = 0;
  if (g_get_monotonic_time () < deadline)
    {
      wait_until (self, deadline);
      return G_SOURCE_REMOVE;
    }
  why = g_strdup_printf ("no input for %u ms", self->config->failsafe_ms);
  rtcbotd_route_fail_safe (self, why, FALSE);
  return G_SOURCE_REMOVE;
}

/* The timer may come due together with input already waiting on the main
 * context (after the loop was held up); an idle added now runs after what is
 * ready, so that input counts before the failsafe is decided. */
static gboolean
on_silence (gpointer user_data)
{
  RtcbotdRoute *self = user_data;

  self->failsafe_id = 0;
  self->confirm_id = g_idle_add_full (G_PRIORITY_DEFAULT, on_confirm, self, NULL);
  return G_SOURCE_REMOVE;
}

static void
arm (RtcbotdRoute *self)
{
  if (!self->config->failsafe)
    return;
  self->armed = TRUE;
  self->last_input = g_get_monotonic_time ();
  if (!self->failsafe_id && !self->confirm_id)
    wait_until (self, self->last_input + self->config->failsafe_ms * (gint64)1000);
}

void
rtcbotd_route_push (RtcbotdRoute *self, JsonNode *message, guint origin)
{
  g_autoptr (JsonNode) mapped = NULL;

  self->in++;
  if (self->map && !(mapped = rtcbotd_map_apply_from (self->map, message, origin)))
    {
      self->unmatched++;
      return;
    }
  if (find_origin (self, origin) < 0)
    g_array_append_val (self->origins, origin);
  self->driver = origin;
  arm (self);
  self->out++;
  self->func (self, mapped ? mapped : message, self->user_data);
}

void
rtcbotd_route_keep_alive (RtcbotdRoute *self, guint origin)
{
  if (self->armed && origin && find_origin (self, origin) >= 0)
    arm (self);
}

void
rtcbotd_route_release (RtcbotdRoute *self, guint origin, const char *why)
{
  gint index = find_origin (self, origin);
  g_autoptr (JsonNode) command = NULL;

  if (index < 0)
    return;
  g_array_remove_index_fast (self->origins, index);
  if (self->config->failsafe && self->armed)
    {
      rtcbotd_route_fail_safe (self, why, FALSE);
      return;
    }
  /* No failsafe to send: what the origin held is released, and the robot
   * gets the command without it (a held key must not outlive its driver). */
  if (!self->map || !rtcbotd_map_release (self->map, origin))
    return;
  command = rtcbotd_map_get_command (self->map);
  g_message ("[route %s]: released what it held: %s", self->config->name, why);
  if (self->driver == origin)
    self->driver = 0;
  self->out++;
  self->func (self, command, self->user_data);
}

void
rtcbotd_route_fail_safe (RtcbotdRoute *self, const char *why, gboolean always)
{
  if (!self->config->failsafe || (!self->armed && !always))
    return;
  g_clear_handle_id (&self->failsafe_id, g_source_remove);
  g_clear_handle_id (&self->confirm_id, g_source_remove);
  self->armed = FALSE;
  self->driver = 0;
  g_array_set_size (self->origins, 0);
  self->failsafes++;
  if (self->map)
    rtcbotd_map_reset (self->map);
  g_message ("[route %s]: failsafe: %s", self->config->name, why);
  self->out++;
  self->func (self, self->config->failsafe, self->user_data);
}

void
rtcbotd_route_add_health (RtcbotdRoute *self, JsonBuilder *builder)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "in");
  json_builder_add_int_value (builder, self->in);
  json_builder_set_member_name (builder, "out");
  json_builder_add_int_value (builder, self->out);
  json_builder_set_member_name (builder, "unmatched");
  json_builder_add_int_value (builder, self->unmatched);
  json_builder_set_member_name (builder, "failsafes");
  json_builder_add_int_value (builder, self->failsafes);
  if (self->driver && self->driver < RTCBOTD_ORIGIN_ENDPOINT)
    {
      json_builder_set_member_name (builder, "driver");
      json_builder_add_int_value (builder, self->driver);
    }
  json_builder_end_object (builder);
}

void
rtcbotd_route_add_metrics (RtcbotdRoute *self, RtcbotdMetrics *m)
{
  const char *name = self->config->name;

  rtcbotd_metrics_counter (m, "rtcbotd_route_messages_received_total",
                           "Messages the route took from its sources.", self->in, "route", name,
                           NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_route_messages_delivered_total",
                           "Messages the route sent on to its sinks, failsafes included.",
                           self->out, "route", name, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_route_messages_unmatched_total",
                           "Messages the route dropped because its map had no use for them.",
                           self->unmatched, "route", name, NULL);
  rtcbotd_metrics_counter (m, "rtcbotd_route_failsafes_total",
                           "Times the route sent its failsafe message.", self->failsafes, "route",
                           name, NULL);
}
