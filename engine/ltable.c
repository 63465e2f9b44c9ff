/* ltable.c: evalua.table, the Lua face of engine/table.c. A table is a
 * userdata handle ("evalua.table"); cells are copied into Lua values only
 * when asked for (a row, a column, a cell). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#include "json.h"
#include "ljson.h"
#include "linit.h"
#include "ltable.h"
#include "table.h"

#define MT "evalua.table"

typedef struct {
  tbl *t;
} handle;

/* ---- handles ---- */

static handle *newhandle(lua_State *L)
{
  handle *h = lua_newuserdatauv(L, sizeof *h, 0);
  h->t = NULL; /* inert until the table exists */
  luaL_setmetatable(L, MT);
  return h;
}

void ltable_push(lua_State *L, tbl *t)
{
  handle *h = lua_newuserdatauv(L, sizeof *h, 0); /* see ltable.h on a memory error here */
  h->t = t;
  luaL_setmetatable(L, MT);
}

tbl *ltable_check(lua_State *L, int idx)
{
  handle *h = luaL_checkudata(L, idx, MT);
  if (!h->t) luaL_error(L, "attempt to use a closed table");
  return h->t;
}

static int t_gc(lua_State *L)
{
  handle *h = luaL_checkudata(L, 1, MT);
  tbl_free(h->t);
  h->t = NULL;
  return 0;
}

static int raise(lua_State *L, const char *msg)
{
  lua_pushstring(L, msg);
  return lua_error(L);
}

/* ---- Lua values <-> cells ---- */

static void push_json(lua_State *L, const char *s, size_t n)
{
  if (!json_utf8_valid(s, n, NULL)) { /* cannot happen for text the table made */
    lua_pushlstring(L, s, n);
    return;
  }
  ljson_push_text(L, s, n, 0, "table");
}

static void push_cell(lua_State *L, const tbl *t, size_t r, size_t c)
{
  size_t len;
  const char *s;
  switch (tbl_get_type(t, r, c)) {
  case TBL_NIL: lua_pushnil(L); break;
  case TBL_STR:
    s = tbl_get_str(t, r, c, &len);
    lua_pushlstring(L, s, len);
    break;
  case TBL_JSON:
    s = tbl_get_str(t, r, c, &len);
    push_json(L, s, len);
    break;
  case TBL_INT: lua_pushinteger(L, (lua_Integer)tbl_get_int(t, r, c)); break;
  case TBL_FLOAT: lua_pushnumber(L, tbl_get_float(t, r, c)); break;
  case TBL_BOOL: lua_pushboolean(L, tbl_get_bool(t, r, c)); break;
  }
}

lua_Integer ltable_list_len(lua_State *L, int idx, const char *api)
{
  lua_Integer n;
  idx = lua_absindex(L, idx);
  luaL_checktype(L, idx, LUA_TTABLE);
  if (lua_getfield(L, idx, "n") == LUA_TNUMBER) {
    int ok;
    n = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "%s: column list length n = %s is not a count", api, lua_tostring(L, -1));
    if (n < 0) luaL_error(L, "%s: column list length n = %I is negative", api, n);
  } else {
    n = (lua_Integer)lua_rawlen(L, idx);
  }
  lua_pop(L, 1);
  return n;
}

static lua_Integer list_len(lua_State *L, int idx)
{
  return ltable_list_len(L, idx, "table");
}

/* raises unless the value at idx can be stored in a cell (nested tables are
 * checked when converted); lets a method refuse before changing anything */
static void check_storable(lua_State *L, int idx, const char *api, const char *col, lua_Integer row)
{
  int ty = lua_type(L, idx);
  if (ty == LUA_TFUNCTION || ty == LUA_TTHREAD || ty == LUA_TUSERDATA ||
      (ty == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) != NULL))
    luaL_error(L, "%s: column \"%s\" row %I: cannot store a %s", api, col, row, luaL_typename(L, idx));
}

