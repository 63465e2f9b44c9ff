/* ljson.c: evalua.json, the one JSON codec Lua code uses (engine/json.c does
 * the parsing and the number and string forms; this file walks Lua values).
 *   json.encode(value [, { ascii = true, decimals = 10, strict = true }]) -> text
 *       exact numbers (the shortest text that reads back to the same double,
 *       integers apart from floats, NaN/Infinity as words unless strict),
 *       column lists (a field n; holes as null), {} as [], sorted keys; the
 *       store's cells and tables, exports. decimals: MLflow's table format.
 *   json.canonical(value) -> text
 *       the canonical form of request bodies and cache keys (json.h).
 *   json.decode(text) -> value
 *       integers stay integers; NaN, Infinity, -Infinity read; null is nil
 *       (a list holding one gets n). Errors: "json.decode: <what> at byte N".
 *   json.null: the value that encodes as null inside a list (= cjson.null) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#include "json.h"
#include "ljson.h"

#define BUFMT "evalua.json.buf"
#define ENCODE_DEPTH 100 /* Lua tables nested deeper are taken for a cycle */
#define DECODE_DEPTH 200

const ljson_opts ljson_store = {JSON_BYTES, -1, 0, 0, "json.encode"};
const ljson_opts ljson_canonical = {0, -1, 1, 1, "json.canonical"};
const ljson_opts ljson_cell = {0, -1, 1, 0, "table"};

/* ---- anchoring C memory in userdata ---- */

static int buf_gc(lua_State *L)
{
  json_buf_free(luaL_checkudata(L, 1, BUFMT));
  return 0;
}

/* sets the metatable tname (made on first use, with gc as __gc) on the top */
static void set_gc_meta(lua_State *L, const char *tname, lua_CFunction gc)
{
  if (luaL_newmetatable(L, tname)) {
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
}

json_buf *ljson_newbuf(lua_State *L)
{
  json_buf *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  set_gc_meta(L, BUFMT, buf_gc);
  return b;
}

/* ---- Lua value -> JSON ---- */

static void raise(lua_State *L, const ljson_opts *o, const char *fmt, const char *what)
{
  lua_pushfstring(L, "%s: ", o->api);
  lua_pushfstring(L, fmt, what);
  lua_concat(L, 2);
  lua_error(L);
}

static void put_float(json_buf *b, double d, const ljson_opts *o)
{
  char t[64];
  if (o->canonical) { json_write_canon_double(b, d); return; }
  if (isnan(d) || isinf(d)) {
    if (o->strict || o->decimals >= 0) json_buf_put(b, "null", 4);
    else if (isnan(d)) json_buf_put(b, "NaN", 3);
    else if (d > 0) json_buf_put(b, "Infinity", 8);
    else json_buf_put(b, "-Infinity", 9);
    return;
  }
  if (o->decimals < 0 || fabs(d) >= 1e16) {
    size_t n = json_fmt_double(t, d);
    if (d == 0 && signbit(d)) n = (size_t)snprintf(t, sizeof t, "-0.0"); /* as %.15g writes it */
    if (o->decimals >= 0 && n > 2 && memcmp(t + n - 2, ".0", 2) == 0) n -= 2; /* MLflow form: 1e16 as %.17g */
    json_buf_put(b, t, n);
    return;
  }
  int n = snprintf(t, sizeof t, "%.*f", o->decimals, d);
  while (n > 0 && t[n - 1] == '0') n--;
  if (n > 0 && t[n - 1] == '.') t[n++] = '0';
  t[n] = '\0';
  if (strcmp(t, "-0.0") == 0) { json_buf_put(b, "0.0", 3); return; }
  json_buf_put(b, t, (size_t)n);
}

/* the length of the table at idx as a list, or -1 when it is an object */
static lua_Integer list_len(lua_State *L, int idx, const ljson_opts *o)
{
  lua_Integer count = 0;
  if (!o->canonical && lua_getfield(L, idx, "n") == LUA_TNUMBER && lua_isinteger(L, -1) &&
      lua_tointeger(L, -1) >= 0) {
    lua_Integer n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    int ok = 1;
    lua_pushnil(L);
    while (ok && lua_next(L, idx)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "n") == 0) continue;
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) ok = 0;
    }
    if (!ok) lua_pop(L, 1); /* the key lua_next left */
    else return n;
  } else if (!o->canonical) lua_pop(L, 1);
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
  }
  if (count != n) return -1;
  if (n == 0 && o->canonical) return -1; /* {} is an object in canonical form */
  return n;
}

struct key {
  const char *s; /* tostring of the key, anchored in the names table */
  size_t len;
  lua_Integer i; /* position of the key itself in the keys table */
};

static int cmp_keys(const void *a, const void *b)
{
  const struct key *x = a, *y = b;
  return json_key_cmp(x->s, x->len, y->s, y->len);
}

