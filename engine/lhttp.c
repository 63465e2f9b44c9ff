/* lhttp.c: evalua.http, the task scheduler and its HTTP requests. A task is
 * a Lua coroutine running fn(i) for one item of a map. http.request arms a
 * transfer in the engine (engine/http.c) and yields a private sentinel; the
 * loop here (admit tasks -> http_step -> resume the owners of finished
 * transfers) resumes the task with `response` or `nil, err`. Nested maps
 * yield the same sentinel and are resumed with `results, errors`. Lua never
 * runs inside a curl callback. evalua.sched (lua/evalua/sched.lua) is the
 * public face; the functions starting with _ are its primitives. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lauxlib.h"
#include "lua.h"

#include "http.h"
#include "linit.h"
#include "schedutil.h"

static char sentinel_key; /* its address is the yield sentinel */
#define SENTINEL ((void *)&sentinel_key)
#define STATE_MT "evalua.http.state"

typedef struct group group;

typedef struct task {
  struct task *prev, *next; /* every live task, for teardown */
  lua_State *co;
  int ref;                  /* registry ref of the coroutine */
  group *g;
  lua_Integer index;
  http_xfer *wait;          /* the transfer or sleep it waits for */
  group *child;             /* the nested map it waits for */
} task;

struct group {
  group *prev, *next;       /* active groups, in creation order */
  lua_Integer n, next_i, done;
  long alive, limit;
  int fn_ref, res_ref, err_ref;
  task *parent;             /* the task waiting for it; NULL at top level */
  int top, finished, orphan;
};

typedef struct state {
  http_engine *e;
  task *current;            /* the task being resumed */
  task *tasks;
  group *g_head, *g_tail;
  char *abort_msg;
  int looping;
  /* progress of the top-level map */
  int progress, tty;
  uint64_t t0, last_draw;
  http_stats base;
  double tokens_reported, tokens_base;
  long rows_done, rows_total;
  long waiting;             /* tasks waiting for a request (the progress "in flight") */
} state;

/* Cancels the transfer a task waits for. */
static void cancel_wait(state *S, task *t)
{
  if (!t->wait) return;
  if (!http_xfer_is_sleep(t->wait)) S->waiting--;
  http_cancel(S->e, t->wait);
  t->wait = NULL;
}

/* ---- state ---- */

static state *get_state(lua_State *L)
{
  return (state *)luaL_checkudata(L, lua_upvalueindex(1), STATE_MT);
}

static http_engine *engine(lua_State *L, state *S)
{
  if (!S->e) {
    char err[256];
    S->e = http_new(NULL, err, sizeof err);
    if (!S->e) luaL_error(L, "%s", err);
  }
  return S->e;
}

static void group_unlink(state *S, group *g)
{
  if (g->prev) g->prev->next = g->next;
  else if (S->g_head == g) S->g_head = g->next;
  if (g->next) g->next->prev = g->prev;
  else if (S->g_tail == g) S->g_tail = g->prev;
  g->prev = g->next = NULL;
}

static void group_free(lua_State *L, state *S, group *g)
{
  group_unlink(S, g);
  if (L) {
    luaL_unref(L, LUA_REGISTRYINDEX, g->fn_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, g->res_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, g->err_ref);
  }
  free(g);
}

/* Frees a task record and what it waits on (a transfer is removed from curl).
 * The coroutine is left to the garbage collector. */
static void task_free(lua_State *L, state *S, task *t)
{
  cancel_wait(S, t);
  if (t->child) { /* nobody will collect this nested map's results */
    t->child->parent = NULL;
    t->child->orphan = 1;
  }
  if (t->prev) t->prev->next = t->next;
  else S->tasks = t->next;
  if (t->next) t->next->prev = t->prev;
  if (L) luaL_unref(L, LUA_REGISTRYINDEX, t->ref);
  free(t);
}