/* stores the Lua value at idx into cell (r, c); api/what name it in errors */
static void set_cell(lua_State *L, tbl *t, size_t r, size_t c, int idx, const char *api)
{
  int rc = 0;
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TNIL: rc = tbl_set_nil(t, r, c); break;
  case LUA_TBOOLEAN: rc = tbl_set_bool(t, r, c, lua_toboolean(L, idx)); break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) rc = tbl_set_int(t, r, c, (int64_t)lua_tointeger(L, idx));
    else rc = tbl_set_float(t, r, c, (double)lua_tonumber(L, idx));
    break;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    rc = tbl_set_str(t, r, c, s, n);
    break;
  }
  case LUA_TTABLE: {
    json_buf *b = ljson_newbuf(L);
    ljson_opts o = ljson_cell;
    o.api = api;
    ljson_write(L, idx, b, &o);
    if (b->oom) rc = -1;
    else rc = tbl_set_json(t, r, c, b->p, b->len);
    json_buf_free(b);
    lua_pop(L, 1);
    break;
  }
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) { rc = tbl_set_nil(t, r, c); break; }
    /* fall through */
  default: {
    const char *name = tbl_colname(t, c, NULL);
    luaL_error(L, "%s: column \"%s\" row %d: cannot store a %s", api, name ? name : "?",
               (int)r + 1, luaL_typename(L, idx));
  }
  }
  if (rc < 0) luaL_error(L, "%s: out of memory", api);
}

/* "a, b, c" of t's column names, pushed as a string */
static const char *push_colnames(lua_State *L, const tbl *t)
{
  luaL_Buffer B;
  luaL_buffinit(L, &B);
  for (size_t i = 0; i < tbl_ncols(t); i++) {
    size_t n;
    const char *s = tbl_colname(t, i, &n);
    if (i) luaL_addstring(&B, ", ");
    luaL_addlstring(&B, s, n);
  }
  luaL_pushresult(&B);
  return lua_tostring(L, -1);
}

/* the index of the column named by argument arg; raises naming the columns */
static size_t check_col(lua_State *L, const tbl *t, int arg, const char *api)
{
  size_t n;
  const char *name = luaL_checklstring(L, arg, &n);
  long c = tbl_colindex(t, name, n);
  if (c < 0) {
    lua_pushvalue(L, arg);
    const char *cols = push_colnames(L, t);
    return (size_t)luaL_error(L, "%s: no column \"%s\" (columns: %s)", api, lua_tostring(L, -2),
                              *cols ? cols : "none");
  }
  return (size_t)c;
}

static size_t check_row(lua_State *L, const tbl *t, int arg, const char *api)
{
  lua_Integer i = luaL_checkinteger(L, arg);
  if (i < 1 || (lua_Unsigned)i > (lua_Unsigned)tbl_nrows(t))
    return (size_t)luaL_error(L, "%s: row %I out of range (the table has %I rows)", api, i,
                              (lua_Integer)tbl_nrows(t));
  return (size_t)(i - 1);
}

/* ---- readers ---- */

static void csv_opts(lua_State *L, int idx, tbl_csv_opts *o)
{
  memset(o, 0, sizeof *o);
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  if (lua_getfield(L, idx, "infer") != LUA_TNIL) o->noinfer = !lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "sep") != LUA_TNIL) {
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (!s || n != 1) luaL_error(L, "read_csv: opts.sep must be a one-character string");
    o->sep = s[0];
  }
  lua_pop(L, 1);
}

static int finish_read(lua_State *L, handle *h, tbl *t, tbl_err *e)
{
  if (!t) return raise(L, e->msg);
  h->t = t;
  return 1;
}

static int l_read_csv(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  tbl_csv_opts o;
  csv_opts(L, 2, &o);
  handle *h = newhandle(L);
  tbl_err e;
  return finish_read(L, h, tbl_read_csv(path, &o, &e), &e);
}

static int l_read_csv_string(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *name = luaL_optstring(L, 2, "<string>");
  tbl_csv_opts o;
  csv_opts(L, 3, &o);
  handle *h = newhandle(L);
  tbl_err e;
  return finish_read(L, h, tbl_read_csv_mem(s, n, name, &o, &e), &e);
}

static int l_read_jsonl(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  handle *h = newhandle(L);
  tbl_err e;
  return finish_read(L, h, tbl_read_jsonl(path, &e), &e);
}

static int l_read_jsonl_string(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *name = luaL_optstring(L, 2, "<string>");
  handle *h = newhandle(L);
  tbl_err e;
  return finish_read(L, h, tbl_read_jsonl_mem(s, n, name, &e), &e);
}

static int l_read_json(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  handle *h = newhandle(L);
  tbl_err e;
  return finish_read(L, h, tbl_read_json(path, &e), &e);
}

