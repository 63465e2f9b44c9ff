/* lstore.c: evalua.store, the Lua binding of the run store (store.c) and of
 * the comparison statistics (stats.c). The queries live in
 * lua/evalua/tracking.lua; this file checks arguments and converts values.
 *
 *   store.open(path [, busy_ms]) -> db | nil, err
 *   db:exec(sql)                 runs ;-separated statements, no parameters
 *   db:run(sql, ...)             -> changes, last_rowid
 *   db:rows(sql, ...)            -> { {col = value, ...}, ... }  (NULL -> absent)
 *   db:first(sql, ...)           -> the first row or nil
 *   db:begin() / db:commit() / db:rollback() / db:in_transaction()
 *   db:path(), db:schema_version(), db:close()  (also __close and __gc)
 *   store.blob(s)                -> a parameter bound as a BLOB (strings bind as TEXT)
 *   store.random_hex(nbytes)     -> 2*nbytes hex digits from /dev/urandom
 *   store.paired_bootstrap(diffs, B, seed, level) -> mean, lo, hi
 *   store.splitmix64(seed, count) -> list of count outputs (as Lua integers)
 *   store.process_alive(pid)     -> whether a process with that id exists here
 * Parameters: nil -> NULL, boolean -> 0/1, integer, float, string -> TEXT,
 * store.blob(s) -> BLOB. Query failures raise "store: <reason>". */
#include <errno.h>
#include <stdint.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "lauxlib.h"
#include "lua.h"

#include "ltable.h"

#include "linit.h"
#include "stats.h"
#include "store.h"

#define DB_MT "evalua.store.db"
#define BLOB_MT "evalua.store.blob"
#define MAXPARAMS 64

struct ldb {
  struct store *st;
};

static struct ldb *checkdb(lua_State *L)
{
  struct ldb *d = luaL_checkudata(L, 1, DB_MT);
  if (!d->st) luaL_error(L, "store: the database is closed");
  return d;
}

/* store.open(path [, busy_ms]) -> db | nil, err */
static int l_open(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  int busy = (int)luaL_optinteger(L, 2, 10000);
  struct ldb *d = lua_newuserdatauv(L, sizeof *d, 0); /* inert before acquiring */
  d->st = NULL;
  luaL_setmetatable(L, DB_MT);
  char err[512];
  d->st = store_open(path, busy, err, sizeof err);
  if (!d->st) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  return 1;
}

static int l_close(lua_State *L)
{
  struct ldb *d = luaL_checkudata(L, 1, DB_MT);
  store_close(d->st);
  d->st = NULL;
  return 0;
}

/* converts arguments first..top into params; returns their number */
static int getparams(lua_State *L, int first, struct store_value *p)
{
  int top = lua_gettop(L), n = top - first + 1;
  if (n > MAXPARAMS) luaL_error(L, "store: at most %d parameters, got %d", MAXPARAMS, n);
  for (int i = 0; i < n; i++) {
    int idx = first + i;
    struct store_value *v = &p[i];
    memset(v, 0, sizeof *v);
    switch (lua_type(L, idx)) {
    case LUA_TNIL: v->type = STORE_NULL; break;
    case LUA_TBOOLEAN: v->type = STORE_INT; v->i = lua_toboolean(L, idx); break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) { v->type = STORE_INT; v->i = lua_tointeger(L, idx); }
      else { v->type = STORE_REAL; v->d = lua_tonumber(L, idx); }
      break;
    case LUA_TSTRING: v->type = STORE_TEXT; v->s = lua_tolstring(L, idx, &v->n); break;
    default:
      if (luaL_testudata(L, idx, BLOB_MT)) {
        lua_getiuservalue(L, idx, 1);
        v->type = STORE_BLOB;
        v->s = lua_tolstring(L, -1, &v->n);
        lua_replace(L, idx); /* keep the string anchored in the argument slot */
        break;
      }
      luaL_argerror(L, idx, lua_pushfstring(L, "cannot bind a %s", luaL_typename(L, idx)));
    }
  }
  return n;
}

