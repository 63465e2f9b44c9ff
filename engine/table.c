/* table.c: the columnar table of table.h: storage, cells, copies, the
 * writers (CSV, JSONL, JSON) and the text preview. The readers live in
 * csv.c and table_json.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "file.h"
#include "table.h"

/* a cell value; strings hold the arena offset of [u32 length][bytes][NUL] */
union tcell {
  int64_t i;
  double d;
  uint64_t off;
};

struct tcol {
  char *name;
  size_t namelen;
  uint8_t *type;     /* cap entries */
  union tcell *val;  /* cap entries */
  char *arena;
  size_t alen, acap, garbage;
};

struct tbl {
  size_t nrows, cap;
  size_t ncols, colcap;
  struct tcol *cols;
  long *slots; /* open-addressing index of the column names: column or -1 */
  size_t nslots; /* a power of two, at least twice ncols; 0 = no index yet */
};

#define STR_OVERHEAD 5 /* length prefix + NUL */

tbl *tbl_new(void)
{
  return calloc(1, sizeof(tbl));
}

static void col_free(struct tcol *c)
{
  free(c->name);
  free(c->type);
  free(c->val);
  free(c->arena);
  memset(c, 0, sizeof *c);
}

void tbl_free(tbl *t)
{
  if (!t) return;
  for (size_t i = 0; i < t->ncols; i++) col_free(&t->cols[i]);
  free(t->cols);
  free(t->slots);
  free(t);
}

static size_t name_hash(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return (size_t)(h ^ (h >> 29));
}

/* (re)builds the name index with room for `want` columns; on out of memory
 * the index is dropped and lookups scan (still correct) */
static void index_build(tbl *t, size_t want)
{
  size_t n = 16;
  while (n < want * 2) n *= 2;
  long *sl = malloc(n * sizeof *sl);
  free(t->slots);
  t->slots = sl;
  t->nslots = sl ? n : 0;
  if (!sl) return;
  for (size_t i = 0; i < n; i++) sl[i] = -1;
  for (size_t c = 0; c < t->ncols; c++) {
    size_t h = name_hash(t->cols[c].name, t->cols[c].namelen) & (n - 1);
    while (sl[h] >= 0) h = (h + 1) & (n - 1);
    sl[h] = (long)c;
  }
}

size_t tbl_nrows(const tbl *t) { return t->nrows; }
size_t tbl_ncols(const tbl *t) { return t->ncols; }

static int grow_rows(tbl *t, size_t need)
{
  if (need <= t->cap) return 0;
  size_t cap = t->cap < 16 ? 16 : t->cap;
  while (cap < need) {
    if (cap > SIZE_MAX / 4 / sizeof(union tcell)) return -1;
    cap *= 2;
  }
  for (size_t i = 0; i < t->ncols; i++) {
    struct tcol *c = &t->cols[i];
    uint8_t *ty = realloc(c->type, cap);
    if (!ty) return -1;
    c->type = ty;
    union tcell *v = realloc(c->val, cap * sizeof *v);
    if (!v) return -1;
    c->val = v;
  }
  t->cap = cap;
  return 0;
}

static void cell_drop(struct tcol *c, size_t row)
{
  if (c->type[row] == TBL_STR || c->type[row] == TBL_JSON) {
    uint32_t n;
    memcpy(&n, c->arena + c->val[row].off, 4);
    c->garbage += (size_t)n + STR_OVERHEAD;
  }
}

int tbl_resize(tbl *t, size_t nrows)
{
  if (nrows > t->nrows) {
    if (grow_rows(t, nrows) < 0) return -1;
    for (size_t i = 0; i < t->ncols; i++)
      memset(t->cols[i].type + t->nrows, TBL_NIL, nrows - t->nrows);
  } else {
    for (size_t i = 0; i < t->ncols; i++)
      for (size_t r = nrows; r < t->nrows; r++) cell_drop(&t->cols[i], r);
  }
  t->nrows = nrows;
  return 0;
}

long tbl_colindex(const tbl *t, const char *name, size_t len)
{
  if (t->nslots) {
    size_t mask = t->nslots - 1, h = name_hash(name, len) & mask;
    for (long c; (c = t->slots[h]) >= 0; h = (h + 1) & mask)
      if (t->cols[c].namelen == len && memcmp(t->cols[c].name, name, len) == 0) return c;
    return -1;
  }
  for (size_t i = 0; i < t->ncols; i++)
    if (t->cols[i].namelen == len && memcmp(t->cols[i].name, name, len) == 0) return (long)i;
  return -1;
}