static int l_read_json_string(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *name = luaL_optstring(L, 2, "<string>");
  handle *h = newhandle(L);
  tbl_err e;
  return finish_read(L, h, tbl_read_json_mem(s, n, name, &e), &e);
}

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  if (n < k) return 0;
  for (size_t i = 0; i < k; i++) {
    char c = s[n - k + i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != suffix[i]) return 0;
  }
  return 1;
}

/* read(path, opts): by extension */
static int l_read(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  tbl_err e;
  if (ends_with(path, ".csv") || ends_with(path, ".tsv")) {
    tbl_csv_opts o;
    csv_opts(L, 2, &o);
    if (!o.sep && ends_with(path, ".tsv")) o.sep = '\t';
    handle *h = newhandle(L);
    return finish_read(L, h, tbl_read_csv(path, &o, &e), &e);
  }
  if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson")) {
    handle *h = newhandle(L);
    return finish_read(L, h, tbl_read_jsonl(path, &e), &e);
  }
  if (ends_with(path, ".json")) {
    handle *h = newhandle(L);
    return finish_read(L, h, tbl_read_json(path, &e), &e);
  }
  return luaL_error(L, "read: %s: unknown file type (expected .csv, .tsv, .jsonl, .ndjson or .json)", path);
}

/* ---- construction ---- */

/* fills column c of t from the column list at idx (length n) */
static void fill_column(lua_State *L, tbl *t, size_t c, int idx, lua_Integer n, const char *api)
{
  idx = lua_absindex(L, idx);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    set_cell(L, t, (size_t)(i - 1), c, -1, api);
    lua_pop(L, 1);
  }
}

static void add_named(lua_State *L, tbl *t, const char *name, size_t len, const char *api)
{
  tbl_err e;
  if (tbl_add_col(t, name, len, &e) < 0) luaL_error(L, "%s: %s", api, e.msg);
}

/* from(cols, opts): cols maps name -> list, or is a list of {name, list} */
static int l_from(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  int hasopts = !lua_isnoneornil(L, 2);
  if (hasopts) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  handle *h = newhandle(L); /* 3 */
  h->t = tbl_new();
  if (!h->t) return luaL_error(L, "from: out of memory");
  tbl *t = h->t;
  /* build the ordered list of {name, list} at index 4 */
  lua_newtable(L); /* 4 */
  lua_Integer ncols = 0;
  if (lua_rawlen(L, 1) > 0) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
      if (lua_rawgeti(L, 1, i) != LUA_TTABLE || lua_rawgeti(L, -1, 1) != LUA_TSTRING ||
          lua_rawgeti(L, -2, 2) != LUA_TTABLE)
        return luaL_error(L, "from: item %I of the column list must be {name, list}", i);
      lua_pop(L, 2);
      lua_rawseti(L, 4, ++ncols);
    }
  } else if (hasopts && lua_getfield(L, 2, "columns") != LUA_TNIL) {
    luaL_checktype(L, -1, LUA_TTABLE);
    int order = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, order);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, order, i);
      if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "from: opts.columns[%I] is not a string", i);
      lua_pushvalue(L, -1);
      if (lua_rawget(L, 1) != LUA_TTABLE)
        return luaL_error(L, "from: no column \"%s\" (named in opts.columns)", lua_tostring(L, -2));
      lua_createtable(L, 2, 0);
      lua_insert(L, -3);          /* [pair, name, list] */
      lua_rawseti(L, -3, 2);
      lua_rawseti(L, -2, 1);
      lua_rawseti(L, 4, ++ncols);
    }
    /* every key of cols must be named */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      lua_pop(L, 1);
      int found = 0;
      for (lua_Integer i = 1; i <= ncols && !found; i++) {
        lua_rawgeti(L, 4, i);
        lua_rawgeti(L, -1, 1);
        found = lua_rawequal(L, -1, -3);
        lua_pop(L, 2);
      }
      if (!found)
        return luaL_error(L, "from: column \"%s\" is not in opts.columns", luaL_tolstring(L, -1, NULL));
    }
    lua_pop(L, 1);
  } else {
    /* hash order is random: sort by name */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      if (lua_type(L, -2) != LUA_TSTRING) return luaL_error(L, "from: column names must be strings");
      if (lua_type(L, -1) != LUA_TTABLE)
        return luaL_error(L, "from: column \"%s\" must be a list, got %s", lua_tostring(L, -2),
                          luaL_typename(L, -1));
      lua_createtable(L, 2, 0);
      lua_insert(L, -2);
      lua_rawseti(L, -2, 2);
      lua_pushvalue(L, -2);
      lua_rawseti(L, -2, 1);
      lua_rawseti(L, 4, ++ncols);
    }
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, 4);
    luaL_loadstring(L, "local a, b = ... return a[1] < b[1]");
    lua_call(L, 2, 0);
    lua_pop(L, 1);
  }
  /* lengths must agree */
  lua_Integer nrows = -1;
  const char *first = NULL;
  for (lua_Integer i = 1; i <= ncols; i++) {
    lua_rawgeti(L, 4, i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (lua_type(L, -1) != LUA_TTABLE)
      return luaL_error(L, "from: column \"%s\" must be a list, got %s", lua_tostring(L, -2),
                        luaL_typename(L, -1));
    lua_Integer n = list_len(L, -1);
    if (nrows < 0) { nrows = n; first = lua_tostring(L, -2); }
    else if (n != nrows)
      return luaL_error(L, "from: column \"%s\" has %I values, column \"%s\" has %I", lua_tostring(L, -2),
                        n, first, nrows);
    lua_pop(L, 3);
  }
  if (nrows < 0) nrows = 0;
  for (lua_Integer i = 1; i <= ncols; i++) {
    lua_rawgeti(L, 4, i);
    lua_rawgeti(L, -1, 1);
    size_t len;
    const char *name = lua_tolstring(L, -1, &len);
    add_named(L, t, name, len, "from");
    lua_pop(L, 2);
  }
  if (tbl_resize(t, (size_t)nrows) < 0) return luaL_error(L, "from: out of memory");
  for (lua_Integer i = 1; i <= ncols; i++) {
    lua_rawgeti(L, 4, i);
    lua_rawgeti(L, -1, 2);
    fill_column(L, t, (size_t)(i - 1), -1, nrows, "from");
    lua_pop(L, 2);
  }
  lua_settop(L, 3);
  return 1;
}

