/* ltoxicity.c: evalua.toxicity, the Lua binding of the toxicity classifiers.
 *   score(text) -> p                    embedded model, p in [0, 1]
 *   score_list(column) -> column        strings scored, other cells nil
 *   normalize(text) -> string           what the embedded model sees
 *   info() -> table                     backend, weights_sha256, metadata
 *   roberta_open(dir [, threads]) -> model | nil, err
 *   model:score_list(column [, batch]) -> column | nil, err
 *   model:info() -> table;  model:close() */
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#include "linit.h"
#include "toxicity.h"


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

/* The length of a column list: its field n, else the border. */
static lua_Integer column_len(lua_State *L, int idx)
{
  lua_Integer n;
  if (lua_getfield(L, idx, "n") == LUA_TNUMBER) n = lua_tointeger(L, -1);
  else n = (lua_Integer)lua_rawlen(L, idx);
  lua_pop(L, 1);
  if (n < 0) n = 0;
  return n;
}

static int tox_score_list(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  const toxicity_model *m = default_or_error(L, "toxicity.score_list");
  lua_Integer n = column_len(L, 1);
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

/* Pushes the "key=value" metadata lines as a table; numbers become numbers. */
static void push_meta(lua_State *L, const char *p, size_t n)
{
  lua_newtable(L);
  size_t i = 0;
  while (i < n) {
    size_t a = i;
    while (i < n && p[i] != '\n') i++;
    const char *eq = memchr(p + a, '=', i - a);
    if (eq) {
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
  push_meta(L, m->meta, m->meta_len);
  lua_setfield(L, -2, "metadata");
  return 1;
}

static const luaL_Reg funcs[] = {
    {"score", tox_score},     {"score_list", tox_score_list},
    {"normalize", tox_normalize}, {"info", tox_info},
    {NULL, NULL}};

int luaopen_evalua_toxicity(lua_State *L)
{
  luaL_newlib(L, funcs);
  return 1;
}