/* Drops every task and group (after a fatal loop error or at close). */
static void reset_all(lua_State *L, state *S)
{
  while (S->tasks) task_free(L, S, S->tasks);
  S->waiting = 0;
  while (S->g_head) group_free(L, S, S->g_head);
  S->current = NULL;
}

static int state_gc(lua_State *L)
{
  state *S = (state *)luaL_checkudata(L, 1, STATE_MT);
  reset_all(NULL, S);
  http_free(S->e);
  S->e = NULL;
  free(S->abort_msg);
  S->abort_msg = NULL;
  return 0;
}

/* ---- progress ---- */

static void progress_fill(state *S, sched_progress *p)
{
  http_stats st;
  http_get_stats(S->e, &st);
  p->done = S->rows_done;
  p->total = S->rows_total;
  p->requests = st.requests - S->base.requests;
  p->inflight = S->waiting;
  p->retries = st.retries - S->base.retries;
  p->failures = st.failures - S->base.failures;
  double reported = S->tokens_reported - S->tokens_base;
  p->tokens_estimated = reported <= 0;
  p->tokens = reported > 0 ? reported : st.tokens_est - S->base.tokens_est;
  p->elapsed_s = (double)(sched_now_us() - S->t0) / 1e6;
}

static void progress_draw(state *S, int final)
{
  if (!S->progress) return;
  sched_progress p;
  progress_fill(S, &p);
  if (final && p.requests == 0) { /* a map that sent nothing says nothing */
    if (S->tty && S->last_draw) fputs("\r\033[K", stderr);
    return;
  }
  char line[512];
  if (final) {
    sched_progress_line(line, sizeof line, &p, 1);
    fprintf(stderr, "%s%s\n", S->tty ? "\r\033[K" : "", line);
  } else if (S->tty) {
    uint64_t now = sched_now_us();
    if (now - S->last_draw < 200000) return;
    S->last_draw = now;
    sched_progress_line(line, sizeof line, &p, 0);
    fprintf(stderr, "\r\033[K%s", line);
  }
  fflush(stderr);
}

/* ---- tasks ---- */

static void resume(lua_State *L, state *S, task *t, int nargs);

static void store(lua_State *L, int tref, lua_Integer i)
{
  /* [value] -> tables[tref][i] = value */
  lua_rawgeti(L, LUA_REGISTRYINDEX, tref);
  lua_insert(L, -2);
  lua_rawseti(L, -2, i);
  lua_pop(L, 1);
}

/* A nested map is done: its parent gets results, errors. The group itself
 * is freed later by sweep_groups, so no loop over the groups sees it go. */
static void group_finished(lua_State *L, state *S, group *g)
{
  g->finished = 1;
  task *p = g->parent;
  if (g->top || !p) return; /* top level: l_map collects; orphan: swept */
  p->child = NULL;
  g->parent = NULL;
  lua_checkstack(p->co, 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, g->res_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, g->err_ref);
  lua_xmove(L, p->co, 2);
  resume(L, S, p, 2);
}

static void sweep_groups(lua_State *L, state *S)
{
  for (group *g = S->g_head; g;) {
    group *next = g->next;
    if (g->finished && !g->top) group_free(L, S, g);
    g = next;
  }
}

static void item_done(lua_State *L, state *S, group *g)
{
  g->done++;
  if (g->top) S->rows_done++;
  if (g->done == g->n) group_finished(L, S, g);
}

static void task_end(lua_State *L, state *S, task *t)
{
  group *g = t->g;
  task_free(L, S, t);
  g->alive--;
  item_done(L, S, g);
}

/* Pushes onto L the text of co's error: a string, a {msg=} table's msg, or
 * what tostring makes of it. */
static void push_error_text(lua_State *L, lua_State *co)
{
  lua_pushvalue(co, -1);
  lua_xmove(co, L, 1);
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_getfield(L, -1, "msg");
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_remove(L, -2);
      return;
    }
    lua_pop(L, 1);
  }
  luaL_tolstring(L, -1, NULL);
  lua_remove(L, -2);
}

