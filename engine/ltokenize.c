/* ltokenize.c: evalua.tokenize, the Lua binding of engine/tokenize.c.
 * encode(text [, enc]) -> {ids}; count(text [, enc]) -> n;
 * decode(ids [, enc]) -> string (raw token bytes); count_list(column [, enc])
 * -> column of counts (nil for non-strings; one C call per column).
 * enc defaults to "cl100k_base"; encodings = {"cl100k_base", "o200k_base"}. */
#include <stdint.h>
#include <stdlib.h>

#include "lauxlib.h"
#include "lua.h"

#include "ltable.h"

#include "linit.h"
#include "tokenize.h"

#define BOX_MT "evalua.tokenize.box"

/* a malloc'd buffer owned by a userdata on the stack, so a Lua error
 * between the C call and the copy into Lua cannot leak it */
static void **box_new(lua_State *L)
{
  void **b = lua_newuserdatauv(L, sizeof *b, 0);
  *b = NULL;
  luaL_setmetatable(L, BOX_MT);
  return b;
}

static int box_gc(lua_State *L)
{
  void **b = luaL_checkudata(L, 1, BOX_MT);
  free(*b);
  *b = NULL;
  return 0;
}

static const tok_encoding *check_enc(lua_State *L, int idx, const char *api)
{
  const char *name = luaL_optstring(L, idx, "cl100k_base"), *err = NULL;
  const tok_encoding *e = tok_get(name, &err);
  if (!e && err && err[0] == 'u')
    luaL_error(L, "tokenize.%s: unknown encoding '%s' (known: %s)", api, name, tok_known());
  if (!e) luaL_error(L, "tokenize.%s: %s: %s", api, name, err ? err : "unavailable");
  return e;
}

static int l_encode(lua_State *L)
{
  size_t len, n;
  const char *s = luaL_checklstring(L, 1, &len);
  const tok_encoding *e = check_enc(L, 2, "encode");
  void **b = box_new(L);
  uint32_t *ids;
  if (tok_encode(e, s, len, &ids, &n))
    return luaL_error(L, "tokenize.encode: out of memory (or a 2 GiB piece)");
  *b = ids;
  lua_createtable(L, n > INT32_MAX ? INT32_MAX : (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, ids[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int l_count(lua_State *L)
{
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  size_t n = tok_count(check_enc(L, 2, "count"), s, len);
  if (n == (size_t)-1) return luaL_error(L, "tokenize.count: out of memory (or a 2 GiB piece)");
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static int l_decode(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  const tok_encoding *e = check_enc(L, 2, "decode");
  lua_Integer n = luaL_len(L, 1);
  uint32_t *ids = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *ids, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    int ok;
    lua_geti(L, 1, i);
    lua_Integer id = lua_tointegerx(L, -1, &ok);
    if (!ok || id < 0 || id > UINT32_MAX)
      return luaL_error(L, "tokenize.decode: item %d is not a token id (got %s)", (int)i,
                        luaL_tolstring(L, -1, NULL));
    ids[i - 1] = (uint32_t)id;
    lua_pop(L, 1);
  }
  void **b = box_new(L);
  char *out;
  size_t len, bad;
  int rc = tok_decode(e, ids, (size_t)n, &out, &len, &bad);
  if (rc == -2)
    return luaL_error(L, "tokenize.decode: item %d: %I is not a token of %s", (int)bad + 1,
                      (lua_Integer)ids[bad], tok_name(e));
  if (rc) return luaL_error(L, "tokenize.decode: out of memory");
  *b = out;
  lua_pushlstring(L, out, len);
  return 1;
}

static int l_count_list(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  const tok_encoding *e = check_enc(L, 2, "count_list");
  lua_Integer n = ltable_list_len(L, 1, "tokenize.count_list");
  lua_createtable(L, n > (1 << 24) ? 0 : (int)n, 1); /* [out]; no huge preallocation for a bogus n */
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_geti(L, 1, i) == LUA_TSTRING) {
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      size_t c = tok_count(e, s, len);
      if (c == (size_t)-1)
        return luaL_error(L, "tokenize.count_list: row %d: out of memory (or a 2 GiB piece)",
                          (int)i);
      lua_pushinteger(L, (lua_Integer)c);
      lua_rawseti(L, -3, i);
    }
    lua_pop(L, 1);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
  return 1;
}

int luaopen_evalua_tokenize(lua_State *L)
{
  static const luaL_Reg fns[] = {{"encode", l_encode},         {"count", l_count},
                                 {"decode", l_decode},         {"count_list", l_count_list},
                                 {NULL, NULL}};
  if (luaL_newmetatable(L, BOX_MT)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_newlib(L, fns);
  lua_createtable(L, 2, 0);
  lua_pushliteral(L, "cl100k_base");
  lua_rawseti(L, -2, 1);
  lua_pushliteral(L, "o200k_base");
  lua_rawseti(L, -2, 2);
  lua_setfield(L, -2, "encodings");
  return 1;
}
