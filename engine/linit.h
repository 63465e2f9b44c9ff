/* linit.h: the host's Lua set-up (linit.c) and the C modules' entry points. */
#ifndef EVALUA_LINIT_H
#define EVALUA_LINIT_H
#include "lua.h"

/* Opens the standard libraries, preloads every C module (cjson, lfs,
 * evalua.*) and installs the searcher for the embedded Lua library. */
void evalua_openlibs(lua_State *L);

int luaopen_evalua_core(lua_State *L);
#define EVALUA_MODULE(name) int luaopen_evalua_##name(lua_State *L);
#include "lmodules.h"
#undef EVALUA_MODULE

#endif
