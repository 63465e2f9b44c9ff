/* csv.c: the CSV reader of table.h (RFC 4180 with a header row) and its
 * pandas-like per-column type inference. The writer is in table.c.
 *
 * Files are read in chunks: the parser takes every complete record in the
 * buffer, the unfinished tail moves to the front and more is read, so memory
 * holds the table plus one chunk, not the whole file. A string in memory is
 * one chunk that is known to be the last. */
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
  int eof;          /* src[len) is the end of the input */
  size_t base_off;  /* offset of src[0] in the input */
  size_t base_line; /* line number of src[0] */
  char sep;
  int have_header;
  size_t ncols;
  tbl *t;
  tbl_err *err;
  json_buf scratch; /* unescaped text of quoted fields with "" inside */
} csvp;

/* "read_csv: NAME:LINE:COL: msg" for the byte at offset at of the buffer */
static void fail_at(csvp *p, size_t at, const char *msg)
{
  size_t line, col;
  json_linecol(p->src, p->len, at, &line, &col);
  snprintf(p->err->msg, sizeof p->err->msg, "read_csv: %.200s:%zu:%zu: %.250s", p->name,
           p->base_line + line - 1, col, msg);
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

/* after a field: another follows, the record ended, an error, or the buffer
 * ended before the field did (more input is needed) */
enum { F_MORE, F_EOR, F_ERR, F_NEED };

/* Parses the field at p->pos into s, n and quoted. The text stays valid
 * until the next call. */
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
        if (!p->eof) return F_NEED;
        fail_at(p, open, "unclosed quote");
        return F_ERR;
      }
      size_t k = (size_t)(q - src);
      if (k + 1 >= end && !p->eof) return F_NEED; /* "" or the closing quote? */
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
  if (i >= end) {
    if (!p->eof) return F_NEED;
    p->pos = end;
    return F_EOR;
  }
  if (src[i] == sep) { p->pos = i + 1; return F_MORE; }
  if (src[i] == '\r') {
    if (i + 1 >= end && !p->eof) return F_NEED; /* a CR LF cut in two */
    if (i + 1 < end && src[i + 1] == '\n') i++;
  }
  p->pos = i + 1;
  return F_EOR;
}

/* skips blank lines: F_MORE when a record starts at p->pos, F_EOR at the
 * end of the input, F_NEED when the buffer ran out first */
