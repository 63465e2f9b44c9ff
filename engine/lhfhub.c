/* lhfhub.c: evalua.hfhub, the Lua binding of hfhub.c (used by
 * `evalua models pull`, lua/evalua/cli/models.lua).
 *   fetch{ url=, token=, path=, resume=, progress="bar"|"lines"|nil, label= }
 *     -> { status=, resumed_from=, written=, total= }
 *      | nil, err, status, error_body
 *     without path the body is returned as field body
 *   sha256_file(path) -> hex, size | nil, err
 *   git_oid_file(path) -> hex | nil, err   (git blob sha1, the hub's oid) */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lauxlib.h"
#include "lua.h"

#include "hfhub.h"
#include "linit.h"

typedef struct {
  int lines;          /* 1: a line per quarter (not a terminal), 0: a redrawn bar */
  const char *label;
  double last;        /* monotonic seconds of the last redraw */
  double start;
  int quarter;        /* lines mode: quarters printed so far */
  uint64_t start_bytes;
} bar;

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void human(char *out, size_t cap, uint64_t n)
{
  if (n >= 1000000000ULL) snprintf(out, cap, "%.2f GB", (double)n / 1e9);
  else if (n >= 1000000ULL) snprintf(out, cap, "%.1f MB", (double)n / 1e6);
  else if (n >= 1000ULL) snprintf(out, cap, "%.1f kB", (double)n / 1e3);
  else snprintf(out, cap, "%u B", (unsigned)n);
}

static void draw(bar *b, uint64_t have, uint64_t total, int final)
{
  char h[32], t[32], r[32];
  double dt = now_s() - b->start;
  human(h, sizeof h, have);
  human(t, sizeof t, total);
  human(r, sizeof r, dt > 0 ? (uint64_t)((double)(have - b->start_bytes) / dt) : 0);
  int pct = total ? (int)(have * 100 / total) : 0;
  if (b->lines) {
    fprintf(stderr, "  %s: %3d%% %s of %s\n", b->label, pct, h, t);
  } else {
    int w = 30, fill = total ? (int)(have * (uint64_t)w / total) : 0;
    char line[40];
    for (int i = 0; i < w; i++) line[i] = i < fill ? '#' : '.';
    line[w] = 0;
    fprintf(stderr, "\r  %-24.24s [%s] %3d%% %s / %s  %s/s   ", b->label, line, pct, h, t, r);
    if (final) fputc('\n', stderr);
  }
  fflush(stderr);
}

static int on_progress(void *ud, uint64_t have, uint64_t total)
{
  bar *b = ud;
  if (b->start == 0) {
    b->start = now_s();
    b->start_bytes = have;
  }
  if (b->lines) {
    int q = total ? (int)(have * 4 / total) : 0;
    if (q > b->quarter && q < 4) {   /* 25, 50, 75%; 100% once at the end */
      b->quarter = q;
      draw(b, have, total, 0);
    }
    return 0;
  }
  double t = now_s();
  if (t - b->last >= 0.1) {
    b->last = t;
    draw(b, have, total, 0);
  }
  return 0;
}

static const char *opt_string(lua_State *L, const char *key)
{
  lua_getfield(L, 1, key);
  const char *s = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
  lua_pop(L, 1);   /* the table keeps the string alive */
  return s;
}

static int hub_fetch(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  hfhub_request req;
  memset(&req, 0, sizeof req);
  req.url = opt_string(L, "url");
  if (!req.url) return luaL_error(L, "hfhub.fetch: url is required");
  req.token = opt_string(L, "token");
  req.path = opt_string(L, "path");
  lua_getfield(L, 1, "resume");
  req.resume = lua_toboolean(L, -1);
  lua_pop(L, 1);
  const char *prog = opt_string(L, "progress");
  bar b;
  memset(&b, 0, sizeof b);
  b.label = opt_string(L, "label");
  if (!b.label) b.label = req.path ? req.path : req.url;
  if (prog && req.path) {
    if (strcmp(prog, "bar") != 0 && strcmp(prog, "lines") != 0)
      return luaL_error(L, "hfhub.fetch: progress must be \"bar\" or \"lines\"");
    b.lines = strcmp(prog, "lines") == 0;
    req.progress = on_progress;
    req.ud = &b;
  }
  hfhub_result res;
  char err[512];
  int rc = hfhub_fetch(&req, &res, err, sizeof err);
  if (req.progress && rc == 0) draw(&b, res.resumed_from + res.written, res.total ? res.total : res.resumed_from + res.written, 1);
  else if (req.progress && !b.lines && b.start != 0) fputc('\n', stderr);
  if (rc != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    lua_pushinteger(L, res.status);
    if (res.body) lua_pushlstring(L, res.body, res.len);
    else lua_pushnil(L);
    hfhub_result_free(&res);
    return 4;
  }
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, res.status);
  lua_setfield(L, -2, "status");
  lua_pushinteger(L, (lua_Integer)res.resumed_from);
  lua_setfield(L, -2, "resumed_from");
  lua_pushinteger(L, (lua_Integer)res.written);
  lua_setfield(L, -2, "written");
  lua_pushinteger(L, (lua_Integer)res.total);
  lua_setfield(L, -2, "total");
  if (!req.path) {
    lua_pushlstring(L, res.body ? res.body : "", res.len);
    lua_setfield(L, -2, "body");
  }
  hfhub_result_free(&res);
  return 1;
}

static int hub_sha256_file(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  char hex[65], err[512];
  uint64_t size = 0;
  if (hfhub_sha256_file(path, hex, &size, err, sizeof err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushstring(L, hex);
  lua_pushinteger(L, (lua_Integer)size);
  return 2;
}

static int hub_git_oid_file(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  char hex[41], err[512];
  if (hfhub_git_oid_file(path, hex, err, sizeof err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushstring(L, hex);
  return 1;
}

static const luaL_Reg hublib[] = {
  {"fetch", hub_fetch}, {"sha256_file", hub_sha256_file}, {"git_oid_file", hub_git_oid_file},
  {NULL, NULL}
};

int luaopen_evalua_hfhub(lua_State *L)
{
  luaL_newlib(L, hublib);
  return 1;
}