/* from_rows(rows, opts): rows is a list of {name = value} */
static int l_from_rows(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  int hasopts = !lua_isnoneornil(L, 2);
  if (hasopts) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  handle *h = newhandle(L); /* 3 */
  h->t = tbl_new();
  if (!h->t) return luaL_error(L, "from_rows: out of memory");
  tbl *t = h->t;
  lua_Integer n = list_len(L, 1);
  int fixed = 0;
  if (hasopts && lua_getfield(L, 2, "columns") != LUA_TNIL) {
    luaL_checktype(L, -1, LUA_TTABLE);
    lua_Integer k = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= k; i++) {
      if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
        return luaL_error(L, "from_rows: opts.columns[%I] is not a string", i);
      size_t len;
      const char *name = lua_tolstring(L, -1, &len);
      add_named(L, t, name, len, "from_rows");
      lua_pop(L, 1);
    }
    fixed = 1;
  } else {
    /* every key seen, sorted */
    lua_newtable(L); /* set */
    lua_newtable(L); /* list */
    lua_Integer k = 0;
    for (lua_Integer i = 1; i <= n; i++) {
      if (lua_rawgeti(L, 1, i) == LUA_TNIL) { lua_pop(L, 1); continue; }
      if (!lua_istable(L, -1)) return luaL_error(L, "from_rows: row %I is not a table", i);
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
          return luaL_error(L, "from_rows: row %I has a key that is not a string", i);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, -5) == LUA_TNIL) {
          lua_pushvalue(L, -2);
          lua_pushboolean(L, 1);
          lua_rawset(L, -7);
          lua_pushvalue(L, -2);
          lua_rawseti(L, -5, ++k);
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, -3);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    for (lua_Integer i = 1; i <= k; i++) {
      lua_rawgeti(L, -1, i);
      size_t len;
      const char *name = lua_tolstring(L, -1, &len);
      add_named(L, t, name, len, "from_rows");
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 3);
  if (tbl_resize(t, (size_t)n) < 0) return luaL_error(L, "from_rows: out of memory");
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, 1, i) == LUA_TNIL) { lua_pop(L, 1); continue; }
    if (!lua_istable(L, -1)) return luaL_error(L, "from_rows: row %I is not a table", i);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      size_t len;
      const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &len) : NULL;
      if (!name) return luaL_error(L, "from_rows: row %I has a key that is not a string", i);
      long c = tbl_colindex(t, name, len);
      if (c < 0 && fixed)
        return luaL_error(L, "from_rows: row %I has column \"%s\", which is not in opts.columns", i, name);
      set_cell(L, t, (size_t)(i - 1), (size_t)c, -1, "from_rows");
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  return 1;
}

