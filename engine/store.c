/* store.c: the run store over SQLite (see store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define STMT_CACHE 48

struct cached {
  char *sql;
  sqlite3_stmt *stmt;
  unsigned long long used; /* last use tick, for eviction */
};

struct store {
  sqlite3 *db;
  char *path;
  int in_tx;
  unsigned long long tick;
  struct cached cache[STMT_CACHE];
};

/* schema version 1; later versions add entries to migrations[] */
static const char schema_v1[] =
  "CREATE TABLE IF NOT EXISTS experiments("
  "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created REAL NOT NULL);"
  "CREATE TABLE IF NOT EXISTS runs("
  "  id TEXT PRIMARY KEY, name TEXT NOT NULL,"
  "  experiment_id INTEGER NOT NULL REFERENCES experiments(id),"
  "  status TEXT NOT NULL CHECK (status IN ('RUNNING','FINISHED','FAILED','KILLED')),"
  "  start_time REAL NOT NULL, end_time REAL,"
  "  script TEXT, script_hash TEXT, data_hash TEXT, params_hash TEXT,"
  "  shard_key TEXT, shard_n INTEGER, nrows INTEGER,"
  "  evalua_version TEXT, owner_host TEXT, owner_pid INTEGER,"
  "  resumes INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs(experiment_id, start_time);"
  "CREATE INDEX IF NOT EXISTS runs_by_match ON runs(script_hash, data_hash, params_hash);"
  "CREATE INDEX IF NOT EXISTS runs_by_shard ON runs(shard_key);"
  "CREATE INDEX IF NOT EXISTS runs_by_name ON runs(name);"
  "CREATE TABLE IF NOT EXISTS tags("
  "  run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT,"
  "  PRIMARY KEY (run_id, key)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS params("
  "  run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT,"
  "  PRIMARY KEY (run_id, key)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS metrics("
  "  run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL, greater_is_better INTEGER,"
  "  step INTEGER NOT NULL DEFAULT 0, timestamp REAL NOT NULL,"
  "  PRIMARY KEY (run_id, key, step)) WITHOUT ROWID;"
  /* per-row cells: value holds a number or string natively; kind 'b' is a
   * boolean (0/1), 'j' a JSON text (tables), NULL a plain value or nil */
  "CREATE TABLE IF NOT EXISTS cells("
  "  run_id TEXT NOT NULL, key TEXT NOT NULL, row INTEGER NOT NULL, kind TEXT, value,"
  "  PRIMARY KEY (run_id, key, row)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS result_tables("
  "  run_id TEXT NOT NULL, name TEXT NOT NULL, nrows INTEGER NOT NULL,"
  "  columns TEXT NOT NULL, created REAL NOT NULL,"
  "  PRIMARY KEY (run_id, name)) WITHOUT ROWID;"
  /* a result table column: data is a JSON list, kinds one letter per row
   * (i integer, f float, s string, b boolean, j nested JSON, n nil) */
  "CREATE TABLE IF NOT EXISTS table_columns("
  "  run_id TEXT NOT NULL, name TEXT NOT NULL, pos INTEGER NOT NULL,"
  "  column TEXT NOT NULL, data TEXT NOT NULL, kinds TEXT NOT NULL,"
  "  PRIMARY KEY (run_id, name, pos)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS artifacts("
  "  run_id TEXT NOT NULL, name TEXT NOT NULL, mime TEXT, size INTEGER,"
  "  data BLOB, path TEXT, created REAL NOT NULL,"
  "  PRIMARY KEY (run_id, name)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS accounting("
  "  run_id TEXT NOT NULL, part TEXT NOT NULL DEFAULT '', data TEXT NOT NULL,"
  "  updated REAL NOT NULL,"
  "  PRIMARY KEY (run_id, part)) WITHOUT ROWID;";

static const char *const migrations[] = {
  schema_v1, /* 0 -> 1 */
};

static void seterr(char *err, size_t cap, const char *fmt, ...)
{
  if (!err || cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
}

const char *store_path(const struct store *st)
{
  return st->path;
}

int store_exec(struct store *st, const char *sql, char *err, size_t cap)
{
  char *msg = NULL;
  if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    seterr(err, cap, "store: %s", msg ? msg : sqlite3_errmsg(st->db));
    sqlite3_free(msg);
    return -1;
  }
  return 0;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) return -1;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *out = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  return rc == SQLITE_ROW ? 0 : -1;
}

int store_schema_version(struct store *st)
{
  int v = -1;
  pragma_int(st->db, "PRAGMA user_version", &v);
  return v;
}

/* Brings the schema to STORE_SCHEMA_VERSION inside one write transaction, so
 * two processes opening a fresh file at once do not both create it. */
