/* lsched.c: evalua.sched_core, the task scheduler (lua/evalua/sched.lua is
 * its public face). A task is a Lua coroutine running fn(i) for one item of a
 * map. A call that waits (http.request in engine/lhttp.c, sched.sleep) arms a
 * transfer in the engine (engine/http.c) and yields a private sentinel; the
 * loop here (admit tasks -> http_step -> resume the owners of finished
 * transfers) resumes the task with `response` or `nil, err`. Nested maps
 * yield the same sentinel and are resumed with `results, errors`. Lua never
 * runs inside a curl callback.
 *   _map(n, fn [, limit [, progress]]) -> results, errors
 *   _sleep(seconds), _in_task(), _abort(msg), _aborted(), _clear_abort()
 *   sentinel, default_concurrency, forwarders (weak set of the coroutines
 *   sched.resume passes waits out of; a wait in any other coroutine raises) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lauxlib.h"
#include "lua.h"

#include "http.h"
#include "linit.h"
#include "lsched.h"
#include "schedutil.h"

static char sentinel_key; /* its address is the yield sentinel */
#define SENTINEL ((void *)&sentinel_key)
#define STATE_MT "evalua.sched.state"

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

struct lsched {
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
  char *label;              /* the progress label set by evalua.progress, or NULL */
};
typedef lsched state;

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
  return (state *)lua_touserdata(L, lua_upvalueindex(1));
}

http_engine *lsched_engine(lua_State *L, lsched *S)
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
  free(S->label);
  S->label = NULL;
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
  p->label = S->label;
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

static void deliver(lua_State *L, state *S, http_xfer *x)
{
  task *t = http_xfer_owner(x);
  t->wait = NULL;
  if (!http_xfer_is_sleep(x)) S->waiting--;
  int n = http_xfer_is_sleep(x) ? 0 : lhttp_push_response(t->co, x);
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

static char forwarders_key; /* registry: weak set of coroutines evalua.sched resumes */

/* Whether L is the running task's own coroutine, or a coroutine of the task
 * resumed through evalua.sched.resume/wrap (which pass a wait outward). */
static int waits_reach_loop(lua_State *L, state *S)
{
  if (L == S->current->co) return 1;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &forwarders_key);
  lua_pushthread(L);
  int ok = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 2);
  return ok;
}

static int check_task(lua_State *L, state *S, const char *api)
{
  if (!S->current)
    return luaL_error(L, "%s: called outside a task (use evalua.sched.map or t:map)", api);
  if (!lua_isyieldable(L))
    return luaL_error(L, "%s: cannot wait here (inside a C call such as table.sort, "
                         "string.gsub or a metamethod)", api);
  if (!waits_reach_loop(L, S))
    return luaL_error(L, "%s: cannot wait inside a coroutine made with coroutine.create/wrap "
                         "(use evalua.sched.wrap or sched.resume, which pass the wait on)", api);
  return 0;
}

/* _map(n, fn, limit, progress) -> results, errors (yields inside a task) */
static int l_map(lua_State *L)
{
  state *S = get_state(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_Integer limit = luaL_optinteger(L, 3, HTTP_DEFAULT_CONCURRENCY);
  int progress = lua_toboolean(L, 4);
  luaL_argcheck(L, n >= 0, 1, "count must be >= 0");
  lsched_engine(L, S);
  if (S->current) {
    check_task(L, S, "sched.map");
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

/* _sleep(seconds) */
static int l_sleep(lua_State *L)
{
  state *S = get_state(L);
  double s = luaL_checknumber(L, 1);
  check_task(L, S, "sched.sleep");
  lsched_engine(L, S);
  drop_stale_wait(S, S->current);
  http_xfer *x = http_sleep(lsched_engine(L, S), (long)(s * 1000 + 0.5), S->current);
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



/* ---- what engine/lhttp.c uses ---- */

lsched *lsched_push(lua_State *L)
{
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &sentinel_key) == LUA_TUSERDATA) /* kept until lua_close */
    return lua_touserdata(L, -1);
  lua_pop(L, 1);
  state *S = lua_newuserdatauv(L, sizeof *S, 0);
  memset(S, 0, sizeof *S);
  if (luaL_newmetatable(L, STATE_MT)) {
    lua_pushcfunction(L, state_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &sentinel_key);
  lua_newtable(L); /* [S, forwarders] */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &forwarders_key);
  return S;
}

void *lsched_task(lua_State *L, lsched *S, const char *api)
{
  check_task(L, S, api);
  drop_stale_wait(S, S->current);
  return S->current;
}

const char *lsched_aborted(const lsched *S)
{
  return S->abort_msg;
}

int lsched_wait(lua_State *L, lsched *S, http_xfer *x)
{
  S->current->wait = x;
  if (!http_xfer_is_sleep(x)) S->waiting++;
  lua_settop(L, 0);
  lua_pushlightuserdata(L, SENTINEL);
  return lua_yield(L, 1); /* resumed by deliver with response | nil, err */
}

double lsched_tokens(const lsched *S)
{
  return S->tokens_reported;
}

void lsched_add_tokens(lsched *S, double n)
{
  S->tokens_reported += n;
}

void lsched_reset_tokens(lsched *S)
{
  S->tokens_reported = 0;
}

/* _progress_label(text | nil): what the progress line says the rows do */
static int l_progress_label(lua_State *L)
{
  state *S = get_state(L);
  const char *text = luaL_optstring(L, 1, NULL);
  char *copy = text ? strdup(text) : NULL;
  if (text && !copy) return luaL_error(L, "sched._progress_label: out of memory");
  free(S->label);
  S->label = copy;
  return 0;
}

/* _close_idle() -> true | false: closes every idle connection of the engine
 * (evaluate calls it when it returns, so no socket outlives a run); does
 * nothing while tasks run or transfers are pending */
static int l_close_idle(lua_State *L)
{
  state *S = get_state(L);
  lua_pushboolean(L, S->e && !S->looping && !S->current && http_close_idle(S->e) == 0);
  return 1;
}

static const luaL_Reg funcs[] = {
  { "_progress_label", l_progress_label },
  { "_close_idle", l_close_idle },
  { "_map", l_map },
  { "_sleep", l_sleep },
  { "_in_task", l_in_task },
  { "_abort", l_abort },
  { "_aborted", l_aborted },
  { "_clear_abort", l_clear_abort },
  { NULL, NULL },
};

int luaopen_evalua_sched_core(lua_State *L)
{
  lua_newtable(L); /* [M] */
  lsched_push(L);   /* [M, S] */
  luaL_setfuncs(L, funcs, 1); /* [M] */
  lua_pushlightuserdata(L, SENTINEL);
  lua_setfield(L, -2, "sentinel");
  lua_pushinteger(L, HTTP_DEFAULT_CONCURRENCY);
  lua_setfield(L, -2, "default_concurrency");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &forwarders_key);
  lua_setfield(L, -2, "forwarders");
  return 1;
}