/* new(columns, nrows): all cells nil */
static int l_new(lua_State *L)
{
  int has = !lua_isnoneornil(L, 1);
  if (has) luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer nrows = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, nrows >= 0, 2, "negative row count");
  lua_settop(L, 2);
  handle *h = newhandle(L);
  h->t = tbl_new();
  if (!h->t) return luaL_error(L, "new: out of memory");
  if (has) {
    lua_Integer k = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= k; i++) {
      if (lua_rawgeti(L, 1, i) != LUA_TSTRING) return luaL_error(L, "new: columns[%I] is not a string", i);
      size_t len;
      const char *name = lua_tolstring(L, -1, &len);
      add_named(L, h->t, name, len, "new");
      lua_pop(L, 1);
    }
  }
  if (tbl_resize(h->t, (size_t)nrows) < 0) return luaL_error(L, "new: out of memory");
  return 1;
}

static int l_is(lua_State *L)
{
  lua_pushboolean(L, luaL_testudata(L, 1, MT) != NULL);
  return 1;
}

/* ---- methods ---- */

static int m_len(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)tbl_nrows(ltable_check(L, 1)));
  return 1;
}

static int m_ncols(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)tbl_ncols(ltable_check(L, 1)));
  return 1;
}

static int m_columns(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  lua_createtable(L, (int)tbl_ncols(t), 0);
  for (size_t i = 0; i < tbl_ncols(t); i++) {
    size_t n;
    const char *s = tbl_colname(t, i, &n);
    lua_pushlstring(L, s, n);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int m_column(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  size_t c = check_col(L, t, 2, "column");
  size_t n = tbl_nrows(t);
  lua_createtable(L, n < 1u << 30 ? (int)n : 0, 1);
  for (size_t r = 0; r < n; r++) {
    push_cell(L, t, r, c);
    lua_rawseti(L, -2, (lua_Integer)r + 1);
  }
  lua_pushinteger(L, (lua_Integer)n);
  lua_setfield(L, -2, "n");
  return 1;
}

static void push_row(lua_State *L, const tbl *t, size_t r)
{
  size_t nc = tbl_ncols(t);
  lua_createtable(L, 0, (int)nc);
  for (size_t c = 0; c < nc; c++) {
    if (tbl_get_type(t, r, c) == TBL_NIL) continue;
    size_t n;
    const char *s = tbl_colname(t, c, &n);
    lua_pushlstring(L, s, n);
    push_cell(L, t, r, c);
    lua_rawset(L, -3);
  }
}

static int m_row(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  push_row(L, t, check_row(L, t, 2, "row"));
  return 1;
}

static int m_get(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  size_t r = check_row(L, t, 2, "get");
  size_t c = check_col(L, t, 3, "get");
  push_cell(L, t, r, c);
  return 1;
}

static int m_set(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  size_t r = check_row(L, t, 2, "set");
  size_t n;
  const char *name = luaL_checklstring(L, 3, &n);
  luaL_checkany(L, 4);
  check_storable(L, 4, "set", name, (lua_Integer)r + 1);
  long c = tbl_colindex(t, name, n);
  if (c < 0) {
    tbl_err e;
    c = tbl_add_col(t, name, n, &e);
    if (c < 0) return luaL_error(L, "set: %s", e.msg);
  }
  set_cell(L, t, r, (size_t)c, 4, "set");
  lua_settop(L, 1);
  return 1;
}

static int rows_iter(lua_State *L)
{
  tbl *t = ltable_check(L, lua_upvalueindex(1));
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(2)) + 1;
  if ((lua_Unsigned)i > (lua_Unsigned)tbl_nrows(t)) return 0;
  lua_pushinteger(L, i);
  lua_copy(L, -1, lua_upvalueindex(2));
  push_row(L, t, (size_t)(i - 1));
  return 2;
}

/* for i, row in t:rows() do ... end */
static int m_rows(lua_State *L)
{
  ltable_check(L, 1);
  lua_settop(L, 1);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, rows_iter, 2);
  return 1;
}