static void pushvalue(lua_State *L, const struct store_value *v)
{
  switch (v->type) {
  case STORE_INT: lua_pushinteger(L, v->i); break;
  case STORE_REAL: lua_pushnumber(L, v->d); break;
  case STORE_TEXT:
  case STORE_BLOB: lua_pushlstring(L, v->s, v->n); break;
  default: lua_pushnil(L); break;
  }
}

struct collect {
  lua_State *L;
  int list;      /* stack index of the result list */
  lua_Integer n;
  int first;     /* stop after one row */
};

/* row callback: appends {name = value} to the list (NULLs left out) */
static int collect_row(void *ud, int ncol, const char *const *names,
                       const struct store_value *vals)
{
  struct collect *c = ud;
  lua_State *L = c->L;
  lua_createtable(L, 0, ncol);
  for (int i = 0; i < ncol; i++) {
    if (vals[i].type == STORE_NULL) continue;
    pushvalue(L, &vals[i]);
    lua_setfield(L, -2, names[i]);
  }
  lua_rawseti(L, c->list, ++c->n);
  return c->first;
}

static int query(lua_State *L, int first)
{
  struct ldb *d = checkdb(L);
  const char *sql = luaL_checkstring(L, 2);
  struct store_value p[MAXPARAMS];
  int n = getparams(L, 3, p);
  lua_newtable(L);
  struct collect c = {L, lua_gettop(L), 0, first};
  char err[512];
  luaL_checkstack(L, 8, "store");
  if (store_query(d->st, sql, p, n, collect_row, &c, err, sizeof err) < 0)
    return luaL_error(L, "%s", err);
  if (first) {
    lua_rawgeti(L, -1, 1);
    return 1;
  }
  return 1;
}

static int l_rows(lua_State *L) { return query(L, 0); }
static int l_first(lua_State *L) { return query(L, 1); }

static int l_run(lua_State *L)
{
  struct ldb *d = checkdb(L);
  const char *sql = luaL_checkstring(L, 2);
  struct store_value p[MAXPARAMS];
  int n = getparams(L, 3, p);
  char err[512];
  if (store_query(d->st, sql, p, n, NULL, NULL, err, sizeof err) < 0)
    return luaL_error(L, "%s", err);
  lua_pushinteger(L, store_changes(d->st));
  lua_pushinteger(L, store_last_rowid(d->st));
  return 2;
}

static int l_exec(lua_State *L)
{
  struct ldb *d = checkdb(L);
  char err[512];
  if (store_exec(d->st, luaL_checkstring(L, 2), err, sizeof err) != 0)
    return luaL_error(L, "%s", err);
  return 0;
}

static int l_begin(lua_State *L)
{
  char err[512];
  if (store_begin(checkdb(L)->st, err, sizeof err) != 0) return luaL_error(L, "%s", err);
  return 0;
}

static int l_commit(lua_State *L)
{
  char err[512];
  if (store_commit(checkdb(L)->st, err, sizeof err) != 0) return luaL_error(L, "%s", err);
  return 0;
}

static int l_rollback(lua_State *L)
{
  char err[512];
  struct ldb *d = checkdb(L);
  if (!store_in_transaction(d->st)) return 0;
  if (store_rollback(d->st, err, sizeof err) != 0) return luaL_error(L, "%s", err);
  return 0;
}

static int l_in_transaction(lua_State *L)
{
  lua_pushboolean(L, store_in_transaction(checkdb(L)->st));
  return 1;
}

static int l_path(lua_State *L)
{
  lua_pushstring(L, store_path(checkdb(L)->st));
  return 1;
}

static int l_schema_version(lua_State *L)
{
  lua_pushinteger(L, store_schema_version(checkdb(L)->st));
  return 1;
}

static int l_tostring(lua_State *L)
{
  struct ldb *d = luaL_checkudata(L, 1, DB_MT);
  if (d->st) lua_pushfstring(L, "store (%s)", store_path(d->st));
  else lua_pushliteral(L, "store (closed)");
  return 1;
}

/* store.blob(s) -> a value bound as a BLOB */
static int l_blob(lua_State *L)
{
  luaL_checkstring(L, 1);
  lua_newuserdatauv(L, 0, 1);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, BLOB_MT);
  return 1;
}