const char *tbl_colname(const tbl *t, size_t col, size_t *len)
{
  if (col >= t->ncols) return NULL;
  if (len) *len = t->cols[col].namelen;
  return t->cols[col].name;
}

static char *dupmem(const char *s, size_t n)
{
  char *p = malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static void seterr(tbl_err *err, const char *fmt, const char *name, size_t len)
{
  if (err) snprintf(err->msg, sizeof err->msg, fmt, (int)(len > 200 ? 200 : len), name);
}

long tbl_add_col(tbl *t, const char *name, size_t len, tbl_err *err)
{
  if (tbl_colindex(t, name, len) >= 0) {
    seterr(err, "duplicate column name \"%.*s\"", name, len);
    return -1;
  }
  if (t->ncols == t->colcap) {
    size_t cap = t->colcap ? t->colcap * 2 : 8;
    struct tcol *c = realloc(t->cols, cap * sizeof *c);
    if (!c) goto oom;
    t->cols = c;
    t->colcap = cap;
  }
  struct tcol c = {0};
  c.name = dupmem(name, len);
  c.namelen = len;
  size_t cap = t->cap ? t->cap : 1;
  c.type = malloc(cap);
  c.val = malloc(cap * sizeof *c.val);
  if (!c.name || !c.type || !c.val) {
    col_free(&c);
    goto oom;
  }
  memset(c.type, TBL_NIL, cap);
  t->cols[t->ncols] = c;
  t->ncols++;
  if (t->ncols * 2 > t->nslots) index_build(t, t->ncols * 2);
  else {
    size_t mask = t->nslots - 1, h = name_hash(name, len) & mask;
    while (t->slots[h] >= 0) h = (h + 1) & mask;
    t->slots[h] = (long)t->ncols - 1;
  }
  return (long)t->ncols - 1;
oom:
  if (err) snprintf(err->msg, sizeof err->msg, "out of memory");
  return -1;
}

int tbl_drop_col(tbl *t, size_t col)
{
  if (col >= t->ncols) return -1;
  col_free(&t->cols[col]);
  memmove(&t->cols[col], &t->cols[col + 1], (t->ncols - col - 1) * sizeof *t->cols);
  t->ncols--;
  index_build(t, t->ncols);
  return 0;
}

int tbl_rename(tbl *t, size_t col, const char *name, size_t len, tbl_err *err)
{
  if (col >= t->ncols) return -1;
  long other = tbl_colindex(t, name, len);
  if (other >= 0 && (size_t)other != col) {
    seterr(err, "duplicate column name \"%.*s\"", name, len);
    return -1;
  }
  char *p = dupmem(name, len);
  if (!p) {
    if (err) snprintf(err->msg, sizeof err->msg, "out of memory");
    return -1;
  }
  free(t->cols[col].name);
  t->cols[col].name = p;
  t->cols[col].namelen = len;
  index_build(t, t->ncols);
  return 0;
}

/* ---- cells ---- */

#define CELL_OK(t, row, col) ((row) < (t)->nrows && (col) < (t)->ncols)

int tbl_set_nil(tbl *t, size_t row, size_t col)
{
  if (!CELL_OK(t, row, col)) return -1;
  cell_drop(&t->cols[col], row);
  t->cols[col].type[row] = TBL_NIL;
  return 0;
}

int tbl_set_int(tbl *t, size_t row, size_t col, int64_t v)
{
  if (!CELL_OK(t, row, col)) return -1;
  struct tcol *c = &t->cols[col];
  cell_drop(c, row);
  c->type[row] = TBL_INT;
  c->val[row].i = v;
  return 0;
}

int tbl_set_float(tbl *t, size_t row, size_t col, double v)
{
  if (!CELL_OK(t, row, col)) return -1;
  struct tcol *c = &t->cols[col];
  cell_drop(c, row);
  c->type[row] = TBL_FLOAT;
  c->val[row].d = v;
  return 0;
}

int tbl_set_bool(tbl *t, size_t row, size_t col, int v)
{
  if (!CELL_OK(t, row, col)) return -1;
  struct tcol *c = &t->cols[col];
  cell_drop(c, row);
  c->type[row] = TBL_BOOL;
  c->val[row].i = v != 0;
  return 0;
}

static int set_bytes(tbl *t, size_t row, size_t col, const char *s, size_t len, tbl_type ty)
{
  if (!CELL_OK(t, row, col) || len > UINT32_MAX) return -1;
  struct tcol *c = &t->cols[col];
  if (c->garbage > 65536 && c->garbage > c->alen / 2) tbl_compact(t, col);
  size_t need = len + STR_OVERHEAD;
  if (c->acap - c->alen < need) {
    size_t cap = c->acap ? c->acap : 256;
    while (cap - c->alen < need) {
      if (cap > SIZE_MAX / 2) return -1;
      cap *= 2;
    }
    char *a = realloc(c->arena, cap);
    if (!a) return -1;
    c->arena = a;
    c->acap = cap;
  }
  cell_drop(c, row);
  char *dst = c->arena + c->alen;
  uint32_t n32 = (uint32_t)len;
  memcpy(dst, &n32, 4);
  if (len) memcpy(dst + 4, s, len);
  dst[4 + len] = '\0';
  c->val[row].off = c->alen;
  c->type[row] = (uint8_t)ty;
  c->alen += need;
  return 0;
}

int tbl_set_str(tbl *t, size_t row, size_t col, const char *s, size_t len)
{
  return set_bytes(t, row, col, s, len, TBL_STR);
}

int tbl_set_json(tbl *t, size_t row, size_t col, const char *json, size_t len)
{
  return set_bytes(t, row, col, json, len, TBL_JSON);
}

int tbl_compact(tbl *t, size_t col)
{
  if (col >= t->ncols) return -1;
  struct tcol *c = &t->cols[col];
  if (c->garbage == 0) return 0;
  size_t live = c->alen - c->garbage;
  if (live == 0) {
    free(c->arena);
    c->arena = NULL;
    c->alen = c->acap = c->garbage = 0;
    return 0;
  }
  char *a = malloc(live);
  if (!a) return -1;
  size_t at = 0;
  for (size_t r = 0; r < t->nrows; r++) {
    if (c->type[r] != TBL_STR && c->type[r] != TBL_JSON) continue;
    uint32_t n;
    memcpy(&n, c->arena + c->val[r].off, 4);
    memcpy(a + at, c->arena + c->val[r].off, (size_t)n + STR_OVERHEAD);
    c->val[r].off = at;
    at += (size_t)n + STR_OVERHEAD;
  }
  free(c->arena);
  c->arena = a;
  c->alen = c->acap = at;
  c->garbage = 0;
  return 0;
}

int tbl_copy_cell(tbl *dst, size_t drow, size_t dcol, const tbl *src, size_t srow, size_t scol)
{
  if (!CELL_OK(dst, drow, dcol) || !CELL_OK(src, srow, scol)) return -1;
  const struct tcol *c = &src->cols[scol];
  uint8_t ty = c->type[srow];
  if (ty == TBL_STR || ty == TBL_JSON) {
    size_t len;
    const char *p = tbl_get_str(src, srow, scol, &len);
    if (dst != src) return set_bytes(dst, drow, dcol, p, len, (tbl_type)ty);
    /* the arena may move while we append: copy the bytes out first */
    char *tmp = malloc(len + 1);
    if (!tmp) return -1;
    memcpy(tmp, p, len);
    int rc = set_bytes(dst, drow, dcol, tmp, len, (tbl_type)ty);
    free(tmp);
    return rc;
  }
  struct tcol *d = &dst->cols[dcol];
  union tcell v = c->val[srow];
  cell_drop(d, drow);
  d->type[drow] = ty;
  d->val[drow] = v;
  return 0;
}

tbl_type tbl_get_type(const tbl *t, size_t row, size_t col)
{
  if (!CELL_OK(t, row, col)) return TBL_NIL;
  return (tbl_type)t->cols[col].type[row];
}

const char *tbl_get_str(const tbl *t, size_t row, size_t col, size_t *len)
{
  tbl_type ty = tbl_get_type(t, row, col);
  if (ty != TBL_STR && ty != TBL_JSON) return NULL;
  const char *p = t->cols[col].arena + t->cols[col].val[row].off;
  uint32_t n;
  memcpy(&n, p, 4);
  if (len) *len = n;
  return p + 4;
}

int64_t tbl_get_int(const tbl *t, size_t row, size_t col)
{
  switch (tbl_get_type(t, row, col)) {
  case TBL_INT:
  case TBL_BOOL: return t->cols[col].val[row].i;
  case TBL_FLOAT: {
    double d = t->cols[col].val[row].d;
    if (!(d >= -9.2233720368547758e18 && d < 9.2233720368547758e18)) return 0;
    return (int64_t)d;
  }
  default: return 0;
  }
}

double tbl_get_float(const tbl *t, size_t row, size_t col)
{
  switch (tbl_get_type(t, row, col)) {
  case TBL_INT: return (double)t->cols[col].val[row].i;
  case TBL_FLOAT: return t->cols[col].val[row].d;
  default: return NAN;
  }
}

int tbl_get_bool(const tbl *t, size_t row, size_t col)
{
  return tbl_get_type(t, row, col) == TBL_BOOL && t->cols[col].val[row].i != 0;
}

const char *tbl_typename(tbl_type ty)
{
  static const char *const names[] = {"nil", "string", "integer", "float", "boolean", "json"};
  return (unsigned)ty < 6 ? names[ty] : "?";
}

const char *tbl_col_typename(const tbl *t, size_t col)
{
  if (col >= t->ncols) return "nil";
  int seen = -1;
  const uint8_t *ty = t->cols[col].type;
  for (size_t r = 0; r < t->nrows; r++) {
    if (ty[r] == TBL_NIL) continue;
    if (seen < 0) seen = ty[r];
    else if (seen != ty[r]) return "mixed";
  }
  return seen < 0 ? "nil" : tbl_typename((tbl_type)seen);
}

/* ---- copies ---- */

static int copy_col(tbl *dst, const tbl *src, size_t sc)
{
  const struct tcol *c = &src->cols[sc];
  long k = tbl_add_col(dst, c->name, c->namelen, NULL);
  if (k < 0) return -1;
  struct tcol *d = &dst->cols[k];
  if (src->nrows) {
    memcpy(d->type, c->type, src->nrows);
    memcpy(d->val, c->val, src->nrows * sizeof *c->val);
  }
  if (c->alen) {
    d->arena = malloc(c->alen);
    if (!d->arena) return -1;
    memcpy(d->arena, c->arena, c->alen);
    d->alen = d->acap = c->alen;
    d->garbage = c->garbage;
  }
  return 0;
}

tbl *tbl_select(const tbl *t, const size_t *cols, size_t n)
{
  tbl *r = tbl_new();
  if (!r || grow_rows(r, t->nrows) < 0) goto fail;
  r->nrows = t->nrows;
  for (size_t i = 0; i < n; i++)
    if (cols[i] >= t->ncols || copy_col(r, t, cols[i]) < 0) goto fail;
  return r;
fail:
  tbl_free(r);
  return NULL;
}

tbl *tbl_copy(const tbl *t)
{
  tbl *r = tbl_new();
  if (!r || grow_rows(r, t->nrows) < 0) goto fail;
  r->nrows = t->nrows;
  for (size_t i = 0; i < t->ncols; i++)
    if (copy_col(r, t, i) < 0) goto fail;
  return r;
fail:
  tbl_free(r);
  return NULL;
}

tbl *tbl_slice(const tbl *t, size_t first, size_t count)
{
  if (first > t->nrows) first = t->nrows;
  if (count > t->nrows - first) count = t->nrows - first;
  tbl *r = tbl_new();
  if (!r) return NULL;
  for (size_t i = 0; i < t->ncols; i++)
    if (tbl_add_col(r, t->cols[i].name, t->cols[i].namelen, NULL) < 0) goto fail;
  if (tbl_resize(r, count) < 0) goto fail;
  for (size_t i = 0; i < t->ncols; i++) {
    const struct tcol *c = &t->cols[i];
    for (size_t k = 0; k < count; k++) {
      size_t s = first + k;
      uint8_t ty = c->type[s];
      if (ty == TBL_STR || ty == TBL_JSON) {
        size_t len;
        const char *p = tbl_get_str(t, s, i, &len);
        if (set_bytes(r, k, i, p, len, (tbl_type)ty) < 0) goto fail;
      } else {
        r->cols[i].type[k] = ty;
        r->cols[i].val[k] = c->val[s];
      }
    }
  }
  return r;
fail:
  tbl_free(r);
  return NULL;
}

/* ---- writing ---- */

typedef struct {
  json_buf b;
  tbl_sink sink;
  void *ud;
  int failed;
} wout;

#define WCHUNK 65536

static void wflush(wout *w)
{
  if (w->b.len && !w->failed && w->sink(w->ud, w->b.p, w->b.len) < 0) w->failed = 1;
  w->b.len = 0;
}

static void wmaybe(wout *w)
{
  if (w->b.len >= WCHUNK) wflush(w);
}

static void csv_field(wout *w, const char *s, size_t n, char sep, int force)
{
  int quote = n == 0 || force;
  for (size_t i = 0; i < n && !quote; i++) {
    char c = s[i];
    if (c == sep || c == '"' || c == '\n' || c == '\r') quote = 1;
  }
  if (!quote) {
    json_buf_put(&w->b, s, n);
    return;
  }
  json_buf_putc(&w->b, '"');
  size_t run = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '"') {
      json_buf_put(&w->b, s + run, i + 1 - run);
      json_buf_putc(&w->b, '"');
      run = i + 1;
    }
  json_buf_put(&w->b, s + run, n - run);
  json_buf_putc(&w->b, '"');
}