static int m_add_column(lua_State *L)
{
  ltable_check(L, 1);
  size_t n;
  const char *name = luaL_checklstring(L, 2, &n);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_Integer len = list_len(L, 3);
  tbl *t = ltable_check(L, 1); /* again: list_len may run Lua that closes the table */
  int shape = tbl_ncols(t) == 0 && tbl_nrows(t) == 0; /* the first column sets the row count */
  if (!shape && (lua_Unsigned)len != (lua_Unsigned)tbl_nrows(t))
    return luaL_error(L, "add_column: column \"%s\" has %I values, the table has %I rows", name, len,
                      (lua_Integer)tbl_nrows(t));
  /* fill a scratch table first (freed by its handle if a value is bad), so
   * an error leaves t as it was */
  handle *tmp = newhandle(L);
  tmp->t = tbl_new();
  if (!tmp->t || tbl_add_col(tmp->t, name, n, NULL) < 0 || tbl_resize(tmp->t, (size_t)len) < 0)
    return luaL_error(L, "add_column: out of memory");
  fill_column(L, tmp->t, 0, 3, len, "add_column");
  if (shape && tbl_resize(t, (size_t)len) < 0) return luaL_error(L, "add_column: out of memory");
  long c = tbl_colindex(t, name, n);
  if (c < 0) {
    tbl_err e;
    c = tbl_add_col(t, name, n, &e);
    if (c < 0) return luaL_error(L, "add_column: %s", e.msg);
  }
  for (size_t r = 0; r < (size_t)len; r++)
    if (tbl_copy_cell(t, r, (size_t)c, tmp->t, r, 0) < 0) return luaL_error(L, "add_column: out of memory");
  tbl_compact(t, (size_t)c);
  lua_settop(L, 1);
  return 1;
}

static int m_drop_column(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  tbl_drop_col(t, check_col(L, t, 2, "drop_column"));
  lua_settop(L, 1);
  return 1;
}

static int m_rename(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  size_t c = check_col(L, t, 2, "rename");
  size_t n;
  const char *name = luaL_checklstring(L, 3, &n);
  tbl_err e;
  if (tbl_rename(t, c, name, n, &e) < 0) return luaL_error(L, "rename: %s", e.msg);
  lua_settop(L, 1);
  return 1;
}

static int m_column_type(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  lua_pushstring(L, tbl_col_typename(t, check_col(L, t, 2, "column_type")));
  return 1;
}

static int m_select(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer k = (lua_Integer)lua_rawlen(L, 2);
  size_t *idx = lua_newuserdatauv(L, (size_t)(k ? k : 1) * sizeof *idx, 0);
  for (lua_Integer i = 1; i <= k; i++) {
    lua_rawgeti(L, 2, i);
    idx[i - 1] = check_col(L, t, lua_gettop(L), "select");
    for (lua_Integer j = 1; j < i; j++)
      if (idx[j - 1] == idx[i - 1])
        return luaL_error(L, "select: column \"%s\" named twice", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  handle *h = newhandle(L);
  h->t = tbl_select(t, idx, (size_t)k);
  if (!h->t) return luaL_error(L, "select: out of memory");
  return 1;
}

static int m_head(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  lua_Integer n = luaL_optinteger(L, 2, 5);
  if (n < 0) n = 0;
  handle *h = newhandle(L);
  h->t = tbl_slice(t, 0, (size_t)n);
  if (!h->t) return luaL_error(L, "head: out of memory");
  return 1;
}

static int m_tail(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  lua_Integer n = luaL_optinteger(L, 2, 5);
  if (n < 0) n = 0;
  size_t nr = tbl_nrows(t), k = (size_t)n > nr ? nr : (size_t)n;
  handle *h = newhandle(L);
  h->t = tbl_slice(t, nr - k, k);
  if (!h->t) return luaL_error(L, "tail: out of memory");
  return 1;
}

static int m_copy(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  handle *h = newhandle(L);
  h->t = tbl_copy(t);
  if (!h->t) return luaL_error(L, "copy: out of memory");
  return 1;
}

/* t:append(row): adds one row; names not yet in the table add columns */
static int m_append(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t r = tbl_nrows(t);
  /* add the columns first: failures then leave no half row */
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "append: row keys must be column names");
    lua_pushvalue(L, -1);
    lua_rawget(L, 2);
    check_storable(L, -1, "append", lua_tostring(L, -2), (lua_Integer)r + 1);
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    lua_pop(L, 1);
    size_t n;
    const char *name = lua_tolstring(L, -1, &n);
    if (tbl_colindex(t, name, n) < 0) add_named(L, t, name, n, "append");
  }
  if (tbl_resize(t, r + 1) < 0) return luaL_error(L, "append: out of memory");
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    size_t n;
    const char *name = lua_tolstring(L, -2, &n);
    set_cell(L, t, r, (size_t)tbl_colindex(t, name, n), -1, "append");
    lua_pop(L, 1);
  }
  lua_settop(L, 1);
  return 1;
}

