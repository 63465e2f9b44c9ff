/* table_json.c: the JSON Lines and JSON readers of table.h. Records are
 * streamed straight into the columns (no tree per row); only nested values
 * and the pandas "split" / "columns" documents go through a json_value. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "table.h"

typedef struct {
  json_parser jp;
  const char *api, *name;
  tbl *t;
  tbl_err *err;
  json_buf key, val; /* scratch */
  long lastcol;
  size_t base_line; /* line number of jp.src[0] (chunked reading) */
  size_t errat;     /* where the last error was found */
} jr;

static void fail_pos(jr *r, size_t at, const char *fmt, ...)
{
  char m[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m, sizeof m, fmt, ap);
  va_end(ap);
  size_t line, col;
  json_linecol(r->jp.src, r->jp.len, at, &line, &col);
  r->errat = at;
  snprintf(r->err->msg, sizeof r->err->msg, "%s: %.200s:%zu:%zu: %.250s", r->api, r->name,
           r->base_line + line - 1, col, m);
}

static void fail_parser(jr *r)
{
  fail_pos(r, r->jp.errpos, "%s", r->jp.msg);
}

static void fail_msg(jr *r, const char *m)
{
  snprintf(r->err->msg, sizeof r->err->msg, "%s: %.200s: %.250s", r->api, r->name, m);
}

static const char *kind_name(char c)
{
  switch (c) {
  case '[': return "an array";
  case '"': return "a string";
  case 't':
  case 'f': return "a boolean";
  case 'n': return "null";
  default: return "a number";
  }
}

/* stores a parsed value into (row, col); returns 0 or -1 on out of memory */
static int set_value(jr *r, size_t row, size_t col, const json_value *v)
{
  tbl *t = r->t;
  switch (v->kind) {
  case JSON_NULL: return tbl_set_nil(t, row, col);
  case JSON_FALSE: return tbl_set_bool(t, row, col, 0);
  case JSON_TRUE: return tbl_set_bool(t, row, col, 1);
  case JSON_INT: return tbl_set_int(t, row, col, v->u.i);
  case JSON_FLOAT: return tbl_set_float(t, row, col, v->u.d);
  case JSON_STRING: return tbl_set_str(t, row, col, v->u.str.s, v->u.str.len);
  case JSON_ARRAY:
  case JSON_OBJECT:
    r->val.len = 0;
    if (json_write(&r->val, v, 0) < 0) return -1;
    return tbl_set_json(t, row, col, r->val.p, r->val.len);
  }
  return -1;
}

static long column_for(jr *r, const char *k, size_t n, size_t at)
{
  tbl *t = r->t;
  long c = r->lastcol + 1;
  size_t cn;
  const char *name = tbl_colname(t, (size_t)c, &cn);
  if (!(name && cn == n && memcmp(name, k, n) == 0)) {
    c = tbl_colindex(t, k, n);
    if (c < 0) {
      c = tbl_add_col(t, k, n, NULL);
      if (c < 0) {
        fail_pos(r, at, "out of memory");
        return -1;
      }
    }
  }
  r->lastcol = c;
  return c;
}

