/* rtcbotd-robot-info.h — what the robot offers a page: the JSON of GET /api/robot.
 *
 * A pure function of the configuration (no GStreamer, no daemon state), so
 * the page's view of a robot is unit-tested with config strings: the cameras
 * peers receive (in the order their tracks are offered), whether audio goes
 * to them and whether a route takes theirs (push-to-talk), which of the
 * peers' inputs feed a route, the control mode and whether routes send
 * messages back. The text it returns is owned by the
 * caller; nothing is kept between calls.
 */
#pragma once

#include "rtcbotd-config.h"

G_BEGIN_DECLS

/** Returns the compact JSON object describing what @config offers peers (free with g_free). */
char *rtcbotd_robot_info_json (const RtcbotdConfig *config);

G_END_DECLS
