/* lhttp.c: evalua.http, HTTP requests made from tasks. http.request checks
 * its arguments, arms a transfer in the engine (engine/http.c) and waits in
 * the scheduler (engine/lsched.c), which resumes the task with `response` or
 * `nil, err`; configure, set_limits and stats reach the engine's settings
 * and counters. evalua.sched (lua/evalua/sched.lua) runs the tasks. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lauxlib.h"
#include "lua.h"

#include "http.h"
#include "linit.h"
#include "lsched.h"

typedef lsched state;

static state *get_state(lua_State *L)
{
  return (state *)lua_touserdata(L, lua_upvalueindex(1));
}


/* Number field k of the request table at index 1, or dflt when absent. */
static double num_field(lua_State *L, const char *k, double dflt)
{
  lua_getfield(L, 1, k);
  int isnum;
  double v = lua_tonumberx(L, -1, &isnum);
  if (!isnum && !lua_isnil(L, -1))
    luaL_error(L, "http.request: %s must be a number (got %s)", k, luaL_typename(L, -1));
  lua_pop(L, 1);
  return isnum ? v : dflt;
}

/* request{ method, url, headers, body, timeout_ms, provider, tokens, max_attempts } */
static int l_request(lua_State *L)
{
  state *S = get_state(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  void *task = lsched_task(L, S, "http.request");
  http_engine *e = lsched_engine(L, S);
  http_req req;
  memset(&req, 0, sizeof req);
  lua_getfield(L, 1, "url");
  if (lua_type(L, -1) != LUA_TSTRING)
    return luaL_error(L, "http.request: url must be a string (got %s)", luaL_typename(L, -1));
  req.url = lua_tostring(L, -1);
  lua_getfield(L, 1, "method");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "http.request: method must be a string");
    req.method = lua_tostring(L, -1);
  }
  lua_getfield(L, 1, "body");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "http.request: body must be a string");
    req.body = lua_tolstring(L, -1, &req.body_len);
  }
  req.timeout_ms = (long)num_field(L, "timeout_ms", 0);
  req.max_attempts = (int)num_field(L, "max_attempts", 0);
  req.tokens = num_field(L, "tokens", 0);
  if (req.timeout_ms < 0 || req.max_attempts < 0 || req.tokens < 0)
    return luaL_error(L, "http.request: timeout_ms, max_attempts and tokens must be >= 0");
  lua_getfield(L, 1, "provider");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
    return luaL_error(L, "http.request: provider must be a string (got %s)", luaL_typename(L, -1));
  req.provider = lua_tostring(L, -1);
  /* headers: {name = value} -> "name: value" strings kept on the stack */
  const char *lines[128];
  lua_getfield(L, 1, "headers");
  int hidx = lua_gettop(L);
  if (!lua_isnil(L, hidx)) {
    if (!lua_istable(L, hidx)) return luaL_error(L, "http.request: headers must be a table");
    lua_pushnil(L);
    while (lua_next(L, hidx)) {
      if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
        return luaL_error(L, "http.request: headers must map names to strings");
      if (req.nheaders == sizeof lines / sizeof *lines)
        return luaL_error(L, "http.request: too many headers");
      const char *name = lua_tostring(L, -2), *val = lua_tostring(L, -1);
      if (strpbrk(name, ":\r\n") || strpbrk(val, "\r\n"))
        return luaL_error(L, "http.request: bad header '%s'", name);
      lua_pushfstring(L, "%s: %s", name, val);
      lines[req.nheaders++] = lua_tostring(L, -1);
      lua_insert(L, hidx + 1); /* keep it alive below the iteration key */
      lua_pop(L, 1);
    }
  }
  req.headers = lines;
  if (lsched_aborted(S)) { /* the run was stopped: fail at once */
    lua_pushnil(L);
    lua_pushstring(L, lsched_aborted(S));
    return 2;
  }
  char err[256];
  http_xfer *x = http_submit(e, &req, task, err, sizeof err);
  if (!x) return luaL_error(L, "%s", err);
  return lsched_wait(L, S, x); /* resumed with response | nil, err */
}

