/* roberta_json.c: a small recursive-descent JSON reader (RFC 8259). */
#include "roberta_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RJ_MAX_DEPTH 200

typedef struct {
  const char *s;
  size_t n, i;
  int depth;
  const char *msg;
  size_t errpos;
} rj_p;

static int fail(rj_p *p, const char *msg)
{
  if (!p->msg) {
    p->msg = msg;
    p->errpos = p->i;
  }
  return -1;
}

static void ws(rj_p *p)
{
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
                         p->s[p->i] == '\r'))
    p->i++;
}

typedef struct {
  char *p;
  size_t n, cap;
} sbuf;

static int sb_put(sbuf *b, const char *s, size_t n)
{
  if (b->n + n + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 16;
    while (c < b->n + n + 1) c *= 2;
    char *q = realloc(b->p, c);
    if (!q) return -1;
    b->p = q;
    b->cap = c;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
  return 0;
}

static int hex4(rj_p *p, unsigned *out)
{
  if (p->n - p->i < 4) return fail(p, "truncated \\u escape");
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    char c = p->s[p->i + k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return fail(p, "bad \\u escape");
  }
  p->i += 4;
  *out = v;
  return 0;
}

static int put_utf8(sbuf *b, unsigned cp)
{
  char u[4];
  size_t k;
  if (cp < 0x80) { u[0] = (char)cp; k = 1; }
  else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); k = 2; }
  else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F)); k = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); k = 4;
  }
  return sb_put(b, u, k);
}

static int str(rj_p *p, char **out, size_t *olen)
{
  sbuf b = {0};
  p->i++; /* opening quote */
  for (;;) {
    size_t a = p->i;
    while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\' &&
           (unsigned char)p->s[p->i] >= 0x20)
      p->i++;
    if (p->i > a && sb_put(&b, p->s + a, p->i - a)) goto oom;
    if (p->i >= p->n) { free(b.p); return fail(p, "unterminated string"); }
    char c = p->s[p->i];
    if (c == '"') { p->i++; break; }
    if ((unsigned char)c < 0x20) { free(b.p); return fail(p, "control character in string"); }
    p->i++; /* backslash */
    if (p->i >= p->n) { free(b.p); return fail(p, "unterminated string"); }
    c = p->s[p->i++];
    const char *rep = NULL;
    switch (c) {
    case '"': rep = "\""; break;
    case '\\': rep = "\\"; break;
    case '/': rep = "/"; break;
    case 'b': rep = "\b"; break;
    case 'f': rep = "\f"; break;
    case 'n': rep = "\n"; break;
    case 'r': rep = "\r"; break;
    case 't': rep = "\t"; break;
    case 'u': {
      unsigned cp;
      if (hex4(p, &cp)) { free(b.p); return -1; }
      if (cp >= 0xD800 && cp <= 0xDBFF && p->n - p->i >= 6 && p->s[p->i] == '\\' &&
          p->s[p->i + 1] == 'u') {
        size_t save = p->i;
        unsigned lo;
        p->i += 2;
        if (hex4(p, &lo)) { free(b.p); return -1; }
        if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        else p->i = save;
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* lone surrogate */
      if (put_utf8(&b, cp)) goto oom;
      continue;
    }
    default: free(b.p); p->i--; return fail(p, "bad escape");
    }
    if (sb_put(&b, rep, 1)) goto oom;
  }
  if (!b.p && sb_put(&b, "", 0)) goto oom;
  *out = b.p;
  *olen = b.n;
  return 0;
oom:
  free(b.p);
  return fail(p, "out of memory");
}

static int value(rj_p *p, rj_value *v);

static int push(rj_p *p, rj_value *v, size_t *cap)
{
  if (v->n == *cap) {
    size_t c = *cap ? *cap * 2 : 4;
    rj_value *it = realloc(v->items, c * sizeof *it);
    if (!it) return fail(p, "out of memory");
    v->items = it;
    if (v->type == RJ_OBJ) {
      char **k = realloc(v->keys, c * sizeof *k);
      if (!k) return fail(p, "out of memory");
      v->keys = k;
      size_t *kl = realloc(v->klens, c * sizeof *kl);
      if (!kl) return fail(p, "out of memory");
      v->klens = kl;
    }
    *cap = c;
  }
  memset(&v->items[v->n], 0, sizeof v->items[0]);
  return 0;
}

