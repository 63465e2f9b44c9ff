/* linit.c: opens the Lua libraries evalua needs and makes the embedded Lua
 * library findable by require. The one list of C modules lives here. */
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "embed.h"
#include "linit.h"

int luaopen_cjson(lua_State *L);
int luaopen_lfs(lua_State *L);

/* every C module visible to Lua; add new parts here */
static const luaL_Reg cmodules[] = {
  {"cjson", luaopen_cjson},
  {"lfs", luaopen_lfs},
  {"evalua.core", luaopen_evalua_core},
#define EVALUA_MODULE(name) {"evalua." #name, luaopen_evalua_##name},
#include "lmodules.h"
#undef EVALUA_MODULE
  {NULL, NULL}
};

/* module "evalua.x.y" -> "lua/evalua/x/y.lua"; init.lua for packages */
static int embedded_path(char *buf, size_t cap, const char *mod, int init)
{
  size_t n = strlen(mod);
  if (n + 20 > cap) return 0;
  memcpy(buf, "lua/", 4);
  for (size_t i = 0; i < n; i++) buf[4 + i] = mod[i] == '.' ? '/' : mod[i];
  strcpy(buf + 4 + n, init ? "/init.lua" : ".lua");
  return 1;
}

/* searcher: EVALUA_LUA_PATH source tree first, then the embedded copy */
static int searcher_embedded(lua_State *L)
{
  const char *mod = luaL_checkstring(L, 1);
  char rel[512];
  if (strncmp(mod, "evalua", 6) != 0 || (mod[6] != '\0' && mod[6] != '.')) {
    lua_pushfstring(L, "\n\tno embedded module '%s'", mod);
    return 1;
  }
  const char *dir = getenv("EVALUA_LUA_PATH");
  for (int init = 0; init < 2; init++) {
    if (!embedded_path(rel, sizeof rel, mod, init)) break;
    if (dir && *dir) {
      lua_pushfstring(L, "%s/%s", dir, rel + 4); /* dir holds evalua/... */
      const char *file = lua_tostring(L, -1);
      FILE *f = fopen(file, "rb");
      if (f) {
        fclose(f);
        if (luaL_loadfile(L, file) != LUA_OK)
          return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", mod,
                            file, lua_tostring(L, -1));
        lua_pushvalue(L, -2); /* [file, chunk, file] */
        return 2;
      }
      lua_pop(L, 1);
    }
    size_t len;
    const unsigned char *src = embed_find(rel, &len);
    if (src) {
      lua_pushfstring(L, "@%s", rel);
      if (luaL_loadbufferx(L, (const char *)src, len, lua_tostring(L, -1), "t") != LUA_OK)
        return luaL_error(L, "error loading embedded module '%s':\n\t%s", mod,
                          lua_tostring(L, -1));
      lua_pushstring(L, rel); /* [name, chunk, rel] */
      return 2;
    }
  }
  lua_pushfstring(L, "\n\tno embedded module '%s'", mod);
  return 1;
}

void evalua_openlibs(lua_State *L)
{
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE); /* [preload] */
  for (const luaL_Reg *m = cmodules; m->name; m++) {
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 1);
  /* insert the embedded searcher right after the preload searcher */
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers"); /* [package, searchers] */
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  for (lua_Integer i = n; i >= 2; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushcfunction(L, searcher_embedded);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}
