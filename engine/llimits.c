/* llimits.c: evalua.limits, the memory cap for untrusted metric packs. The
 * module puts a counting allocator in front of the state's own (Redis and
 * Luau cap script memory the same way): it tracks the bytes Lua holds and,
 * while a limit is set, refuses any growth past it, so Lua raises its
 * ordinary "not enough memory" error and unwinds; nothing is allocated
 * first and checked later. evalua.metrics.packs sets the limit around each
 * call into pack code and turns a refusal into `pack x.lua: exceeded N MB`.
 *   limits.used()      -> bytes the Lua state holds now
 *   limits.limit([n])  -> the previous limit in bytes (0: none); sets n when given
 *   limits.refused()   -> allocations refused so far (a counter; compare two reads) */
#include <stddef.h>

#include "lauxlib.h"
#include "lua.h"

/* One per process: evalua runs one Lua state. Static, because the allocator
 * is still called while lua_close frees the state, after any userdata that
 * could have owned this is gone. */
static struct {
  lua_State *owner; /* the state whose allocator this wraps, or NULL */
  lua_Alloc f;      /* the allocator underneath */
  void *ud;
  long long used;    /* bytes held by the state */
  long long limit;   /* 0: no limit */
  long long refused; /* allocations refused */
} lim;

static void *lim_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  (void)ud;
  size_t old = ptr ? osize : 0; /* with ptr == NULL, osize is a type tag */
  if (nsize > old && lim.limit > 0 && lim.used + (long long)(nsize - old) > lim.limit) {
    lim.refused++;
    return NULL;
  }
  void *p = lim.f(lim.ud, ptr, osize, nsize);
  if (nsize == 0)
    lim.used -= (long long)old;
  else if (p)
    lim.used += (long long)nsize - (long long)old;
  return p;
}

static int installed(lua_State *L)
{
  void *ud;
  return lua_getallocf(L, &ud) == lim_alloc;
}

static int l_used(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)lim.used);
  return 1;
}

static int l_limit(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)lim.limit);
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0, 1, "limit must be 0 (none) or a positive number of bytes");
    lim.limit = (long long)n;
  }
  return 1;
}

static int l_refused(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)lim.refused);
  return 1;
}

/* __gc of the guard: puts the state's own allocator back. The guard is made
 * after the module's library is loaded, so lua_close finalizes it before the
 * loader's table unloads that library (stock lua5.4 dlcloses C modules):
 * the state never calls into unmapped code while it frees the rest. */
static int l_restore(lua_State *L)
{
  if (installed(L)) lua_setallocf(L, lim.f, lim.ud);
  lim.owner = NULL;
  lim.limit = 0;
  return 0;
}

int luaopen_evalua_limits(lua_State *L)
{
  if (!installed(L)) {
    if (lim.owner && lim.owner != L)
      return luaL_error(L, "evalua.limits: already in use by another Lua state");
    lim.owner = L;
    lim.f = lua_getallocf(L, &lim.ud);
    lim.used = (long long)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + lua_gc(L, LUA_GCCOUNTB, 0);
    lim.limit = 0;
    lua_setallocf(L, lim_alloc, NULL);
    lua_newuserdatauv(L, 0, 0);
    lua_newtable(L);
    lua_pushcfunction(L, l_restore);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "evalua.limits.guard");
  }
  static const luaL_Reg fns[] = {
    {"used", l_used}, {"limit", l_limit}, {"refused", l_refused}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