static long opt_field(lua_State *L, const char *k, long dflt)
{
  lua_getfield(L, 1, k);
  long v = lua_isnil(L, -1) ? dflt : (long)luaL_checknumber(L, -1);
  lua_pop(L, 1);
  return v;
}

/* configure{ concurrency, max_attempts, timeout_ms, ... } -> the settings */
static int l_configure(lua_State *L)
{
  state *S = get_state(L);
  http_engine *e = lsched_engine(L, S);
  http_config c = *http_get_config(e);
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    c.concurrency = opt_field(L, "concurrency", c.concurrency);
    c.max_attempts = (int)opt_field(L, "max_attempts", c.max_attempts);
    c.timeout_ms = opt_field(L, "timeout_ms", c.timeout_ms);
    c.connect_timeout_ms = opt_field(L, "connect_timeout_ms", c.connect_timeout_ms);
    c.body_cap = (size_t)opt_field(L, "body_cap", (long)c.body_cap);
    c.backoff_base_ms = opt_field(L, "backoff_base_ms", c.backoff_base_ms);
    c.backoff_max_ms = opt_field(L, "backoff_max_ms", c.backoff_max_ms);
    c.retry_after_max_ms = opt_field(L, "retry_after_max_ms", c.retry_after_max_ms);
    if (c.concurrency < 1) return luaL_error(L, "http.configure: concurrency must be >= 1");
    if (c.max_attempts < 1) return luaL_error(L, "http.configure: max_attempts must be >= 1");
    if (c.timeout_ms < 1) return luaL_error(L, "http.configure: timeout_ms must be >= 1");
    if (c.body_cap < 1) return luaL_error(L, "http.configure: body_cap must be >= 1");
    http_configure(e, &c);
  }
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, c.concurrency);
  lua_setfield(L, -2, "concurrency");
  lua_pushinteger(L, c.max_attempts);
  lua_setfield(L, -2, "max_attempts");
  lua_pushinteger(L, c.timeout_ms);
  lua_setfield(L, -2, "timeout_ms");
  lua_pushinteger(L, c.connect_timeout_ms);
  lua_setfield(L, -2, "connect_timeout_ms");
  lua_pushinteger(L, (lua_Integer)c.body_cap);
  lua_setfield(L, -2, "body_cap");
  lua_pushinteger(L, c.backoff_base_ms);
  lua_setfield(L, -2, "backoff_base_ms");
  lua_pushinteger(L, c.backoff_max_ms);
  lua_setfield(L, -2, "backoff_max_ms");
  lua_pushinteger(L, c.retry_after_max_ms);
  lua_setfield(L, -2, "retry_after_max_ms");
  return 1;
}

/* set_limits{ provider = "openai", rpm = N, tpm = N, burst_s = S } */
static int l_set_limits(lua_State *L)
{
  state *S = get_state(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "provider");
  if (lua_type(L, -1) != LUA_TSTRING)
    return luaL_error(L, "http.set_limits: provider must be a string");
  const char *provider = lua_tostring(L, -1);
  lua_getfield(L, 1, "rpm");
  double rpm = luaL_optnumber(L, -1, 0);
  lua_getfield(L, 1, "tpm");
  double tpm = luaL_optnumber(L, -1, 0);
  lua_getfield(L, 1, "burst_s");
  double burst = luaL_optnumber(L, -1, 1.0);
  if (rpm < 0 || tpm < 0 || burst <= 0)
    return luaL_error(L, "http.set_limits: rpm and tpm must be >= 0 and burst_s > 0");
  if (http_set_limits(lsched_engine(L, S), provider, rpm, tpm, burst))
    return luaL_error(L, "http.set_limits: out of memory");
  return 0;
}