static void write_value(lua_State *L, int idx, json_buf *b, const ljson_opts *o, int depth);

static void write_table(lua_State *L, int idx, json_buf *b, const ljson_opts *o, int depth)
{
  if (depth > ENCODE_DEPTH) raise(L, o, "nesting deeper than %s levels (a cycle?)", "100");
  luaL_checkstack(L, 8, "json: nesting too deep");
  lua_Integer n = list_len(L, idx, o);
  if (n >= 0) {
    json_buf_putc(b, '[');
    for (lua_Integer i = 1; i <= n; i++) {
      if (i > 1) json_buf_putc(b, ',');
      lua_geti(L, idx, i);
      write_value(L, lua_gettop(L), b, o, depth + 1);
      lua_pop(L, 1);
    }
    json_buf_putc(b, ']');
    return;
  }
  lua_newtable(L); /* [keys] */
  int keys = lua_gettop(L);
  lua_newtable(L); /* [keys, names] */
  lua_Integer k = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    int t = lua_type(L, -1);
    if (t != LUA_TSTRING && t != LUA_TNUMBER) raise(L, o, "a table key is a %s", lua_typename(L, t));
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, ++k);
    size_t len;
    const char *name = luaL_tolstring(L, -1, &len);
    if (o->canonical && !json_utf8_valid(name, len, NULL)) { /* sort as it will be written */
      json_buf *fixed = ljson_newbuf(L);
      json_utf8_sanitize(fixed, name, len);
      lua_pushlstring(L, fixed->p ? fixed->p : "", fixed->len);
      json_buf_free(fixed);
      lua_replace(L, -3);
      lua_pop(L, 1);
    }
    lua_rawseti(L, keys + 1, k);
  }
  struct key *ks = lua_newuserdatauv(L, (size_t)(k ? k : 1) * sizeof *ks, 0); /* [keys, names, ks] */
  for (lua_Integer i = 1; i <= k; i++) {
    lua_rawgeti(L, keys + 1, i);
    ks[i - 1].s = lua_tolstring(L, -1, &ks[i - 1].len); /* anchored by names */
    ks[i - 1].i = i;
    lua_pop(L, 1);
  }
  qsort(ks, (size_t)k, sizeof *ks, cmp_keys);
  json_buf_putc(b, '{');
  for (lua_Integer i = 0; i < k; i++) {
    if (i) json_buf_putc(b, ',');
    json_write_string(b, ks[i].s, ks[i].len, o->flags);
    json_buf_putc(b, ':');
    lua_rawgeti(L, keys, ks[i].i);
    lua_gettable(L, idx);
    write_value(L, lua_gettop(L), b, o, depth + 1);
    lua_pop(L, 1);
  }
  json_buf_putc(b, '}');
  lua_pop(L, 3);
}

static void write_value(lua_State *L, int idx, json_buf *b, const ljson_opts *o, int depth)
{
  char num[24];
  switch (lua_type(L, idx)) {
  case LUA_TNIL: json_buf_put(b, "null", 4); break;
  case LUA_TBOOLEAN:
    if (lua_toboolean(L, idx)) json_buf_put(b, "true", 4);
    else json_buf_put(b, "false", 5);
    break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) json_buf_put(b, num, json_fmt_int(num, (int64_t)lua_tointeger(L, idx)));
    else put_float(b, (double)lua_tonumber(L, idx), o);
    break;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    json_write_string(b, s, n, o->flags);
    break;
  }
  case LUA_TTABLE: write_table(L, idx, b, o, depth); break;
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) { json_buf_put(b, "null", 4); break; } /* cjson.null */
    /* fall through */
  default: raise(L, o, "cannot encode a %s", luaL_typename(L, idx));
  }
}

void ljson_write(lua_State *L, int idx, json_buf *b, const ljson_opts *o)
{
  write_value(L, lua_absindex(L, idx), b, o, 0);
}

/* ---- JSON -> Lua value ---- */

typedef struct {
  lua_State *L;
  json_parser p;
  json_buf *s; /* the decoded text of one string at a time */
} reader;

/* pushes the string at r->p.pos; 0 or -1 */
static int read_string(reader *r)
{
  r->s->len = 0;
  if (json_parse_string(&r->p, r->s) < 0) return -1;
  lua_pushlstring(r->L, r->s->p ? r->s->p : "", r->s->len);
  return 0;
}

/* Pushes one value straight into Lua (no tree): 0, or -1 with r->p's error
 * set (the stack then holds partial values; the caller raises). */
