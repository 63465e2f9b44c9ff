/* lsched.h: what the HTTP binding (engine/lhttp.c) needs of the task
 * scheduler (engine/lsched.c): the one engine, the running task, and the
 * wait that yields it until its transfer ends. */
#ifndef EVALUA_LSCHED_H
#define EVALUA_LSCHED_H
#include "http.h"
#include "lua.h"

typedef struct lsched lsched;

/* Pushes the one scheduler of L (made at the first call and kept in the
 * registry until lua_close, which frees its engine and tasks) and returns
 * it. Bindings keep it as an upvalue of their functions. */
lsched *lsched_push(lua_State *L);

/* The HTTP engine of the scheduler, made at first use (raises on failure).
 * Owned by the scheduler. */
http_engine *lsched_engine(lua_State *L, lsched *S);

/* The running task, as the owner to give http_submit. Raises "<api>: called
 * outside a task (...)" outside a task and "<api>: cannot wait here (...)"
 * where the task cannot yield. A wait the task left armed (a user coroutine
 * resumed without forwarding) is cancelled. */
void *lsched_task(lua_State *L, lsched *S, const char *api);

/* Makes the running task wait for x (just submitted with lsched_task's
 * owner) and yields it; the loop resumes it with lhttp_push_response's
 * values, or with nothing for a sleep. Use as `return lsched_wait(...)`. */
int lsched_wait(lua_State *L, lsched *S, http_xfer *x);

/* The message the run was aborted with, or NULL. */
const char *lsched_aborted(const lsched *S);

/* Tokens the adapters reported (for stats and the progress line). */
double lsched_tokens(const lsched *S);
void lsched_add_tokens(lsched *S, double n);
void lsched_reset_tokens(lsched *S);

/* Pushes onto co what a task waiting for the finished transfer x gets:
 * a response table, or nil and the error. Returns the count (engine/lhttp.c). */
int lhttp_push_response(lua_State *co, http_xfer *x);

#endif