static int skip_blank(csvp *p)
{
  while (p->pos < p->len && (p->src[p->pos] == '\n' || p->src[p->pos] == '\r')) {
    if (p->src[p->pos] == '\r' && p->pos + 1 >= p->len && !p->eof) return F_NEED;
    p->pos++;
  }
  if (p->pos < p->len) return F_MORE;
  return p->eof ? F_EOR : F_NEED;
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

static int read_header(csvp *p)
{
  tbl *t = p->t;
  for (;;) {
    const char *s;
    size_t n;
    int quoted;
    size_t at = p->pos;
    int rc = next_field(p, &s, &n, &quoted);
    if (rc == F_ERR || rc == F_NEED) return rc;
    char unnamed[40];
    if (n == 0) {
      n = (size_t)snprintf(unnamed, sizeof unnamed, "Unnamed: %zu", tbl_ncols(t));
      s = unnamed;
    }
    tbl_err e;
    if (tbl_add_col(t, s, n, &e) < 0) {
      fail_at(p, at, e.msg);
      return F_ERR;
    }
    if (rc == F_EOR) return F_EOR;
  }
}

static int read_record(csvp *p)
{
  tbl *t = p->t;
  size_t rec_at = p->pos;
  size_t row = tbl_nrows(t);
  if (tbl_resize(t, row + 1) < 0) {
    fail(p, "out of memory");
    return F_ERR;
  }
  size_t k = 0;
  for (;;) {
    const char *s;
    size_t n;
    int quoted;
    int rc = next_field(p, &s, &n, &quoted);
    if (rc == F_NEED) tbl_resize(t, row); /* the row comes again with more input */
    if (rc == F_ERR || rc == F_NEED) return rc;
    if (k < p->ncols && (n > 0 || quoted) && tbl_set_str(t, row, k, s, n) < 0) {
      fail(p, "out of memory");
      return F_ERR;
    }
    k++;
    if (rc == F_EOR) break;
  }
  if (k != p->ncols) {
    size_t line, col;
    json_linecol(p->src, p->len, rec_at, &line, &col);
    snprintf(p->err->msg, sizeof p->err->msg, "read_csv: %.200s:%zu: expected %zu field%s, got %zu",
             p->name, p->base_line + line - 1, p->ncols, p->ncols == 1 ? "" : "s", k);
    return F_ERR;
  }
  return F_EOR;
}

/* Parses every complete record in the buffer. F_EOR: the input is done;
 * F_NEED: p->pos is where the unfinished part starts; F_ERR. */
static int parse_some(csvp *p)
{
  for (;;) {
    size_t at = p->pos;
    int rc = skip_blank(p);
    if (rc == F_NEED) return F_NEED;
    if (rc == F_EOR) {
      if (!p->have_header) {
        fail(p, "no header row (empty file)");
        return F_ERR;
      }
      return F_EOR;
    }
    if (!p->have_header) {
      rc = read_header(p);
      if (rc == F_EOR) {
        p->have_header = 1;
        p->ncols = tbl_ncols(p->t);
      } else if (rc == F_NEED) {
        while (tbl_ncols(p->t)) tbl_drop_col(p->t, tbl_ncols(p->t) - 1);
      }
    } else {
      rc = read_record(p);
    }
    if (rc == F_NEED) p->pos = at;
    if (rc != F_EOR) return rc;
  }
}

/* length of s[0..n) without a UTF-8 sequence cut off at its end */
static size_t whole_chars(const char *s, size_t n)
{
  for (size_t back = 1; back <= 3 && back <= n; back++) {
    unsigned char c = (unsigned char)s[n - back];
    if ((c & 0xC0) == 0x80) continue; /* continuation: look further back */
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

static int check_utf8(csvp *p, size_t from, size_t to)
{
  size_t bad;
  if (json_utf8_valid(p->src + from, to - from, &bad)) return 0;
  size_t line, col;
  json_linecol(p->src, p->len, from + bad, &line, &col);
  fail(p, "invalid UTF-8 at byte %zu (line %zu)", p->base_off + from + bad, p->base_line + line - 1);
  return -1;
}

static void start(csvp *p, const char *name, const tbl_csv_opts *opts, tbl_err *err)
{
  memset(p, 0, sizeof *p);
  p->name = name ? name : "<string>";
  p->err = err;
  p->sep = opts && opts->sep ? opts->sep : ',';
  p->base_line = 1;
}

static tbl *finish(csvp *p, const tbl_csv_opts *opts, int ok)
{
  if (ok && !(opts && opts->noinfer))
    for (size_t c = 0; c < p->ncols && ok; c++)
      if (infer_column(p->t, c) < 0) {
        fail(p, "out of memory");
        ok = 0;
      }
  json_buf_free(&p->scratch);
  if (ok) return p->t;
  tbl_free(p->t);
  return NULL;
}

static int bad_sep(csvp *p)
{
  if (p->sep == '"' || p->sep == '\n' || p->sep == '\r') {
    fail(p, "bad separator");
    return 1;
  }
  return 0;
}

tbl *tbl_read_csv_mem(const char *data, size_t len, const char *name,
                      const tbl_csv_opts *opts, tbl_err *err)
{
  tbl_err dummy;
  csvp p;
  start(&p, name, opts, err ? err : &dummy);
  if (bad_sep(&p)) return NULL;
  p.src = data;
  p.len = len;
  p.eof = 1;
  if (check_utf8(&p, 0, len) < 0) return NULL;
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) { /* not a character of line 1 */
    p.src += 3;
    p.len -= 3;
    p.base_off = 3;
  }
  p.t = tbl_new();
  if (!p.t) {
    fail(&p, "out of memory");
    return NULL;
  }
  return finish(&p, opts, parse_some(&p) == F_EOR);
}

tbl *tbl_read_csv_file(FILE *fp, const char *name, const tbl_csv_opts *opts, tbl_err *err)
{
  tbl_err dummy;
  csvp p;
  start(&p, name, opts, err ? err : &dummy);
  if (bad_sep(&p)) return NULL;
  size_t chunk = opts && opts->chunk ? opts->chunk : (size_t)1 << 20;
  json_buf b = {0};
  size_t checked = 0; /* bytes of b already checked for UTF-8 */
  int first = 1, ok = 0, eof = 0;
  p.t = tbl_new();
  if (!p.t) {
    fail(&p, "out of memory");
    return NULL;
  }
  for (;;) {
    if (json_buf_reserve(&b, chunk) < 0) {
      fail(&p, "out of memory");
      break;
    }
    size_t n = fread(b.p + b.len, 1, chunk, fp);
    b.len += n;
    if (n < chunk) {
      if (ferror(fp)) {
        fail(&p, "%s", strerror(errno));
        break;
      }
      eof = 1;
    }
    p.src = b.p;
    p.len = b.len;
    p.eof = eof;
    size_t upto = eof ? b.len : whole_chars(b.p, b.len);
    if (check_utf8(&p, checked, upto) < 0) break;
    checked = upto;
    p.pos = 0;
    if (first) {
      if (b.len < 3 && !eof) continue;
      if (b.len >= 3 && memcmp(b.p, "\xEF\xBB\xBF", 3) == 0) { /* not a character of line 1 */
        memmove(b.p, b.p + 3, b.len - 3);
        b.len -= 3;
        checked -= 3;
        p.base_off = 3;
        p.len = b.len;
      }
      first = 0;
    }
    int rc = parse_some(&p);
    if (rc == F_EOR) { ok = 1; break; }
    if (rc == F_ERR) break;
    /* keep the unfinished tail; count what is consumed */
    size_t used = p.pos;
    if (used == 0 && chunk < ((size_t)1 << 30)) chunk *= 2; /* a long record: read more at a time */
    p.base_line += json_count_lines(b.p, used);
    p.base_off += used;
    memmove(b.p, b.p + used, b.len - used);
    b.len -= used;
    checked -= used;
  }
  json_buf_free(&b);
  return finish(&p, opts, ok);
}

tbl *tbl_read_csv(const char *path, const tbl_csv_opts *opts, tbl_err *err)
{
  tbl_err dummy;
  if (!err) err = &dummy;
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    snprintf(err->msg, sizeof err->msg, "read_csv: %.300s: %s", path, strerror(errno));
    return NULL;
  }
  tbl *t = tbl_read_csv_file(fp, path, opts, err);
  fclose(fp);
  return t;
}
