/* rtcbotd-config-reader.h — typed, range-checked access to one INI file.
 *
 * Wraps a GKeyFile together with the raw text so that every error can name
 * the file, the line, the group and the key ("rtcbotd.conf:12: [source camera]
 * width: "abc" is not a number"). Values may carry an inline comment that
 * starts with whitespace followed by '#' or ';'; in ';'-separated lists an item
 * with inner whitespace starts the comment instead. Whole lines starting with
 * ';' or '#' are comments. A reader lives only while a configuration is loaded.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RtcbotdConfigReader RtcbotdConfigReader;

/** Parses @data as INI text; @name is the file name used in messages. */
RtcbotdConfigReader *rtcbotd_config_reader_new (const char *data, const char *name, GError **error);

/** Returns @group's keys and values in one canonical text, comments left out
 * as the getters leave them out: equal texts, equal groups. Call it after
 * the group's lists were read (';' separates list items, else it comments). */
char *rtcbotd_config_reader_fingerprint (RtcbotdConfigReader *self, const char *group);

/** Frees @self. */
void rtcbotd_config_reader_free (RtcbotdConfigReader *self);

/** Returns the groups in file order. */
char **rtcbotd_config_reader_get_groups (RtcbotdConfigReader *self);

/** Returns "FILE:LINE: [GROUP] KEY" (LINE and KEY when known), for errors found later. */
char *rtcbotd_config_reader_where (RtcbotdConfigReader *self, const char *group, const char *key);

/** Sets @error to "FILE:LINE: [GROUP] KEY: MESSAGE" (LINE and KEY when known). */
void rtcbotd_config_reader_error (RtcbotdConfigReader *self, GError **error, const char *group,
                                  const char *key, const char *format, ...) G_GNUC_PRINTF (5, 6);

/** Fails on the first key of @group that is not in the NULL-terminated @allowed. */
gboolean rtcbotd_config_reader_check_keys (RtcbotdConfigReader *self, const char *group,
                                           const char *const *allowed, GError **error);

/** Returns TRUE when @group sets @key. */
gboolean rtcbotd_config_reader_has_key (RtcbotdConfigReader *self, const char *group,
                                        const char *key);

/** Reads a non-empty string, or @fallback (may be NULL) when the key is absent. */
gboolean rtcbotd_config_reader_get_string (RtcbotdConfigReader *self, const char *group,
                                           const char *key, const char *fallback, char **out,
                                           GError **error);

/** Reads an unsigned integer in @min..@max, or @fallback when the key is absent. */
gboolean rtcbotd_config_reader_get_uint (RtcbotdConfigReader *self, const char *group,
                                         const char *key, guint fallback, guint min, guint max,
                                         guint *out, GError **error);

/** Reads a number in @min..@max, or @fallback when the key is absent. */
gboolean rtcbotd_config_reader_get_double (RtcbotdConfigReader *self, const char *group,
                                           const char *key, double fallback, double min, double max,
                                           double *out, GError **error);

/** Reads one of the NULL-terminated @names as its index, or @fallback when absent. */
gboolean rtcbotd_config_reader_get_choice (RtcbotdConfigReader *self, const char *group,
                                           const char *key, const char *const *names,
                                           guint fallback, guint *out, GError **error);

/** Reads a ';'-separated list of non-empty, trimmed items; absent keys fail. */
gboolean rtcbotd_config_reader_get_list (RtcbotdConfigReader *self, const char *group,
                                         const char *key, char ***out, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtcbotdConfigReader, rtcbotd_config_reader_free)

G_END_DECLS