/* map: fn(row) per row through evalua.sched.map, so rows run as tasks */
static int map_item_k(lua_State *L, int status, lua_KContext ctx)
{
  (void)L, (void)status, (void)ctx;
  return 1;
}

static int map_item(lua_State *L)
{
  lua_Integer i = luaL_checkinteger(L, 1);
  tbl *t = ltable_check(L, lua_upvalueindex(1));
  if (i < 1 || (lua_Unsigned)i > (lua_Unsigned)tbl_nrows(t))
    return luaL_error(L, "map: row %I out of range", i);
  lua_pushvalue(L, lua_upvalueindex(2));
  push_row(L, t, (size_t)(i - 1));
  lua_callk(L, 1, 1, 0, map_item_k);
  return 1;
}

static int map_k(lua_State *L, int status, lua_KContext n)
{
  (void)status;
  /* [..., results, errors] */
  if (!lua_istable(L, -2)) {
    lua_pop(L, 2);
    lua_newtable(L);
    lua_newtable(L);
  }
  lua_pushinteger(L, (lua_Integer)n);
  lua_setfield(L, -3, "n");
  return 2;
}

static int m_map(lua_State *L)
{
  tbl *t = ltable_check(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 3);
  lua_getglobal(L, "require");
  lua_pushstring(L, "evalua.sched");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "map"); /* [t, fn, opts, sched, map] */
  lua_pushinteger(L, (lua_Integer)tbl_nrows(t));
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, map_item, 2);
  lua_pushvalue(L, 3);
  lua_callk(L, 3, 2, (lua_KContext)tbl_nrows(t), map_k);
  return map_k(L, LUA_OK, (lua_KContext)tbl_nrows(t));
}

/* ---- writers ---- */

static int json_flags(lua_State *L, int idx, tbl_format *f, int allow_orient, const char *api)
{
  int flags = JSON_ASCII | JSON_PANDAS;
  if (lua_isnoneornil(L, idx)) return flags;
  luaL_checktype(L, idx, LUA_TTABLE);
  if (lua_getfield(L, idx, "ascii") != LUA_TNIL && !lua_toboolean(L, -1)) flags &= ~JSON_ASCII;
  lua_pop(L, 1);
  if (allow_orient && lua_getfield(L, idx, "orient") != LUA_TNIL) {
    const char *o = lua_tostring(L, -1);
    if (o && strcmp(o, "split") == 0) *f = TBL_FMT_JSON_SPLIT;
    else if (o && strcmp(o, "records") == 0) *f = TBL_FMT_JSON_RECORDS;
    else return luaL_error(L, "%s: unknown orient \"%s\" (expected \"split\" or \"records\")", api,
                           o ? o : luaL_typename(L, -1));
  }
  if (allow_orient) lua_pop(L, 1);
  return flags;
}

static int write_to(lua_State *L, tbl_format f, int flags, const char *api)
{
  tbl *t = ltable_check(L, 1);
  const char *path = luaL_checkstring(L, 2);
  tbl_err e;
  if (tbl_write_path(t, path, f, flags, api, &e) < 0) return raise(L, e.msg);
  lua_settop(L, 1);
  return 1;
}

static int m_write_csv(lua_State *L)
{
  return write_to(L, TBL_FMT_CSV, 0, "write_csv");
}

static int m_write_jsonl(lua_State *L)
{
  tbl_format f = TBL_FMT_JSONL;
  int flags = json_flags(L, 3, &f, 0, "write_jsonl");
  return write_to(L, f, flags, "write_jsonl");
}

static int m_write_json(lua_State *L)
{
  tbl_format f = TBL_FMT_JSON_SPLIT;
  int flags = json_flags(L, 3, &f, 1, "write_json");
  return write_to(L, f, flags, "write_json");
}