static void csv_cell(wout *w, const tbl *t, size_t r, size_t c, char sep)
{
  char num[40];
  size_t len;
  const char *s;
  switch (tbl_get_type(t, r, c)) {
  case TBL_NIL: break;
  case TBL_STR:
  case TBL_JSON:
    s = tbl_get_str(t, r, c, &len);
    csv_field(w, s, len, sep, 0);
    break;
  case TBL_INT: json_buf_put(&w->b, num, json_fmt_int(num, t->cols[c].val[r].i)); break;
  case TBL_FLOAT: {
    double d = t->cols[c].val[r].d;
    if (!isnan(d)) json_buf_put(&w->b, num, json_fmt_double(num, d));
    break;
  }
  case TBL_BOOL:
    if (t->cols[c].val[r].i) json_buf_put(&w->b, "True", 4);
    else json_buf_put(&w->b, "False", 5);
    break;
  }
}

static void write_csv(wout *w, const tbl *t, char sep)
{
  for (size_t c = 0; c < t->ncols; c++) {
    if (c) json_buf_putc(&w->b, sep);
    const struct tcol *k = &t->cols[c];
    if (c == 0 && k->namelen >= 3 && memcmp(k->name, "\xEF\xBB\xBF", 3) == 0) {
      /* quoted, so a reader does not take it for a byte order mark */
      csv_field(w, k->name, k->namelen, sep, 1);
    } else {
      csv_field(w, k->name, k->namelen, sep, 0);
    }
  }
  json_buf_putc(&w->b, '\n');
  for (size_t r = 0; r < t->nrows && !w->failed; r++) {
    for (size_t c = 0; c < t->ncols; c++) {
      if (c) json_buf_putc(&w->b, sep);
      csv_cell(w, t, r, c, sep);
    }
    json_buf_putc(&w->b, '\n');
    wmaybe(w);
  }
}

