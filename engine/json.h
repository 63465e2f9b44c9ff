/* json.h: a small JSON reader and writer for the pure C parts (the table
 * readers and writers use it; cjson serves Lua code). RFC 8259 plus the
 * NaN / Infinity / -Infinity words Python writes. Values are a plain tree;
 * every node remembers the byte offset it started at so errors can name a
 * line and column. Also the UTF-8 checker and the growable byte buffer that
 * table.c and csv.c share. */
#ifndef EVALUA_JSON_H
#define EVALUA_JSON_H
#include <stddef.h>
#include <stdint.h>

/* ---- growable byte buffer ---- */

/* A growable byte buffer. Zero-initialise it ({0}); p is NUL-terminated
 * whenever len > 0 after a successful put. The owner frees it with
 * json_buf_free. A failed allocation sets oom and turns later puts into
 * no-ops, so callers may check oom once at the end. */
typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} json_buf;

/* Appends n bytes; returns 0, or -1 (and sets oom) when memory runs out. */
int json_buf_put(json_buf *b, const void *s, size_t n);
/* Appends one byte; same result as json_buf_put. */
int json_buf_putc(json_buf *b, int c);
/* Makes room for n more bytes (len unchanged); returns 0 or -1 as above. */
int json_buf_reserve(json_buf *b, size_t n);
/* Releases the bytes and zeroes the buffer; safe on a zeroed buffer. */
void json_buf_free(json_buf *b);

/* ---- UTF-8 ---- */

/* Checks that s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, at
 * most U+10FFFF). Returns 1 when it is; else 0 and stores the offset of the
 * first bad byte in *bad (when bad is not NULL). */
int json_utf8_valid(const char *s, size_t n, size_t *bad);

/* Appends s[0..n) to b with every byte that is not part of well-formed UTF-8
 * replaced by U+FFFD (what json_write_string writes for it). Returns 0 or -1
 * on out of memory. */
int json_utf8_sanitize(json_buf *b, const char *s, size_t n);

/* Converts byte offset pos of src[0..len) into a 1-based line and 1-based
 * column counted in UTF-8 characters (LF, CRLF and CR end lines). */
void json_linecol(const char *src, size_t len, size_t pos, size_t *line, size_t *col);

/* The number of line ends in s[0..n), counted as json_linecol counts them
 * (a CR LF pair is one). */
size_t json_count_lines(const char *s, size_t n);

/* ---- values ---- */

typedef enum {
  JSON_NULL,
  JSON_FALSE,
  JSON_TRUE,
  JSON_INT,   /* a number written without '.', 'e' or 'E' that fits int64 */
  JSON_FLOAT, /* any other number, and NaN / Infinity / -Infinity */
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT
} json_kind;

typedef struct json_value json_value;
typedef struct {
  char *s; /* NUL-terminated, may hold NUL bytes; len is the length */
  size_t len;
} json_str;

struct json_value {
  json_kind kind;
  size_t pos; /* byte offset of the value in the parsed text */
  union {
    int64_t i;
    double d;
    json_str str;
    struct {
      json_value *items; /* n values */
      json_str *keys;    /* objects only: n keys, in document order */
      size_t n, cap;
    } c;
  } u;
};

/* Releases everything v owns (strings, children) and makes it JSON_NULL; v
 * itself is the caller's. Safe on a JSON_NULL value. */
void json_value_free(json_value *v);

/* ---- parsing ---- */

/* The parser state over src[0..len). Set src, len and pos; zero the rest.
 * On failure the functions below return -1 with msg set (lower case, no
 * position) and errpos the offset of the offending byte. */
typedef struct {
  const char *src;
  size_t len, pos;
  int depth;
  int max_depth; /* nesting limit; 0 means JSON_MAX_DEPTH */
  size_t errpos;
  char msg[160];
} json_parser;

#define JSON_MAX_DEPTH 500

