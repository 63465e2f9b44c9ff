/* json.c: the JSON tree, parser and writer described in json.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const double pow10tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* ---- buffer ---- */

int json_buf_reserve(json_buf *b, size_t n)
{
  if (b->oom) return -1;
  if (b->cap - b->len > n) return 0; /* keep a byte for the NUL */
  size_t cap = b->cap ? b->cap : 64;
  while (cap - b->len <= n) {
    if (cap > SIZE_MAX / 2) { b->oom = 1; return -1; }
    cap *= 2;
  }
  char *p = realloc(b->p, cap);
  if (!p) { b->oom = 1; return -1; }
  b->p = p;
  b->cap = cap;
  return 0;
}

int json_buf_put(json_buf *b, const void *s, size_t n)
{
  if (json_buf_reserve(b, n) < 0) return -1;
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

int json_buf_putc(json_buf *b, int c)
{
  if (b->cap - b->len <= 1 && json_buf_reserve(b, 1) < 0) return -1;
  if (b->oom) return -1;
  b->p[b->len++] = (char)c;
  b->p[b->len] = '\0';
  return 0;
}

void json_buf_free(json_buf *b)
{
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* ---- UTF-8 ---- */

/* Decodes one character at s[0..n); returns its length and sets *cp, or 0
 * when the bytes there are not well-formed UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
  unsigned c = s[0];
  if (c < 0x80) { *cp = c; return 1; }
  if (c < 0xC2) return 0;
  if (c < 0xE0) {
    if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
    *cp = ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    return 2;
  }
  if (c < 0xF0) {
    if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
    uint32_t v = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return 3;
  }
  if (c < 0xF5) {
    if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
      return 0;
    uint32_t v = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
                 (s[3] & 0x3Fu);
    if (v < 0x10000 || v > 0x10FFFF) return 0;
    *cp = v;
    return 4;
  }
  return 0;
}

int json_utf8_valid(const char *str, size_t n, size_t *bad)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    /* ASCII fast path, eight bytes at a time */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (s[i] < 0x80) { i++; continue; }
    uint32_t cp;
    size_t k = utf8_decode(s + i, n - i, &cp);
    if (!k) {
      if (bad) *bad = i;
      return 0;
    }
    i += k;
  }
  return 1;
}

int json_utf8_sanitize(json_buf *b, const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    uint32_t cp;
    size_t k = 0;
    while (i < n && (s[i] < 0x80 || (k = utf8_decode(s + i, n - i, &cp)) > 0)) i += s[i] < 0x80 ? 1 : k;
    if (i > run) json_buf_put(b, s + run, i - run);
    if (i < n) {
      json_buf_put(b, "\xEF\xBF\xBD", 3);
      i++;
    }
  }
  return b->oom ? -1 : 0;
}

void json_linecol(const char *src, size_t len, size_t pos, size_t *line, size_t *col)
{
  size_t ln = 1, start = 0;
  if (pos > len) pos = len;
  for (size_t i = 0; i < pos; i++) {
    if (src[i] == '\n') { ln++; start = i + 1; }
    else if (src[i] == '\r') {
      if (i + 1 < len && src[i + 1] == '\n') continue; /* counted at the LF */
      ln++;
      start = i + 1;
    }
  }
  size_t c = 1;
  for (size_t i = start; i < pos; i++)
    if (((unsigned char)src[i] & 0xC0) != 0x80) c++;
  *line = ln;
  *col = c;
}

size_t json_count_lines(const char *s, size_t n)
{
  size_t k = 0;
  for (const char *q = s, *end = s + n; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++) k++;
  for (const char *q = s, *end = s + n; (q = memchr(q, '\r', (size_t)(end - q))) != NULL; q++)
    if (!(q + 1 < end && q[1] == '\n')) k++;
  return k;
}

/* ---- values ---- */

void json_value_free(json_value *v)
{
  if (v->kind == JSON_STRING) free(v->u.str.s);
  else if (v->kind == JSON_ARRAY || v->kind == JSON_OBJECT) {
    for (size_t i = 0; i < v->u.c.n; i++) {
      json_value_free(&v->u.c.items[i]);
      if (v->u.c.keys) free(v->u.c.keys[i].s);
    }
    free(v->u.c.items);
    free(v->u.c.keys);
  }
  memset(v, 0, sizeof *v);
  v->kind = JSON_NULL;
}

/* ---- parsing ---- */

static int perr(json_parser *p, size_t at, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->msg, sizeof p->msg, fmt, ap);
  va_end(ap);
  p->errpos = at;
  return -1;
}

