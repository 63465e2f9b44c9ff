/* test_table.c: the table core (engine/table.c, csv.c, table_json.c,
 * json.c): tricky CSV / JSONL / JSON inputs, every bad input, the writers,
 * the preview and the cell API. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "json.h"
#include "table.h"

/* A compact dump of a table: "a|b" then one line per row, cells as
 * i:1 f:2.5 s:text b:1 nil j:[...] */
static char *dump(const tbl *t)
{
  json_buf b = {0};
  for (size_t c = 0; c < tbl_ncols(t); c++) {
    size_t n;
    const char *s = tbl_colname(t, c, &n);
    if (c) json_buf_putc(&b, '|');
    json_buf_put(&b, s, n);
  }
  for (size_t r = 0; r < tbl_nrows(t); r++) {
    json_buf_putc(&b, '\n');
    for (size_t c = 0; c < tbl_ncols(t); c++) {
      char num[64];
      size_t n;
      const char *s;
      if (c) json_buf_putc(&b, '|');
      switch (tbl_get_type(t, r, c)) {
      case TBL_NIL: json_buf_put(&b, "nil", 3); break;
      case TBL_STR:
        s = tbl_get_str(t, r, c, &n);
        json_buf_put(&b, "s:", 2);
        json_buf_put(&b, s, n);
        break;
      case TBL_JSON:
        s = tbl_get_str(t, r, c, &n);
        json_buf_put(&b, "j:", 2);
        json_buf_put(&b, s, n);
        break;
      case TBL_INT:
        snprintf(num, sizeof num, "i:%lld", (long long)tbl_get_int(t, r, c));
        json_buf_put(&b, num, strlen(num));
        break;
      case TBL_FLOAT:
        snprintf(num, sizeof num, "f:%.17g", tbl_get_float(t, r, c));
        json_buf_put(&b, num, strlen(num));
        break;
      case TBL_BOOL:
        json_buf_put(&b, tbl_get_bool(t, r, c) ? "b:1" : "b:0", 3);
        break;
      }
    }
  }
  json_buf_put(&b, "", 0);
  if (!b.p) b.p = calloc(1, 1);
  return b.p;
}

enum { CSV, CSV_NOINFER, CSV_SEMI, JSONL, JSON };

struct rcase {
  int fmt;
  const char *input;
  size_t len; /* 0: strlen(input) */
  const char *want; /* dump, or NULL when an error is expected */
  const char *err;  /* the exact error when want is NULL */
};

#define S(x) x, sizeof(x) - 1