static int l_random_hex(lua_State *L)
{
  lua_Integer n = luaL_optinteger(L, 1, 16);
  luaL_argcheck(L, n >= 1 && n <= 64, 1, "between 1 and 64 bytes");
  char buf[129];
  if (store_random_hex(buf, (size_t)n) != 0) return luaL_error(L, "store.random_hex: cannot read /dev/urandom");
  lua_pushstring(L, buf);
  return 1;
}

/* store.paired_bootstrap(diffs, B, seed, level) -> mean, lo, hi; diffs is a
 * list of numbers (length from field n, else #) without holes */
static int l_paired_bootstrap(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer B = luaL_optinteger(L, 2, 2000);
  lua_Integer seed = luaL_optinteger(L, 3, 42);
  double level = luaL_optnumber(L, 4, 0.95);
  luaL_argcheck(L, B >= 1 && B <= 10000000, 2, "B must be between 1 and 10000000");
  luaL_argcheck(L, level > 0 && level < 1, 4, "level must be between 0 and 1");
  lua_Integer n = ltable_list_len(L, 1, "paired_bootstrap");
  if (n <= 0) luaL_argerror(L, 1, "no paired values");
  luaL_argcheck(L, (lua_Unsigned)n <= (lua_Unsigned)PTRDIFF_MAX / sizeof(double), 1,
                "too many paired values");
  double *x = lua_newuserdatauv(L, (size_t)n * sizeof *x, 0); /* freed by the GC */
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    int isnum;
    x[i - 1] = lua_tonumberx(L, -1, &isnum);
    if (!isnum) return luaL_error(L, "paired_bootstrap: value %d is not a number", (int)i);
    lua_pop(L, 1);
  }
  struct stats_interval r;
  if (stats_paired_bootstrap(x, (size_t)n, (int)B, (uint64_t)seed, level, &r) != 0)
    return luaL_error(L, "paired_bootstrap: out of memory");
  lua_pushnumber(L, r.mean);
  lua_pushnumber(L, r.lo);
  lua_pushnumber(L, r.hi);
  return 3;
}

static int l_splitmix64(lua_State *L)
{
  uint64_t state = (uint64_t)luaL_checkinteger(L, 1);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  luaL_argcheck(L, n >= 0 && n <= 1000000, 2, "count out of range");
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_pushinteger(L, (lua_Integer)stats_splitmix64(&state));
    lua_rawseti(L, -2, i);
  }
  return 1;
}

/* store.process_alive(pid): kill(pid, 0) succeeds or is refused (EPERM),
 * and /proc does not show a zombie (a killed process nobody reaped) */
static int l_process_alive(lua_State *L)
{
  lua_Integer pid = luaL_checkinteger(L, 1);
  int alive = pid > 0 && pid <= INT_MAX && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
  if (alive) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "r");
    if (f) {
      size_t n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
      buf[n] = '\0';
      const char *close = strrchr(buf, ')'); /* "pid (comm) S ..." */
      if (close && close[1] == ' ' && close[2] == 'Z') alive = 0;
    }
  }
  lua_pushboolean(L, alive);
  return 1;
}

static const luaL_Reg db_methods[] = {
  {"exec", l_exec}, {"run", l_run}, {"rows", l_rows}, {"first", l_first},
  {"begin", l_begin}, {"commit", l_commit}, {"rollback", l_rollback},
  {"in_transaction", l_in_transaction}, {"path", l_path},
  {"schema_version", l_schema_version}, {"close", l_close}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
  {"open", l_open}, {"blob", l_blob}, {"random_hex", l_random_hex},
  {"paired_bootstrap", l_paired_bootstrap}, {"splitmix64", l_splitmix64},
  {"process_alive", l_process_alive}, {NULL, NULL}};

int luaopen_evalua_store(lua_State *L)
{
  luaL_newmetatable(L, DB_MT);
  luaL_newlib(L, db_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, l_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, l_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  luaL_newmetatable(L, BLOB_MT);
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_pushinteger(L, STORE_SCHEMA_VERSION);
  lua_setfield(L, -2, "schema_version");
  return 1;
}