int json_unexpected(json_parser *p, const char *what)
{
  if (p->pos >= p->len) return perr(p, p->pos, "unexpected end of input, expected %s", what);
  unsigned char c = (unsigned char)p->src[p->pos];
  if (c >= 0x20 && c < 0x7f)
    return perr(p, p->pos, "unexpected '%c', expected %s", c, what);
  return perr(p, p->pos, "unexpected byte 0x%02x, expected %s", c, what);
}

void json_skip_ws(json_parser *p)
{
  while (p->pos < p->len) {
    char c = p->src[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->pos++;
  }
}

static int hexval(int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int hex4(json_parser *p, size_t at, uint32_t *out)
{
  uint32_t v = 0;
  for (size_t k = 0; k < 4; k++) { /* digit by digit: never look past a bad one */
    if (at + k >= p->len) return perr(p, at, "truncated \\u escape");
    int h = hexval((unsigned char)p->src[at + k]);
    if (h < 0) return perr(p, at + k, "bad hex digit in \\u escape");
    v = v * 16 + (uint32_t)h;
  }
  *out = v;
  return 0;
}

static void put_utf8(json_buf *b, uint32_t cp)
{
  char t[4];
  size_t n;
  if (cp < 0x80) { t[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { t[0] = (char)(0xC0 | (cp >> 6)); t[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    t[0] = (char)(0xE0 | (cp >> 12)); t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    t[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    t[0] = (char)(0xF0 | (cp >> 18)); t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    t[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); t[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
  }
  json_buf_put(b, t, n);
}

int json_parse_string(json_parser *p, json_buf *out)
{
  if (p->pos >= p->len || p->src[p->pos] != '"') return json_unexpected(p, "a string");
  size_t start = p->pos;
  size_t i = p->pos + 1;
  const char *s = p->src;
  for (;;) {
    size_t run = i;
    while (i < p->len) {
      unsigned char c = (unsigned char)s[i];
      if (c == '"' || c == '\\' || c < 0x20) break;
      i++;
    }
    if (i > run && json_buf_put(out, s + run, i - run) < 0) return perr(p, i, "out of memory");
    if (i >= p->len) return perr(p, start, "unclosed string");
    unsigned char c = (unsigned char)s[i];
    if (c == '"') { p->pos = i + 1; return 0; }
    if (c < 0x20) return perr(p, i, "control character 0x%02x in string", c);
    /* backslash */
    if (i + 1 >= p->len) return perr(p, start, "unclosed string");
    char e = s[i + 1];
    switch (e) {
    case '"': json_buf_putc(out, '"'); break;
    case '\\': json_buf_putc(out, '\\'); break;
    case '/': json_buf_putc(out, '/'); break;
    case 'b': json_buf_putc(out, '\b'); break;
    case 'f': json_buf_putc(out, '\f'); break;
    case 'n': json_buf_putc(out, '\n'); break;
    case 'r': json_buf_putc(out, '\r'); break;
    case 't': json_buf_putc(out, '\t'); break;
    case 'u': {
      uint32_t cp;
      if (hex4(p, i + 2, &cp) < 0) return -1;
      size_t used = 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return perr(p, i, "invalid \\u escape (lone surrogate)");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t lo;
        if (i + 7 >= p->len || s[i + 6] != '\\' || s[i + 7] != 'u')
          return perr(p, i, "invalid \\u escape (lone surrogate)");
        if (hex4(p, i + 8, &lo) < 0) return -1;
        if (lo < 0xDC00 || lo > 0xDFFF) return perr(p, i, "invalid \\u escape (lone surrogate)");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        used = 12;
      }
      put_utf8(out, cp);
      i += used;
      continue;
    }
    default:
      return perr(p, i, "bad escape '\\%c' in string", (e >= 0x20 && e < 0x7f) ? e : '?');
    }
    i += 2;
    if (out->oom) return perr(p, i, "out of memory");
  }
}

static int word(json_parser *p, const char *w)
{
  size_t n = strlen(w);
  return p->len - p->pos >= n && memcmp(p->src + p->pos, w, n) == 0;
}

static int parse_number(json_parser *p, json_value *out)
{
  size_t start = p->pos, i = p->pos;
  const char *s = p->src;
  int isfloat = 0;
  if (i < p->len && s[i] == '-') i++;
  if (p->len - i >= 8 && memcmp(s + i, "Infinity", 8) == 0) { /* -Infinity, as Python writes it */
    out->kind = JSON_FLOAT;
    out->u.d = s[start] == '-' ? -INFINITY : INFINITY;
    p->pos = i + 8;
    return 0;
  }
  if (i >= p->len || s[i] < '0' || s[i] > '9') {
    p->pos = i;
    return json_unexpected(p, "a digit");
  }
  if (s[i] == '0') i++;
  else while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
  if (i < p->len && s[i] == '.') {
    isfloat = 1;
    i++;
    if (i >= p->len || s[i] < '0' || s[i] > '9') { p->pos = i; return json_unexpected(p, "a digit after '.'"); }
    while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
    isfloat = 1;
    i++;
    if (i < p->len && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= p->len || s[i] < '0' || s[i] > '9') { p->pos = i; return json_unexpected(p, "a digit in the exponent"); }
    while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
  }
  size_t n = i - start;
  out->pos = start;
  if (!isfloat) {
    int neg = s[start] == '-';
    uint64_t v = 0;
    int over = 0;
    for (size_t k = start + (size_t)neg; k < i; k++) {
      unsigned d = (unsigned)(s[k] - '0');
      if (v > (UINT64_MAX - d) / 10) { over = 1; break; }
      v = v * 10 + d;
    }
    if (!over && (neg ? v <= (uint64_t)INT64_MAX + 1 : v <= (uint64_t)INT64_MAX)) {
      out->kind = JSON_INT;
      out->u.i = neg ? (int64_t)(0 - v) : (int64_t)v;
      p->pos = i;
      return 0;
    }
  }
  out->kind = JSON_FLOAT;
  out->u.d = json_strtod(s + start, n);
  p->pos = i;
  return 0;
}

double json_strtod(const char *s, size_t n)
{
  /* fast path (Clinger): up to 15 digits and a small power of ten are exact
   * doubles, and one IEEE multiply or divide rounds correctly */
  size_t i = 0;
  int neg = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  uint64_t mant = 0;
  int digits = 0, frac = 0, ok = i < n;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
    if (mant || s[i] != '0') digits++;
    mant = mant * 10 + (uint64_t)(s[i] - '0');
    if (digits > 15) { ok = 0; break; }
  }
  if (ok && i < n && s[i] == '.') {
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
      if (mant || s[i] != '0') digits++;
      mant = mant * 10 + (uint64_t)(s[i] - '0');
      frac++;
      if (digits > 15) { ok = 0; break; }
    }
  }
  int exp10 = 0;
  if (ok && i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int eneg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    if (i >= n) ok = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9' && ok; i++) {
      exp10 = exp10 * 10 + (s[i] - '0');
      if (exp10 > 400) ok = 0;
    }
    if (eneg) exp10 = -exp10;
  }
  if (ok && i == n) {
    int e = exp10 - frac;
    double v = (double)mant;
    if (e >= 0 && e <= 22) return neg ? -(v * pow10tab[e]) : v * pow10tab[e];
    if (e < 0 && e >= -22) return neg ? -(v / pow10tab[-e]) : v / pow10tab[-e];
  }
  char small[64];
  char *tmp = n < sizeof small ? small : malloc(n + 1);
  if (!tmp) return NAN;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  double d = strtod(tmp, NULL);
  if (tmp != small) free(tmp);
  return d;
}

static int grow_items(json_value *v, int withkeys)
{
  if (v->u.c.n < v->u.c.cap) return 0;
  size_t cap = v->u.c.cap ? v->u.c.cap * 2 : 4;
  json_value *it = realloc(v->u.c.items, cap * sizeof *it);
  if (!it) return -1;
  v->u.c.items = it;
  if (withkeys) {
    json_str *k = realloc(v->u.c.keys, cap * sizeof *k);
    if (!k) return -1;
    v->u.c.keys = k;
  }
  v->u.c.cap = cap;
  return 0;
}

static int take_str(json_buf *b, json_str *out)
{
  if (!b->p) {
    b->p = malloc(1);
    if (!b->p) return -1;
  }
  if (b->oom) return -1;
  b->p[b->len] = '\0';
  out->s = b->p;
  out->len = b->len;
  memset(b, 0, sizeof *b);
  return 0;
}

int json_parse_value(json_parser *p, json_value *out)
{
  memset(out, 0, sizeof *out);
  out->kind = JSON_NULL;
  json_skip_ws(p);
  out->pos = p->pos;
  if (p->pos >= p->len) return json_unexpected(p, "a value");
  char c = p->src[p->pos];
  switch (c) {
  case '"': {
    json_buf b = {0};
    if (json_parse_string(p, &b) < 0) { json_buf_free(&b); return -1; }
    if (take_str(&b, &out->u.str) < 0) { json_buf_free(&b); return perr(p, out->pos, "out of memory"); }
    out->kind = JSON_STRING;
    return 0;
  }
  case '[':
  case '{': {
    int obj = c == '{';
    int max = p->max_depth > 0 ? p->max_depth : JSON_MAX_DEPTH;
    if (++p->depth > max) return perr(p, p->pos, "nesting deeper than %d", max);
    out->kind = obj ? JSON_OBJECT : JSON_ARRAY;
    p->pos++;
    json_skip_ws(p);
    if (p->pos < p->len && p->src[p->pos] == (obj ? '}' : ']')) {
      p->pos++;
      p->depth--;
      return 0;
    }
    for (;;) {
      json_skip_ws(p);
      if (grow_items(out, obj) < 0) { json_value_free(out); return perr(p, p->pos, "out of memory"); }
      size_t k = out->u.c.n;
      if (obj) {
        if (p->pos >= p->len || p->src[p->pos] != '"') {
          json_unexpected(p, "a string key");
          json_value_free(out);
          return -1;
        }
        json_buf b = {0};
        if (json_parse_string(p, &b) < 0 || take_str(&b, &out->u.c.keys[k]) < 0) {
          json_buf_free(&b);
          json_value_free(out);
          return -1;
        }
        json_skip_ws(p);
        if (p->pos >= p->len || p->src[p->pos] != ':') {
          json_unexpected(p, "':'");
          free(out->u.c.keys[k].s);
          json_value_free(out);
          return -1;
        }
        p->pos++;
      }
      if (json_parse_value(p, &out->u.c.items[k]) < 0) {
        if (obj) free(out->u.c.keys[k].s);
        json_value_free(out);
        return -1;
      }
      out->u.c.n++;
      json_skip_ws(p);
      if (p->pos < p->len && p->src[p->pos] == ',') { p->pos++; continue; }
      if (p->pos < p->len && p->src[p->pos] == (obj ? '}' : ']')) { p->pos++; break; }
      json_unexpected(p, obj ? "',' or '}'" : "',' or ']'");
      json_value_free(out);
      return -1;
    }
    p->depth--;
    return 0;
  }
  case 't':
    if (word(p, "true")) { out->kind = JSON_TRUE; p->pos += 4; return 0; }
    break;
  case 'f':
    if (word(p, "false")) { out->kind = JSON_FALSE; p->pos += 5; return 0; }
    break;
  case 'n':
    if (word(p, "null")) { p->pos += 4; return 0; }
    break;
  case 'N':
    if (word(p, "NaN")) { out->kind = JSON_FLOAT; out->u.d = NAN; p->pos += 3; return 0; }
    break;
  default:
    if (c == '-' || c == 'I' || (c >= '0' && c <= '9')) {
      if (c == 'I') {
        if (!word(p, "Infinity")) break;
        out->kind = JSON_FLOAT;
        out->u.d = INFINITY;
        p->pos += 8;
        return 0;
      }
      return parse_number(p, out);
    }
  }
  return json_unexpected(p, "a value");
}

int json_parse(const char *src, size_t len, json_value *out, char *err, size_t errcap)
{
  size_t bad, line, col;
  memset(out, 0, sizeof *out);
  if (!json_utf8_valid(src, len, &bad)) {
    json_linecol(src, len, bad, &line, &col);
    snprintf(err, errcap, "invalid UTF-8 at byte %zu (line %zu)", bad, line);
    return -1;
  }
  json_parser p = {.src = src, .len = len};
  int rc = json_parse_value(&p, out);
  if (rc == 0) {
    json_skip_ws(&p);
    if (p.pos < p.len) {
      json_value_free(out);
      rc = json_unexpected(&p, "end of input");
    }
  }
  if (rc < 0) {
    json_linecol(src, len, p.errpos, &line, &col);
    snprintf(err, errcap, "%zu:%zu: %s", line, col, p.msg);
  }
  return rc;
}

/* ---- writing ---- */

size_t json_fmt_int(char *buf, int64_t v)
{
  char t[24];
  size_t n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do { t[n++] = (char)('0' + u % 10); u /= 10; } while (u);
  size_t k = 0;
  if (v < 0) buf[k++] = '-';
  while (n) buf[k++] = t[--n];
  buf[k] = '\0';
  return k;
}

size_t json_fmt_double(char *buf, double d)
{
  if (isnan(d)) { strcpy(buf, "nan"); return 3; }
  if (isinf(d)) { strcpy(buf, d < 0 ? "-inf" : "inf"); return d < 0 ? 4 : 3; }
  double a = fabs(d);
  int prec0 = 15;
  if (a >= 1e-4 && a < 1e15) {
    prec0 = 16; /* when the loop below fails, 15 digits are not enough */
    /* fast path: the fewest decimals k with round(a*10^k)/10^k == a. Both
     * operands of that division are exact, so IEEE division rounds it exactly
     * as strtod would read the decimal text: the text reads back to a. */
    for (int k = 0; k <= 17; k++) {
      double m = nearbyint(a * pow10tab[k]);
      if (m >= 9007199254740992.0) break;
      if (m / pow10tab[k] != a) continue;
      char dig[24];
      size_t nd = json_fmt_int(dig, (int64_t)m), n = 0;
      if (d < 0) buf[n++] = '-';
      if (k == 0) {
        memcpy(buf + n, dig, nd);
        n += nd;
        memcpy(buf + n, ".0", 3);
        return n + 2;
      }
      if (nd > (size_t)k) {
        memcpy(buf + n, dig, nd - (size_t)k);
        n += nd - (size_t)k;
        buf[n++] = '.';
        memcpy(buf + n, dig + nd - (size_t)k, (size_t)k);
        n += (size_t)k;
      } else {
        buf[n++] = '0';
        buf[n++] = '.';
        for (size_t z = nd; z < (size_t)k; z++) buf[n++] = '0';
        memcpy(buf + n, dig, nd);
        n += nd;
      }
      buf[n] = '\0';
      return n;
    }
  }
  int n = 0;
  for (int prec = prec0; prec <= 17; prec++) {
    n = snprintf(buf, 32, "%.*g", prec, d);
    if (prec == 17 || strtod(buf, NULL) == d) break;
  }
  if (!strpbrk(buf, ".en")) { buf[n++] = '.'; buf[n++] = '0'; buf[n] = '\0'; }
  return (size_t)n;
}

static const char hexd[] = "0123456789abcdef";

static void put_u16(json_buf *b, uint32_t u)
{
  char t[6] = {'\\', 'u', hexd[(u >> 12) & 15], hexd[(u >> 8) & 15], hexd[(u >> 4) & 15], hexd[u & 15]};
  json_buf_put(b, t, 6);
}

static void put_escaped_cp(json_buf *b, uint32_t cp)
{
  if (cp >= 0x10000) {
    cp -= 0x10000;
    put_u16(b, 0xD800 + (cp >> 10));
    put_u16(b, 0xDC00 + (cp & 0x3FF));
  } else put_u16(b, cp);
}

int json_write_string(json_buf *b, const char *str, size_t n, int flags)
{
  const unsigned char *s = (const unsigned char *)str;
  int raw = (flags & JSON_BYTES) && !(flags & JSON_ASCII);
  unsigned del = (flags & JSON_BYTES) ? 0x7f : 0x80; /* JSON_BYTES escapes DEL too */
  json_buf_reserve(b, n + 2);
  json_buf_putc(b, '"');
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (i < n && s[i] >= 0x20 && s[i] < del && s[i] != '"' && s[i] != '\\') i++;
    if (i > run) json_buf_put(b, s + run, i - run);
    if (i >= n) break;
    unsigned c = s[i];
    if (c < 0x80) {
      const char *e = NULL;
      switch (c) {
      case '"': e = "\\\""; break;
      case '\\': e = "\\\\"; break;
      case '\n': e = "\\n"; break;
      case '\r': e = "\\r"; break;
      case '\t': e = "\\t"; break;
      case '\b': e = "\\b"; break;
      case '\f': e = "\\f"; break;
      }
      if (e) json_buf_put(b, e, 2);
      else put_u16(b, c);
      i++;
      continue;
    }
    uint32_t cp;
    size_t k = utf8_decode(s + i, n - i, &cp);
    if (!k && raw) { json_buf_putc(b, (char)c); i++; continue; }
    if (!k) { cp = 0xFFFD; k = 1; }
    if (flags & JSON_ASCII) put_escaped_cp(b, cp);
    else if (cp == 0xFFFD && k == 1) json_buf_put(b, "\xEF\xBF\xBD", 3);
    else json_buf_put(b, s + i, k);
    i += k;
  }
  json_buf_putc(b, '"');
  return b->oom ? -1 : 0;
}

int json_write_double(json_buf *b, double d, int flags)
{
  char t[64];
  size_t n;
  if (!isfinite(d)) return json_buf_put(b, "null", 4);
  double a = fabs(d);
  if ((flags & JSON_PANDAS) && (a == 0 || (a >= 1e-10 && a < 1e16))) {
    n = (size_t)snprintf(t, sizeof t, "%.10f", d);
    while (n > 0 && t[n - 1] == '0') n--;
    if (t[n - 1] == '.') t[n++] = '0';
    if (n == 4 && memcmp(t, "-0.0", 4) == 0) { memcpy(t, "0.0", 3); n = 3; } /* keep the sign of zero out */
    t[n] = '\0';
  } else if (flags & JSON_PANDAS) {
    n = (size_t)snprintf(t, sizeof t, "%.10g", d);
  } else {
    n = json_fmt_double(t, d);
  }
  return json_buf_put(b, t, n);
}

static const json_value *sort_base; /* qsort has no context argument */

static int cmp_key(const void *a, const void *b)
{
  const json_str *ka = &sort_base->u.c.keys[*(const size_t *)a];
  const json_str *kb = &sort_base->u.c.keys[*(const size_t *)b];
  return json_key_cmp(ka->s, ka->len, kb->s, kb->len);
}

int json_write(json_buf *b, const json_value *v, int flags)
{
  char t[32];
  switch (v->kind) {
  case JSON_NULL: return json_buf_put(b, "null", 4);
  case JSON_FALSE: return json_buf_put(b, "false", 5);
  case JSON_TRUE: return json_buf_put(b, "true", 4);
  case JSON_INT: return json_buf_put(b, t, json_fmt_int(t, v->u.i));
  case JSON_FLOAT:
    if (flags & JSON_CANONICAL) return json_write_canon_double(b, v->u.d);
    return json_write_double(b, v->u.d, flags);
  case JSON_STRING: return json_write_string(b, v->u.str.s, v->u.str.len, flags);
  case JSON_ARRAY:
  case JSON_OBJECT: {
    int obj = v->kind == JSON_OBJECT;
    size_t n = v->u.c.n, *idx = NULL;
    if (obj && (flags & JSON_CANONICAL) && n > 1) { /* keys in canonical order */
      idx = malloc(n * sizeof *idx);
      if (!idx) { b->oom = 1; return -1; }
      for (size_t i = 0; i < n; i++) idx[i] = i;
      sort_base = v;
      qsort(idx, n, sizeof *idx, cmp_key);
    }
    json_buf_putc(b, obj ? '{' : '[');
    for (size_t k = 0; k < n; k++) {
      size_t i = idx ? idx[k] : k;
      if (k) json_buf_putc(b, ',');
      if (obj) {
        json_write_string(b, v->u.c.keys[i].s, v->u.c.keys[i].len, flags);
        json_buf_putc(b, ':');
      }
      if (json_write(b, &v->u.c.items[i], flags) < 0) { free(idx); return -1; }
    }
    free(idx);
    return json_buf_putc(b, obj ? '}' : ']');
  }
  }
  return -1;
}

int json_write_text(json_buf *b, const char *str, size_t n, int flags)
{
  if (!(flags & JSON_ASCII)) return json_buf_put(b, str, n);
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (i < n && s[i] < 0x80) i++;
    if (i > run) json_buf_put(b, s + run, i - run);
    if (i >= n) break;
    uint32_t cp;
    size_t k = utf8_decode(s + i, n - i, &cp);
    if (!k) { cp = 0xFFFD; k = 1; }
    put_escaped_cp(b, cp); /* non-ASCII bytes only occur inside strings */
    i += k;
  }
  return b->oom ? -1 : 0;
}

/* ---- canonical form ---- */

int json_key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
  int r = memcmp(a, b, an < bn ? an : bn);
  if (r) return r;
  return an < bn ? -1 : an > bn;
}

int json_write_canon_double(json_buf *b, double d)
{
  char num[40];
  if (d != d || d - d != 0) return json_buf_put(b, "null", 4);
  /* the range first: the cast is undefined outside int64 */
  if (d > -9223372036854775808.0 && d < 9223372036854775808.0 && d == (double)(int64_t)d)
    return json_buf_put(b, num, json_fmt_int(num, (int64_t)d));
  return json_buf_put(b, num, json_fmt_double(num, d));
}

