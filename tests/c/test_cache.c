/* test_cache.c: the SQLite response cache (engine/cache.c) without Lua. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache.h"
#include "check.h"

static char dir[] = "/tmp/evalua-cache-test.XXXXXX";

static void path_in(char *buf, size_t cap, const char *name)
{
  snprintf(buf, cap, "%s/%s", dir, name);
}

static void test_roundtrip(void)
{
  char path[256], err[512];
  path_in(path, sizeof path, "a.db");
  struct cache *c = cache_open(path, err, sizeof err);
  CHECK(c != NULL);
  if (!c) return;
  char *body, *usage;
  size_t blen;
  CHECK(cache_get(c, "k1", &body, &blen, &usage, err, sizeof err) == 0);
  CHECK(body == NULL && usage == NULL);
  /* a body with an embedded NUL survives byte for byte */
  const char bin[] = "{\"a\":1}\0tail";
  CHECK(cache_put(c, "k1", "openai", "gpt-x", bin, sizeof bin - 1, "{\"prompt_tokens\":3}", err,
                  sizeof err) == 0);
  CHECK(cache_get(c, "k1", &body, &blen, &usage, err, sizeof err) == 1);
  CHECK(blen == sizeof bin - 1);
  CHECK(body && memcmp(body, bin, blen) == 0);
  CHECK_STR(usage, "{\"prompt_tokens\":3}");
  free(body);
  free(usage);
  /* replace, without usage */
  CHECK(cache_put(c, "k1", NULL, NULL, "second", 6, NULL, err, sizeof err) == 0);
  CHECK(cache_get(c, "k1", &body, &blen, &usage, err, sizeof err) == 1);
  CHECK_STR(body, "second");
  CHECK(usage == NULL);
  free(body);
  CHECK(cache_put(c, "k2", "anthropic", "claude", "", 0, NULL, err, sizeof err) == 0);
  CHECK(cache_get(c, "k2", &body, &blen, &usage, err, sizeof err) == 1);
  CHECK(blen == 0 && body && body[0] == '\0');
  free(body);

  struct cache_stats s;
  CHECK(cache_stats(c, &s, err, sizeof err) == 0);
  CHECK(s.entries == 2);
  CHECK(s.body_bytes == 6);
  CHECK(s.file_bytes > 0);
  CHECK(s.runs == 0 && s.last_time == 0);

  CHECK(cache_note_run(c, 5, 2, 2, err, sizeof err) == 0);
  CHECK(cache_note_run(c, 7, 0, 0, err, sizeof err) == 0);
  CHECK(cache_stats(c, &s, err, sizeof err) == 0);
  CHECK(s.runs == 2 && s.hits == 12 && s.misses == 2 && s.writes == 2);
  CHECK(s.last_hits == 7 && s.last_misses == 0 && s.last_time > 1e9);
  for (int i = 0; i < 120; i++) cache_note_run(c, 1, 0, 0, err, sizeof err);
  CHECK(cache_stats(c, &s, err, sizeof err) == 0);
  CHECK(s.runs == 100);

  CHECK(cache_clear(c, err, sizeof err) == 2);
  CHECK(cache_stats(c, &s, err, sizeof err) == 0);
  CHECK(s.entries == 0 && s.runs == 0);
  CHECK(cache_get(c, "k1", &body, &blen, &usage, err, sizeof err) == 0);
  cache_close(c);
  cache_close(NULL);
}