static int read_value(reader *r)
{
  lua_State *L = r->L;
  json_parser *p = &r->p;
  json_skip_ws(p);
  if (p->pos >= p->len) return json_unexpected(p, "a value");
  char c = p->src[p->pos];
  if (c == '"') return read_string(r);
  if (c == '[' || c == '{') {
    int obj = c == '{';
    char close = obj ? '}' : ']';
    int max = p->max_depth > 0 ? p->max_depth : JSON_MAX_DEPTH;
    if (++p->depth > max) {
      snprintf(p->msg, sizeof p->msg, "nesting deeper than %d", max);
      p->errpos = p->pos;
      return -1;
    }
    luaL_checkstack(L, 4, "json: nesting too deep");
    lua_newtable(L);
    p->pos++;
    json_skip_ws(p);
    if (p->pos < p->len && p->src[p->pos] == close) {
      p->pos++;
      p->depth--;
      return 0;
    }
    lua_Integer k = 0;
    int holes = 0;
    for (;;) {
      json_skip_ws(p);
      if (obj) {
        if (p->pos >= p->len || p->src[p->pos] != '"') return json_unexpected(p, "a string key");
        if (read_string(r) < 0) return -1;
        json_skip_ws(p);
        if (p->pos >= p->len || p->src[p->pos] != ':') return json_unexpected(p, "':'");
        p->pos++;
        if (read_value(r) < 0) return -1;
        lua_rawset(L, -3); /* a null leaves the key out */
      } else {
        if (read_value(r) < 0) return -1;
        k++;
        if (lua_isnil(L, -1)) {
          holes = 1;
          lua_pop(L, 1);
        } else lua_rawseti(L, -2, k);
      }
      json_skip_ws(p);
      if (p->pos < p->len && p->src[p->pos] == ',') { p->pos++; continue; }
      if (p->pos < p->len && p->src[p->pos] == close) { p->pos++; break; }
      return json_unexpected(p, obj ? "',' or '}'" : "',' or ']'");
    }
    if (holes) { /* a list holding null gets its length in n */
      lua_pushinteger(L, k);
      lua_setfield(L, -2, "n");
    }
    p->depth--;
    return 0;
  }
  json_value v; /* a number or a word: json.c allocates nothing for these */
  if (json_parse_value(p, &v) < 0) return -1;
  switch (v.kind) {
  case JSON_FALSE: lua_pushboolean(L, 0); break;
  case JSON_TRUE: lua_pushboolean(L, 1); break;
  case JSON_INT: lua_pushinteger(L, (lua_Integer)v.u.i); break;
  case JSON_FLOAT: lua_pushnumber(L, (lua_Number)v.u.d); break;
  default: lua_pushnil(L); break;
  }
  return 0;
}

void ljson_push_text(lua_State *L, const char *s, size_t n, int max_depth, const char *api)
{
  reader r = {.L = L, .p = {.src = s, .len = n, .max_depth = max_depth}};
  r.s = ljson_newbuf(L); /* [buf] */
  int top = lua_gettop(L);
  int rc = read_value(&r);
  if (rc == 0) {
    json_skip_ws(&r.p);
    if (r.p.pos < r.p.len) {
      r.p.errpos = r.p.pos;
      snprintf(r.p.msg, sizeof r.p.msg, "trailing text");
      rc = -1;
    }
  }
  if (rc < 0) luaL_error(L, "%s: %s at byte %d", api, r.p.msg, (int)(r.p.errpos + 1));
  json_buf_free(r.s);
  lua_remove(L, top); /* [value] */
}

/* ---- the module ---- */

/* encodes the value at 1 with o and returns the text */
static int push_encoded(lua_State *L, const ljson_opts *o)
{
  lua_settop(L, 1);
  json_buf *b = ljson_newbuf(L);
  ljson_write(L, 1, b, o);
  if (b->oom) return luaL_error(L, "%s: out of memory", o->api);
  lua_pushlstring(L, b->p ? b->p : "", b->len);
  json_buf_free(b);
  return 1;
}

static int l_encode(lua_State *L)
{
  ljson_opts o = ljson_store;
  luaL_checkany(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, 2, "ascii") != LUA_TNIL && lua_toboolean(L, -1)) o.flags |= JSON_ASCII;
    if (lua_getfield(L, 2, "strict") != LUA_TNIL) o.strict = lua_toboolean(L, -1);
    if (lua_getfield(L, 2, "decimals") != LUA_TNIL && lua_toboolean(L, -1)) {
      lua_Integer d = luaL_checkinteger(L, -1);
      luaL_argcheck(L, d >= 0 && d <= 17, 2, "decimals must be 0..17");
      o.decimals = (int)d;
    }
  }
  return push_encoded(L, &o);
}

static int l_canonical(lua_State *L)
{
  luaL_checkany(L, 1);
  return push_encoded(L, &ljson_canonical);
}

static int l_decode(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ljson_push_text(L, s, n, DECODE_DEPTH, "json.decode");
  return 1;
}

static const luaL_Reg funcs[] = {
  {"encode", l_encode}, {"canonical", l_canonical}, {"decode", l_decode}, {NULL, NULL}};

int luaopen_evalua_json(lua_State *L)
{
  luaL_newlib(L, funcs);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  return 1;
}