static void resume(lua_State *L, state *S, task *t, int nargs)
{
  lua_State *co = t->co;
  task *prev = S->current;
  int nres = 0;
  S->current = t;
  int status = lua_resume(co, L, nargs, &nres);
  S->current = prev;
  if (status == LUA_YIELD) {
    int ours = nres >= 1 && lua_touserdata(co, -nres) == SENTINEL && (t->wait || t->child);
    lua_pop(co, nres);
    if (ours) return;
    lua_pushstring(L, "sched: a task yielded to the scheduler without waiting for anything "
                      "(coroutine.yield called outside any coroutine of the task)");
    store(L, t->g->err_ref, t->index);
  } else if (status == LUA_OK) {
    if (nres > 0) {
      lua_pushvalue(co, -nres);
      lua_xmove(co, L, 1);
      store(L, t->g->res_ref, t->index);
    }
    lua_pop(co, nres);
  } else {
    push_error_text(L, co);
    luaL_traceback(L, co, lua_tostring(L, -1), 0);
    lua_remove(L, -2);
    store(L, t->g->err_ref, t->index);
    lua_resetthread(co); /* runs pending to-be-closed variables */
  }
  task_end(L, S, t);
}

static void spawn(lua_State *L, state *S, group *g)
{
  task *t = calloc(1, sizeof *t);
  if (!t) luaL_error(L, "sched.map: out of memory");
  t->g = g;
  t->index = g->next_i++;
  t->co = lua_newthread(L);
  t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  t->next = S->tasks;
  if (S->tasks) S->tasks->prev = t;
  S->tasks = t;
  g->alive++;
  lua_rawgeti(L, LUA_REGISTRYINDEX, g->fn_ref);
  lua_xmove(L, t->co, 1);
  lua_pushinteger(t->co, t->index);
  resume(L, S, t, 1);
}

/* Starts tasks up to each group's limit; after an abort, fails the items
 * not started yet. Returns how many items it started or failed. */
static long admit_tasks(lua_State *L, state *S)
{
  long started = 0;
  for (group *g = S->g_head; g; g = g->next) {
    if (g->finished) continue;
    while (S->abort_msg && g->next_i <= g->n) {
      lua_pushstring(L, S->abort_msg);
      store(L, g->err_ref, g->next_i++);
      started++;
      item_done(L, S, g);
    }
    while (g->next_i <= g->n && g->alive < g->limit) {
      started++;
      spawn(L, S, g);
    }
  }
  return started;
}

/* Pushes the response of a finished transfer onto co: response | nil, err. */
static int push_result(lua_State *co, http_xfer *x)
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

static void deliver(lua_State *L, state *S, http_xfer *x)
{
  task *t = http_xfer_owner(x);
  t->wait = NULL;
  if (!http_xfer_is_sleep(x)) S->waiting--;
  int n = http_xfer_is_sleep(x) ? 0 : push_result(t->co, x);
  http_xfer_free(S->e, x);
  resume(L, S, t, n);
}

/* The loop: runs until the top-level group g has finished every item. */
static void run_loop(lua_State *L, state *S, group *g)
{
  char err[256];
  S->looping = 1;
  while (!g->finished) {
    sweep_groups(L, S);
    long started = admit_tasks(L, S);
    if (g->finished) break;
    long wait = S->progress && S->tty ? 200 : 1000;
    if (started) wait = 0; /* new tasks may have armed transfers: look first */
    progress_draw(S, 0);
    if (http_step(S->e, wait, err, sizeof err)) {
      S->looping = 0;
      http_fail_all(S->e, err);
      reset_all(L, S);
      luaL_error(L, "%s", err);
    }
    long delivered = 0;
    http_xfer *x;
    while ((x = http_next_done(S->e))) {
      deliver(L, S, x);
      /* send what the resumed tasks asked for before resuming the next ones */
      if (++delivered % 8 == 0 && http_flush(S->e, err, sizeof err)) {
        S->looping = 0;
        http_fail_all(S->e, err);
        reset_all(L, S);
        luaL_error(L, "%s", err);
      }
    }
    if (!g->finished && !started && !delivered && http_pending(S->e) == 0) {
      int spawnable = 0;
      for (group *q = S->g_head; q; q = q->next)
        if (q->next_i <= q->n && q->alive < q->limit) spawnable = 1;
      if (!spawnable) {
        S->looping = 0;
        reset_all(L, S);
        luaL_error(L, "sched: internal error: tasks wait but nothing is pending");
      }
    }
  }
  S->looping = 0;
}

