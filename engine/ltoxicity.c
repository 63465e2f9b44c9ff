/* ltoxicity.c: evalua.toxicity, the Lua binding of the toxicity classifiers.
 *   score(text) -> p                    embedded model, p in [0, 1]
 *   score_list(column) -> column        strings scored, other cells nil
 *   normalize(text) -> string           what the embedded model sees
 *   info() -> table                     backend, weights_sha256, training_data,
 *                                       quality (measured numbers), metadata
 *   roberta_open(dir [, threads]) -> model | nil, err
 *   model:score_list(column [, batch]) -> column | nil, err
 *   model:info() -> table;  model:close() */
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#include "ltable.h"

#include "linit.h"
#include "roberta.h"
#include "toxicity.h"

#define ROBERTA_MT "evalua.toxicity.roberta"

static const toxicity_model *default_or_error(lua_State *L, const char *api)
{
  char err[256];
  const toxicity_model *m = toxicity_default(err, sizeof err);
  if (!m) luaL_error(L, "%s: %s", api, err);
  return m;
}

static int tox_score(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  const toxicity_model *m = default_or_error(L, "toxicity.score");
  lua_pushnumber(L, toxicity_prob(m, s, n));
  return 1;
}

static int tox_score_list(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  const toxicity_model *m = default_or_error(L, "toxicity.score_list");
  lua_Integer n = ltable_list_len(L, 1, "toxicity.score_list");
  lua_createtable(L, n > 0 && n < (1 << 26) ? (int)n : 0, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_geti(L, 1, i) == LUA_TSTRING) {
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      double p = toxicity_prob(m, s, len);
      lua_pop(L, 1);
      if (p != p) return luaL_error(L, "toxicity.score_list: out of memory at row %d", (int)i);
      lua_pushnumber(L, p);
      lua_rawseti(L, -2, i);
    } else {
      lua_pop(L, 1);
    }
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
  return 1;
}

static int tox_normalize(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  size_t cap = n * 2 + 16;
  char *out = malloc(cap);
  if (!out) return luaL_error(L, "toxicity.normalize: out of memory");
  size_t k = toxicity_normalize(s, n, out, cap);
  lua_pushlstring(L, out, k < cap ? k : cap - 1);
  free(out);
  return 1;
}

static int starts(const char *s, size_t n, const char *prefix)
{
  size_t k = strlen(prefix);
  return n >= k && memcmp(s, prefix, k) == 0;
}

/* Pushes the "key=value" metadata lines as a table; numbers become numbers.
 * With quality set, only the measured numbers (davidson_test_*, neutral_test_*,
 * stormfront_*, implicit_hate_test_*, dynahate_*, functional_*). */
static void push_meta(lua_State *L, const char *p, size_t n, int quality)
{
  lua_newtable(L);
  size_t i = 0;
  while (i < n) {
    size_t a = i;
    while (i < n && p[i] != '\n') i++;
    const char *eq = memchr(p + a, '=', i - a);
    int keep = !quality || starts(p + a, i - a, "davidson_test_") ||
               starts(p + a, i - a, "neutral_test_") || starts(p + a, i - a, "stormfront_") ||
               starts(p + a, i - a, "implicit_hate_test_") ||
               starts(p + a, i - a, "dynahate_") || starts(p + a, i - a, "functional_");
    if (eq && keep) {
      lua_pushlstring(L, p + a, (size_t)(eq - (p + a)));
      lua_pushlstring(L, eq + 1, (size_t)(p + i - eq - 1));
      if (lua_stringtonumber(L, lua_tostring(L, -1)) != 0) lua_remove(L, -2);
      lua_rawset(L, -3);
    }
    i++;
  }
}

static int tox_info(lua_State *L)
{
  const toxicity_model *m = default_or_error(L, "toxicity.info");
  lua_newtable(L);
  lua_pushliteral(L, "embedded");
  lua_setfield(L, -2, "backend");
  lua_pushstring(L, m->sha256);
  lua_setfield(L, -2, "weights_sha256");
  lua_pushliteral(L, "engine/data/toxicity.bin");
  lua_setfield(L, -2, "weights");
  lua_pushinteger(L, (lua_Integer)m->nbits);
  lua_setfield(L, -2, "hash_bits");
  push_meta(L, m->meta, m->meta_len, 0);
  lua_getfield(L, -1, "training_data"); /* [info, meta, training_data] */
  lua_setfield(L, -3, "training_data");
  lua_setfield(L, -2, "metadata");
  push_meta(L, m->meta, m->meta_len, 1);
  lua_setfield(L, -2, "quality");
  return 1;
}

/* ---- RoBERTa ---- */

typedef struct {
  roberta_model *m;
} udroberta;

static roberta_model *check_roberta(lua_State *L)
{
  udroberta *u = luaL_checkudata(L, 1, ROBERTA_MT);
  if (!u->m) luaL_error(L, "toxicity.roberta: model is closed");
  return u->m;
}

