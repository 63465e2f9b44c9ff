/* csv.c: the CSV reader of table.h (RFC 4180 with a header row) and its
 * pandas-like per-column type inference. The writer is in table.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "table.h"

typedef struct {
  const char *src, *name;
  size_t len, pos;
  char sep;
  tbl_err *err;
  json_buf scratch; /* unescaped text of quoted fields with "" inside */
} csvp;

/* "read_csv: NAME:LINE:COL: msg" for the byte at offset at */
static void fail_at(csvp *p, size_t at, const char *msg)
{
  size_t line, col;
  json_linecol(p->src, p->len, at, &line, &col);
  snprintf(p->err->msg, sizeof p->err->msg, "read_csv: %.200s:%zu:%zu: %.250s", p->name, line, col, msg);
}

static void fail(csvp *p, const char *fmt, ...)
{
  char m[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m, sizeof m, fmt, ap);
  va_end(ap);
  snprintf(p->err->msg, sizeof p->err->msg, "read_csv: %.200s: %.250s", p->name, m);
}

enum { F_MORE, F_EOR, F_ERR }; /* after a field: another follows, record ended, error */

/* Parses the field at p->pos into s, n and quoted. The text stays
 * valid until the next call. */
static int next_field(csvp *p, const char **s, size_t *n, int *quoted)
{
  const char *src = p->src;
  size_t i = p->pos, end = p->len;
  char sep = p->sep;
  *quoted = 0;
  if (i < end && src[i] == '"') {
    size_t open = i;
    *quoted = 1;
    i++;
    size_t start = i;
    int copied = 0;
    p->scratch.len = 0;
    for (;;) {
      const char *q = memchr(src + i, '"', end - i);
      if (!q) {
        fail_at(p, open, "unclosed quote");
        return F_ERR;
      }
      size_t k = (size_t)(q - src);
      if (k + 1 < end && src[k + 1] == '"') { /* "" is one quote */
        json_buf_put(&p->scratch, src + start, k + 1 - start);
        copied = 1;
        i = start = k + 2;
        continue;
      }
      if (copied) {
        json_buf_put(&p->scratch, src + start, k - start);
        *s = p->scratch.p ? p->scratch.p : "";
        *n = p->scratch.len;
      } else {
        *s = src + start;
        *n = k - start;
      }
      i = k + 1;
      break;
    }
    if (p->scratch.oom) {
      fail(p, "out of memory");
      return F_ERR;
    }
    if (i < end && src[i] != sep && src[i] != '\n' && src[i] != '\r') {
      fail_at(p, i, "unexpected character after closing quote");
      return F_ERR;
    }
  } else {
    size_t start = i;
    while (i < end) {
      char c = src[i];
      if (c == sep || c == '\n' || c == '\r') break;
      i++;
    }
    *s = src + start;
    *n = i - start;
  }
  if (i >= end) { p->pos = end; return F_EOR; }
  if (src[i] == sep) { p->pos = i + 1; return F_MORE; }
  if (src[i] == '\r' && i + 1 < end && src[i + 1] == '\n') i++;
  p->pos = i + 1;
  return F_EOR;
}

/* skips blank lines; returns 0 at the end of the data */
static int skip_blank(csvp *p)
{
  while (p->pos < p->len && (p->src[p->pos] == '\n' || p->src[p->pos] == '\r')) p->pos++;
  return p->pos < p->len;
}

/* ---- inference ---- */

static int is_space(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **s, size_t *n)
{
  while (*n && is_space(**s)) { (*s)++; (*n)--; }
  while (*n && is_space((*s)[*n - 1])) (*n)--;
}

/* an integer that fits int64: [+-]?digits */
static int parse_int(const char *s, size_t n, int64_t *out)
{
  trim(&s, &n);
  size_t i = 0;
  int neg = 0;
  if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i == n) return 0;
  uint64_t v = 0;
  for (; i < n; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (d > 9) return 0;
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return 0;
  if (out) *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 1;
}

static int word_ci(const char *s, size_t n, const char *w)
{
  size_t k = strlen(w);
  if (n != k) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != w[i]) return 0;
  }
  return 1;
}

/* a decimal number (digits with an optional point and exponent) or one of
 * nan / inf / infinity with an optional sign, any case */
static int is_number(const char *s, size_t n)
{
  trim(&s, &n);
  size_t i = 0;
  if (i < n && (s[i] == '+' || s[i] == '-')) i++;
  if (word_ci(s + i, n - i, "nan") || word_ci(s + i, n - i, "inf") ||
      word_ci(s + i, n - i, "infinity"))
    return 1;
  size_t digits = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9') { i++; digits++; }
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') { i++; digits++; }
  }
  if (!digits) return 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t ed = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') { i++; ed++; }
    if (!ed) return 0;
  }
  return i == n;
}

