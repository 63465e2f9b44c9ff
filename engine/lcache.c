/* lcache.c: evalua.cachedb, the Lua binding of the response cache (cache.c).
 * open(path) -> db | nil, err; db:get(key) -> body, usage | false | nil, err;
 * db:put(key, provider, model, body, usage) -> true | nil, err;
 * db:stats() -> table | nil, err; db:note_run(h, m, w); db:clear() -> n;
 * db:begin(), db:commit() around a batch of puts; db:close();
 * canonical_json(text) -> text | nil, err (the form cache keys hash). */
#include <stdlib.h>

#include "lauxlib.h"
#include "lua.h"

#include "cache.h"
#include "linit.h"

#define CACHEDB_MT "evalua.cachedb"

typedef struct { struct cache *c; } udcache;

static struct cache *check_open(lua_State *L)
{
  udcache *u = luaL_checkudata(L, 1, CACHEDB_MT);
  if (!u->c) luaL_error(L, "cache: database is closed");
  return u->c;
}

static int push_fail(lua_State *L, const char *err)
{
  luaL_pushfail(L);
  lua_pushstring(L, err);
  return 2;
}

/* cachedb.open(path) */
static int cdb_open(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  udcache *u = lua_newuserdatauv(L, sizeof *u, 0); /* inert before the resource */
  u->c = NULL;
  luaL_setmetatable(L, CACHEDB_MT);
  char err[512];
  u->c = cache_open(path, err, sizeof err);
  if (!u->c) return push_fail(L, err);
  return 1;
}

static int cdb_close(lua_State *L)
{
  udcache *u = luaL_checkudata(L, 1, CACHEDB_MT);
  cache_close(u->c);
  u->c = NULL;
  return 0;
}

static int cdb_get(lua_State *L)
{
  struct cache *c = check_open(L);
  const char *key = luaL_checkstring(L, 2);
  char *body, *usage, err[512];
  size_t blen;
  int rc = cache_get(c, key, &body, &blen, &usage, err, sizeof err);
  if (rc < 0) return push_fail(L, err);
  if (rc == 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushlstring(L, body, blen);
  if (usage) lua_pushstring(L, usage);
  else lua_pushnil(L);
  free(body);
  free(usage);
  return 2;
}

static int cdb_put(lua_State *L)
{
  struct cache *c = check_open(L);
  const char *key = luaL_checkstring(L, 2);
  const char *provider = luaL_optstring(L, 3, NULL);
  const char *model = luaL_optstring(L, 4, NULL);
  size_t blen;
  const char *body = luaL_checklstring(L, 5, &blen);
  const char *usage = luaL_optstring(L, 6, NULL);
  char err[512];
  if (cache_put(c, key, provider, model, body, blen, usage, err, sizeof err) < 0)
    return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int cdb_stats(lua_State *L)
{
  struct cache *c = check_open(L);
  struct cache_stats s;
  char err[512];
  if (cache_stats(c, &s, err, sizeof err) < 0) return push_fail(L, err);
  lua_createtable(L, 0, 11);
#define F(name) (lua_pushinteger(L, (lua_Integer)s.name), lua_setfield(L, -2, #name))
  F(entries); F(body_bytes); F(file_bytes); F(runs); F(hits); F(misses); F(writes);
  F(last_hits); F(last_misses); F(last_writes);
#undef F
  lua_pushnumber(L, s.last_time);
  lua_setfield(L, -2, "last_time");
  return 1;
}

static int cdb_note_run(lua_State *L)
{
  struct cache *c = check_open(L);
  lua_Integer h = luaL_checkinteger(L, 2), m = luaL_checkinteger(L, 3),
              w = luaL_checkinteger(L, 4);
  char err[512];
  if (cache_note_run(c, h, m, w, err, sizeof err) < 0) return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int cdb_clear(lua_State *L)
{
  struct cache *c = check_open(L);
  char err[512];
  long long n = cache_clear(c, err, sizeof err);
  if (n < 0) return push_fail(L, err);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static int cdb_begin(lua_State *L)
{
  struct cache *c = check_open(L);
  char err[512];
  if (cache_begin(c, err, sizeof err) < 0) return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int cdb_commit(lua_State *L)
{
  struct cache *c = check_open(L);
  char err[512];
  if (cache_commit(c, err, sizeof err) < 0) return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* cachedb.canonical_json(text) -> canonical text | nil, err */
static int cdb_canonical_json(lua_State *L)
{
  size_t len;
  const char *src = luaL_checklstring(L, 1, &len);
  json_buf b = {0};
  char err[256];
  if (cache_canonical_json(src, len, &b, err, sizeof err) < 0) {
    json_buf_free(&b);
    return push_fail(L, err);
  }
  lua_pushlstring(L, b.p ? b.p : "", b.len);
  json_buf_free(&b);
  return 1;
}

static int cdb_tostring(lua_State *L)
{
  udcache *u = luaL_checkudata(L, 1, CACHEDB_MT);
  lua_pushfstring(L, "cachedb (%s)", u->c ? "open" : "closed");
  return 1;
}

static const luaL_Reg methods[] = {
  {"get", cdb_get}, {"put", cdb_put}, {"stats", cdb_stats}, {"note_run", cdb_note_run},
  {"clear", cdb_clear}, {"begin", cdb_begin}, {"commit", cdb_commit}, {"close", cdb_close},
  {NULL, NULL}};

static const luaL_Reg meta[] = {
  {"__gc", cdb_close}, {"__close", cdb_close}, {"__tostring", cdb_tostring}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
  {"open", cdb_open}, {"canonical_json", cdb_canonical_json}, {NULL, NULL}};

int luaopen_evalua_cachedb(lua_State *L)
{
  luaL_newmetatable(L, CACHEDB_MT); /* [mt] */
  luaL_setfuncs(L, meta, 0);
  luaL_newlib(L, methods);          /* [mt, methods] */
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
