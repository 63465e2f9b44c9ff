/* tsjson.h: the test server's own small JSON reader (a tree in one arena) and
 * a string escaper for writing replies. Pure C, no dependencies. */
#ifndef TSJSON_H
#define TSJSON_H
#include <stddef.h>

enum tsj_type { TSJ_NULL, TSJ_BOOL, TSJ_NUM, TSJ_STR, TSJ_ARR, TSJ_OBJ };

typedef struct tsj_node {
  enum tsj_type type;
  double num;               /* TSJ_NUM; TSJ_BOOL: 0 or 1 */
  char *str;                /* TSJ_STR: unescaped UTF-8, NUL-terminated */
  size_t len;               /* TSJ_STR: bytes; TSJ_ARR/TSJ_OBJ: children */
  char *key;                /* member name when the parent is an object */
  struct tsj_node *child;   /* first child (arrays and objects) */
  struct tsj_node *next;    /* next sibling */
} tsj_node;

typedef struct tsj_doc tsj_doc;

/* Parses len bytes of JSON. Returns a document the caller frees with
 * tsj_free, or NULL on a syntax error (err then holds "at byte N: what"). */
tsj_doc *tsj_parse(const char *s, size_t len, char *err, size_t errlen);
/* The root value of a parsed document (never NULL). */
const tsj_node *tsj_root(const tsj_doc *d);
/* Frees a document and every node and string in it; NULL is a no-op. */
void tsj_free(tsj_doc *d);
/* Member `key` of object o, or NULL when o is not an object or lacks it. */
const tsj_node *tsj_get(const tsj_node *o, const char *key);
/* String value of n, or NULL when n is not a string. */
const char *tsj_str(const tsj_node *n);

/* A growable byte buffer. */
typedef struct tsbuf {
  char *p;
  size_t len, cap;
} tsbuf;
/* Appends n bytes; aborts the process when memory runs out (a test tool). */
void tsbuf_add(tsbuf *b, const void *s, size_t n);
void tsbuf_adds(tsbuf *b, const char *s);
void tsbuf_printf(tsbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s (n bytes) as a quoted JSON string. */
void tsbuf_json_str(tsbuf *b, const char *s, size_t n);
void tsbuf_free(tsbuf *b);

#endif