static const struct rcase cases[] = {
  /* ---- CSV: good ---- */
  {CSV, S("a,b,c\n1,x,2.5\n2,y,3\n"), "a|b|c\ni:1|s:x|f:2.5\ni:2|s:y|f:3", NULL},
  {CSV, S("a,b\n1,2"), "a|b\ni:1|i:2", NULL}, /* no final newline */
  {CSV, S("a,b\r\n1,2\r\n3,4\r\n"), "a|b\ni:1|i:2\ni:3|i:4", NULL},
  {CSV, S("a,b\r1,2\r3,4\r"), "a|b\ni:1|i:2\ni:3|i:4", NULL}, /* old Mac line ends */
  {CSV, S("\xEF\xBB\xBFname,v\nx,1\n"), "name|v\ns:x|i:1", NULL},
  {CSV, S("q\n\"he said \"\"hi\"\"\"\n"), "q\ns:he said \"hi\"", NULL},
  {CSV, S("q,r\n\"line1\nline2\",\"a,b\"\n"), "q|r\ns:line1\nline2|s:a,b", NULL},
  {CSV, S("q,r\n\"line1\r\nline2\",2\r\n"), "q|r\ns:line1\r\nline2|i:2", NULL},
  {CSV, S("a,b\n,x\n\"\",y\n"), "a|b\nnil|s:x\ns:|s:y", NULL},
  {CSV, S("a,b\n1,\n\"\",2\n3,4\n"), "a|b\ni:1|nil\nnil|i:2\ni:3|i:4", NULL}, /* "" is missing in a number column */
  {CSV, S("a,b\n"), "a|b", NULL},
  {CSV, S("a,b"), "a|b", NULL},
  {CSV, S("a\n\n1\n\n\n2\n\n"), "a\ni:1\ni:2", NULL},
  {CSV, S(",a,\n1,2,3\n"), "Unnamed: 0|a|Unnamed: 2\ni:1|i:2|i:3", NULL},
  {CSV, S("a,b,c\nTrue,false,TRUE\nFalse,true,FALSE\n"), "a|b|c\nb:1|b:0|b:1\nb:0|b:1|b:0", NULL},
  {CSV, S("a\nTrue\nyes\n"), "a\ns:True\ns:yes", NULL},
  {CSV, S("a\n1\n2.5\n-3e2\n"), "a\nf:1\nf:2.5\nf:-300", NULL},
  {CSV, S("a\n1\nnan\n"), "a\nf:1\nf:nan", NULL},
  {CSV, S("a\n9223372036854775807\n-9223372036854775808\n"), "a\ni:9223372036854775807\ni:-9223372036854775808", NULL},
  {CSV, S("a\n9223372036854775808\n"), "a\nf:9.2233720368547758e+18", NULL},
  {CSV, S("a\n007\n+5\n"), "a\ni:7\ni:5", NULL},
  {CSV, S("a\n1\nx\n"), "a\ns:1\ns:x", NULL},
  {CSV, S("a\n1.5.2\n"), "a\ns:1.5.2", NULL},
  {CSV, S("a\n.5\n5.\n"), "a\nf:0.5\nf:5", NULL},
  {CSV, S("a\ne5\n"), "a\ns:e5", NULL},
  {CSV, S("a,b\n,\n,\n"), "a|b\nnil|nil\nnil|nil", NULL},
  {CSV, S("a,b\n1,2,\n"), NULL, "read_csv: t.csv:2: expected 2 fields, got 3"},
  {CSV, S("a\nx\"y\n"), "a\ns:x\"y", NULL}, /* a quote inside an unquoted field is text */
  {CSV, S("a\nd\xC3\xA9j\xC3\xA0 vu \xF0\x9F\x98\x80\n"), "a\ns:d\xC3\xA9j\xC3\xA0 vu \xF0\x9F\x98\x80", NULL},
  {CSV, S("a,b\nx\0y,1\n"), "a|b\ns:x\0y|i:1", NULL},
  {CSV_NOINFER, S("a,b\n1,True\n,\"\"\n"), "a|b\ns:1|s:True\nnil|s:", NULL},
  {CSV_SEMI, S("a;b\n1,5;\"x;y\"\n"), "a|b\ns:1,5|s:x;y", NULL},
  /* ---- CSV: bad ---- */
  {CSV, S("a,b\n1,\"2\n3,4\n"), NULL, "read_csv: t.csv:2:3: unclosed quote"},
  {CSV, S("a,b\n1,2\n\"x"), NULL, "read_csv: t.csv:3:1: unclosed quote"},
  {CSV, S("a,b\n\"x\"y,2\n"), NULL, "read_csv: t.csv:2:4: unexpected character after closing quote"},
  {CSV, S("a,b,c\n1,2\n"), NULL, "read_csv: t.csv:2: expected 3 fields, got 2"},
  {CSV, S("a,b\n1,2\n3,4,5\n"), NULL, "read_csv: t.csv:3: expected 2 fields, got 3"},
  {CSV, S("a,b\n\"multi\nline\",2\n3\n"), NULL, "read_csv: t.csv:4: expected 2 fields, got 1"},
  {CSV, S("a\n1\n\xff\n"), NULL, "read_csv: t.csv: invalid UTF-8 at byte 4 (line 3)"},
  {CSV, S("a\n\xC0\xAF\n"), NULL, "read_csv: t.csv: invalid UTF-8 at byte 2 (line 2)"},         /* overlong */
  {CSV, S("a\n\xED\xA0\x80\n"), NULL, "read_csv: t.csv: invalid UTF-8 at byte 2 (line 2)"},     /* surrogate */
  {CSV, S("a\nab\xE2\x82"), NULL, "read_csv: t.csv: invalid UTF-8 at byte 4 (line 2)"},         /* cut short */
  {CSV, S("a\n\xF4\x90\x80\x80\n"), NULL, "read_csv: t.csv: invalid UTF-8 at byte 2 (line 2)"}, /* > U+10FFFF */
  {CSV, S(""), NULL, "read_csv: t.csv: no header row (empty file)"},
  {CSV, S("\xEF\xBB\xBF"), NULL, "read_csv: t.csv: no header row (empty file)"},
  {CSV, S("\n\r\n\n"), NULL, "read_csv: t.csv: no header row (empty file)"},
  {CSV, S("a,b,a\n1,2,3\n"), NULL, "read_csv: t.csv:1:5: duplicate column name \"a\""},
  {CSV, S("\xEF\xBB\xBF" "a,a\n"), NULL, "read_csv: t.csv:1:3: duplicate column name \"a\""},
  {CSV, S("\xEF\xBB\xBF" "a\n\xff"), NULL, "read_csv: t.csv: invalid UTF-8 at byte 5 (line 2)"},
  /* ---- JSONL: good ---- */
  {JSONL, S("{\"a\":1,\"b\":\"x\"}\n{\"a\":2.5,\"b\":null}\n"), "a|b\ni:1|s:x\nf:2.5|nil", NULL},
  {JSONL, S("{\"a\":1}\n{\"b\":true}\n"), "a|b\ni:1|nil\nnil|b:1", NULL},
  {JSONL, S("\n{\"a\":1}\r\n\n  {\"a\":2}  \n"), "a\ni:1\ni:2", NULL},
  {JSONL, S("{\"docs\":[\"d1\", {\"k\": [1, 2.5, null]}]}\n"), "docs\nj:[\"d1\",{\"k\":[1,2.5,null]}]", NULL},
  {JSONL, S("{\"s\":\"\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\"}\n"), "s\ns:\xC3\xA9\xF0\x9F\x98\x80\n\"\\/", NULL},
  {JSONL, S("{\"a\":12345678901234567890}\n"), "a\nf:1.2345678901234567e+19", NULL},
  {JSONL, S("{\"a\":-0,\"b\":1e2,\"c\":NaN,\"d\":-Infinity}\n"), "a|b|c|d\ni:0|f:100|f:nan|f:-inf", NULL},
  {JSONL, S("{}\n{}\n"), "\n\n", NULL},
  {JSONL, S("{\"a\":1,\"a\":2}\n"), "a\ni:2", NULL},
  {JSONL, S("\xEF\xBB\xBF{\"a\":\"x\"}"), "a\ns:x", NULL},
  {JSONL, S(""), "", NULL},
  {JSONL, S("{\"a\":\n1,\r\n\"b\":\n[2,\n3]}\n{\"a\":3}\n"), "a|b\ni:1|j:[2,3]\ni:3|nil", NULL}, /* objects may span lines */
  /* ---- JSONL: bad ---- */
  {JSONL, S("{\"a\":1}\n{\"a\":\"\xff\"}\n"), NULL, "read_jsonl: t.jsonl: invalid UTF-8 at byte 14 (line 2)"},
  {JSONL, S("{\"a\":1\n"), NULL, "read_jsonl: t.jsonl:2:1: unexpected end of input, expected ',' or '}'"},
  {JSONL, S("{\"a\":1\n{\"b\":2}\n"), NULL, "read_jsonl: t.jsonl:2:1: expected ',' or '}'"},
  {JSONL, S("{\"a\":1}\n{\"a\":2,}\n"), NULL, "read_jsonl: t.jsonl:2:8: unexpected '}', expected a string"},
  {JSONL, S("{\"a\":1}\n{\"a\" 2}\n"), NULL, "read_jsonl: t.jsonl:2:6: expected ':'"},
  {JSONL, S("{\"a\":1}\n[1,2]\n"), NULL, "read_jsonl: t.jsonl:2:1: expected an object, got an array"},
  {JSONL, S("{\"a\":1} {\"a\":2}\n"), NULL, "read_jsonl: t.jsonl:1:9: unexpected text after the object (one object per line)"},
  {JSONL, S("{\"a\":\"x\n"), NULL, "read_jsonl: t.jsonl:1:8: control character 0x0a in string"},
  {JSONL, S("{\"a\":\"x"), NULL, "read_jsonl: t.jsonl:1:6: unclosed string"},
  {JSONL, S("{\"a\":\"\\ud800\"}"), NULL, "read_jsonl: t.jsonl:1:7: invalid \\u escape (lone surrogate)"},
  {JSONL, S("{\"a\":\"\\x\"}"), NULL, "read_jsonl: t.jsonl:1:7: bad escape '\\x' in string"},
  {JSONL, S("{\"a\":tru}"), NULL, "read_jsonl: t.jsonl:1:6: unexpected 't', expected a value"},
  {JSONL, S("{\"a\":01}"), NULL, "read_jsonl: t.jsonl:1:7: expected ',' or '}'"},
  {JSONL, S("{\"a\":1"), NULL, "read_jsonl: t.jsonl:1:7: unexpected end of input, expected ',' or '}'"},
  {JSONL, S("{\"a\":\"\xC3\"}"), NULL, "read_jsonl: t.jsonl: invalid UTF-8 at byte 6 (line 1)"},
  {JSONL, S("\xEF\xBB\xBF{\"a\":}"), NULL, "read_jsonl: t.jsonl:1:6: unexpected '}', expected a value"},
  {JSONL, S("{\"a\":-}"), NULL, "read_jsonl: t.jsonl:1:7: unexpected '}', expected a digit"},
  {JSONL, S("{\"a\":1.}"), NULL, "read_jsonl: t.jsonl:1:8: unexpected '}', expected a digit after '.'"},
  /* ---- JSON documents ---- */
  {JSON, S("[{\"a\":1,\"b\":\"x\"},{\"b\":\"y\",\"c\":[1]}]"), "a|b|c\ni:1|s:x|nil\nnil|s:y|j:[1]", NULL},
  {JSON, S("[]"), "", NULL},
  {JSON, S(" {\"columns\":[\"q\",\"n\"],\"index\":[0,1],\"data\":[[\"x\",1],[\"y\",null]]} "), "q|n\ns:x|i:1\ns:y|nil", NULL},
  {JSON, S("{\"q\":{\"1\":\"b\",\"0\":\"a\",\"10\":\"c\"},\"n\":{\"10\":3,\"0\":1}}"), "q|n\ns:a|i:1\ns:b|nil\ns:c|i:3", NULL},
  {JSON, S("{\"q\":{\"x\":1,\"y\":2}}"), "q\ni:1\ni:2", NULL},
  {JSON, S("5"), NULL, "read_json: t.json:1:1: expected a list of records, {\"columns\": [...], \"data\": [...]} (orient=split) or {column: {index: value}} (orient=columns)"},
  {JSON, S("{\"a\":[1,2]}"), NULL, "read_json: t.json:1:6: expected a list of records, {\"columns\": [...], \"data\": [...]} (orient=split) or {column: {index: value}} (orient=columns)"},
  {JSON, S("{\"columns\":[\"a\",\"b\"],\"data\":[[1,2],\n[3]]}"), NULL, "read_json: t.json:2:1: data row 2 has 1 value, expected 2"},
  {JSON, S("{\"columns\":[\"a\",\"a\"],\"data\":[]}"), NULL, "read_json: t.json:1:17: duplicate column name \"a\""},
  {JSON, S("[{\"a\":1},\n 2]"), NULL, "read_json: t.json:2:2: expected an object, got a number"},
  {JSON, S("[{\"a\":1}"), NULL, "read_json: t.json:1:9: unexpected end of input, expected ',' or ']'"},
  {JSON, S("[{\"a\":1}] x"), NULL, "read_json: t.json:1:11: unexpected text after the document"},
  {JSON, S("{\"a\":{\"0\":1},}"), NULL, "read_json: t.json:1:14: unexpected '}', expected a string key"},
};

