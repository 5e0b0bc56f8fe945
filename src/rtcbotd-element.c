/* rtcbotd-element.c — taking an element out of a running bin safely. */
#include "rtcbotd-element.h"

void
rtcbotd_element_discard (GstBin *bin, GstElement *element)
{
  if (!bin || !element || GST_OBJECT_PARENT (element) != GST_OBJECT (bin))
    return;
  gst_element_set_locked_state (element, TRUE);
  gst_element_set_state (element, GST_STATE_NULL);
  gst_bin_remove (bin, element);
}
