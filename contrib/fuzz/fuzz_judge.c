/* fuzz_judge.c: libFuzzer target for the judge-answer parser
 * (evalua.metrics.genai.parse_answer, Lua). Any byte string must give either
 * an integer score and a string justification, or nil and a failure note
 * that starts with "failed: " and keeps the raw answer; it must never raise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

int luaopen_cjson(lua_State *L);

static lua_State *L;
static int parse_ref;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "cjson", luaopen_cjson, 0);
  lua_pop(L, 1);
  lua_getglobal(L, "package");
  lua_pushstring(L, EVALUA_SOURCE_DIR "/lua/?.lua;" EVALUA_SOURCE_DIR "/lua/?/init.lua");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  if (luaL_dostring(L, "return require('evalua.metrics.genai').parse_answer") != LUA_OK) {
    fprintf(stderr, "fuzz_judge: %s\n", lua_tostring(L, -1));
    abort();
  }
  parse_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int has_non_space(const uint8_t *d, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!strchr(" \t\n\r\f\v", d[i]) || d[i] == 0) return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  lua_rawgeti(L, LUA_REGISTRYINDEX, parse_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_judge: parse_answer raised: %s\n", lua_tostring(L, -1));
    abort();
  }
  if (!lua_isnil(L, -2)) {
    if (!lua_isinteger(L, -2) || lua_type(L, -1) != LUA_TSTRING) {
      fprintf(stderr, "fuzz_judge: a score that is not an integer, or no justification\n");
      abort();
    }
  } else {
    size_t n;
    const char *note = lua_tolstring(L, -1, &n);
    if (lua_type(L, -1) != LUA_TSTRING || strncmp(note, "failed: ", 8) != 0) {
      fprintf(stderr, "fuzz_judge: a failure without a failure note\n");
      abort();
    }
    if (has_non_space(data, size) && !strstr(note, "raw answer: ")) {
      fprintf(stderr, "fuzz_judge: the failure note lost the raw answer\n");
      abort();
    }
  }
  lua_pop(L, 2);
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