static void test_readers(void)
{
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct rcase *c = &cases[i];
    tbl_err err = {{0}};
    tbl *t = NULL;
    tbl_csv_opts o = {0};
    if (c->fmt == CSV_NOINFER) o.noinfer = 1;
    if (c->fmt == CSV_SEMI) o.sep = ';';
    switch (c->fmt) {
    case CSV:
    case CSV_NOINFER:
    case CSV_SEMI: t = tbl_read_csv_mem(c->input, c->len, "t.csv", &o, &err); break;
    case JSONL: t = tbl_read_jsonl_mem(c->input, c->len, "t.jsonl", &err); break;
    case JSON: t = tbl_read_json_mem(c->input, c->len, "t.json", &err); break;
    }
    if (c->fmt != JSON) {
      /* the chunked file reader must agree with the in-memory one at every
       * chunk size (records, quotes, CR LF and UTF-8 cut anywhere) */
      FILE *fp = tmpfile();
      fwrite(c->input, 1, c->len, fp);
      for (size_t chunk = 1; chunk <= 9; chunk += (chunk < 4 ? 1 : 5)) {
        rewind(fp);
        tbl_csv_opts oc = o;
        oc.chunk = chunk;
        tbl_err ferr = {{0}};
        tbl *ft = c->fmt == JSONL ? tbl_read_jsonl_file(fp, "t.jsonl", chunk, &ferr)
                                  : tbl_read_csv_file(fp, "t.csv", &oc, &ferr);
        CHECK((ft == NULL) == (t == NULL));
        if (ft && t) {
          char *a = dump(t), *b = dump(ft);
          if (strcmp(a, b) != 0) fprintf(stderr, "case %zu chunk %zu:\n", i, chunk);
          CHECK_STR(b, a);
          free(a);
          free(b);
        } else if (!ft && !t && strcmp(err.msg, ferr.msg) != 0) {
          fprintf(stderr, "case %zu chunk %zu:\n", i, chunk);
          CHECK_STR(ferr.msg, err.msg);
        }
        tbl_free(ft);
      }
      fclose(fp);
    }
    if (c->want) {
      if (!t) {
        fprintf(stderr, "case %zu: unexpected error: %s\n", i, err.msg);
        CHECK(t != NULL);
        continue;
      }
      char *d = dump(t);
      if (strlen(d) != strlen(c->want) || strcmp(d, c->want) != 0) {
        /* dumps may hold NUL bytes: compare the full length for that case */
        fprintf(stderr, "case %zu:\n", i);
      }
      if (memchr(c->input, '\0', c->len)) {
        CHECK(tbl_get_type(t, 0, 0) == TBL_STR);
        size_t n;
        const char *s = tbl_get_str(t, 0, 0, &n);
        CHECK(n == 3 && memcmp(s, "x\0y", 3) == 0);
      } else {
        CHECK_STR(d, c->want);
      }
      free(d);
      tbl_free(t);
    } else {
      if (t) {
        fprintf(stderr, "case %zu: expected an error\n", i);
        tbl_free(t);
        CHECK(t == NULL);
        continue;
      }
      if (strcmp(err.msg, c->err) != 0) fprintf(stderr, "case %zu:\n", i);
      CHECK_STR(err.msg, c->err);
    }
  }
}