static void json_cell(wout *w, const tbl *t, size_t r, size_t c, int flags)
{
  char num[24];
  size_t len;
  const char *s;
  switch (tbl_get_type(t, r, c)) {
  case TBL_NIL: json_buf_put(&w->b, "null", 4); break;
  case TBL_STR:
    s = tbl_get_str(t, r, c, &len);
    json_write_string(&w->b, s, len, flags);
    break;
  case TBL_JSON:
    s = tbl_get_str(t, r, c, &len);
    json_write_text(&w->b, s, len, flags);
    break;
  case TBL_INT: json_buf_put(&w->b, num, json_fmt_int(num, t->cols[c].val[r].i)); break;
  case TBL_FLOAT: json_write_double(&w->b, t->cols[c].val[r].d, flags); break;
  case TBL_BOOL:
    if (t->cols[c].val[r].i) json_buf_put(&w->b, "true", 4);
    else json_buf_put(&w->b, "false", 5);
    break;
  }
}

static void write_json(wout *w, const tbl *t, tbl_format f, int flags)
{
  /* the quoted keys, made once: "name": */
  json_buf keys = {0};
  size_t *koff = calloc(t->ncols + 1, sizeof *koff);
  if (!koff) { w->b.oom = 1; return; }
  for (size_t c = 0; c < t->ncols; c++) {
    koff[c] = keys.len;
    json_write_string(&keys, t->cols[c].name, t->cols[c].namelen, flags);
    if (f != TBL_FMT_JSON_SPLIT) json_buf_putc(&keys, ':');
  }
  koff[t->ncols] = keys.len;
  if (keys.oom) w->b.oom = 1;
  if (f == TBL_FMT_JSON_SPLIT) {
    json_buf_put(&w->b, "{\"columns\":[", 12);
    for (size_t c = 0; c < t->ncols; c++) {
      if (c) json_buf_putc(&w->b, ',');
      json_buf_put(&w->b, keys.p + koff[c], koff[c + 1] - koff[c]);
    }
    json_buf_put(&w->b, "],\"data\":[", 10);
  } else if (f == TBL_FMT_JSON_RECORDS) {
    json_buf_putc(&w->b, '[');
  }
  for (size_t r = 0; r < t->nrows && !w->failed; r++) {
    if (r && f != TBL_FMT_JSONL) json_buf_putc(&w->b, ',');
    json_buf_putc(&w->b, f == TBL_FMT_JSON_SPLIT ? '[' : '{');
    for (size_t c = 0; c < t->ncols; c++) {
      if (c) json_buf_putc(&w->b, ',');
      if (f != TBL_FMT_JSON_SPLIT) json_buf_put(&w->b, keys.p + koff[c], koff[c + 1] - koff[c]);
      json_cell(w, t, r, c, flags);
    }
    json_buf_putc(&w->b, f == TBL_FMT_JSON_SPLIT ? ']' : '}');
    if (f == TBL_FMT_JSONL) json_buf_putc(&w->b, '\n');
    wmaybe(w);
  }
  if (f == TBL_FMT_JSON_SPLIT) json_buf_put(&w->b, "]}", 2);
  else if (f == TBL_FMT_JSON_RECORDS) json_buf_putc(&w->b, ']');
  json_buf_free(&keys);
  free(koff);
}