/* a second connection (another process in real use) sees the first one's writes */
static void test_shared(void)
{
  char path[256], err[512];
  path_in(path, sizeof path, "shared.db");
  struct cache *a = cache_open(path, err, sizeof err);
  struct cache *b = cache_open(path, err, sizeof err);
  CHECK(a && b);
  if (!a || !b) { cache_close(a); cache_close(b); return; }
  CHECK(cache_put(a, "x", "p", "m", "from a", 6, NULL, err, sizeof err) == 0);
  char *body, *usage;
  size_t blen;
  CHECK(cache_get(b, "x", &body, &blen, &usage, err, sizeof err) == 1);
  CHECK_STR(body, "from a");
  free(body);
  cache_close(a);
  cache_close(b);
  /* several processes writing at once: every write lands */
  for (int p = 0; p < 4; p++) {
    pid_t pid = fork();
    if (pid == 0) {
      struct cache *c = cache_open(path, err, sizeof err);
      int bad = !c;
      for (int i = 0; c && i < 200; i++) {
        char key[32];
        snprintf(key, sizeof key, "p%d-%d", p, i);
        if (cache_put(c, key, "p", "m", key, strlen(key), NULL, err, sizeof err) < 0) bad = 1;
      }
      cache_close(c);
      _exit(bad);
    }
  }
  int failures = 0, st;
  while (wait(&st) > 0)
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failures++;
  CHECK(failures == 0);
  struct cache *c = cache_open(path, err, sizeof err);
  struct cache_stats s;
  CHECK(c && cache_stats(c, &s, err, sizeof err) == 0 && s.entries == 801);
  cache_close(c);
}

static void test_errors(void)
{
  char path[256], err[512];
  struct cache *c = cache_open("/nonexistent-dir/x/cache.db", err, sizeof err);
  CHECK(c == NULL);
  CHECK(strstr(err, "cache: /nonexistent-dir/x/cache.db: cannot open") == err);
  path_in(path, sizeof path, "junk.db");
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    for (int i = 0; i < 64; i++) fputs("this is not a database file. ", f);
    fclose(f);
  }
  c = cache_open(path, err, sizeof err);
  CHECK(c == NULL);
  CHECK(strstr(err, "junk.db: not a usable cache database") != NULL);
}

static void test_canonical(void)
{
  static const char *const cases[][2] = {
    {"{\"b\": 1, \"a\": [1, 2.0, 2.5, -0.0, 1e2], \"c\": {\"z\": null, \"y\": true}}",
     "{\"a\":[1,2,2.5,0,100],\"b\":1,\"c\":{\"y\":true,\"z\":null}}"},
    {" \"x\\u0041\\n\" ", "\"xA\\n\""},
    {"{\"ab\":1,\"a\":2,\"\":3}", "{\"\":3,\"a\":2,\"ab\":1}"},
    {"[]", "[]"},
    {"{}", "{}"},
    {"0.1", "0.1"},
    {"123456789012345678", "123456789012345678"},
    {"[false,\"\\u00e9\"]", "[false,\"\xc3\xa9\"]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_buf b = {0};
    char err[200];
    CHECK(cache_canonical_json(cases[i][0], strlen(cases[i][0]), &b, err, sizeof err) == 0);
    CHECK_STR(b.p, cases[i][1]);
    json_buf_free(&b);
  }
  json_buf b = {0};
  char err[200];
  CHECK(cache_canonical_json("{\"a\":", 5, &b, err, sizeof err) == -1);
  CHECK(strstr(err, "1:6") == err);
  json_buf_free(&b);
}

static void test_batch(void)
{
  char path[256], err[512];
  path_in(path, sizeof path, "batch.db");
  struct cache *c = cache_open(path, err, sizeof err);
  struct cache *other = cache_open(path, err, sizeof err);
  CHECK(c && other);
  if (!c || !other) { cache_close(c); cache_close(other); return; }
  CHECK(cache_begin(c, err, sizeof err) == 0);
  for (int i = 0; i < 50; i++) {
    char key[16];
    snprintf(key, sizeof key, "b%d", i);
    CHECK(cache_put(c, key, "p", "m", key, strlen(key), NULL, err, sizeof err) == 0);
  }
  char *body, *usage;
  size_t blen;
  /* not visible to another connection before the commit */
  CHECK(cache_get(other, "b7", &body, &blen, &usage, err, sizeof err) == 0);
  CHECK(cache_commit(c, err, sizeof err) == 0);
  CHECK(cache_get(other, "b7", &body, &blen, &usage, err, sizeof err) == 1);
  CHECK_STR(body, "b7");
  free(body);
  CHECK(cache_commit(c, err, sizeof err) == -1); /* no transaction open */
  CHECK(strstr(err, "commit failed") != NULL);
  cache_close(c);
  cache_close(other);
}

int main(void)
{
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  test_roundtrip();
  test_shared();
  test_errors();
  test_canonical();
  test_batch();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return check_done();
}