static void test_deep_nesting(void)
{
  /* deeper than JSON_MAX_DEPTH must fail cleanly, not overflow the stack */
  size_t depth = 100000;
  char *s = malloc(depth * 2 + 16);
  size_t n = 0;
  n += (size_t)sprintf(s, "{\"a\":");
  for (size_t i = 0; i < depth; i++) s[n++] = '[';
  for (size_t i = 0; i < depth; i++) s[n++] = ']';
  s[n++] = '}';
  tbl_err err;
  tbl *t = tbl_read_jsonl_mem(s, n, "deep.jsonl", &err);
  CHECK(t == NULL);
  CHECK_STR(err.msg, "read_jsonl: deep.jsonl:1:505: nesting deeper than 500");
  free(s);
  /* 400 levels are fine */
  n = 0;
  n += (size_t)sprintf(s = malloc(1000), "{\"a\":");
  for (int i = 0; i < 400; i++) s[n++] = '[';
  for (int i = 0; i < 400; i++) s[n++] = ']';
  s[n++] = '}';
  t = tbl_read_jsonl_mem(s, n, "ok.jsonl", &err);
  CHECK(t != NULL);
  if (t) CHECK(tbl_get_type(t, 0, 0) == TBL_JSON);
  tbl_free(t);
  free(s);
}