/* parses the object at the parser's position into row `row` */
static int read_record(jr *r, size_t row)
{
  json_parser *p = &r->jp;
  p->pos++; /* '{' */
  r->lastcol = -1;
  json_skip_ws(p);
  if (p->pos < p->len && p->src[p->pos] == '}') { p->pos++; return 0; }
  for (;;) {
    json_skip_ws(p);
    size_t kat = p->pos;
    if (p->pos >= p->len || p->src[p->pos] != '"') {
      json_parse_string(p, &r->key); /* sets the message */
      fail_parser(r);
      return -1;
    }
    r->key.len = 0;
    if (json_parse_string(p, &r->key) < 0) { fail_parser(r); return -1; }
    long c = column_for(r, r->key.p ? r->key.p : "", r->key.len, kat);
    if (c < 0) return -1;
    json_skip_ws(p);
    if (p->pos >= p->len || p->src[p->pos] != ':') {
      fail_pos(r, p->pos, p->pos >= p->len ? "unexpected end of input, expected ':'" : "expected ':'");
      return -1;
    }
    p->pos++;
    json_skip_ws(p);
    int rc;
    if (p->pos < p->len && p->src[p->pos] == '"') {
      r->val.len = 0;
      if (json_parse_string(p, &r->val) < 0) { fail_parser(r); return -1; }
      rc = tbl_set_str(r->t, row, (size_t)c, r->val.p ? r->val.p : "", r->val.len);
    } else {
      json_value v;
      p->depth = 1;
      if (json_parse_value(p, &v) < 0) { fail_parser(r); return -1; }
      rc = set_value(r, row, (size_t)c, &v);
      json_value_free(&v);
    }
    if (rc < 0) { fail_pos(r, kat, "out of memory"); return -1; }
    json_skip_ws(p);
    if (p->pos < p->len && p->src[p->pos] == ',') { p->pos++; continue; }
    if (p->pos < p->len && p->src[p->pos] == '}') { p->pos++; return 0; }
    if (p->pos >= p->len) fail_pos(r, p->pos, "unexpected end of input, expected ',' or '}'");
    else fail_pos(r, p->pos, "expected ',' or '}'");
    return -1;
  }
}

static int start(jr *r, const char *api, const char *data, size_t len, const char *name,
                 tbl_err *err)
{
  memset(r, 0, sizeof *r);
  r->api = api;
  r->name = name ? name : "<string>";
  r->err = err;
  r->base_line = 1;
  r->jp.src = data;
  r->jp.len = len;
  r->t = tbl_new();
  if (!r->t) {
    fail_msg(r, "out of memory");
    return -1;
  }
  if (!data) return 0; /* the chunked reader fills the buffer later */
  size_t bad;
  if (!json_utf8_valid(data, len, &bad)) {
    size_t line, col;
    json_linecol(data, len, bad, &line, &col);
    snprintf(err->msg, sizeof err->msg, "%s: %.200s: invalid UTF-8 at byte %zu (line %zu)", api,
             r->name, bad, line);
    return -1;
  }
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) { /* not a character of line 1 */
    r->jp.src += 3;
    r->jp.len -= 3;
  }
  return 0;
}

static tbl *finish(jr *r, int ok)
{
  json_buf_free(&r->key);
  json_buf_free(&r->val);
  if (ok) return r->t;
  tbl_free(r->t);
  return NULL;
}

/* checks for '{' at the position and reads it as row number nrows */
static int next_record(jr *r)
{
  json_parser *p = &r->jp;
  if (p->pos >= p->len || p->src[p->pos] != '{') {
    if (p->pos >= p->len) fail_pos(r, p->pos, "unexpected end of input, expected an object");
    else {
      char c = p->src[p->pos];
      if (strchr("[\"tfn-0123456789NI", c)) fail_pos(r, p->pos, "expected an object, got %s", kind_name(c));
      else fail_pos(r, p->pos, "unexpected '%c', expected an object", c);
    }
    return -1;
  }
  size_t row = tbl_nrows(r->t);
  if (tbl_resize(r->t, row + 1) < 0) {
    fail_msg(r, "out of memory");
    return -1;
  }
  return read_record(r, row);
}

enum { J_DONE, J_NEED, J_ERR };

/* Reads every record in jp.src[pos..len). With more input to come (!eof),
 * a record cut off by the end of the buffer is J_NEED, with jp.pos back at
 * its start and its row removed. */
static int jsonl_some(jr *r, int eof)
{
  json_parser *p = &r->jp;
  for (;;) {
    size_t at = p->pos;
    json_skip_ws(p);
    if (p->pos >= p->len) {
      if (eof) return J_DONE;
      p->pos = at;
      return J_NEED;
    }
    size_t row = tbl_nrows(r->t);
    r->errat = 0;
    if (next_record(r) < 0) {
      if (!eof && r->errat >= p->len) { /* "unexpected end of input": wait for more */
        tbl_resize(r->t, row);
        p->pos = at;
        return J_NEED;
      }
      return J_ERR;
    }
    /* the rest of the line may hold only whitespace */
    while (p->pos < p->len && (p->src[p->pos] == ' ' || p->src[p->pos] == '\t' || p->src[p->pos] == '\r'))
      p->pos++;
    if (p->pos < p->len && p->src[p->pos] != '\n') {
      fail_pos(r, p->pos, "unexpected text after the object (one object per line)");
      return J_ERR;
    }
    if (p->pos < p->len) p->pos++; /* the LF: a later cut is never inside CR LF */
  }
}