int tbl_write(const tbl *t, tbl_format f, int flags, tbl_sink sink, void *ud)
{
  wout w = {.sink = sink, .ud = ud};
  if (json_buf_reserve(&w.b, WCHUNK + 1024) < 0) return -1;
  if (f == TBL_FMT_CSV) write_csv(&w, t, ',');
  else write_json(&w, t, f, flags);
  int oom = w.b.oom;
  if (!oom) wflush(&w);
  json_buf_free(&w.b);
  return (w.failed || oom) ? -1 : 0;
}

static int file_sink(void *ud, const char *p, size_t n)
{
  return fwrite(p, 1, n, (FILE *)ud) == n ? 0 : -1;
}

int tbl_write_path(const tbl *t, const char *path, tbl_format f, int flags, const char *api,
                   tbl_err *err)
{
  /* a regular file (or a new one) is written beside it and renamed into
   * place, so a reader never sees half a table; devices, pipes and
   * symlinks are written directly */
  struct stat st;
  int direct = lstat(path, &st) == 0 && !S_ISREG(st.st_mode);
  char *tmp = NULL;
  FILE *fp = NULL;
  if (direct) {
    fp = fopen(path, "wb");
  } else {
    size_t n = strlen(path);
    tmp = malloc(n + 16);
    if (!tmp) {
      errno = ENOMEM;
    } else {
      memcpy(tmp, path, n);
      memcpy(tmp + n, ".tmp-XXXXXX", 12);
      int fd = mkstemp(tmp);
      if (fd >= 0) {
        struct stat old;
        if (stat(path, &old) == 0) {
          fchmod(fd, old.st_mode & 07777); /* replacing a file keeps its mode */
        } else {
          mode_t um = umask(0);
          umask(um);
          fchmod(fd, 0666 & ~um); /* as fopen would have made it */
        }
        fp = fdopen(fd, "wb");
        if (!fp) {
          int e = errno;
          close(fd);
          unlink(tmp);
          errno = e;
        }
      }
    }
  }
  if (!fp) {
    if (err) snprintf(err->msg, sizeof err->msg, "%s: %.300s: %s", api, path, strerror(errno));
    free(tmp);
    return -1;
  }
  errno = 0;
  int rc = tbl_write(t, f, flags, file_sink, fp);
  int e = errno;
  if (fclose(fp) != 0 && rc == 0) {
    rc = -1;
    e = errno;
  }
  if (tmp) {
    if (rc == 0 && rename(tmp, path) != 0) {
      rc = -1;
      e = errno;
    }
    if (rc < 0) unlink(tmp);
    free(tmp);
  }
  if (rc < 0 && err)
    snprintf(err->msg, sizeof err->msg, "%s: %.300s: %s", api, path, e ? strerror(e) : "out of memory");
  return rc;
}