/* ---- writers ---- */

static char *csv_of(const tbl *t)
{
  return tbl_write_string(t, TBL_FMT_CSV, 0, NULL);
}

static void test_writers(void)
{
  tbl *t = tbl_new();
  CHECK(tbl_add_col(t, "s", 1, NULL) == 0);
  CHECK(tbl_add_col(t, "n", 1, NULL) == 1);
  CHECK(tbl_add_col(t, "x,y", 3, NULL) == 2);
  CHECK(tbl_resize(t, 5) == 0);
  tbl_set_str(t, 0, 0, "plain", 5);
  tbl_set_int(t, 0, 1, -42);
  tbl_set_bool(t, 0, 2, 1);
  tbl_set_str(t, 1, 0, "", 0);
  tbl_set_float(t, 1, 1, 0.1);
  tbl_set_bool(t, 1, 2, 0);
  tbl_set_str(t, 2, 0, "a \"q\", b\nline", 13);
  tbl_set_float(t, 2, 1, 2.0);
  tbl_set_json(t, 2, 2, "[1,\"x\"]", 7);
  tbl_set_str(t, 3, 0, "caf\xC3\xA9 \xF0\x9F\x98\x80", 10);
  tbl_set_float(t, 3, 1, NAN);
  tbl_set_float(t, 4, 1, 1.0 / 3.0);
  tbl_set_float(t, 4, 2, 1e-12);

  char *csv = csv_of(t);
  CHECK_STR(csv, "s,n,\"x,y\"\n"
                 "plain,-42,True\n"
                 "\"\",0.1,False\n"
                 "\"a \"\"q\"\", b\nline\",2.0,\"[1,\"\"x\"\"]\"\n"
                 "caf\xC3\xA9 \xF0\x9F\x98\x80,,\n"
                 ",0.3333333333333333,1e-12\n");
  /* read back: the same cells (NaN comes back as nil; column n is floats) */
  tbl_err err;
  tbl *back = tbl_read_csv_mem(csv, strlen(csv), "back.csv", NULL, &err);
  CHECK(back != NULL);
  if (back) {
    char *d = dump(back);
    CHECK_STR(d, "s|n|x,y\n"
                 "s:plain|f:-42|s:True\n"
                 "s:|f:0.10000000000000001|s:False\n"
                 "s:a \"q\", b\nline|f:2|s:[1,\"x\"]\n"
                 "s:caf\xC3\xA9 \xF0\x9F\x98\x80|nil|nil\n"
                 "nil|f:0.33333333333333331|s:1e-12");
    free(d);
    CHECK(tbl_get_float(back, 4, 1) == 1.0 / 3.0);
    tbl_free(back);
  }
  free(csv);

  char *js = tbl_write_string(t, TBL_FMT_JSON_SPLIT, JSON_ASCII | JSON_PANDAS, NULL);
  CHECK_STR(js, "{\"columns\":[\"s\",\"n\",\"x,y\"],\"data\":["
                "[\"plain\",-42,true],"
                "[\"\",0.1,false],"
                "[\"a \\\"q\\\", b\\nline\",2.0,[1,\"x\"]],"
                "[\"caf\\u00e9 \\ud83d\\ude00\",null,null],"
                "[null,0.3333333333,1e-12]]}");
  free(js);
  char *jl = tbl_write_string(t, TBL_FMT_JSONL, 0, NULL);
  CHECK_STR(jl, "{\"s\":\"plain\",\"n\":-42,\"x,y\":true}\n"
                "{\"s\":\"\",\"n\":0.1,\"x,y\":false}\n"
                "{\"s\":\"a \\\"q\\\", b\\nline\",\"n\":2.0,\"x,y\":[1,\"x\"]}\n"
                "{\"s\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\",\"n\":null,\"x,y\":null}\n"
                "{\"s\":null,\"n\":0.3333333333333333,\"x,y\":1e-12}\n");
  /* JSONL read back keeps every type */
  tbl *jb = tbl_read_jsonl_mem(jl, strlen(jl), "b.jsonl", &err);
  CHECK(jb != NULL);
  if (jb) {
    CHECK(tbl_get_type(jb, 2, 2) == TBL_JSON);
    CHECK(tbl_get_type(jb, 0, 1) == TBL_INT);
    CHECK(tbl_get_type(jb, 2, 1) == TBL_FLOAT);
    CHECK(tbl_get_float(jb, 4, 1) == 1.0 / 3.0);
    char *again = tbl_write_string(jb, TBL_FMT_JSONL, 0, NULL);
    CHECK_STR(again, jl);
    free(again);
    tbl_free(jb);
  }
  free(jl);
  char *rec = tbl_write_string(t, TBL_FMT_JSON_RECORDS, JSON_ASCII, NULL);
  CHECK(rec && strncmp(rec, "[{\"s\":\"plain\",\"n\":-42,\"x,y\":true},{", 35) == 0);
  tbl *rb = rec ? tbl_read_json_mem(rec, strlen(rec), "r.json", &err) : NULL;
  CHECK(rb && tbl_nrows(rb) == 5 && tbl_ncols(rb) == 3);
  if (rb) {
    size_t n;
    const char *s = tbl_get_str(rb, 3, 0, &n);
    CHECK(s && n == 10 && memcmp(s, "caf\xC3\xA9 \xF0\x9F\x98\x80", 10) == 0);
  }
  tbl_free(rb);
  free(rec);

  /* a first column name that starts with U+FEFF is quoted, or it would be
   * read back as a byte order mark */
  tbl *bom = tbl_new();
  tbl_add_col(bom, "\xEF\xBB\xBFk", 4, NULL);
  char *bc = csv_of(bom);
  CHECK_STR(bc, "\"\xEF\xBB\xBFk\"\n");
  tbl *bb = tbl_read_csv_mem(bc, strlen(bc), "b.csv", NULL, &err);
  CHECK(bb && tbl_colindex(bb, "\xEF\xBB\xBFk", 4) == 0);
  tbl_free(bb);
  free(bc);
  tbl_free(bom);

  /* an empty table */
  tbl *e = tbl_new();
  char *ec = csv_of(e);
  CHECK_STR(ec, "\n");
  free(ec);
  char *ej = tbl_write_string(e, TBL_FMT_JSON_SPLIT, 0, NULL);
  CHECK_STR(ej, "{\"columns\":[],\"data\":[]}");
  free(ej);
  tbl_free(e);

  /* files */
  CHECK(tbl_write_path(t, "/nonexistent-dir/x.csv", TBL_FMT_CSV, 0, "write_csv", &err) == -1);
  CHECK_STR(err.msg, "write_csv: /nonexistent-dir/x.csv: No such file or directory");
  CHECK(tbl_read_csv("/nonexistent-dir/x.csv", NULL, &err) == NULL);
  CHECK_STR(err.msg, "read_csv: /nonexistent-dir/x.csv: No such file or directory");
  CHECK(tbl_read_jsonl("/nonexistent-dir/x.jsonl", &err) == NULL);
  CHECK_STR(err.msg, "read_jsonl: /nonexistent-dir/x.jsonl: No such file or directory");
  char path[] = "/tmp/evalua-test-table-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0) {
    close(fd);
    CHECK(tbl_write_path(t, path, TBL_FMT_CSV, 0, "write_csv", &err) == 0);
    tbl *f = tbl_read_csv(path, NULL, &err);
    CHECK(f && tbl_nrows(f) == 5);
    tbl_free(f);
    remove(path);
  }
  tbl_free(t);
}

