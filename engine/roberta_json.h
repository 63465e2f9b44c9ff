/* roberta_json.h: the RoBERTa loader's JSON (config.json,
 * vocab.json, the safetensors header), parsed by engine/json.c. A plain tree; strings are decoded
 * (\uXXXX escapes and surrogate pairs included). */
#ifndef EVALUA_ROBERTA_JSON_H
#define EVALUA_ROBERTA_JSON_H
#include <stddef.h>

enum { RJ_NULL, RJ_BOOL, RJ_NUM, RJ_STR, RJ_ARR, RJ_OBJ };

typedef struct rj_value rj_value;
struct rj_value {
  int type;
  double num;       /* RJ_NUM; RJ_BOOL: 0 or 1 */
  char *str;        /* RJ_STR: NUL-terminated, slen bytes (may hold NULs) */
  size_t slen;
  rj_value *items;  /* RJ_ARR, RJ_OBJ: n values */
  char **keys;      /* RJ_OBJ: n NUL-terminated keys */
  size_t *klens;
  size_t n;
};

/* Parses src[0..len) as one JSON document into *out (the caller frees it
 * with rj_free). Returns 0, or -1 with "LINE:COL: message" in err. */
int rj_parse(const char *src, size_t len, rj_value *out, char *err, size_t errlen);
/* Frees what v owns and zeroes it (v itself is the caller's). */
void rj_free(rj_value *v);
/* The member `key` of an object, or NULL (also when v is not an object). */
const rj_value *rj_get(const rj_value *v, const char *key);

#endif