static int migrate(struct store *st, char *err, size_t cap)
{
  int v;
  if (pragma_int(st->db, "PRAGMA user_version", &v) != 0) {
    seterr(err, cap, "store: %s: %s", st->path, sqlite3_errmsg(st->db));
    return -1;
  }
  if (v == STORE_SCHEMA_VERSION) return 0;
  if (v > STORE_SCHEMA_VERSION) {
    seterr(err, cap, "store: %s: schema version %d is newer than this evalua knows (%d)",
           st->path, v, STORE_SCHEMA_VERSION);
    return -1;
  }
  if (store_begin(st, err, cap) != 0) return -1;
  if (pragma_int(st->db, "PRAGMA user_version", &v) != 0) v = -1;
  for (; v >= 0 && v < STORE_SCHEMA_VERSION; v++) {
    char buf[64];
    if (store_exec(st, migrations[v], err, cap) != 0) goto fail;
    snprintf(buf, sizeof buf, "PRAGMA user_version = %d", v + 1);
    if (store_exec(st, buf, err, cap) != 0) goto fail;
  }
  if (v < 0) {
    seterr(err, cap, "store: %s: cannot read the schema version", st->path);
    goto fail;
  }
  return store_commit(st, err, cap);
fail:
  store_rollback(st, NULL, 0);
  return -1;
}

struct store *store_open(const char *path, int busy_ms, char *err, size_t cap)
{
  struct store *st = calloc(1, sizeof *st);
  if (!st || !(st->path = strdup(path))) {
    free(st);
    seterr(err, cap, "store: %s: out of memory", path);
    return NULL;
  }
  int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    seterr(err, cap, "store: %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
    store_close(st);
    return NULL;
  }
  sqlite3_busy_timeout(st->db, busy_ms > 0 ? busy_ms : 10000);
  sqlite3_extended_result_codes(st->db, 0);
  char e2[256];
  /* WAL: readers never block the writer; NORMAL sync: a commit is in the
   * WAL file when it returns (safe against a killed process, not power loss) */
  if (store_exec(st, "PRAGMA journal_mode=WAL", e2, sizeof e2) != 0 ||
      store_exec(st, "PRAGMA synchronous=NORMAL", e2, sizeof e2) != 0 ||
      store_exec(st, "PRAGMA foreign_keys=OFF", e2, sizeof e2) != 0) {
    seterr(err, cap, "store: %s: %s", path, e2 + 7);
    store_close(st);
    return NULL;
  }
  if (migrate(st, err, cap) != 0) {
    store_close(st);
    return NULL;
  }
  return st;
}

void store_close(struct store *st)
{
  if (!st) return;
  for (int i = 0; i < STMT_CACHE; i++) {
    if (st->cache[i].stmt) sqlite3_finalize(st->cache[i].stmt);
    free(st->cache[i].sql);
  }
  if (st->db) {
    if (st->in_tx) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(st->db);
  }
  free(st->path);
  free(st);
}

/* the cached statement for sql, prepared on a miss (evicting the least
 * recently used); NULL with err set on a prepare error */
static sqlite3_stmt *prepare(struct store *st, const char *sql, char *err, size_t cap)
{
  int victim = 0;
  st->tick++;
  for (int i = 0; i < STMT_CACHE; i++) {
    struct cached *c = &st->cache[i];
    if (c->sql && strcmp(c->sql, sql) == 0) {
      c->used = st->tick;
      sqlite3_reset(c->stmt); /* in case a caller bailed out mid-step */
      return c->stmt;
    }
    if (c->used < st->cache[victim].used) victim = i;
  }
  sqlite3_stmt *s;
  const char *tail = NULL;
  if (sqlite3_prepare_v2(st->db, sql, -1, &s, &tail) != SQLITE_OK) {
    seterr(err, cap, "store: %s", sqlite3_errmsg(st->db));
    return NULL;
  }
  if (!s) { /* only whitespace or a comment */
    seterr(err, cap, "store: empty statement");
    return NULL;
  }
  if (tail && tail[strspn(tail, " \t\r\n;")] != '\0') {
    sqlite3_finalize(s);
    seterr(err, cap, "store: one statement at a time");
    return NULL;
  }
  char *copy = strdup(sql);
  if (!copy) {
    sqlite3_finalize(s);
    seterr(err, cap, "store: out of memory");
    return NULL;
  }
  struct cached *c = &st->cache[victim];
  if (c->stmt) sqlite3_finalize(c->stmt);
  free(c->sql);
  c->sql = copy;
  c->stmt = s;
  c->used = st->tick;
  return s;
}