static void test_json_floats(void)
{
  struct {
    double d;
    int flags;
    const char *want;
  } fl[] = {
    {0.1, 0, "0.1"}, {1.0, 0, "1.0"}, {-2.5, 0, "-2.5"}, {1e20, 0, "1e+20"},
    {1.0 / 3.0, 0, "0.3333333333333333"}, {5e-324, 0, "4.94065645841247e-324"},
    {1.0 / 3.0, JSON_PANDAS, "0.3333333333"}, {2.0 / 3.0, JSON_PANDAS, "0.6666666667"},
    {1.0, JSON_PANDAS, "1.0"}, {0.0, JSON_PANDAS, "0.0"}, {-1e-11, JSON_PANDAS, "-1e-11"},
    {123456.789, JSON_PANDAS, "123456.789"}, {1e17, JSON_PANDAS, "1e+17"},
    {NAN, 0, "null"}, {INFINITY, JSON_PANDAS, "null"},
  };
  for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
    json_buf b = {0};
    json_write_double(&b, fl[i].d, fl[i].flags);
    CHECK_STR(b.p, fl[i].want);
    json_buf_free(&b);
  }
  /* strings: control characters, invalid UTF-8 made U+FFFD, ASCII mode */
  json_buf b = {0};
  json_write_string(&b, "a\x01\t\xff\xC3\xA9", 6, 0);
  CHECK_STR(b.p, "\"a\\u0001\\t\xEF\xBF\xBD\xC3\xA9\"");
  b.len = 0;
  json_write_string(&b, "\xF0\x9F\x98\x80", 4, JSON_ASCII);
  CHECK_STR(b.p, "\"\\ud83d\\ude00\"");
  json_buf_free(&b);
  /* json_parse: a document, and errors with line:col */
  json_value v;
  char err[200];
  CHECK(json_parse(" {\"k\": [1, 2.0, \"x\", null, true]} ", 34, &v, err, sizeof err) == 0);
  CHECK(v.kind == JSON_OBJECT && v.u.c.n == 1 && v.u.c.items[0].u.c.n == 5);
  json_buf w = {0};
  json_write(&w, &v, 0);
  CHECK_STR(w.p, "{\"k\":[1,2.0,\"x\",null,true]}");
  json_buf_free(&w);
  json_value_free(&v);
  CHECK(json_parse("[1,\n 2 3]", 9, &v, err, sizeof err) == -1);
  CHECK_STR(err, "2:4: unexpected '3', expected ',' or ']'");
  CHECK(json_parse("[1] [", 5, &v, err, sizeof err) == -1);
  CHECK_STR(err, "1:5: unexpected '[', expected end of input");
}

