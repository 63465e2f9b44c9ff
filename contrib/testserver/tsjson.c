/* tsjson.c: a small recursive-descent JSON reader for the test server. Nodes
 * and strings live in one arena of blocks, freed together. */
#include "tsjson.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TSJ_MAX_DEPTH 128

struct block {
  struct block *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
};

struct tsj_doc {
  struct block *blocks;
  tsj_node *root;
};

typedef struct {
  const char *s, *end, *start;
  tsj_doc *doc;
  char *err;
  size_t errlen;
  int depth;
} parser;

static void *arena_alloc(tsj_doc *d, size_t n)
{
  n = (n + 15) & ~(size_t)15;
  struct block *b = d->blocks;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > 65536 ? n : 65536;
    b = malloc(sizeof *b + cap);
    if (!b) {
      fputs("evalua-testserver: out of memory\n", stderr);
      abort();
    }
    b->next = d->blocks;
    b->used = 0;
    b->cap = cap;
    d->blocks = b;
  }
  void *p = b->data + b->used;
  b->used += n;
  return p;
}

static int fail(parser *p, const char *what)
{
  if (p->err && p->errlen)
    snprintf(p->err, p->errlen, "at byte %zu: %s", (size_t)(p->s - p->start), what);
  return -1;
}

static void skip_ws(parser *p)
{
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
    p->s++;
}

static int hex4(const char *s, unsigned *out)
{
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* p->s at the opening quote; the unescaped text is never longer than the source */
static int parse_string(parser *p, char **out, size_t *outlen)
{
  const char *s = ++p->s;
  const char *q = s;
  while (q < p->end && *q != '"') q += (*q == '\\') ? 2 : 1;
  if (q >= p->end) return fail(p, "unterminated string");
  char *o = arena_alloc(p->doc, (size_t)(q - s) + 1);
  size_t n = 0;
  while (s < q) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20) { p->s = s; return fail(p, "control character in string"); }
    if (c != '\\') { o[n++] = (char)c; s++; continue; }
    s++;
    switch (*s) {
    case '"': o[n++] = '"'; s++; break;
    case '\\': o[n++] = '\\'; s++; break;
    case '/': o[n++] = '/'; s++; break;
    case 'b': o[n++] = '\b'; s++; break;
    case 'f': o[n++] = '\f'; s++; break;
    case 'n': o[n++] = '\n'; s++; break;
    case 'r': o[n++] = '\r'; s++; break;
    case 't': o[n++] = '\t'; s++; break;
    case 'u': {
      unsigned cp;
      if (q - s < 5 || hex4(s + 1, &cp)) { p->s = s; return fail(p, "bad \\u escape"); }
      s += 5;
      if (cp >= 0xD800 && cp < 0xDC00 && q - s >= 6 && s[0] == '\\' && s[1] == 'u') {
        unsigned lo;
        if (!hex4(s + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          s += 6;
        }
      }
      if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD; /* lone surrogate */
      n += put_utf8(o + n, cp); /* 6+ source bytes always cover 4 output bytes */
      break;
    }
    default: p->s = s; return fail(p, "bad escape");
    }
  }
  o[n] = '\0';
  *out = o;
  *outlen = n;
  p->s = q + 1;
  return 0;
}

static int parse_value(parser *p, tsj_node *n);

