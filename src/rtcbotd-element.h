/* rtcbotd-element.h — taking an element out of a running bin safely.
 *
 * A bin whose state changes asynchronously (a sink prerolling again, the
 * pipeline recovering a lost state) walks its children from GStreamer's
 * thread pool; an element removed meanwhile would be set back to PLAYING by
 * that walk after it was stopped, and then disposed while playing. Locking
 * the element's state first makes every such walk pass it by. Any thread.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/** Stops @element and removes it from @bin, if @bin still holds it. */
void rtcbotd_element_discard (GstBin *bin, GstElement *element);

G_END_DECLS
