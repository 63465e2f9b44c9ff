/* cache.h: the response cache, one SQLite file shared by every evalua process
 * of a user. A row maps a request key (sha256 hex of the canonical request,
 * computed by the caller) to the response body text and its usage JSON.
 * WAL journal and a busy timeout make concurrent readers and writers safe.
 * The cache never sees credentials: callers hash requests with them removed. */
#ifndef EVALUA_CACHE_H
#define EVALUA_CACHE_H
#include <stddef.h>

#include "json.h"

struct cache;

struct cache_stats {
  long long entries;      /* responses stored */
  long long body_bytes;   /* sum of stored body and usage lengths */
  long long file_bytes;   /* database pages in use (page_count * page_size) */
  long long runs;         /* runs recorded with cache_note_run */
  long long hits, misses, writes;          /* summed over every recorded run */
  long long last_hits, last_misses, last_writes;
  double last_time;       /* epoch seconds of the last recorded run, 0 if none */
};

/* Opens (creating when absent) the cache database at path; the parent
 * directory must exist. Returns a handle the caller frees with cache_close, or
 * NULL with a message "cache: <path>: <reason>" written to err (cap bytes). */
struct cache *cache_open(const char *path, char *err, size_t cap);

/* Closes the database and frees the handle; NULL is a no-op. */
void cache_close(struct cache *c);

/* Looks key up. On a hit returns 1 and sets *body (len *blen) and *usage to
 * malloc'd NUL-terminated copies the caller frees; *usage may be NULL when
 * none was stored. Returns 0 on a miss, -1 on an error (message in err). */
int cache_get(struct cache *c, const char *key, char **body, size_t *blen, char **usage,
              char *err, size_t cap);

/* Stores (or replaces) the response for key. provider, model and usage may
 * be NULL. Returns 0, or -1 with a message in err. */
int cache_put(struct cache *c, const char *key, const char *provider, const char *model,
              const char *body, size_t blen, const char *usage, char *err, size_t cap);

/* Fills st. Returns 0, or -1 with a message in err. */
int cache_stats(struct cache *c, struct cache_stats *st, char *err, size_t cap);

/* Records one run's counters (kept for `evalua cache stats`; only the most
 * recent 100 runs are kept). Returns 0, or -1 with a message in err. */
int cache_note_run(struct cache *c, long long hits, long long misses, long long writes,
                   char *err, size_t cap);

/* Starts a write transaction so that a batch of cache_put calls costs one
 * commit. Returns 0, or -1 with a message in err. Hold it briefly: other
 * processes wait for it (up to the busy timeout). */
int cache_begin(struct cache *c, char *err, size_t cap);

/* Commits the transaction cache_begin started (rolls back when the commit
 * fails). Returns 0, or -1 with a message in err. */
int cache_commit(struct cache *c, char *err, size_t cap);

/* Writes the canonical form of the JSON text src[0..len) to out (a zeroed
 * json_buf the caller frees): object keys sorted bytewise, no whitespace,
 * whole numbers without a fraction ("0.0" and "0" are the same), other
 * numbers in their shortest exact form, strings re-escaped the same way
 * every time. Returns 0, or -1 with "line:col: message" in err. */
int cache_canonical_json(const char *src, size_t len, json_buf *out, char *err, size_t cap);

/* Deletes every stored response and run record and compacts the file.
 * Returns the number of responses removed, or -1 with a message in err. */
long long cache_clear(struct cache *c, char *err, size_t cap);

#endif
