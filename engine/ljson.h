/* ljson.h: the one bridge between Lua values and JSON (engine/ljson.c), for
 * every binding that serialises Lua values or pushes JSON as Lua values. The
 * JSON itself is engine/json.c's. */
#ifndef EVALUA_LJSON_H
#define EVALUA_LJSON_H
#include "json.h"
#include "lua.h"

/* How a Lua value becomes JSON. The three presets below are the only ones in
 * use; a new caller picks one of them. */
typedef struct {
  int flags;       /* JSON_ASCII, JSON_BYTES (json.h) for strings */
  int decimals;    /* >= 0: floats with at most this many decimals; -1: exact */
  int strict;      /* NaN and infinities as null (else the words NaN, Infinity) */
  int canonical;   /* json.h's canonical form; {} is an object, no column lists */
  const char *api; /* prefix of error messages */
} ljson_opts;

/* json.encode: exact numbers, column lists (a field n), {} as [], keys sorted
 * as Lua sorts their tostring, any Lua string kept byte for byte. */
extern const ljson_opts ljson_store;
/* json.canonical: request bodies and cache keys (json.h's canonical form). */
extern const ljson_opts ljson_canonical;
/* table cells holding nested values (evalua.table): as ljson_store but valid
 * UTF-8 and NaN/infinities as null. */
extern const ljson_opts ljson_cell;

/* A zeroed json_buf inside a new userdata pushed on the stack, freed by its
 * __gc if a Lua error unwinds before the caller frees it (json_buf_free). */
json_buf *ljson_newbuf(lua_State *L);

/* Appends the Lua value at idx to b as JSON. Raises "<api>: cannot encode a
 * <type>", "<api>: a table key is a <type>" or "<api>: nesting deeper than
 * 100 levels (a cycle?)"; b then holds partial text (the caller's, still to
 * be freed). Out of memory shows as b->oom. */
void ljson_write(lua_State *L, int idx, json_buf *b, const ljson_opts *o);

/* Parses the JSON document s[0..n) with json.c's lexer and pushes its value
 * straight into Lua (no tree): null is nil (an object leaves the key out, an
 * array holding one gets its length in field n), integers stay integers.
 * Bytes inside strings need not be UTF-8 (they come back as they were written).
 * Nesting is limited to max_depth. On a syntax error raises "<api>: <what>
 * at byte <1-based offset>". */
void ljson_push_text(lua_State *L, const char *s, size_t n, int max_depth, const char *api);

#endif
