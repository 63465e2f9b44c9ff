/* roberta_json.c: the RoBERTa loader's view of JSON, read by engine/json.c
 * (json_parse) and handed over as the plain rj_value tree the loader walks:
 * numbers as doubles, strings and keys moved over without a copy. */
#include "roberta_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* moves what j owns into v (j is left JSON_NULL); 0, or -1 out of memory */
static int take(json_value *j, rj_value *v)
{
  memset(v, 0, sizeof *v);
  switch (j->kind) {
  case JSON_NULL: v->type = RJ_NULL; break;
  case JSON_FALSE:
  case JSON_TRUE:
    v->type = RJ_BOOL;
    v->num = j->kind == JSON_TRUE;
    break;
  case JSON_INT: v->type = RJ_NUM; v->num = (double)j->u.i; break;
  case JSON_FLOAT: v->type = RJ_NUM; v->num = j->u.d; break;
  case JSON_STRING:
    v->type = RJ_STR;
    v->str = j->u.str.s;
    v->slen = j->u.str.len;
    break;
  case JSON_ARRAY:
  case JSON_OBJECT: {
    int obj = j->kind == JSON_OBJECT;
    size_t n = j->u.c.n;
    v->type = obj ? RJ_OBJ : RJ_ARR;
    v->items = calloc(n ? n : 1, sizeof *v->items);
    if (obj) {
      v->keys = calloc(n ? n : 1, sizeof *v->keys);
      v->klens = calloc(n ? n : 1, sizeof *v->klens);
    }
    if (!v->items || (obj && (!v->keys || !v->klens))) {
      free(v->items);
      free(v->keys);
      free(v->klens);
      memset(v, 0, sizeof *v);
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      if (take(&j->u.c.items[i], &v->items[i]) < 0) { rj_free(v); return -1; }
      v->n = i + 1;
      if (obj) {
        v->keys[i] = j->u.c.keys[i].s;
        v->klens[i] = j->u.c.keys[i].len;
        j->u.c.keys[i].s = NULL;
      }
    }
    json_value_free(j); /* the shells; strings and keys were moved */
    return 0;
  }
  }
  memset(j, 0, sizeof *j); /* a string's bytes now belong to v */
  j->kind = JSON_NULL;
  return 0;
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
  json_value j;
  memset(out, 0, sizeof *out);
  if (json_parse(src, len, &j, err, errlen) < 0) return -1;
  int rc = take(&j, out);
  json_value_free(&j);
  if (rc < 0) snprintf(err, errlen, "out of memory");
  return rc;
}

const rj_value *rj_get(const rj_value *v, const char *key)
{
  if (!v || v->type != RJ_OBJ) return NULL;
  for (size_t i = 0; i < v->n; i++)
    if (v->keys[i] && strcmp(v->keys[i], key) == 0) return &v->items[i];
  return NULL;
}
