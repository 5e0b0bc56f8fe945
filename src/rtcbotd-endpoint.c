/* rtcbotd-endpoint.c — the base class of message sources and sinks. */
#include "rtcbotd-endpoint.h"

typedef struct
{
  const RtcbotdEndpointConfig *config;
  gboolean up;
  char *reason; /* NULL while up */
  RtcbotdEndpointStats stats;
} RtcbotdEndpointPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (RtcbotdEndpoint, rtcbotd_endpoint, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CONFIG,
  N_PROPS
};

enum
{
  SIGNAL_MESSAGE,
  SIGNAL_STATE_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
rtcbotd_endpoint_finalize (GObject *object)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (RTCBOTD_ENDPOINT (object));

  g_free (priv->reason);
  G_OBJECT_CLASS (rtcbotd_endpoint_parent_class)->finalize (object);
}

static void
rtcbotd_endpoint_set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (RTCBOTD_ENDPOINT (object));

  if (id == PROP_CONFIG)
    priv->config = g_value_get_pointer (value);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
}

static void
rtcbotd_endpoint_class_init (RtcbotdEndpointClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rtcbotd_endpoint_finalize;
  object_class->set_property = rtcbotd_endpoint_set_property;
  /* The RtcbotdEndpointConfig; the configuration outlives the endpoint. */
  g_object_class_install_property (
      object_class, PROP_CONFIG,
      g_param_spec_pointer ("config", NULL, NULL,
                            G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  /* A message read from the world; main context. */
  signals[SIGNAL_MESSAGE]
      = g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, JSON_TYPE_NODE | G_SIGNAL_TYPE_STATIC_SCOPE);
  /* The endpoint went up or down; main context. */
  signals[SIGNAL_STATE_CHANGED]
      = g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 0);
}

static void
rtcbotd_endpoint_init (RtcbotdEndpoint *self)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);

  priv->reason = g_strdup ("not started");
}

gboolean
rtcbotd_endpoint_start (RtcbotdEndpoint *self, GError **error)
{
  return RTCBOTD_ENDPOINT_GET_CLASS (self)->start (self, error);
}

void
rtcbotd_endpoint_stop (RtcbotdEndpoint *self)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);

  RTCBOTD_ENDPOINT_GET_CLASS (self)->stop (self);
  /* Stopping is not a failure: no warning, and nothing listens any more. */
  priv->up = FALSE;
  g_free (priv->reason);
  priv->reason = g_strdup ("stopped");
  g_debug ("%s: stopped", priv->config->label);
}

void
rtcbotd_endpoint_send (RtcbotdEndpoint *self, JsonNode *message)
{
  RtcbotdEndpointClass *klass = RTCBOTD_ENDPOINT_GET_CLASS (self);

  if (klass->send)
    klass->send (self, message);
}

void
rtcbotd_endpoint_flush (RtcbotdEndpoint *self, gint64 deadline)
{
  RtcbotdEndpointClass *klass = RTCBOTD_ENDPOINT_GET_CLASS (self);

  if (klass->flush)
    klass->flush (self, deadline);
}

const RtcbotdEndpointConfig *
rtcbotd_endpoint_get_config (RtcbotdEndpoint *self)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);

  return priv->config;
}

const char *
rtcbotd_endpoint_get_name (RtcbotdEndpoint *self)
{
  return rtcbotd_endpoint_get_config (self)->name;
}

const char *
rtcbotd_endpoint_get_label (RtcbotdEndpoint *self)
{
  return rtcbotd_endpoint_get_config (self)->label;
}

gboolean
rtcbotd_endpoint_is_up (RtcbotdEndpoint *self)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);

  return priv->up;
}

const char *
rtcbotd_endpoint_get_reason (RtcbotdEndpoint *self)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);

  return priv->reason;
}

RtcbotdEndpointStats *
rtcbotd_endpoint_get_stats (RtcbotdEndpoint *self)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);

  return &priv->stats;
}

void
rtcbotd_endpoint_emit (RtcbotdEndpoint *self, JsonNode *message)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);

  priv->stats.received++;
  g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, message);
}

void
rtcbotd_endpoint_set_up (RtcbotdEndpoint *self)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);

  if (priv->up)
    return;
  priv->up = TRUE;
  g_clear_pointer (&priv->reason, g_free);
  g_message ("%s: up", priv->config->label);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
}

void
rtcbotd_endpoint_set_down (RtcbotdEndpoint *self, const char *reason)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);
  gboolean was_up = priv->up;

  if (!was_up && g_strcmp0 (priv->reason, reason) == 0)
    return;
  priv->up = FALSE;
  g_free (priv->reason);
  priv->reason = g_strdup (reason);
  g_warning ("%s: down: %s", priv->config->label, reason);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
}

void
rtcbotd_endpoint_add_health (RtcbotdEndpoint *self, JsonBuilder *builder)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);
  RtcbotdEndpointClass *klass = RTCBOTD_ENDPOINT_GET_CLASS (self);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, rtcbotd_endpoint_type_to_string (priv->config->type));
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, priv->up ? "up" : "down");
  if (priv->reason)
    {
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, priv->reason);
    }
  json_builder_set_member_name (builder, "received");
  json_builder_add_int_value (builder, priv->stats.received);
  json_builder_set_member_name (builder, "sent");
  json_builder_add_int_value (builder, priv->stats.sent);
  json_builder_set_member_name (builder, "dropped");
  json_builder_add_int_value (builder, priv->stats.dropped);
  json_builder_set_member_name (builder, "errors");
  json_builder_add_int_value (builder, priv->stats.errors);
  if (klass->add_health)
    klass->add_health (self, builder);
  json_builder_end_object (builder);
}

void
rtcbotd_endpoint_add_metrics (RtcbotdEndpoint *self, RtcbotdMetrics *m)
{
  RtcbotdEndpointPrivate *priv = rtcbotd_endpoint_get_instance_private (self);
  RtcbotdEndpointClass *klass = RTCBOTD_ENDPOINT_GET_CLASS (self);
  const char *type = rtcbotd_endpoint_type_to_string (priv->config->type);

#define LABELS "endpoint", priv->config->name, "type", type, NULL
  rtcbotd_metrics_gauge (m, "rtcbotd_endpoint_up",
                         "1 while the message source or sink works, 0 when it is down "
                         "(/healthz says why).",
                         priv->up, LABELS);
  rtcbotd_metrics_counter (m, "rtcbotd_endpoint_messages_received_total",
                           "Messages read from the world.", priv->stats.received, LABELS);
  rtcbotd_metrics_counter (m, "rtcbotd_endpoint_messages_sent_total", "Messages written out.",
                           priv->stats.sent, LABELS);
  rtcbotd_metrics_counter (m, "rtcbotd_endpoint_messages_dropped_total",
                           "Messages lost: queue overflow, undecodable input, rate limit, no "
                           "device.",
                           priv->stats.dropped, LABELS);
  rtcbotd_metrics_counter (m, "rtcbotd_endpoint_messages_errors_total",
                           "Messages refused because they cannot be encoded (wrong type, out "
                           "of range).",
                           priv->stats.errors, LABELS);
#undef LABELS
  if (klass->add_metrics)
    klass->add_metrics (self, m);
}
