/* lcore.c: evalua.core, small host services for the Lua library: the
 * embedded files, hashing, clocks and process facts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lauxlib.h"
#include "lua.h"

#include "embed.h"
#include "linit.h"
#include "sha256.h"

/* core.embedded(name) -> string | nil */
static int core_embedded(lua_State *L)
{
  size_t len;
  const unsigned char *p = embed_find(luaL_checkstring(L, 1), &len);
  if (!p) { lua_pushnil(L); return 1; }
  lua_pushlstring(L, (const char *)p, len);
  return 1;
}

/* core.embedded_names(prefix) -> sorted list of names starting with prefix */
static int core_embedded_names(lua_State *L)
{
  size_t pl;
  const char *prefix = luaL_optlstring(L, 1, "", &pl);
  lua_newtable(L);
  lua_Integer n = 0;
  for (size_t i = 0; i < embed_table_len; i++)
    if (strncmp(embed_table[i].name, prefix, pl) == 0) {
      lua_pushstring(L, embed_table[i].name);
      lua_rawseti(L, -2, ++n);
    }
  return 1;
}

/* core.sha256(string) -> 64 hex chars */
static int core_sha256(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char hex[65];
  sha256_hex(s, n, hex);
  lua_pushlstring(L, hex, 64);
  return 1;
}

/* core.clock() -> monotonic seconds (float) */
static int core_clock(lua_State *L)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* core.time() -> wall-clock seconds since the epoch (float) */
static int core_time(lua_State *L)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static int core_pid(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

/* core.isatty(fd) -> boolean */
static int core_isatty(lua_State *L)
{
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* core.sleep(seconds): blocks the process; tasks use sched.sleep instead */
static int core_sleep(lua_State *L)
{
  double s = luaL_checknumber(L, 1);
  if (s != s || s <= 0) return 0;
  if (s > 1e7) s = 1e7; /* about four months: keeps the cast below defined */
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  return 0;
}

static const luaL_Reg corelib[] = {
  {"embedded", core_embedded}, {"embedded_names", core_embedded_names},
  {"sha256", core_sha256}, {"clock", core_clock}, {"time", core_time},
  {"pid", core_pid}, {"isatty", core_isatty}, {"sleep", core_sleep},
  {NULL, NULL}};

int luaopen_evalua_core(lua_State *L)
{
  luaL_newlib(L, corelib);
  lua_pushstring(L, EVALUA_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, EVALUA_SOURCE_DIR);
  lua_setfield(L, -2, "source_dir");
  return 1;
}