/* Sets p's error to "unexpected <what is at p->pos>, expected <what>" and
 * returns -1: the words of every syntax error, for readers built on these
 * functions (engine/ljson.c). */
int json_unexpected(json_parser *p, const char *what);
/* Skips JSON whitespace at p->pos. */
void json_skip_ws(json_parser *p);
/* Parses one value at p->pos (after whitespace) into *out, which the caller
 * then owns (json_value_free). Returns 0, or -1 with *out left JSON_NULL. */
int json_parse_value(json_parser *p, json_value *out);
/* Parses the string starting with '"' at p->pos, appending its decoded
 * bytes to out (not NUL-terminated unless out->len>0). Returns 0 or -1. */
int json_parse_string(json_parser *p, json_buf *out);
/* Parses a whole document src[0..len): one value and nothing after it but
 * whitespace. Returns 0 with *out the caller's, or -1 with
 * "LINE:COL: message" in err (errcap bytes, always NUL-terminated). */
int json_parse(const char *src, size_t len, json_value *out, char *err, size_t errcap);

/* ---- writing ---- */

enum {
  JSON_ASCII = 1,    /* escape every non-ASCII character as \uXXXX (pairs above U+FFFF) */
  JSON_PANDAS = 2,   /* floats with at most 10 decimals (pandas double_precision=10) */
  JSON_BYTES = 4,    /* strings: copy bytes that are not UTF-8 as they are (any Lua
                      * string round-trips through the store) and escape DEL */
  JSON_CANONICAL = 8 /* json_write: the canonical form below (with flags 0 otherwise) */
};

/* Appends s[0..n) as a quoted JSON string. Bytes that are not valid UTF-8
 * are written as U+FFFD so the output is always valid JSON (JSON_ASCII:
 * as \ufffd), unless flags has JSON_BYTES and not JSON_ASCII. Returns 0 or
 * -1 on out of memory. */
int json_write_string(json_buf *b, const char *s, size_t n, int flags);
/* Appends a float: NaN and infinities as null; otherwise the shortest text
 * that reads back to the same double ("1.0", "0.1", "1e+300"), or with
 * JSON_PANDAS at most 10 decimals. Returns 0 or -1. */
int json_write_double(json_buf *b, double d, int flags);
/* Appends v as compact JSON. Returns 0 or -1. */
int json_write(json_buf *b, const json_value *v, int flags);
/* Appends the compact JSON text s[0..n) (as json_write made it) with
 * non-ASCII characters in strings escaped when flags has JSON_ASCII;
 * otherwise copies it. Returns 0 or -1. */
int json_write_text(json_buf *b, const char *s, size_t n, int flags);

/* The canonical form of JSON (request bodies and response-cache keys;
 * json_write with JSON_CANONICAL): object keys sorted bytewise, floats that hold an integer within int64 written as
 * integers, NaN and infinities as null, other floats as json_fmt_double,
 * strings as json_write_string with flags 0. Writing canonical text again
 * gives the same bytes. */
/* Appends d in canonical form. Returns 0 or -1 on out of memory. */
int json_write_canon_double(json_buf *b, double d);
/* Compares a[0..an) and b[0..bn) bytewise, a shorter prefix first: the
 * order of canonical object keys. Returns <0, 0 or >0. */
int json_key_cmp(const char *a, size_t an, const char *b, size_t bn);

/* Formats d as the shortest decimal text that reads back exactly, with a
 * ".0" added to whole numbers ("1.0", "2.5", "1e+20", "nan", "inf", "-inf").
 * buf must hold 32 bytes; returns the length. */
size_t json_fmt_double(char *buf, double d);
/* Reads the decimal number s[0..n) (JSON or C syntax, also "nan"/"inf")
 * exactly as strtod does, without needing a NUL; fast for short numbers. */
double json_strtod(const char *s, size_t n);
/* Formats v in decimal into buf (at least 21 bytes); returns the length. */
size_t json_fmt_int(char *buf, int64_t v);

#endif