/* json_fmt_double must read back exactly and be as short as %.15g..%.17g
 * allows; json_strtod must agree with strtod bit for bit */
static void test_float_text(void)
{
  uint64_t x = 88172645463325252ull;
  int bad_fmt = 0, bad_parse = 0, longer = 0;
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    double d;
    switch (i % 4) {
    case 0: memcpy(&d, &x, 8); break;                              /* any bit pattern */
    case 1: d = (double)(x % 100000) / 7.0; break;                 /* typical scores */
    case 2: d = (double)(x % 1000000) / 1000.0; break;             /* short decimals */
    default: d = ldexp((double)(x >> 11), (int)(x % 80) - 90); break; /* small values */
    }
    if (!isfinite(d)) continue;
    char buf[40], ref[40];
    json_fmt_double(buf, d);
    if (strtod(buf, NULL) != d) bad_fmt++;
    /* no longer than the shortest %.Ng that reads back */
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(ref, sizeof ref, "%.*g", prec, d);
      if (strtod(ref, NULL) == d) {
        if (strcspn(buf, "e") > strcspn(ref, "e") + 2 && !strchr(ref, 'e')) longer++;
        break;
      }
    }
    int prec = 1 + (int)(x % 17);
    snprintf(ref, sizeof ref, "%.*g", prec, d);
    double a = strtod(ref, NULL), b = json_strtod(ref, strlen(ref));
    if (memcmp(&a, &b, 8) != 0) bad_parse++;
  }
  CHECK(bad_fmt == 0);
  CHECK(bad_parse == 0);
  CHECK(longer == 0);
  char buf[40];
  json_fmt_double(buf, 0.1);
  CHECK_STR(buf, "0.1");
  json_fmt_double(buf, -0.00015);
  CHECK_STR(buf, "-0.00015");
  json_fmt_double(buf, 123456789012345.0);
  CHECK_STR(buf, "123456789012345.0");
  json_fmt_double(buf, -0.0);
  CHECK_STR(buf, "-0.0");
  CHECK(json_strtod("1e-400", 6) == 0.0);
  CHECK(isinf(json_strtod("1e400", 5)));
  CHECK(json_strtod("-0.000123", 9) == -0.000123);
}

/* ---- the cell API ---- */