static int parse_container(parser *p, tsj_node *n, int obj)
{
  if (++p->depth > TSJ_MAX_DEPTH) return fail(p, "nesting too deep");
  n->type = obj ? TSJ_OBJ : TSJ_ARR;
  p->s++;
  skip_ws(p);
  char close = obj ? '}' : ']';
  if (p->s < p->end && *p->s == close) { p->s++; p->depth--; return 0; }
  tsj_node **tail = &n->child;
  for (;;) {
    tsj_node *c = arena_alloc(p->doc, sizeof *c);
    memset(c, 0, sizeof *c);
    if (obj) {
      skip_ws(p);
      if (p->s >= p->end || *p->s != '"') return fail(p, "expected a member name");
      size_t kl;
      if (parse_string(p, &c->key, &kl)) return -1;
      skip_ws(p);
      if (p->s >= p->end || *p->s != ':') return fail(p, "expected ':'");
      p->s++;
    }
    if (parse_value(p, c)) return -1;
    *tail = c;
    tail = &c->next;
    n->len++;
    skip_ws(p);
    if (p->s < p->end && *p->s == ',') { p->s++; continue; }
    if (p->s < p->end && *p->s == close) { p->s++; break; }
    return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
  p->depth--;
  return 0;
}

static int parse_value(parser *p, tsj_node *n)
{
  skip_ws(p);
  if (p->s >= p->end) return fail(p, "unexpected end of input");
  char c = *p->s;
  if (c == '{') return parse_container(p, n, 1);
  if (c == '[') return parse_container(p, n, 0);
  if (c == '"') { n->type = TSJ_STR; return parse_string(p, &n->str, &n->len); }
  size_t left = (size_t)(p->end - p->s);
  if (left >= 4 && !memcmp(p->s, "true", 4)) { n->type = TSJ_BOOL; n->num = 1; p->s += 4; return 0; }
  if (left >= 5 && !memcmp(p->s, "false", 5)) { n->type = TSJ_BOOL; p->s += 5; return 0; }
  if (left >= 4 && !memcmp(p->s, "null", 4)) { n->type = TSJ_NULL; p->s += 4; return 0; }
  if (c == '-' || (c >= '0' && c <= '9')) {
    char tmp[64];
    size_t k = 0;
    while (k < left && k < sizeof tmp - 1 && strchr("+-0123456789.eE", p->s[k])) {
      tmp[k] = p->s[k];
      k++;
    }
    tmp[k] = '\0';
    char *e;
    n->num = strtod(tmp, &e);
    if (e == tmp) return fail(p, "bad number");
    n->type = TSJ_NUM;
    p->s += e - tmp;
    return 0;
  }
  return fail(p, "unexpected character");
}

tsj_doc *tsj_parse(const char *s, size_t len, char *err, size_t errlen)
{
  tsj_doc *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  parser p = { s, s + len, s, d, err, errlen, 0 };
  d->root = arena_alloc(d, sizeof *d->root);
  memset(d->root, 0, sizeof *d->root);
  if (parse_value(&p, d->root)) { tsj_free(d); return NULL; }
  skip_ws(&p);
  if (p.s != p.end) { fail(&p, "trailing characters"); tsj_free(d); return NULL; }
  return d;
}

const tsj_node *tsj_root(const tsj_doc *d) { return d->root; }

void tsj_free(tsj_doc *d)
{
  if (!d) return;
  struct block *b = d->blocks;
  while (b) {
    struct block *n = b->next;
    free(b);
    b = n;
  }
  free(d);
}

const tsj_node *tsj_get(const tsj_node *o, const char *key)
{
  if (!o || o->type != TSJ_OBJ) return NULL;
  for (const tsj_node *c = o->child; c; c = c->next)
    if (!strcmp(c->key, key)) return c;
  return NULL;
}

const char *tsj_str(const tsj_node *n)
{
  return n && n->type == TSJ_STR ? n->str : NULL;
}

void tsbuf_add(tsbuf *b, const void *s, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      fputs("evalua-testserver: out of memory\n", stderr);
      abort();
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void tsbuf_adds(tsbuf *b, const char *s) { tsbuf_add(b, s, strlen(s)); }

void tsbuf_printf(tsbuf *b, const char *fmt, ...)
{
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) { tsbuf_add(b, tmp, (size_t)n); return; }
  char *big = malloc((size_t)n + 1);
  if (!big) abort();
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  tsbuf_add(b, big, (size_t)n);
  free(big);
}

void tsbuf_json_str(tsbuf *b, const char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  tsbuf_add(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[7];
    if (c == '"') esc = "\\\"";
    else if (c == '\\') esc = "\\\\";
    else if (c == '\n') esc = "\\n";
    else if (c == '\r') esc = "\\r";
    else if (c == '\t') esc = "\\t";
    else if (c < 0x20) {
      u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
      u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = '\0';
      esc = u;
    }
    if (esc) {
      tsbuf_add(b, s + i - run, run);
      run = 0;
      tsbuf_adds(b, esc);
    } else {
      run++;
    }
  }
  tsbuf_add(b, s + n - run, run);
  tsbuf_add(b, "\"", 1);
}

void tsbuf_free(tsbuf *b)
{
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}
