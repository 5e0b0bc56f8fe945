/* rtcbotd-struct.h — Python struct format strings: parse, pack and unpack.
 *
 * An RtcbotdStruct is one parsed format such as "<hh" or "@iBd", with the
 * byte orders "@=<>!" and the codes "xcbB?hHiIlLqQfds" with repeat counts,
 * exactly as Python's struct module reads them ('@', the default, uses the
 * native sizes and alignment of this machine; the others standard sizes and no
 * alignment). Values travel as JSON: integers, booleans for '?', numbers for
 * 'f'/'d', and one-character strings for 'c' and strings for 's' whose
 * characters are the bytes (U+0000..U+00FF). Packing never guesses: a value of
 * the wrong type or out of the field's range is an error naming the field.
 * Where JSON (or json-glib) cannot follow Python: unsigned values above
 * INT64_MAX unpack as doubles, NaN and infinities as null, an 's' string ends
 * at its first NUL byte, and 'c' maps the NUL byte to "" (both ways); a float
 * too large for 'f' is an error in every byte order, native included.
 * Immutable once parsed; owned by whoever parsed it (the configuration).
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _RtcbotdStruct RtcbotdStruct;

/* Formats longer than this many bytes, or with more values, are refused. */
#define RTCBOTD_STRUCT_MAX_SIZE 4096
#define RTCBOTD_STRUCT_MAX_VALUES 256

/** Parses @format; the error (RTCBOTD_ERROR_INVALID) names the offending character. */
RtcbotdStruct *rtcbotd_struct_new (const char *format, GError **error);

/** Frees @self. */
void rtcbotd_struct_free (RtcbotdStruct *self);

/** Returns the format text @self was parsed from. */
const char *rtcbotd_struct_get_format (const RtcbotdStruct *self);

/** Returns the packed size in bytes, as Python's struct.calcsize(). */
gsize rtcbotd_struct_get_size (const RtcbotdStruct *self);

/** Returns how many values a record holds (pad bytes hold none; "4s" holds one). */
guint rtcbotd_struct_get_n_values (const RtcbotdStruct *self);

/** Packs @values (exactly get_n_values() of them) as struct.pack() would. */
GBytes *rtcbotd_struct_pack (const RtcbotdStruct *self, JsonArray *values, GError **error);

/** Unpacks one record from @data, which holds exactly get_size() bytes. */
JsonArray *rtcbotd_struct_unpack (const RtcbotdStruct *self, const guint8 *data, gsize size,
                                  GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdStruct, rtcbotd_struct_free)

G_END_DECLS