static void test_cells(void)
{
  tbl *t = tbl_new();
  tbl_err err;
  CHECK(tbl_add_col(t, "a", 1, &err) == 0);
  CHECK(tbl_add_col(t, "a", 1, &err) == -1);
  CHECK_STR(err.msg, "duplicate column name \"a\"");
  CHECK(tbl_add_col(t, "b", 1, &err) == 1);
  CHECK(tbl_colindex(t, "b", 1) == 1);
  CHECK(tbl_colindex(t, "c", 1) == -1);
  CHECK(tbl_resize(t, 1000) == 0);
  CHECK(tbl_nrows(t) == 1000 && tbl_ncols(t) == 2);
  CHECK(tbl_get_type(t, 999, 1) == TBL_NIL);
  CHECK(tbl_set_int(t, 1000, 0, 1) == -1); /* out of range */
  CHECK(tbl_set_int(t, 0, 2, 1) == -1);
  CHECK(tbl_get_type(t, 5000, 0) == TBL_NIL);
  CHECK(tbl_get_str(t, 0, 7, NULL) == NULL);
  CHECK_STR(tbl_col_typename(t, 0), "nil");
  for (size_t r = 0; r < 1000; r++) {
    char s[32];
    int n = snprintf(s, sizeof s, "row %zu", r);
    CHECK(tbl_set_str(t, r, 0, s, (size_t)n) == 0);
    tbl_set_int(t, r, 1, (int64_t)r * 3);
  }
  CHECK_STR(tbl_col_typename(t, 0), "string");
  CHECK_STR(tbl_col_typename(t, 1), "integer");
  /* overwrite every string many times: compaction keeps the arena bounded */
  for (int round = 0; round < 50; round++)
    for (size_t r = 0; r < 1000; r++) {
      char s[64];
      int n = snprintf(s, sizeof s, "round %d row %zu", round, r);
      tbl_set_str(t, r, 0, s, (size_t)n);
    }
  size_t n;
  CHECK_STR(tbl_get_str(t, 123, 0, &n), "round 49 row 123");
  CHECK(n == 16);
  tbl_set_float(t, 5, 1, 2.5);
  CHECK_STR(tbl_col_typename(t, 1), "mixed");
  CHECK(tbl_get_int(t, 5, 1) == 2);
  CHECK(tbl_get_float(t, 6, 1) == 18.0);
  CHECK(isnan(tbl_get_float(t, 6, 0)));
  tbl_set_bool(t, 7, 1, 5);
  CHECK(tbl_get_bool(t, 7, 1) == 1 && tbl_get_int(t, 7, 1) == 1);
  CHECK(tbl_compact(t, 0) == 0);
  CHECK_STR(tbl_get_str(t, 999, 0, NULL), "round 49 row 999");

  /* select, slice, copy, copy_cell, rename, drop */
  size_t cols[] = {1, 0};
  tbl *s = tbl_select(t, cols, 2);
  CHECK(s && tbl_ncols(s) == 2 && tbl_nrows(s) == 1000);
  CHECK_STR(tbl_colname(s, 0, NULL), "b");
  CHECK_STR(tbl_get_str(s, 10, 1, NULL), "round 49 row 10");
  tbl *h = tbl_slice(t, 998, 10);
  CHECK(h && tbl_nrows(h) == 2);
  CHECK_STR(tbl_get_str(h, 1, 0, NULL), "round 49 row 999");
  tbl *c = tbl_copy(t);
  tbl_set_str(c, 0, 0, "changed", 7);
  CHECK_STR(tbl_get_str(t, 0, 0, NULL), "round 49 row 0");
  CHECK(tbl_copy_cell(t, 0, 1, t, 1, 0) == 0);
  CHECK_STR(tbl_get_str(t, 0, 1, NULL), "round 49 row 1");
  CHECK(tbl_copy_cell(t, 0, 0, c, 0, 0) == 0);
  CHECK_STR(tbl_get_str(t, 0, 0, NULL), "changed");
  CHECK(tbl_rename(t, 0, "b", 1, &err) == -1);
  CHECK_STR(err.msg, "duplicate column name \"b\"");
  CHECK(tbl_rename(t, 0, "z", 1, &err) == 0);
  CHECK_STR(tbl_colname(t, 0, NULL), "z");
  CHECK(tbl_drop_col(t, 0) == 0);
  CHECK(tbl_ncols(t) == 1 && tbl_colindex(t, "b", 1) == 0);
  CHECK(tbl_resize(t, 3) == 0 && tbl_nrows(t) == 3);
  CHECK(tbl_resize(t, 10) == 0 && tbl_get_type(t, 9, 0) == TBL_NIL && tbl_get_type(t, 2, 0) == TBL_INT);
  tbl_free(s);
  tbl_free(h);
  tbl_free(c);
  tbl_free(t);
  tbl_free(NULL);
}

/* the column name index: many columns, renames and drops */
static void test_many_columns(void)
{
  tbl *t = tbl_new();
  char name[32];
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(name, sizeof name, "col%d", i);
    CHECK(tbl_add_col(t, name, (size_t)n, NULL) == i);
  }
  CHECK(tbl_add_col(t, "col999", 6, NULL) == -1);
  CHECK(tbl_rename(t, 10, "ten", 3, NULL) == 0);
  CHECK(tbl_drop_col(t, 0) == 0);
  CHECK(tbl_colindex(t, "col0", 4) == -1);
  CHECK(tbl_colindex(t, "col10", 5) == -1);
  CHECK(tbl_colindex(t, "ten", 3) == 9);
  int bad = 0;
  for (int i = 1; i < 1000; i++) {
    if (i == 10) continue;
    int n = snprintf(name, sizeof name, "col%d", i);
    if (tbl_colindex(t, name, (size_t)n) != i - 1) bad++;
  }
  CHECK(bad == 0);
  tbl_free(t);
}

static void test_preview(void)
{
  tbl_err err;
  const char *src = "name,score,note\nalpha,1,\"a\nb\"\nbeta,22,\nc\xC3\xA9,3,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
  tbl *t = tbl_read_csv_mem(src, strlen(src), "p.csv", NULL, &err);
  CHECK(t != NULL);
  char *p = tbl_preview(t, 20, 12);
  CHECK_STR(p, "    name  score          note\n"
               "1  alpha      1          a\\nb\n"
               "2   beta     22           nil\n"
               "3     c\xC3\xA9      3  xxxxxxxxx...\n"
               "\n[3 rows x 3 columns]");
  free(p);
  tbl_free(t);
  /* 30 rows: first and last halves around a gap */
  t = tbl_new();
  tbl_add_col(t, "i", 1, NULL);
  tbl_resize(t, 30);
  for (size_t r = 0; r < 30; r++) tbl_set_int(t, r, 0, (int64_t)r * 10);
  p = tbl_preview(t, 4, 50);
  CHECK_STR(p, "       i\n"
               "1      0\n"
               "2     10\n"
               "...  ...\n"
               "29   280\n"
               "30   290\n"
               "\n[30 rows x 1 columns]");
  free(p);
  tbl_free(t);
}

int main(void)
{
  test_readers();
  test_deep_nesting();
  test_writers();
  test_json_floats();
  test_float_text();
  test_cells();
  test_many_columns();
  test_preview();
  return check_done();
}