static int buf_sink(void *ud, const char *p, size_t n)
{
  return json_buf_put((json_buf *)ud, p, n);
}

char *tbl_write_string(const tbl *t, tbl_format f, int flags, size_t *len)
{
  json_buf b = {0};
  if (tbl_write(t, f, flags, buf_sink, &b) < 0 || json_buf_put(&b, "", 0) < 0) {
    json_buf_free(&b);
    return NULL;
  }
  if (len) *len = b.len;
  return b.p;
}

char *tbl_slurp(const char *api, const char *path, size_t *len, tbl_err *err)
{
  char *p;
  int e = file_read_all(path, &p, len);
  if (e && err)
    snprintf(err->msg, sizeof err->msg, "%s: %.300s: %s", api, path, e == ENOMEM ? "out of memory" : strerror(e));
  return p;
}

/* ---- preview ---- */

static size_t u8width(const char *s, size_t n)
{
  size_t w = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) w++;
  return w;
}

/* renders s[0..n) with control characters made visible, cut to maxw chars */
static char *render_text(const char *s, size_t n, size_t maxw)
{
  json_buf b = {0};
  size_t w = 0;
  int cut = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int lead = (c & 0xC0) != 0x80;
    if (lead && w + (c == '\n' || c == '\t' || c == '\r' ? 2 : 1) > maxw) { cut = 1; break; }
    if (c == '\n') { json_buf_put(&b, "\\n", 2); w += 2; }
    else if (c == '\t') { json_buf_put(&b, "\\t", 2); w += 2; }
    else if (c == '\r') { json_buf_put(&b, "\\r", 2); w += 2; }
    else if (c < 0x20 || c == 0x7f) { json_buf_putc(&b, '?'); w++; }
    else { json_buf_putc(&b, c); if (lead) w++; }
  }
  if (cut) {
    /* make room for "..." */
    while (b.len && u8width(b.p, b.len) + 3 > maxw) {
      do b.len--; while (b.len && ((unsigned char)b.p[b.len] & 0xC0) == 0x80);
    }
    json_buf_put(&b, "...", 3);
  }
  json_buf_put(&b, "", 0);
  if (!b.p) b.p = calloc(1, 1);
  return b.p;
}