static int bind(sqlite3_stmt *s, int i, const struct store_value *v)
{
  switch (v->type) {
  case STORE_INT: return sqlite3_bind_int64(s, i, v->i);
  case STORE_REAL: return sqlite3_bind_double(s, i, v->d);
  case STORE_TEXT: return sqlite3_bind_text64(s, i, v->s, v->n, SQLITE_TRANSIENT, SQLITE_UTF8);
  case STORE_BLOB: return sqlite3_bind_blob64(s, i, v->s, v->n, SQLITE_TRANSIENT);
  default: return sqlite3_bind_null(s, i);
  }
}

#define MAXCOLS 64

long long store_query(struct store *st, const char *sql, const struct store_value *params,
                      int nparams, store_row_fn fn, void *ud, char *err, size_t cap)
{
  sqlite3_stmt *s = prepare(st, sql, err, cap);
  if (!s) return -1;
  int want = sqlite3_bind_parameter_count(s);
  if (nparams != want) {
    seterr(err, cap, "store: statement takes %d parameters, got %d", want, nparams);
    return -1;
  }
  for (int i = 0; i < nparams; i++) {
    if (bind(s, i + 1, &params[i]) != SQLITE_OK) {
      seterr(err, cap, "store: parameter %d: %s", i + 1, sqlite3_errmsg(st->db));
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      return -1;
    }
  }
  int ncol = sqlite3_column_count(s);
  if (ncol > MAXCOLS) {
    seterr(err, cap, "store: a query returns at most %d columns, got %d", MAXCOLS, ncol);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return -1;
  }
  const char *names[MAXCOLS];
  struct store_value vals[MAXCOLS];
  for (int c = 0; c < ncol; c++) names[c] = sqlite3_column_name(s, c);
  long long rows = 0;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    rows++;
    if (!fn) continue;
    for (int c = 0; c < ncol; c++) {
      struct store_value *v = &vals[c];
      memset(v, 0, sizeof *v);
      switch (sqlite3_column_type(s, c)) {
      case SQLITE_INTEGER: v->type = STORE_INT; v->i = sqlite3_column_int64(s, c); break;
      case SQLITE_FLOAT: v->type = STORE_REAL; v->d = sqlite3_column_double(s, c); break;
      case SQLITE_TEXT:
        v->type = STORE_TEXT;
        v->s = (const char *)sqlite3_column_text(s, c);
        v->n = (size_t)sqlite3_column_bytes(s, c);
        break;
      case SQLITE_BLOB:
        v->type = STORE_BLOB;
        v->s = (const char *)sqlite3_column_blob(s, c);
        v->n = (size_t)sqlite3_column_bytes(s, c);
        if (!v->s) v->s = "";
        break;
      default: v->type = STORE_NULL; break;
      }
    }
    if (fn(ud, ncol, names, vals)) { rc = SQLITE_DONE; break; }
  }
  if (rc != SQLITE_DONE) {
    seterr(err, cap, "store: %s", sqlite3_errmsg(st->db));
    rows = -1;
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rows;
}

long long store_changes(struct store *st)
{
  return sqlite3_changes64(st->db);
}

long long store_last_rowid(struct store *st)
{
  return sqlite3_last_insert_rowid(st->db);
}

int store_begin(struct store *st, char *err, size_t cap)
{
  if (st->in_tx) {
    seterr(err, cap, "store: a transaction is already open");
    return -1;
  }
  if (store_exec(st, "BEGIN IMMEDIATE", err, cap) != 0) return -1;
  st->in_tx = 1;
  return 0;
}

int store_commit(struct store *st, char *err, size_t cap)
{
  if (!st->in_tx) {
    seterr(err, cap, "store: no transaction is open");
    return -1;
  }
  if (store_exec(st, "COMMIT", err, cap) != 0) {
    /* COMMIT can fail with BUSY only under a reader lock in rollback mode;
     * in WAL it does not, so any failure leaves nothing half done */
    if (sqlite3_get_autocommit(st->db)) st->in_tx = 0;
    return -1;
  }
  st->in_tx = 0;
  return 0;
}

int store_rollback(struct store *st, char *err, size_t cap)
{
  if (!st->in_tx) {
    seterr(err, cap, "store: no transaction is open");
    return -1;
  }
  st->in_tx = 0;
  if (sqlite3_get_autocommit(st->db)) return 0; /* already rolled back by an error */
  return store_exec(st, "ROLLBACK", err, cap);
}

int store_in_transaction(const struct store *st)
{
  return st->in_tx;
}

int store_random_hex(char *out, size_t nbytes)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char buf[64];
  if (nbytes > sizeof buf) return -1;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t got = 0;
  while (got < nbytes) {
    ssize_t r = read(fd, buf + got, nbytes - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) { close(fd); return -1; }
    got += (size_t)r;
  }
  close(fd);
  for (size_t i = 0; i < nbytes; i++) {
    out[2 * i] = hex[buf[i] >> 4];
    out[2 * i + 1] = hex[buf[i] & 15];
  }
  out[2 * nbytes] = '\0';
  return 0;
}