/* pandas' default true_values / false_values: 1 true, 0 false, -1 neither */
static int parse_bool(const char *s, size_t n)
{
  if ((n == 4 && (!memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4) || !memcmp(s, "true", 4))))
    return 1;
  if ((n == 5 && (!memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5) || !memcmp(s, "false", 5))))
    return 0;
  return -1;
}

static int infer_column(tbl *t, size_t col)
{
  size_t nr = tbl_nrows(t);
  int all_int = 1, all_num = 1, all_bool = 1, any = 0;
  for (size_t r = 0; r < nr && (all_int || all_num || all_bool); r++) {
    size_t n;
    const char *s = tbl_get_str(t, r, col, &n);
    if (!s || n == 0) continue; /* nil, or "" which counts as missing here */
    any = 1;
    if (all_int && !parse_int(s, n, NULL)) all_int = 0;
    if (all_num && !all_int && !is_number(s, n)) all_num = 0;
    if (all_bool && parse_bool(s, n) < 0) all_bool = 0;
  }
  if (!any || !(all_int || all_num || all_bool)) return 0;
  for (size_t r = 0; r < nr; r++) {
    size_t n;
    const char *s = tbl_get_str(t, r, col, &n);
    if (!s) continue;
    if (n == 0) { tbl_set_nil(t, r, col); continue; }
    if (all_int) {
      int64_t v = 0;
      parse_int(s, n, &v);
      tbl_set_int(t, r, col, v);
    } else if (all_num) {
      tbl_set_float(t, r, col, json_strtod(s, n));
    } else {
      tbl_set_bool(t, r, col, parse_bool(s, n));
    }
  }
  return tbl_compact(t, col);
}

/* ---- the reader ---- */

tbl *tbl_read_csv_mem(const char *data, size_t len, const char *name,
                      const tbl_csv_opts *opts, tbl_err *err)
{
  tbl_err dummy;
  if (!err) err = &dummy;
  csvp p = {.src = data, .len = len, .name = name ? name : "<string>", .err = err,
            .sep = opts && opts->sep ? opts->sep : ','};
  tbl *t = NULL;
  size_t bad;
  if (!json_utf8_valid(data, len, &bad)) {
    size_t line, col;
    json_linecol(data, len, bad, &line, &col);
    fail(&p, "invalid UTF-8 at byte %zu (line %zu)", bad, line);
    return NULL;
  }
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) p.pos = 3;
  if (p.sep == '"' || p.sep == '\n' || p.sep == '\r') {
    fail(&p, "bad separator");
    return NULL;
  }
  t = tbl_new();
  if (!t) goto oom;
  if (!skip_blank(&p)) {
    fail(&p, "no header row (empty file)");
    goto error;
  }
  /* header */
  size_t hdr_at = p.pos;
  for (;;) {
    const char *s;
    size_t n;
    int quoted;
    size_t at = p.pos;
    int rc = next_field(&p, &s, &n, &quoted);
    if (rc == F_ERR) goto error;
    char unnamed[40];
    if (n == 0) {
      n = (size_t)snprintf(unnamed, sizeof unnamed, "Unnamed: %zu", tbl_ncols(t));
      s = unnamed;
    }
    tbl_err e;
    if (tbl_add_col(t, s, n, &e) < 0) {
      fail_at(&p, at, e.msg);
      goto error;
    }
    if (rc == F_EOR) break;
  }
  (void)hdr_at;
  size_t ncols = tbl_ncols(t);
  /* records */
  while (skip_blank(&p)) {
    size_t rec_at = p.pos;
    size_t row = tbl_nrows(t);
    if (tbl_resize(t, row + 1) < 0) goto oom;
    size_t k = 0;
    for (;;) {
      const char *s;
      size_t n;
      int quoted;
      int rc = next_field(&p, &s, &n, &quoted);
      if (rc == F_ERR) goto error;
      if (k < ncols && (n > 0 || quoted) && tbl_set_str(t, row, k, s, n) < 0) goto oom;
      k++;
      if (rc == F_EOR) break;
    }
    if (k != ncols) {
      size_t line, col;
      json_linecol(data, len, rec_at, &line, &col);
      snprintf(err->msg, sizeof err->msg, "read_csv: %.200s:%zu: expected %zu field%s, got %zu",
               p.name, line, ncols, ncols == 1 ? "" : "s", k);
      goto error;
    }
  }
  if (!(opts && opts->noinfer))
    for (size_t c = 0; c < ncols; c++)
      if (infer_column(t, c) < 0) goto oom;
  json_buf_free(&p.scratch);
  return t;
oom:
  fail(&p, "out of memory");
error:
  json_buf_free(&p.scratch);
  tbl_free(t);
  return NULL;
}

tbl *tbl_read_csv(const char *path, const tbl_csv_opts *opts, tbl_err *err)
{
  size_t len;
  char *data = tbl_slurp("read_csv", path, &len, err);
  if (!data) return NULL;
  tbl *t = tbl_read_csv_mem(data, len, path, opts, err);
  free(data);
  return t;
}