/* ---- Lua functions ---- */

static group *group_new(lua_State *L, state *S, lua_Integer n, int fn_idx, long limit)
{
  group *g = calloc(1, sizeof *g);
  if (!g) luaL_error(L, "sched.map: out of memory");
  g->n = n;
  g->next_i = 1;
  g->limit = limit > 0 ? limit : 1;
  lua_pushvalue(L, fn_idx);
  g->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_createtable(L, n < 1 << 20 ? (int)n : 1 << 20, 0);
  g->res_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  g->err_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  g->prev = S->g_tail;
  if (S->g_tail) S->g_tail->next = g;
  else S->g_head = g;
  S->g_tail = g;
  return g;
}

/* A task waits for one thing at a time. A wait still armed here was left by
 * a coroutine resumed with the raw (non-forwarding) resume, which will never
 * get its answer: drop it. */
static void drop_stale_wait(state *S, task *t)
{
  cancel_wait(S, t);
}

/* _map(n, fn, limit, progress) -> results, errors (yields inside a task) */
static int l_map(lua_State *L)
{
  state *S = get_state(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_Integer limit = luaL_optinteger(L, 3, 32);
  int progress = lua_toboolean(L, 4);
  luaL_argcheck(L, n >= 0, 1, "count must be >= 0");
  engine(L, S);
  if (S->current) {
    if (!lua_isyieldable(L))
      return luaL_error(L, "sched.map: cannot wait here (inside a C call such as table.sort, "
                           "string.gsub or a metamethod)");
    if (n == 0) {
      lua_newtable(L);
      lua_newtable(L);
      return 2;
    }
    drop_stale_wait(S, S->current);
    group *g = group_new(L, S, n, 2, (long)limit);
    g->parent = S->current;
    S->current->child = g;
    lua_pushlightuserdata(L, SENTINEL);
    return lua_yield(L, 1); /* resumed by group_finished with results, errors */
  }
  if (S->looping)
    return luaL_error(L, "sched.map: called outside any task while the scheduler runs");
  if (n == 0) {
    lua_newtable(L);
    lua_newtable(L);
    return 2;
  }
  group *g = group_new(L, S, n, 2, (long)limit);
  g->top = 1;
  S->progress = progress;
  S->tty = isatty(2);
  S->t0 = sched_now_us();
  S->last_draw = 0;
  http_get_stats(S->e, &S->base);
  S->tokens_base = S->tokens_reported;
  S->rows_done = 0;
  S->rows_total = (long)n;
  run_loop(L, S, g);
  sweep_groups(L, S);
  progress_draw(S, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, g->res_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, g->err_ref);
  group_free(L, S, g);
  return 2;
}

static int check_task(lua_State *L, state *S, const char *api)
{
  if (!S->current)
    return luaL_error(L, "%s: called outside a task (use evalua.sched.map or t:map)", api);
  if (!lua_isyieldable(L))
    return luaL_error(L, "%s: cannot wait here (inside a C call such as table.sort, "
                         "string.gsub or a metamethod)", api);
  return 0;
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
  check_task(L, S, "http.request");
  http_engine *e = engine(L, S);
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
  if (S->abort_msg) { /* the run was stopped: fail at once */
    lua_pushnil(L);
    lua_pushstring(L, S->abort_msg);
    return 2;
  }
  char err[256];
  drop_stale_wait(S, S->current);
  http_xfer *x = http_submit(e, &req, S->current, err, sizeof err);
  if (!x) return luaL_error(L, "%s", err);
  S->current->wait = x;
  S->waiting++;
  lua_settop(L, 0);
  lua_pushlightuserdata(L, SENTINEL);
  return lua_yield(L, 1); /* resumed by deliver with response | nil, err */
}

/* _sleep(seconds) */
static int l_sleep(lua_State *L)
{
  state *S = get_state(L);
  double s = luaL_checknumber(L, 1);
  check_task(L, S, "sched.sleep");
  engine(L, S);
  drop_stale_wait(S, S->current);
  http_xfer *x = http_sleep(engine(L, S), (long)(s * 1000 + 0.5), S->current);
  if (!x) return luaL_error(L, "sched.sleep: out of memory");
  S->current->wait = x;
  lua_settop(L, 0);
  lua_pushlightuserdata(L, SENTINEL);
  return lua_yield(L, 1);
}

static int l_in_task(lua_State *L)
{
  lua_pushboolean(L, get_state(L)->current != NULL);
  return 1;
}

/* _abort(msg): stop the run; queued and running requests end with msg */
static int l_abort(lua_State *L)
{
  state *S = get_state(L);
  const char *msg = luaL_checkstring(L, 1);
  if (S->abort_msg) return 0; /* the first reason stands */
  S->abort_msg = strdup(msg);
  if (S->e) http_fail_all(S->e, msg);
  return 0;
}

static int l_aborted(lua_State *L)
{
  state *S = get_state(L);
  if (S->abort_msg) lua_pushstring(L, S->abort_msg);
  else lua_pushnil(L);
  return 1;
}

static int l_clear_abort(lua_State *L)
{
  state *S = get_state(L);
  free(S->abort_msg);
  S->abort_msg = NULL;
  return 0;
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
  http_engine *e = engine(L, S);
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
  if (http_set_limits(engine(L, S), provider, rpm, tpm, burst))
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
  http_get_stats(engine(L, S), &s);
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
  set_num(L, "tokens", S->tokens_reported);
  set_int(L, "pending", http_pending(S->e));
  return 1;
}

static int l_reset_stats(lua_State *L)
{
  state *S = get_state(L);
  http_reset_stats(engine(L, S));
  S->tokens_reported = 0;
  return 0;
}

/* add_tokens(n): usage reported by the adapters, for the progress line */
static int l_add_tokens(lua_State *L)
{
  state *S = get_state(L);
  S->tokens_reported += luaL_checknumber(L, 1);
  return 0;
}

static const luaL_Reg funcs[] = {
  { "request", l_request },
  { "configure", l_configure },
  { "set_limits", l_set_limits },
  { "stats", l_stats },
  { "reset_stats", l_reset_stats },
  { "add_tokens", l_add_tokens },
  { "_map", l_map },
  { "_sleep", l_sleep },
  { "_in_task", l_in_task },
  { "_abort", l_abort },
  { "_aborted", l_aborted },
  { "_clear_abort", l_clear_abort },
  { NULL, NULL },
};

int luaopen_evalua_http(lua_State *L)
{
  lua_newtable(L); /* [M] */
  state *S = lua_newuserdatauv(L, sizeof *S, 0);
  memset(S, 0, sizeof *S);
  if (luaL_newmetatable(L, STATE_MT)) {
    lua_pushcfunction(L, state_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2); /* [M, S] */
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "evalua.http.instance"); /* kept until lua_close */
  luaL_setfuncs(L, funcs, 1); /* [M] */
  lua_pushlightuserdata(L, SENTINEL);
  lua_setfield(L, -2, "_sentinel");
  return 1;
}