static void set_num(lua_State *L, const char *k, double v)
{
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, long long v)
{
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

/* stats() -> counters since start (or reset_stats) */
static int l_stats(lua_State *L)
{
  state *S = get_state(L);
  http_stats s;
  http_get_stats(lsched_engine(L, S), &s);
  lua_createtable(L, 0, 14);
  set_int(L, "requests", s.requests);
  set_int(L, "retries", s.retries);
  set_int(L, "failures", s.failures);
  set_int(L, "completed", s.completed);
  set_int(L, "inflight", s.inflight);
  set_int(L, "inflight_peak", s.inflight_peak);
  set_int(L, "status_2xx", s.status_2xx);
  set_int(L, "status_4xx", s.status_4xx);
  set_int(L, "status_5xx", s.status_5xx);
  set_int(L, "bytes_in", (long long)s.bytes_in);
  set_int(L, "bytes_out", (long long)s.bytes_out);
  set_num(L, "tokens_estimated", s.tokens_est);
  set_num(L, "tokens", lsched_tokens(S));
  set_int(L, "pending", http_pending(lsched_engine(L, S)));
  return 1;
}

static int l_reset_stats(lua_State *L)
{
  state *S = get_state(L);
  http_reset_stats(lsched_engine(L, S));
  lsched_reset_tokens(S);
  return 0;
}

/* Pushes the response of a finished transfer onto co: response | nil, err. */
int lhttp_push_response(lua_State *co, http_xfer *x)
{
  lua_checkstack(co, 8);
  const char *err = http_xfer_error(x);
  if (err) {
    lua_pushnil(co);
    lua_pushstring(co, err);
    return 2;
  }
  size_t blen, hlen;
  const char *body = http_xfer_body(x, &blen);
  const char *head = http_xfer_headers(x, &hlen);
  lua_createtable(co, 0, 4);
  lua_pushinteger(co, http_xfer_status(x));
  lua_setfield(co, -2, "status");
  lua_pushlstring(co, body, blen);
  lua_setfield(co, -2, "body");
  lua_pushinteger(co, http_xfer_attempts(x));
  lua_setfield(co, -2, "attempts");
  lua_newtable(co); /* [resp, headers] */
  const char *p = memchr(head, '\n', hlen), *end = head + hlen;
  p = p ? p + 1 : end; /* skip the status line */
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (colon && colon > p) {
      char name[128];
      size_t nl = (size_t)(colon - p);
      if (nl >= sizeof name) nl = sizeof name - 1;
      for (size_t i = 0; i < nl; i++) {
        char c = p[i];
        name[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
      }
      name[nl] = '\0';
      const char *v = colon + 1, *ve = eol;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      lua_getfield(co, -1, name);
      if (lua_isstring(co, -1)) { /* repeated header: join */
        lua_pushliteral(co, ", ");
        lua_pushlstring(co, v, (size_t)(ve - v));
        lua_concat(co, 3);
      } else {
        lua_pop(co, 1);
        lua_pushlstring(co, v, (size_t)(ve - v));
      }
      lua_setfield(co, -2, name);
    }
    p = eol + 1;
  }
  lua_setfield(co, -2, "headers");
  return 1;
}

/* add_tokens(n): usage reported by the adapters, for the progress line */
static int l_add_tokens(lua_State *L)
{
  lsched_add_tokens(get_state(L), luaL_checknumber(L, 1));
  return 0;
}

static const luaL_Reg funcs[] = {
  { "request", l_request },
  { "configure", l_configure },
  { "set_limits", l_set_limits },
  { "stats", l_stats },
  { "reset_stats", l_reset_stats },
  { "add_tokens", l_add_tokens },
  { NULL, NULL },
};

int luaopen_evalua_http(lua_State *L)
{
  lua_newtable(L);            /* [M] */
  lsched_push(L);             /* [M, S]: the one scheduler */
  luaL_setfuncs(L, funcs, 1); /* [M] */
  return 1;
}