tbl *tbl_read_jsonl_mem(const char *data, size_t len, const char *name, tbl_err *err)
{
  jr r;
  tbl_err dummy;
  if (!err) err = &dummy;
  if (start(&r, "read_jsonl", data, len, name, err) < 0) return finish(&r, 0);
  return finish(&r, jsonl_some(&r, 1) == J_DONE);
}

tbl *tbl_read_jsonl_file(FILE *fp, const char *name, size_t chunk, tbl_err *err)
{
  jr r;
  tbl_err dummy;
  if (!err) err = &dummy;
  if (start(&r, "read_jsonl", NULL, 0, name, err) < 0) return finish(&r, 0);
  if (!chunk) chunk = (size_t)1 << 20;
  json_buf b = {0};
  size_t checked = 0, base_off = 0; /* bytes of b checked for UTF-8; offset of b.p[0] */
  int first = 1, ok = 0, eof = 0;
  for (;;) {
    if (json_buf_reserve(&b, chunk) < 0) {
      fail_msg(&r, "out of memory");
      break;
    }
    size_t n = fread(b.p + b.len, 1, chunk, fp);
    b.len += n;
    if (n < chunk) {
      if (ferror(fp)) {
        fail_msg(&r, strerror(errno));
        break;
      }
      eof = 1;
    }
    /* whole lines only, unless this is the end */
    size_t limit = b.len;
    if (!eof) {
      while (limit > 0 && b.p[limit - 1] != '\n') limit--;
      if (limit == 0) {
        if (chunk < ((size_t)1 << 30)) chunk *= 2; /* a long line: read more at a time */
        continue;
      }
    }
    size_t bad;
    if (!json_utf8_valid(b.p + checked, limit - checked, &bad)) {
      size_t line, col;
      json_linecol(b.p, b.len, checked + bad, &line, &col);
      snprintf(err->msg, sizeof err->msg, "read_jsonl: %.200s: invalid UTF-8 at byte %zu (line %zu)",
               r.name, base_off + checked + bad, r.base_line + line - 1);
      break;
    }
    checked = limit;
    if (first) {
      if (b.len >= 3 && memcmp(b.p, "\xEF\xBB\xBF", 3) == 0) { /* not a character of line 1 */
        memmove(b.p, b.p + 3, b.len - 3);
        b.len -= 3;
        limit -= 3;
        checked -= 3;
        base_off = 3;
      }
      first = 0;
    }
    r.jp.src = b.p;
    r.jp.len = limit;
    r.jp.pos = 0;
    int rc = jsonl_some(&r, eof);
    if (rc == J_DONE) { ok = 1; break; }
    if (rc == J_ERR) break;
    size_t used = r.jp.pos;
    if (used == 0 && chunk < ((size_t)1 << 30)) chunk *= 2;
    r.base_line += json_count_lines(b.p, used);
    base_off += used;
    memmove(b.p, b.p + used, b.len - used);
    b.len -= used;
    checked -= used;
  }
  json_buf_free(&b);
  return finish(&r, ok);
}

/* ---- read_json: records, split, columns ---- */

static const json_value *member(const json_value *obj, const char *key)
{
  for (size_t i = 0; i < obj->u.c.n; i++)
    if (obj->u.c.keys[i].len == strlen(key) && memcmp(obj->u.c.keys[i].s, key, obj->u.c.keys[i].len) == 0)
      return &obj->u.c.items[i];
  return NULL;
}