/* t:write(path, opts): by extension, as read(path) */
static int m_write(lua_State *L)
{
  const char *path = luaL_checkstring(L, 2);
  if (ends_with(path, ".csv")) return write_to(L, TBL_FMT_CSV, 0, "write");
  tbl_format f = TBL_FMT_JSONL;
  if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson"))
    return write_to(L, f, json_flags(L, 3, &f, 0, "write"), "write");
  if (ends_with(path, ".json")) {
    f = TBL_FMT_JSON_SPLIT;
    int flags = json_flags(L, 3, &f, 1, "write");
    return write_to(L, f, flags, "write");
  }
  return luaL_error(L, "write: %s: unknown file type (expected .csv, .jsonl, .ndjson or .json)", path);
}

static int to_string(lua_State *L, tbl_format f, int flags, const char *api)
{
  tbl *t = ltable_check(L, 1);
  json_buf *b = ljson_newbuf(L);
  size_t n;
  char *s = tbl_write_string(t, f, flags, &n);
  if (!s) return luaL_error(L, "%s: out of memory", api);
  b->p = s; /* anchored: freed by the box if the push raises */
  b->len = b->cap = n;
  lua_pushlstring(L, s, n);
  json_buf_free(b);
  return 1;
}

static int m_to_csv(lua_State *L)
{
  return to_string(L, TBL_FMT_CSV, 0, "to_csv");
}

static int m_to_jsonl(lua_State *L)
{
  tbl_format f = TBL_FMT_JSONL;
  int flags = json_flags(L, 2, &f, 0, "to_jsonl");
  return to_string(L, f, flags, "to_jsonl");
}

static int m_to_json(lua_State *L)
{
  tbl_format f = TBL_FMT_JSON_SPLIT;
  int flags = json_flags(L, 2, &f, 1, "to_json");
  return to_string(L, f, flags, "to_json");
}

static int m_tostring(lua_State *L)
{
  handle *h = luaL_checkudata(L, 1, MT);
  if (!h->t) {
    lua_pushliteral(L, "evalua.table (closed)");
    return 1;
  }
  lua_Integer rows = 20, width = 50;
  if (lua_istable(L, 2)) {
    if (lua_getfield(L, 2, "max_rows") == LUA_TNUMBER) rows = lua_tointeger(L, -1);
    if (lua_getfield(L, 2, "max_width") == LUA_TNUMBER) width = lua_tointeger(L, -1);
    lua_pop(L, 2);
    if (!h->t) return luaL_error(L, "tostring: the table was closed"); /* by an __index above */
  }
  json_buf *b = ljson_newbuf(L);
  char *s = tbl_preview(h->t, rows > 0 ? (size_t)rows : 20, width > 0 ? (size_t)width : 50);
  if (!s) return luaL_error(L, "tostring: out of memory");
  b->p = s;
  b->len = b->cap = strlen(s);
  lua_pushstring(L, s);
  json_buf_free(b);
  return 1;
}

static const luaL_Reg methods[] = {
  {"columns", m_columns}, {"column", m_column}, {"row", m_row}, {"rows", m_rows},
  {"get", m_get}, {"set", m_set}, {"ncols", m_ncols}, {"nrows", m_len},
  {"add_column", m_add_column}, {"drop_column", m_drop_column}, {"rename", m_rename},
  {"column_type", m_column_type}, {"select", m_select}, {"head", m_head}, {"tail", m_tail},
  {"copy", m_copy}, {"append", m_append}, {"map", m_map},
  {"write", m_write}, {"write_csv", m_write_csv}, {"write_jsonl", m_write_jsonl}, {"write_json", m_write_json},
  {"to_csv", m_to_csv}, {"to_jsonl", m_to_jsonl}, {"to_json", m_to_json},
  {"preview", m_tostring}, {"close", t_gc},
  {NULL, NULL}};

static const luaL_Reg metamethods[] = {
  {"__gc", t_gc}, {"__close", t_gc}, {"__len", m_len}, {"__tostring", m_tostring},
  {"__index", NULL}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
  {"read_csv", l_read_csv}, {"read_csv_string", l_read_csv_string},
  {"read_jsonl", l_read_jsonl}, {"read_jsonl_string", l_read_jsonl_string},
  {"read_json", l_read_json}, {"read_json_string", l_read_json_string},
  {"read", l_read}, {"from", l_from}, {"from_rows", l_from_rows}, {"new", l_new},
  {"is", l_is},
  {NULL, NULL}};

int luaopen_evalua_table(lua_State *L)
{
  if (luaL_newmetatable(L, MT)) {
    luaL_setfuncs(L, metamethods, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
