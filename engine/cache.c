/* cache.c: the response cache on SQLite (see cache.h). One connection per
 * handle with its statements prepared once; WAL so that readers never block
 * the writer, and a busy timeout so several processes can share the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cache.h"

#define CACHE_BUSY_MS 15000
#define CACHE_KEEP_RUNS 100

struct cache {
  sqlite3 *db;
  sqlite3_stmt *get, *put, *note;
  char *path;
};

static const char schema[] =
  "CREATE TABLE IF NOT EXISTS responses("
  "  key TEXT PRIMARY KEY, provider TEXT, model TEXT,"
  "  body BLOB NOT NULL, usage TEXT, created REAL NOT NULL);"
  "CREATE TABLE IF NOT EXISTS runs("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL,"
  "  hits INTEGER NOT NULL, misses INTEGER NOT NULL, writes INTEGER NOT NULL);";

static void seterr(char *err, size_t cap, const char *path, const char *what, sqlite3 *db)
{
  if (!err || cap == 0) return;
  snprintf(err, cap, "cache: %s: %s%s%s", path ? path : "?", what,
           db ? ": " : "", db ? sqlite3_errmsg(db) : "");
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cache_close(struct cache *c)
{
  if (!c) return;
  sqlite3_finalize(c->get);
  sqlite3_finalize(c->put);
  sqlite3_finalize(c->note);
  sqlite3_close(c->db);
  free(c->path);
  free(c);
}

struct cache *cache_open(const char *path, char *err, size_t cap)
{
  struct cache *c = calloc(1, sizeof *c);
  if (!c || !(c->path = strdup(path))) {
    free(c);
    seterr(err, cap, path, "out of memory", NULL);
    return NULL;
  }
  int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                           SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    seterr(err, cap, path, "cannot open", c->db);
    cache_close(c);
    return NULL;
  }
  sqlite3_busy_timeout(c->db, CACHE_BUSY_MS);
  /* journal_mode=WAL answers a row; exec ignores it */
  if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                   NULL) != SQLITE_OK ||
      sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
    seterr(err, cap, path, "not a usable cache database", c->db);
    cache_close(c);
    return NULL;
  }
  if (sqlite3_prepare_v2(c->db, "SELECT body, usage FROM responses WHERE key = ?1", -1,
                         &c->get, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(c->db,
                         "INSERT OR REPLACE INTO responses(key, provider, model, body, usage,"
                         " created) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                         -1, &c->put, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(c->db,
                         "INSERT INTO runs(time, hits, misses, writes) VALUES(?1, ?2, ?3, ?4)",
                         -1, &c->note, NULL) != SQLITE_OK) {
    seterr(err, cap, path, "cannot prepare statements", c->db);
    cache_close(c);
    return NULL;
  }
  return c;
}

static char *dup_column(sqlite3_stmt *st, int i, size_t *len)
{
  const void *p = sqlite3_column_blob(st, i);
  size_t n = (size_t)sqlite3_column_bytes(st, i);
  char *s = malloc(n + 1);
  if (!s) return NULL;
  if (n) memcpy(s, p, n);
  s[n] = '\0';
  if (len) *len = n;
  return s;
}

int cache_get(struct cache *c, const char *key, char **body, size_t *blen, char **usage,
              char *err, size_t cap)
{
  *body = NULL;
  *usage = NULL;
  *blen = 0;
  sqlite3_reset(c->get);
  sqlite3_bind_text(c->get, 1, key, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(c->get);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(c->get);
    return 0;
  }
  if (rc != SQLITE_ROW) {
    seterr(err, cap, c->path, "read failed", c->db);
    sqlite3_reset(c->get);
    return -1;
  }
  *body = dup_column(c->get, 0, blen);
  if (sqlite3_column_type(c->get, 1) != SQLITE_NULL) *usage = dup_column(c->get, 1, NULL);
  int oom = !*body || (sqlite3_column_type(c->get, 1) != SQLITE_NULL && !*usage);
  sqlite3_reset(c->get);
  if (oom) {
    free(*body);
    free(*usage);
    *body = *usage = NULL;
    seterr(err, cap, c->path, "out of memory", NULL);
    return -1;
  }
  return 1;
}

int cache_put(struct cache *c, const char *key, const char *provider, const char *model,
              const char *body, size_t blen, const char *usage, char *err, size_t cap)
{
  sqlite3_stmt *st = c->put;
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
  if (provider) sqlite3_bind_text(st, 2, provider, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, 2);
  if (model) sqlite3_bind_text(st, 3, model, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, 3);
  sqlite3_bind_blob64(st, 4, body ? body : "", (sqlite3_uint64)blen, SQLITE_TRANSIENT);
  if (usage) sqlite3_bind_text(st, 5, usage, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, 5);
  sqlite3_bind_double(st, 6, now());
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) {
    seterr(err, cap, c->path, "write failed", c->db);
    return -1;
  }
  return 0;
}