static int read_split(jr *r, const json_value *cols, const json_value *data)
{
  for (size_t i = 0; i < cols->u.c.n; i++) {
    const json_value *c = &cols->u.c.items[i];
    char num[24];
    const char *s;
    size_t n;
    if (c->kind == JSON_STRING) { s = c->u.str.s; n = c->u.str.len; }
    else if (c->kind == JSON_INT) { n = json_fmt_int(num, c->u.i); s = num; }
    else { fail_pos(r, c->pos, "column names must be strings"); return -1; }
    tbl_err e;
    if (tbl_add_col(r->t, s, n, &e) < 0) { fail_pos(r, c->pos, "%s", e.msg); return -1; }
  }
  size_t nc = cols->u.c.n;
  if (tbl_resize(r->t, data->u.c.n) < 0) { fail_msg(r, "out of memory"); return -1; }
  for (size_t k = 0; k < data->u.c.n; k++) {
    const json_value *row = &data->u.c.items[k];
    if (row->kind != JSON_ARRAY) {
      fail_pos(r, row->pos, "data row %zu is not a list", k + 1);
      return -1;
    }
    if (row->u.c.n != nc) {
      fail_pos(r, row->pos, "data row %zu has %zu value%s, expected %zu", k + 1, row->u.c.n,
               row->u.c.n == 1 ? "" : "s", nc);
      return -1;
    }
    for (size_t c = 0; c < nc; c++)
      if (set_value(r, k, c, &row->u.c.items[c]) < 0) { fail_msg(r, "out of memory"); return -1; }
  }
  return 0;
}

/* pandas orient="columns": {col: {index: value}}; rows in order of first
 * appearance, or numeric order when every index is a non-negative integer */
typedef struct {
  const char *s;
  size_t n;
  size_t row;
} rowkey;

static int cmp_numkey(const void *a, const void *b)
{
  const rowkey *x = a, *y = b;
  if (x->n != y->n) return x->n < y->n ? -1 : 1;
  return memcmp(x->s, y->s, x->n);
}

