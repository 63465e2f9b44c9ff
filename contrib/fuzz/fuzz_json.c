/* fuzz_json.c: libFuzzer target for the JSON Lines and JSON readers and the
 * JSON tree. The first byte picks the reader. Whatever parses must write
 * back and read again to the same cells (JSONL) or the same text (tree). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "table.h"

/* equal cells; unless strict, NaN (written as null) equals nil */
static void same_or_die(const tbl *a, const tbl *b, int strict)
{
  if (tbl_nrows(a) != tbl_nrows(b)) abort();
  if (tbl_nrows(a) == 0) return; /* no rows: no keys were written */
  if (tbl_ncols(a) != tbl_ncols(b)) abort();
  for (size_t c = 0; c < tbl_ncols(a); c++)
    for (size_t r = 0; r < tbl_nrows(a); r++) {
      tbl_type ta = tbl_get_type(a, r, c), tb = tbl_get_type(b, r, c);
      if (!strict && ta == TBL_FLOAT && !isfinite(tbl_get_float(a, r, c))) ta = TBL_NIL;
      if (ta != tb) abort();
      size_t na, nb;
      const char *sa = tbl_get_str(a, r, c, &na), *sb = tbl_get_str(b, r, c, &nb);
      if (sa && (na != nb || memcmp(sa, sb, na) != 0)) abort();
      if (ta == TBL_INT && tbl_get_int(a, r, c) != tbl_get_int(b, r, c)) abort();
      if (ta == TBL_FLOAT) {
        double x = tbl_get_float(a, r, c), y = tbl_get_float(b, r, c);
        if (x != y && !(isnan(x) && isnan(y))) abort();
      }
      if (ta == TBL_BOOL && tbl_get_bool(a, r, c) != tbl_get_bool(b, r, c)) abort();
    }
}

static void roundtrip(const tbl *t)
{
  size_t n;
  char *jl = tbl_write_string(t, TBL_FMT_JSONL, (int)(tbl_nrows(t) & 1) * JSON_ASCII, &n);
  if (!jl) abort();
  tbl_err err;
  tbl *back = tbl_read_jsonl_mem(jl, n, "back.jsonl", &err);
  if (!back) abort();
  same_or_die(t, back, 0);
  tbl_free(back);
  free(jl);
  char *csv = tbl_write_string(t, TBL_FMT_CSV, 0, &n);
  if (!csv) abort();
  free(csv);
  char *p = tbl_preview(t, 6, 12);
  if (!p) abort();
  free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1) return 0;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;
  tbl_err err;
  tbl *t = NULL;
  switch (data[0] % 3) {
  case 0: {
    t = tbl_read_jsonl_mem(s, n, "fuzz.jsonl", &err);
    if (!t && strncmp(err.msg, "read_jsonl: fuzz.jsonl", 22) != 0) abort();
    /* the chunked reader agrees, at a small chunk size picked by the input */
    FILE *fp = n ? fmemopen((void *)s, n, "rb") : NULL;
    if (fp) {
      tbl_err ferr;
      tbl *ft = tbl_read_jsonl_file(fp, "fuzz.jsonl", 1 + (data[0] >> 3), &ferr);
      fclose(fp);
      if ((ft == NULL) != (t == NULL)) abort();
      if (ft) {
        same_or_die(t, ft, 1);
        if (tbl_ncols(t) != tbl_ncols(ft)) abort();
      } else if (strcmp(err.msg, ferr.msg) != 0 && !strstr(err.msg, "invalid UTF-8") &&
                 !strstr(ferr.msg, "invalid UTF-8")) {
        abort(); /* only where the first error is found may differ */
      }
      tbl_free(ft);
    }
    break;
  }
  case 1:
    t = tbl_read_json_mem(s, n, "fuzz.json", &err);
    if (!t && strncmp(err.msg, "read_json: fuzz.json", 20) != 0) abort();
    break;
  default: {
    /* the tree: write, parse again, write again: the same text */
    json_value v, w;
    char e[200];
    if (json_parse(s, n, &v, e, sizeof e) < 0) return 0;
    static const int modes[] = {0, JSON_ASCII, JSON_PANDAS, JSON_ASCII | JSON_PANDAS, JSON_BYTES,
                                JSON_CANONICAL, JSON_CANONICAL | JSON_ASCII};
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
      int flags = modes[k];
      json_buf a = {0}, b = {0};
      if (json_write(&a, &v, flags) < 0) abort();
      if (json_parse(a.p, a.len, &w, e, sizeof e) < 0) abort();
      if (json_write(&b, &w, flags) < 0) abort();
      if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0) abort();
      json_value_free(&w);
      json_buf_free(&a);
      json_buf_free(&b);
    }
    json_value_free(&v);
    return 0;
  }
  }
  if (t) {
    roundtrip(t);
    tbl_free(t);
  }
  return 0;
}