/* runs a query that yields one row of integers into out[0..n) */
static int query_ints(struct cache *c, const char *sql, long long *out, int n, char *err,
                      size_t cap)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
    seterr(err, cap, c->path, "stats query failed", c->db);
    return -1;
  }
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    for (int i = 0; i < n; i++) out[i] = sqlite3_column_int64(st, i);
  } else if (rc == SQLITE_DONE) {
    for (int i = 0; i < n; i++) out[i] = 0;
  } else {
    seterr(err, cap, c->path, "stats query failed", c->db);
    sqlite3_finalize(st);
    return -1;
  }
  sqlite3_finalize(st);
  return 0;
}

int cache_stats(struct cache *c, struct cache_stats *s, char *err, size_t cap)
{
  memset(s, 0, sizeof *s);
  long long v[4];
  if (query_ints(c, "SELECT count(*), coalesce(sum(length(body) + coalesce(length(usage), 0)),"
                    " 0) FROM responses", v, 2, err, cap) < 0)
    return -1;
  s->entries = v[0];
  s->body_bytes = v[1];
  if (query_ints(c, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
                 v, 1, err, cap) < 0)
    return -1;
  s->file_bytes = v[0];
  if (query_ints(c, "SELECT count(*), coalesce(sum(hits), 0), coalesce(sum(misses), 0),"
                    " coalesce(sum(writes), 0) FROM runs", v, 4, err, cap) < 0)
    return -1;
  s->runs = v[0];
  s->hits = v[1];
  s->misses = v[2];
  s->writes = v[3];
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(c->db, "SELECT hits, misses, writes, time FROM runs ORDER BY id DESC"
                                " LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
    seterr(err, cap, c->path, "stats query failed", c->db);
    return -1;
  }
  if (sqlite3_step(st) == SQLITE_ROW) {
    s->last_hits = sqlite3_column_int64(st, 0);
    s->last_misses = sqlite3_column_int64(st, 1);
    s->last_writes = sqlite3_column_int64(st, 2);
    s->last_time = sqlite3_column_double(st, 3);
  }
  sqlite3_finalize(st);
  return 0;
}

int cache_note_run(struct cache *c, long long hits, long long misses, long long writes,
                   char *err, size_t cap)
{
  sqlite3_reset(c->note);
  sqlite3_bind_double(c->note, 1, now());
  sqlite3_bind_int64(c->note, 2, hits);
  sqlite3_bind_int64(c->note, 3, misses);
  sqlite3_bind_int64(c->note, 4, writes);
  int rc = sqlite3_step(c->note);
  sqlite3_reset(c->note);
  if (rc != SQLITE_DONE) {
    seterr(err, cap, c->path, "write failed", c->db);
    return -1;
  }
  char sql[160];
  snprintf(sql, sizeof sql,
           "DELETE FROM runs WHERE id <= (SELECT max(id) FROM runs) - %d", CACHE_KEEP_RUNS);
  if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
    seterr(err, cap, c->path, "write failed", c->db);
    return -1;
  }
  return 0;
}

int cache_begin(struct cache *c, char *err, size_t cap)
{
  if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    seterr(err, cap, c->path, "cannot start a write", c->db);
    return -1;
  }
  return 0;
}

int cache_commit(struct cache *c, char *err, size_t cap)
{
  if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    seterr(err, cap, c->path, "commit failed", c->db);
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
  }
  return 0;
}

/* ---- canonical JSON ---- */

int cache_canonical_json(const char *src, size_t len, json_buf *out, char *err, size_t cap)
{
  json_value v = {0};
  char perr[200];
  if (json_parse(src, len, &v, perr, sizeof perr) < 0) {
    if (err && cap) snprintf(err, cap, "%s", perr);
    return -1;
  }
  int rc = json_write(out, &v, JSON_CANONICAL);
  json_value_free(&v);
  if (rc < 0 || out->oom) {
    if (err && cap) snprintf(err, cap, "out of memory");
    return -1;
  }
  return 0;
}

long long cache_clear(struct cache *c, char *err, size_t cap)
{
  long long n;
  if (query_ints(c, "SELECT count(*) FROM responses", &n, 1, err, cap) < 0) return -1;
  if (sqlite3_exec(c->db, "BEGIN IMMEDIATE; DELETE FROM responses; DELETE FROM runs; COMMIT;",
                   NULL, NULL, NULL) != SQLITE_OK) {
    seterr(err, cap, c->path, "clear failed", c->db);
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
  }
  /* best effort: another process holding the file open makes these fail harmlessly */
  sqlite3_exec(c->db, "VACUUM", NULL, NULL, NULL);
  sqlite3_exec(c->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  return n;
}