static uint64_t hash(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static int read_columns(jr *r, const json_value *doc)
{
  size_t total = 0;
  for (size_t i = 0; i < doc->u.c.n; i++) total += doc->u.c.items[i].u.c.n;
  size_t hcap = 16;
  while (hcap < total * 2) hcap *= 2;
  rowkey *keys = malloc((total + 1) * sizeof *keys);
  long *slots = malloc(hcap * sizeof *slots);
  size_t *order = NULL;
  int rc = -1;
  if (!keys || !slots) goto oom;
  for (size_t i = 0; i < hcap; i++) slots[i] = -1;
  size_t nkeys = 0;
  int numeric = 1;
  for (size_t i = 0; i < doc->u.c.n; i++) {
    const json_value *col = &doc->u.c.items[i];
    for (size_t j = 0; j < col->u.c.n; j++) {
      const json_str *k = &col->u.c.keys[j];
      size_t h = (size_t)hash(k->s, k->len) & (hcap - 1);
      while (slots[h] >= 0 && !(keys[slots[h]].n == k->len && memcmp(keys[slots[h]].s, k->s, k->len) == 0))
        h = (h + 1) & (hcap - 1);
      if (slots[h] >= 0) continue;
      slots[h] = (long)nkeys;
      keys[nkeys] = (rowkey){k->s, k->len, nkeys};
      if (k->len == 0 || k->len > 18 || (k->len > 1 && k->s[0] == '0')) numeric = 0;
      for (size_t q = 0; q < k->len && numeric; q++)
        if (k->s[q] < '0' || k->s[q] > '9') numeric = 0;
      nkeys++;
    }
  }
  /* order[first-appearance index] = row */
  order = malloc((nkeys + 1) * sizeof *order);
  if (!order) goto oom;
  if (numeric) {
    rowkey *sorted = malloc((nkeys + 1) * sizeof *sorted);
    if (!sorted) goto oom;
    memcpy(sorted, keys, nkeys * sizeof *keys);
    qsort(sorted, nkeys, sizeof *sorted, cmp_numkey);
    for (size_t i = 0; i < nkeys; i++) order[sorted[i].row] = i;
    free(sorted);
  } else {
    for (size_t i = 0; i < nkeys; i++) order[i] = i;
  }
  if (tbl_resize(r->t, nkeys) < 0) goto oom;
  for (size_t i = 0; i < doc->u.c.n; i++) {
    tbl_err e;
    const json_str *name = &doc->u.c.keys[i];
    long c = tbl_add_col(r->t, name->s, name->len, &e);
    if (c < 0) { fail_pos(r, doc->u.c.items[i].pos, "%s", e.msg); goto done; }
    const json_value *col = &doc->u.c.items[i];
    for (size_t j = 0; j < col->u.c.n; j++) {
      const json_str *k = &col->u.c.keys[j];
      size_t h = (size_t)hash(k->s, k->len) & (hcap - 1);
      while (!(keys[slots[h]].n == k->len && memcmp(keys[slots[h]].s, k->s, k->len) == 0))
        h = (h + 1) & (hcap - 1);
      if (set_value(r, order[slots[h]], (size_t)c, &col->u.c.items[j]) < 0) goto oom;
    }
  }
  rc = 0;
  goto done;
oom:
  fail_msg(r, "out of memory");
done:
  free(keys);
  free(slots);
  free(order);
  return rc;
}

#define ORIENT_HELP "expected a list of records, {\"columns\": [...], \"data\": [...]} " \
  "(orient=split) or {column: {index: value}} (orient=columns)"

tbl *tbl_read_json_mem(const char *data, size_t len, const char *name, tbl_err *err)
{
  jr r;
  tbl_err dummy;
  if (!err) err = &dummy;
  if (start(&r, "read_json", data, len, name, err) < 0) return finish(&r, 0);
  json_parser *p = &r.jp;
  json_skip_ws(p);
  if (p->pos < p->len && p->src[p->pos] == '[') {
    p->pos++;
    json_skip_ws(p);
    if (p->pos < p->len && p->src[p->pos] == ']') p->pos++;
    else
      for (;;) {
        json_skip_ws(p);
        if (next_record(&r) < 0) return finish(&r, 0);
        json_skip_ws(p);
        if (p->pos < p->len && p->src[p->pos] == ',') { p->pos++; continue; }
        if (p->pos < p->len && p->src[p->pos] == ']') { p->pos++; break; }
        fail_pos(&r, p->pos, p->pos >= p->len ? "unexpected end of input, expected ',' or ']'"
                                              : "expected ',' or ']'");
        return finish(&r, 0);
      }
  } else if (p->pos < p->len && p->src[p->pos] == '{') {
    json_value doc;
    if (json_parse_value(p, &doc) < 0) { fail_parser(&r); return finish(&r, 0); }
    const json_value *cols = member(&doc, "columns"), *rows = member(&doc, "data");
    int ok = 0;
    if (cols && rows && cols->kind == JSON_ARRAY && rows->kind == JSON_ARRAY) {
      ok = read_split(&r, cols, rows) == 0;
    } else {
      int allobj = 1;
      for (size_t i = 0; i < doc.u.c.n; i++)
        if (doc.u.c.items[i].kind != JSON_OBJECT) {
          fail_pos(&r, doc.u.c.items[i].pos, ORIENT_HELP);
          allobj = 0;
          break;
        }
      ok = allobj && read_columns(&r, &doc) == 0;
    }
    json_value_free(&doc);
    if (!ok) return finish(&r, 0);
  } else {
    fail_pos(&r, p->pos, ORIENT_HELP);
    return finish(&r, 0);
  }
  json_skip_ws(p);
  if (p->pos < p->len) {
    fail_pos(&r, p->pos, "unexpected text after the document");
    return finish(&r, 0);
  }
  return finish(&r, 1);
}

tbl *tbl_read_jsonl(const char *path, tbl_err *err)
{
  tbl_err dummy;
  if (!err) err = &dummy;
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    snprintf(err->msg, sizeof err->msg, "read_jsonl: %.300s: %s", path, strerror(errno));
    return NULL;
  }
  tbl *t = tbl_read_jsonl_file(fp, path, 0, err);
  fclose(fp);
  return t;
}

tbl *tbl_read_json(const char *path, tbl_err *err)
{
  size_t len;
  char *data = tbl_slurp("read_json", path, &len, err);
  if (!data) return NULL;
  tbl *t = tbl_read_json_mem(data, len, path, err);
  free(data);
  return t;
}
