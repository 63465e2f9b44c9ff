/* store.h: the run store, one SQLite file shared by every evalua process
 * that logs runs (experiments, runs, params, metrics, per-row cells, result
 * tables, artifacts, accounting). WAL journal, a busy timeout and short
 * transactions let several processes write at once; a committed write
 * survives a kill -9 of the writer. The schema is versioned with
 * PRAGMA user_version and created or migrated at open.
 *
 * The C side knows the schema and the SQL plumbing (a small cache of
 * prepared statements, typed parameters and rows); the Lua side
 * (lua/evalua/tracking.lua) holds the queries. No lua.h here. */
#ifndef EVALUA_STORE_H
#define EVALUA_STORE_H
#include <stddef.h>
#include <stdint.h>

/* the schema this build writes; a file with a newer version is refused */
#define STORE_SCHEMA_VERSION 1

struct store;

enum store_type { STORE_NULL, STORE_INT, STORE_REAL, STORE_TEXT, STORE_BLOB };

/* A typed value: a parameter going in or a column coming out. For TEXT and
 * BLOB, s points at n bytes (for results: owned by SQLite, valid only during
 * the row callback). */
struct store_value {
  int type;
  long long i;
  double d;
  const char *s;
  size_t n;
};

/* Called once per result row with the column names and values; both arrays
 * are valid only during the call. Return 0 to go on, non-zero to stop. */
typedef int (*store_row_fn)(void *ud, int ncol, const char *const *names,
                            const struct store_value *vals);

/* Opens (creating when absent) the store at path, sets WAL mode and a busy
 * timeout of busy_ms milliseconds, and creates or migrates the schema. The
 * parent directory must exist. Returns a handle the caller frees with
 * store_close, or NULL with "store: <path>: <reason>" in err (cap bytes). */
struct store *store_open(const char *path, int busy_ms, char *err, size_t cap);

/* Finalizes the cached statements, closes the database and frees the handle;
 * an open transaction is rolled back. NULL is a no-op. */
void store_close(struct store *st);

/* The path given to store_open (owned by the handle). */
const char *store_path(const struct store *st);

/* Runs one or more ;-separated statements without parameters. Returns 0, or
 * -1 with "store: <reason>" in err. */
int store_exec(struct store *st, const char *sql, char *err, size_t cap);

/* Runs one statement with nparams positional parameters (?1..?n), calling
 * fn (may be NULL) for each result row. The prepared statement is cached by
 * its SQL text. Returns the number of rows seen (>= 0), or -1 with
 * "store: <reason>" in err. A write that finds the database locked waits up
 * to the busy timeout before failing. */
long long store_query(struct store *st, const char *sql, const struct store_value *params,
                      int nparams, store_row_fn fn, void *ud, char *err, size_t cap);

/* Rows changed by the last INSERT/UPDATE/DELETE, and the last rowid. */
long long store_changes(struct store *st);
long long store_last_rowid(struct store *st);

/* Transactions: store_begin takes the write lock at once (BEGIN IMMEDIATE,
 * waiting up to the busy timeout), so a transaction never fails half way
 * because another process writes. Nesting is an error. Each returns 0, or
 * -1 with a message in err. */
int store_begin(struct store *st, char *err, size_t cap);
int store_commit(struct store *st, char *err, size_t cap);
int store_rollback(struct store *st, char *err, size_t cap);
int store_in_transaction(const struct store *st);

/* The schema version of the open file (PRAGMA user_version). */
int store_schema_version(struct store *st);

/* Fills out with 2*nbytes lowercase hex digits from the system's random
 * source plus a NUL (out must hold 2*nbytes+1). Returns 0, or -1 when no
 * random source could be read. */
int store_random_hex(char *out, size_t nbytes);

#endif