static int value(rj_p *p, rj_value *v)
{
  memset(v, 0, sizeof *v);
  ws(p);
  if (p->i >= p->n) return fail(p, "unexpected end of input");
  char c = p->s[p->i];
  if (c == '{' || c == '[') {
    if (++p->depth > RJ_MAX_DEPTH) return fail(p, "nesting too deep");
    v->type = c == '{' ? RJ_OBJ : RJ_ARR;
    char close = c == '{' ? '}' : ']';
    size_t cap = 0;
    p->i++;
    ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
      p->i++;
      p->depth--;
      return 0;
    }
    for (;;) {
      if (push(p, v, &cap)) return -1;
      if (v->type == RJ_OBJ) {
        ws(p);
        if (p->i >= p->n || p->s[p->i] != '"') return fail(p, "expected a string key");
        if (str(p, &v->keys[v->n], &v->klens[v->n])) return -1;
        ws(p);
        if (p->i >= p->n || p->s[p->i] != ':') {
          free(v->keys[v->n]);
          return fail(p, "expected ':'");
        }
        p->i++;
      }
      v->n++; /* counted before parsing so rj_free releases a partial child */
      if (value(p, &v->items[v->n - 1])) return -1;
      ws(p);
      if (p->i < p->n && p->s[p->i] == ',') { p->i++; continue; }
      if (p->i < p->n && p->s[p->i] == close) { p->i++; break; }
      return fail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    p->depth--;
    return 0;
  }
  if (c == '"') {
    v->type = RJ_STR;
    return str(p, &v->str, &v->slen);
  }
  if (p->n - p->i >= 4 && !memcmp(p->s + p->i, "true", 4)) { v->type = RJ_BOOL; v->num = 1; p->i += 4; return 0; }
  if (p->n - p->i >= 5 && !memcmp(p->s + p->i, "false", 5)) { v->type = RJ_BOOL; p->i += 5; return 0; }
  if (p->n - p->i >= 4 && !memcmp(p->s + p->i, "null", 4)) { v->type = RJ_NULL; p->i += 4; return 0; }
  if (c == '-' || (c >= '0' && c <= '9')) {
    char buf[64];
    size_t k = 0;
    while (p->i < p->n && k < sizeof buf - 1 &&
           strchr("+-0123456789.eE", p->s[p->i]) && p->s[p->i])
      buf[k++] = p->s[p->i++];
    buf[k] = 0;
    char *end;
    v->type = RJ_NUM;
    v->num = strtod(buf, &end);
    if (*end) return fail(p, "bad number");
    return 0;
  }
  return fail(p, "unexpected character");
}

void rj_free(rj_value *v)
{
  if (!v) return;
  if (v->type == RJ_STR) free(v->str);
  if (v->type == RJ_ARR || v->type == RJ_OBJ) {
    for (size_t i = 0; i < v->n; i++) {
      rj_free(&v->items[i]);
      if (v->type == RJ_OBJ) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->klens);
  }
  memset(v, 0, sizeof *v);
}

int rj_parse(const char *src, size_t len, rj_value *out, char *err, size_t errlen)
{
  rj_p p = {src, len, 0, 0, NULL, 0};
  if (value(&p, out) == 0) {
    ws(&p);
    if (p.i == p.n) return 0;
    fail(&p, "trailing characters after the value");
  }
  rj_free(out);
  size_t line = 1, col = 1;
  for (size_t i = 0; i < p.errpos && i < len; i++) {
    if (src[i] == '\n') { line++; col = 1; }
    else if (((unsigned char)src[i] & 0xC0) != 0x80) col++;
  }
  snprintf(err, errlen, "%zu:%zu: %s", line, col, p.msg);
  return -1;
}

const rj_value *rj_get(const rj_value *v, const char *key)
{
  if (!v || v->type != RJ_OBJ) return NULL;
  for (size_t i = 0; i < v->n; i++)
    if (strcmp(v->keys[i], key) == 0) return &v->items[i];
  return NULL;
}