static int rob_open(lua_State *L)
{
  const char *dir = luaL_checkstring(L, 1);
  int threads = (int)luaL_optinteger(L, 2, 0);
  udroberta *u = lua_newuserdatauv(L, sizeof *u, 0); /* inert before the resource */
  u->m = NULL;
  luaL_setmetatable(L, ROBERTA_MT);
  char err[512];
  u->m = roberta_open(dir, threads, err, sizeof err);
  if (!u->m) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  return 1;
}

static int rob_gc(lua_State *L)
{
  udroberta *u = luaL_checkudata(L, 1, ROBERTA_MT);
  if (u->m) {
    roberta_close(u->m);
    u->m = NULL;
  }
  return 0;
}

static int rob_score_list(lua_State *L)
{
  roberta_model *m = check_roberta(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  int batch = (int)luaL_optinteger(L, 3, 8);
  lua_Integer n = ltable_list_len(L, 2, "toxicity.score_list");
  if (n > (1 << 26)) return luaL_error(L, "toxicity.roberta: column too long");
  const char **texts = calloc((size_t)n + 1, sizeof *texts);
  size_t *lens = calloc((size_t)n + 1, sizeof *lens);
  lua_Integer *rows = calloc((size_t)n + 1, sizeof *rows);
  double *probs = calloc((size_t)n + 1, sizeof *probs);
  if (!texts || !lens || !rows || !probs) {
    free(texts), free(lens), free(rows), free(probs);
    return luaL_error(L, "toxicity.roberta: out of memory");
  }
  size_t k = 0;
  lua_createtable(L, 0, 0); /* anchor for the strings: [t] */
  int anchor = lua_gettop(L);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_geti(L, 2, i) == LUA_TSTRING) {
      texts[k] = lua_tolstring(L, -1, &lens[k]);
      rows[k] = i;
      lua_rawseti(L, anchor, (lua_Integer)k + 1);
      k++;
    } else {
      lua_pop(L, 1);
    }
  }
  char err[512];
  int rc = roberta_score(m, texts, lens, k, batch, probs, err, sizeof err);
  if (rc != 0) {
    free(texts), free(lens), free(rows), free(probs);
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_createtable(L, (int)n, 1);
  for (size_t j = 0; j < k; j++) {
    lua_pushnumber(L, probs[j]);
    lua_rawseti(L, -2, rows[j]);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
  free(texts), free(lens), free(rows), free(probs);
  return 1;
}

static int rob_tokenize(lua_State *L)
{
  roberta_model *m = check_roberta(L);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  int32_t ids[ROBERTA_MAX_TOKENS];
  int k = roberta_tokenize(m, s, n, ids, ROBERTA_MAX_TOKENS);
  if (k < 0) return luaL_error(L, "toxicity.roberta: out of memory");
  lua_createtable(L, k, 0);
  for (int i = 0; i < k; i++) {
    lua_pushinteger(L, ids[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int rob_info(lua_State *L)
{
  roberta_model *m = check_roberta(L);
  const roberta_config *c = roberta_get_config(m);
  lua_newtable(L);
  lua_pushliteral(L, "roberta");
  lua_setfield(L, -2, "backend");
  lua_pushstring(L, roberta_weights_sha256(m));
  lua_setfield(L, -2, "weights_sha256");
  lua_pushinteger(L, c->layers);
  lua_setfield(L, -2, "layers");
  lua_pushinteger(L, c->hidden);
  lua_setfield(L, -2, "hidden");
  lua_pushinteger(L, c->heads);
  lua_setfield(L, -2, "heads");
  lua_pushinteger(L, c->intermediate);
  lua_setfield(L, -2, "intermediate");
  lua_pushinteger(L, c->vocab);
  lua_setfield(L, -2, "vocab");
  lua_pushinteger(L, c->max_tokens);
  lua_setfield(L, -2, "max_tokens");
  lua_pushinteger(L, c->hate_label);
  lua_setfield(L, -2, "hate_label");
  lua_pushstring(L, c->hate_label_name);
  lua_setfield(L, -2, "hate_label_name");
  return 1;
}

static const luaL_Reg rob_methods[] = {
    {"score_list", rob_score_list}, {"tokenize", rob_tokenize}, {"info", rob_info},
    {"close", rob_gc}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"score", tox_score},     {"score_list", tox_score_list},
    {"normalize", tox_normalize}, {"info", tox_info},
    {"roberta_open", rob_open}, {NULL, NULL}};

int luaopen_evalua_toxicity(lua_State *L)
{
  if (luaL_newmetatable(L, ROBERTA_MT)) {
    lua_pushcfunction(L, rob_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, rob_gc);
    lua_setfield(L, -2, "__close");
    luaL_newlib(L, rob_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
