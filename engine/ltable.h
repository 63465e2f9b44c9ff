/* ltable.h: the evalua.table handle, for other bindings that take or give a
 * table (metrics over a column, the store's per-row results). */
#ifndef EVALUA_LTABLE_H
#define EVALUA_LTABLE_H
#include "lua.h"
#include "table.h"

/* Returns the table behind the "evalua.table" handle at idx. Raises a Lua
 * error when the value is not a table handle or the handle was closed. The
 * table stays owned by the handle: do not free it, and do not keep the
 * pointer past the handle's life. */
tbl *ltable_check(lua_State *L, int idx);

/* Pushes a new handle owning t (the handle frees it when collected or
 * closed). t must not be NULL. If Lua raises a memory error while making
 * the handle, t is not freed: a binding that builds a large table should
 * rather create its handle first (the pattern ltable.c uses). */
void ltable_push(lua_State *L, tbl *t);

/* The length of the column list at idx (the contract every part shares: a
 * Lua table with values at 1..n and a field n, holes allowed): its field n,
 * else its raw border. Raises "<api>: column list length n = ... is not a
 * count" for an n that is not a non-negative integer. */
lua_Integer ltable_list_len(lua_State *L, int idx, const char *api);

#endif