static char *render_cell(const tbl *t, size_t r, size_t c, size_t maxw)
{
  char num[64];
  size_t len;
  const char *s;
  switch (tbl_get_type(t, r, c)) {
  case TBL_NIL: return render_text("nil", 3, maxw);
  case TBL_STR:
  case TBL_JSON:
    s = tbl_get_str(t, r, c, &len);
    return render_text(s, len, maxw);
  case TBL_INT: return render_text(num, json_fmt_int(num, tbl_get_int(t, r, c)), maxw);
  case TBL_FLOAT: {
    double d = tbl_get_float(t, r, c);
    int n;
    if (isnan(d)) n = snprintf(num, sizeof num, "NaN");
    else if (isinf(d)) n = snprintf(num, sizeof num, d < 0 ? "-inf" : "inf");
    else {
      n = snprintf(num, sizeof num, "%.6g", d);
      if (!strpbrk(num, ".e")) n += snprintf(num + n, sizeof num - (size_t)n, ".0");
    }
    return render_text(num, (size_t)n, maxw);
  }
  case TBL_BOOL: return render_text(tbl_get_bool(t, r, c) ? "True" : "False", tbl_get_bool(t, r, c) ? 4 : 5, maxw);
  }
  return NULL;
}

static void pad(json_buf *b, size_t n)
{
  while (n--) json_buf_putc(b, ' ');
}

