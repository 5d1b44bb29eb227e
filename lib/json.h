/* json: a small streaming JSON writer (RFC 8259) onto a FILE.
 *
 * Values are written as they come: open a container, write keys and values,
 * close it; the writer puts the commas, the spaces and (when pretty) the
 * newlines and indentation.  Output choices, fixed so that every filter that
 * prints JSON agrees:
 *
 *  - One-line mode (indent 0) separates with ", " and ": ", like Python's
 *    json.dumps.  Pretty mode (indent > 0) puts each member of a container
 *    on its own line, except in containers opened "inline", which stay on one
 *    line together with everything inside them.
 *  - Strings: '"', '\\' and the control characters U+0000..U+001F and U+007F
 *    are escaped (\b \f \n \r \t, otherwise \u00XX).  Valid UTF-8 is copied
 *    as is (or written as \uXXXX escapes, with surrogate pairs, in ascii
 *    mode).  Invalid UTF-8 is replaced by U+FFFD, always written as the
 *    escape \ufffd, one per maximal ill-formed subpart (the Unicode Standard's
 *    recommended practice, the same as Python's bytes.decode(errors=
 *    "replace")), so the output is always valid UTF-8 and valid JSON.
 *  - Numbers: integers exactly (int64 and uint64).  Finite doubles in the
 *    shortest of %.15g, %.16g, %.17g that reads back to the same double;
 *    floats (f32) in the shortest of %.6g ... %.9g that reads back to the
 *    same float.  So every value round-trips, and 0.1f prints as 0.1.
 *  - NaN and infinities are not JSON numbers: they are written as the
 *    strings "NaN", "Infinity" and "-Infinity" (the names Python's float()
 *    and JavaScript's Number() accept), so the output stays strict JSON.
 *  - Bytes can be written as a base64 string (RFC 4648, with padding).
 *
 * Write errors are left in the FILE (check ferror / close_stdout). */
#ifndef TPU_JSON_H
#define TPU_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
	FILE *fp;
	int indent;           /* spaces per level; 0 = one line */
	int ascii;            /* escape non-ASCII characters as \uXXXX */
	int depth;            /* open containers */
	int inline_at;        /* depth of the outermost inline container, 0 none */
	int after_key;        /* a key was written, its value comes next */
	unsigned char *nel;   /* per depth: 1 once the container has a member */
	int cap;
} json_t;

/* Longest text json_fmt_f64 / json_fmt_f32 write, with the NUL. */
#define JSON_NUMBUF 32

void json_init(json_t *j, FILE *fp, int indent, int ascii);
void json_free(json_t *j);   /* frees the writer's state, not the FILE */

/* Containers; inl != 0 keeps this one (and all inside it) on one line. */
void json_obj_begin(json_t *j, int inl);
void json_obj_end(json_t *j);
void json_arr_begin(json_t *j, int inl);
void json_arr_end(json_t *j);

/* A key in the current object (the value follows with any value call). */
void json_key(json_t *j, const char *key);
void json_keyn(json_t *j, const char *key, size_t len);

void json_null(json_t *j);
void json_bool(json_t *j, int v);
void json_int(json_t *j, int64_t v);
void json_uint(json_t *j, uint64_t v);
void json_f64(json_t *j, double v);
void json_f32(json_t *j, float v);
void json_str(json_t *j, const char *s);
void json_strn(json_t *j, const char *s, size_t len);
/* A string holding the base64 encoding of the bytes. */
void json_base64(json_t *j, const void *data, size_t len);
/* Pre-formatted JSON text written as one value (the caller vouches for it). */
void json_raw(json_t *j, const char *text);
/* End of a top-level value: a newline.  The writer is ready for the next. */
void json_newline(json_t *j);

/* The JSON token for a double / a float into buf (JSON_NUMBUF bytes):
 * a number, or one of the strings "NaN" "Infinity" "-Infinity" with their
 * quotes.  Returns the length. */
size_t json_fmt_f64(char *buf, double v);
size_t json_fmt_f32(char *buf, float v);
/* Write s[0..len) as a quoted, escaped JSON string (rules above). */
void json_write_string(FILE *fp, const char *s, size_t len, int ascii);

#endif