char *tbl_preview(const tbl *t, size_t maxrows, size_t maxwidth)
{
  if (maxwidth < 4) maxwidth = 4;
  if (maxrows < 2) maxrows = 2;
  size_t nr = t->nrows, nc = t->ncols;
  size_t rows_shown = nr <= maxrows ? nr : maxrows;
  size_t head = nr <= maxrows ? nr : (maxrows + 1) / 2;
  int rowgap = nr > maxrows;
  size_t maxcols = 20;
  size_t cols_shown = nc <= maxcols ? nc : maxcols;
  size_t chead = nc <= maxcols ? nc : maxcols / 2;
  int colgap = nc > maxcols;

  /* grid of rendered strings: (rows_shown + 1) x cols_shown, header first */
  size_t gw = cols_shown, gh = rows_shown + 1;
  char **grid = calloc(gw * gh > 0 ? gw * gh : 1, sizeof *grid);
  size_t *width = calloc(gw + 1, sizeof *width);
  char **index = calloc(gh, sizeof *index);
  json_buf b = {0};
  if (!grid || !width || !index) goto done;
  size_t iw = 0;
  for (size_t k = 0; k < rows_shown; k++) {
    size_t r = k < head ? k : nr - (rows_shown - k);
    char num[24];
    index[k + 1] = render_text(num, json_fmt_int(num, (int64_t)r + 1), 40);
    if (index[k + 1] && strlen(index[k + 1]) > iw) iw = strlen(index[k + 1]);
  }
  if (rowgap && iw < 3) iw = 3;
  for (size_t j = 0; j < cols_shown; j++) {
    size_t c = j < chead ? j : nc - (cols_shown - j);
    grid[j] = render_text(t->cols[c].name, t->cols[c].namelen, maxwidth);
    for (size_t k = 0; k < rows_shown; k++) {
      size_t r = k < head ? k : nr - (rows_shown - k);
      grid[(k + 1) * gw + j] = render_cell(t, r, c, maxwidth);
    }
    for (size_t k = 0; k < gh; k++) {
      const char *s = grid[k * gw + j];
      size_t w = s ? u8width(s, strlen(s)) : 0;
      if (w > width[j]) width[j] = w;
    }
    if (rowgap && width[j] < 3) width[j] = 3;
  }
  for (size_t k = 0; k < gh; k++) {
    if (k == head + 1 && rowgap) { /* the gap line before the tail rows */
      json_buf_put(&b, "...", 3);
      pad(&b, iw - 3);
      for (size_t j = 0; j < cols_shown; j++) {
        if (colgap && j == chead) json_buf_put(&b, "  ...", 5);
        pad(&b, 2 + width[j] - 3);
        json_buf_put(&b, "...", 3);
      }
      json_buf_putc(&b, '\n');
    }
    const char *ix = k ? index[k] : "";
    if (!ix) ix = "";
    json_buf_put(&b, ix, strlen(ix)); /* the index is left-aligned, as in pandas */
    pad(&b, iw - u8width(ix, strlen(ix)));
    for (size_t j = 0; j < cols_shown; j++) {
      if (colgap && j == chead) json_buf_put(&b, "  ...", 5);
      const char *s = grid[k * gw + j] ? grid[k * gw + j] : "";
      size_t w = u8width(s, strlen(s));
      pad(&b, 2 + width[j] - w);
      json_buf_put(&b, s, strlen(s));
    }
    json_buf_putc(&b, '\n');
  }
  char foot[96];
  int fn = snprintf(foot, sizeof foot, "\n[%zu rows x %zu columns]", nr, nc);
  json_buf_put(&b, foot, (size_t)fn);
done:
  if (grid)
    for (size_t k = 0; k < gw * gh; k++) free(grid[k]);
  if (index)
    for (size_t k = 0; k < gh; k++) free(index[k]);
  free(grid);
  free(width);
  free(index);
  if (b.oom || !grid || !width || !index) {
    json_buf_free(&b);
    return NULL;
  }
  return b.p;
}
