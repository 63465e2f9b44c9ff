/* test_store.c: the run store (schema, typed round trips, statement cache,
 * transactions, concurrent writer processes, a writer killed with SIGKILL)
 * and the comparison statistics (splitmix64, paired bootstrap). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "stats.h"
#include "store.h"

static char dir[] = "/tmp/evalua-test-store.XXXXXX";
static char err[512];

static struct store_value I(long long i) { struct store_value v = {STORE_INT, i, 0, NULL, 0}; return v; }
static struct store_value R(double d) { struct store_value v = {STORE_REAL, 0, d, NULL, 0}; return v; }
static struct store_value T(const char *s) { struct store_value v = {STORE_TEXT, 0, 0, s, strlen(s)}; return v; }
static struct store_value N(void) { struct store_value v = {STORE_NULL, 0, 0, NULL, 0}; return v; }

static int count_cb(void *ud, int ncol, const char *const *names, const struct store_value *v)
{
  (void)ncol; (void)names;
  *(long long *)ud = v[0].i;
  return 0;
}

static long long count(struct store *st, const char *sql)
{
  long long n = -1;
  if (store_query(st, sql, NULL, 0, count_cb, &n, err, sizeof err) < 0) fprintf(stderr, "%s\n", err);
  return n;
}

struct got {
  int rows;
  int types[8];
  long long i;
  double d;
  char text[64];
  size_t n;
  char names[8][32];
};

static int grab(void *ud, int ncol, const char *const *names, const struct store_value *v)
{
  struct got *g = ud;
  g->rows++;
  for (int c = 0; c < ncol && c < 8; c++) {
    g->types[c] = v[c].type;
    snprintf(g->names[c], sizeof g->names[c], "%s", names[c]);
    if (v[c].type == STORE_INT) g->i = v[c].i;
    if (v[c].type == STORE_REAL) g->d = v[c].d;
    if ((v[c].type == STORE_TEXT || v[c].type == STORE_BLOB) && v[c].n < sizeof g->text) {
      memcpy(g->text, v[c].s, v[c].n);
      g->n = v[c].n;
    }
  }
  return 0;
}

static void path_in(char *buf, size_t cap, const char *name)
{
  snprintf(buf, cap, "%s/%s", dir, name);
}

static void test_schema(void)
{
  char p[256];
  path_in(p, sizeof p, "a.db");
  struct store *st = store_open(p, 5000, err, sizeof err);
  CHECK(st != NULL);
  if (!st) return;
  CHECK(store_schema_version(st) == STORE_SCHEMA_VERSION);
  CHECK_STR(store_path(st), p);
  CHECK(count(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                  " ('experiments','runs','params','metrics','cells','result_tables',"
                  "'table_columns','artifacts','accounting','tags')") == 10);
  struct got g = {0};
  CHECK(store_query(st, "PRAGMA journal_mode", NULL, 0, grab, &g, err, sizeof err) == 1);
  CHECK(g.n == 3 && memcmp(g.text, "wal", 3) == 0);
  store_close(st);

  /* a file from a newer evalua is refused with a clear message */
  st = store_open(p, 5000, err, sizeof err);
  CHECK(store_exec(st, "PRAGMA user_version = 99", err, sizeof err) == 0);
  store_close(st);
  st = store_open(p, 5000, err, sizeof err);
  CHECK(st == NULL);
  CHECK(strstr(err, "schema version 99 is newer than this evalua knows (1)") != NULL);
  CHECK(strncmp(err, "store: ", 7) == 0);
  store_close(st);

  /* a directory that does not exist */
  st = store_open("/nonexistent-dir/x.db", 100, err, sizeof err);
  CHECK(st == NULL);
  CHECK(strncmp(err, "store: /nonexistent-dir/x.db: ", 30) == 0);
}

static void test_values(void)
{
  char p[256];
  path_in(p, sizeof p, "b.db");
  struct store *st = store_open(p, 5000, err, sizeof err);
  CHECK(st != NULL);
  if (!st) return;
  const char *ins = "INSERT INTO cells(run_id, key, row, kind, value) VALUES (?, ?, ?, ?, ?)";
  struct store_value p1[] = {T("r"), T("k"), I(1), N(), I(-42)};
  CHECK(store_query(st, ins, p1, 5, NULL, NULL, err, sizeof err) == 0);
  CHECK(store_changes(st) == 1);
  struct store_value p2[] = {T("r"), T("k"), I(2), N(), R(0.1 + 0.2)};
  CHECK(store_query(st, ins, p2, 5, NULL, NULL, err, sizeof err) == 0);
  struct store_value txt = {STORE_TEXT, 0, 0, "a\0b", 3};
  struct store_value p3[] = {T("r"), T("k"), I(3), T("j"), txt};
  CHECK(store_query(st, ins, p3, 5, NULL, NULL, err, sizeof err) == 0);
  struct store_value blob = {STORE_BLOB, 0, 0, "\x00\xff\x01", 3};
  struct store_value p4[] = {T("r"), T("k"), I(4), N(), blob};
  CHECK(store_query(st, ins, p4, 5, NULL, NULL, err, sizeof err) == 0);
  struct store_value p5[] = {T("r"), T("k"), I(5), N(), N()};
  CHECK(store_query(st, ins, p5, 5, NULL, NULL, err, sizeof err) == 0);

  const char *sel = "SELECT value AS v, kind FROM cells WHERE run_id = 'r' AND key = 'k' AND row = ?";
  struct got g;
  struct store_value q[1];
  memset(&g, 0, sizeof g); q[0] = I(1);
  CHECK(store_query(st, sel, q, 1, grab, &g, err, sizeof err) == 1);
  CHECK(g.types[0] == STORE_INT && g.i == -42 && g.types[1] == STORE_NULL);
  CHECK_STR(g.names[0], "v");
  memset(&g, 0, sizeof g); q[0] = I(2);
  CHECK(store_query(st, sel, q, 1, grab, &g, err, sizeof err) == 1);
  CHECK(g.types[0] == STORE_REAL && g.d == 0.1 + 0.2); /* exact double */
  memset(&g, 0, sizeof g); q[0] = I(3);
  CHECK(store_query(st, "SELECT value FROM cells WHERE row = ?", q, 1, grab, &g, err, sizeof err) == 1);
  CHECK(g.types[0] == STORE_TEXT && g.n == 3 && memcmp(g.text, "a\0b", 3) == 0);
  memset(&g, 0, sizeof g); q[0] = I(4);
  CHECK(store_query(st, "SELECT value FROM cells WHERE row = ?", q, 1, grab, &g, err, sizeof err) == 1);
  CHECK(g.types[0] == STORE_BLOB && g.n == 3 && memcmp(g.text, "\x00\xff\x01", 3) == 0);
  memset(&g, 0, sizeof g); q[0] = I(5);
  CHECK(store_query(st, "SELECT value FROM cells WHERE row = ?", q, 1, grab, &g, err, sizeof err) == 1);
  CHECK(g.types[0] == STORE_NULL);
  /* no row */
  memset(&g, 0, sizeof g); q[0] = I(99);
  CHECK(store_query(st, sel, q, 1, grab, &g, err, sizeof err) == 0 && g.rows == 0);

  /* errors: parameter count, bad SQL, a constraint */
  CHECK(store_query(st, sel, NULL, 0, grab, &g, err, sizeof err) == -1);
  CHECK_STR(err, "store: statement takes 1 parameters, got 0");
  CHECK(store_query(st, "SELEC nothing", NULL, 0, NULL, NULL, err, sizeof err) == -1);
  CHECK(strstr(err, "syntax error") != NULL);
  CHECK(store_query(st, ins, p1, 5, NULL, NULL, err, sizeof err) == -1);
  CHECK(strstr(err, "UNIQUE constraint failed") != NULL);
  /* after an error the cached statement still works */
  memset(&g, 0, sizeof g); q[0] = I(1);
  CHECK(store_query(st, sel, q, 1, grab, &g, err, sizeof err) == 1 && g.i == -42);

  /* more distinct statements than the cache holds, then the first again */
  for (int i = 0; i < 120; i++) {
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %d + ?", i);
    struct store_value one = I(1);
    memset(&g, 0, sizeof g);
    CHECK(store_query(st, sql, &one, 1, grab, &g, err, sizeof err) == 1);
    if (g.i != i + 1) { CHECK(g.i == i + 1); break; }
  }
  memset(&g, 0, sizeof g); q[0] = I(2);
  CHECK(store_query(st, sel, q, 1, grab, &g, err, sizeof err) == 1 && g.types[0] == STORE_REAL);
  store_close(st);
}

static void test_transactions(void)
{
  char p[256];
  path_in(p, sizeof p, "c.db");
  struct store *st = store_open(p, 5000, err, sizeof err);
  CHECK(st != NULL);
  if (!st) return;
  const char *ins = "INSERT INTO params(run_id, key, value) VALUES ('r', ?, 'v')";
  CHECK(store_begin(st, err, sizeof err) == 0);
  CHECK(store_in_transaction(st));
  CHECK(store_begin(st, err, sizeof err) == -1);
  CHECK_STR(err, "store: a transaction is already open");
  struct store_value k = T("a");
  CHECK(store_query(st, ins, &k, 1, NULL, NULL, err, sizeof err) == 0);
  CHECK(store_rollback(st, err, sizeof err) == 0);
  CHECK(count(st, "SELECT count(*) FROM params") == 0);
  CHECK(store_begin(st, err, sizeof err) == 0);
  CHECK(store_query(st, ins, &k, 1, NULL, NULL, err, sizeof err) == 0);
  CHECK(store_commit(st, err, sizeof err) == 0);
  CHECK(!store_in_transaction(st));
  CHECK(store_commit(st, err, sizeof err) == -1);
  CHECK(count(st, "SELECT count(*) FROM params") == 1);
  /* closing with an open transaction rolls it back */
  CHECK(store_begin(st, err, sizeof err) == 0);
  k = T("b");
  CHECK(store_query(st, ins, &k, 1, NULL, NULL, err, sizeof err) == 0);
  store_close(st);
  st = store_open(p, 5000, err, sizeof err);
  CHECK(count(st, "SELECT count(*) FROM params") == 1);
  store_close(st);
}

/* several processes write into one store at once: every write lands */
static void test_concurrent_writers(void)
{
  char p[256];
  path_in(p, sizeof p, "d.db");
  enum { PROCS = 4, ROWS = 150 };
  pid_t kids[PROCS];
  for (int k = 0; k < PROCS; k++) {
    kids[k] = fork();
    if (kids[k] == 0) {
      char e[512];
      struct store *st = store_open(p, 20000, e, sizeof e);
      if (!st) { fprintf(stderr, "child: %s\n", e); _exit(2); }
      const char *ins = "INSERT INTO cells(run_id, key, row, kind, value) VALUES ('r', ?, ?, NULL, ?)";
      char key[16];
      snprintf(key, sizeof key, "k%d", k);
      for (int r = 1; r <= ROWS; r++) {
        struct store_value ps[] = {T(key), I(r), I(r * 10 + k)};
        int tx = r % 10 == 0; /* some in transactions, most in autocommit */
        if (tx && store_begin(st, e, sizeof e) != 0) { fprintf(stderr, "child: %s\n", e); _exit(3); }
        if (store_query(st, ins, ps, 3, NULL, NULL, e, sizeof e) != 0) { fprintf(stderr, "child: %s\n", e); _exit(4); }
        if (tx && store_commit(st, e, sizeof e) != 0) { fprintf(stderr, "child: %s\n", e); _exit(5); }
      }
      store_close(st);
      _exit(0);
    }
  }
  int all_ok = 1;
  for (int k = 0; k < PROCS; k++) {
    int status = 0;
    waitpid(kids[k], &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) all_ok = 0;
  }
  CHECK(all_ok);
  struct store *st = store_open(p, 5000, err, sizeof err);
  CHECK(st != NULL);
  if (!st) return;
  CHECK(count(st, "SELECT count(*) FROM cells") == PROCS * ROWS);
  CHECK(count(st, "SELECT count(DISTINCT key) FROM cells") == PROCS);
  CHECK(count(st, "SELECT sum(value) FROM cells WHERE key = 'k2'") == 10LL * ROWS * (ROWS + 1) / 2 + 2LL * ROWS);
  store_close(st);
}

/* a writer killed with SIGKILL loses none of the writes it reported done */
static void test_kill9(void)
{
  char p[256];
  path_in(p, sizeof p, "e.db");
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t kid = fork();
  if (kid == 0) {
    close(fds[0]);
    char e[512];
    struct store *st = store_open(p, 20000, e, sizeof e);
    if (!st) _exit(2);
    const char *ins = "INSERT INTO cells(run_id, key, row, kind, value) VALUES ('r', 'k', ?, NULL, ?)";
    for (long long r = 1;; r++) {
      struct store_value ps[] = {I(r), I(r * r)};
      if (store_query(st, ins, ps, 2, NULL, NULL, e, sizeof e) != 0) _exit(3);
      if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(4); /* r is committed */
    }
  }
  close(fds[1]);
  long long last = 0, r;
  while (last < 400 && read(fds[0], &r, sizeof r) == (ssize_t)sizeof r) last = r;
  kill(kid, SIGKILL);
  int status = 0;
  waitpid(kid, &status, 0);
  close(fds[0]);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  struct store *st = store_open(p, 5000, err, sizeof err);
  CHECK(st != NULL);
  if (!st) return;
  long long n = count(st, "SELECT count(*) FROM cells");
  CHECK(last >= 400);
  CHECK(n >= last);
  /* rows 1..n are all there, each with its value */
  CHECK(count(st, "SELECT count(*) FROM cells WHERE value = row * row") == n);
  CHECK(count(st, "SELECT max(row) FROM cells") == n);
  store_close(st);
}

static void test_random_hex(void)
{
  char a[33], b[33];
  CHECK(store_random_hex(a, 16) == 0);
  CHECK(store_random_hex(b, 16) == 0);
  CHECK(strlen(a) == 32 && strspn(a, "0123456789abcdef") == 32);
  CHECK(strcmp(a, b) != 0);
  CHECK(store_random_hex(a, 100) == -1);
}

static void test_stats(void)
{
  /* splitmix64 reference outputs for seed 0 */
  uint64_t s = 0;
  CHECK(stats_splitmix64(&s) == 0xe220a8397b1dcdafULL);
  CHECK(stats_splitmix64(&s) == 0x6e789e6aa1b965f4ULL);
  CHECK(stats_splitmix64(&s) == 0x06c45d188009454fULL);

  double x[] = {1, 2, 3, 4};
  CHECK_NUM(stats_quantile_sorted(x, 4, 0), 1, 0);
  CHECK_NUM(stats_quantile_sorted(x, 4, 1), 4, 0);
  CHECK_NUM(stats_quantile_sorted(x, 4, 0.5), 2.5, 1e-15);
  CHECK_NUM(stats_quantile_sorted(x, 4, 0.025), 1.075, 1e-15);

  struct stats_interval r;
  /* all differences equal: the interval is a point */
  double same[] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  CHECK(stats_paired_bootstrap(same, 7, 2000, 42, 0.95, &r) == 0);
  CHECK_NUM(r.mean, 0.5, 1e-15);
  CHECK(r.lo == r.hi);
  CHECK_NUM(r.lo, 0.5, 1e-15);

  /* B = 5, n = 4, seed 42: the resampled means are -0.25, 0, 0.25, 0.5,
   * 0.75 (worked out by hand from the splitmix64 stream), so the 95%
   * interval is -0.25 + 0.1*0.25 and 0.5 + 0.9*0.25 */
  double d[] = {1, 0, -1, 2};
  CHECK(stats_paired_bootstrap(d, 4, 5, 42, 0.95, &r) == 0);
  CHECK_NUM(r.mean, 0.5, 1e-15);
  CHECK_NUM(r.lo, -0.225, 1e-12);
  CHECK_NUM(r.hi, 0.725, 1e-12);

  /* the same call twice gives the same interval; another seed may not */
  double d2[] = {1, 0, 0, 1, 1, 2, 0, 1, 1, 1};
  struct stats_interval a, b;
  CHECK(stats_paired_bootstrap(d2, 10, 2000, 42, 0.95, &a) == 0);
  CHECK(stats_paired_bootstrap(d2, 10, 2000, 42, 0.95, &b) == 0);
  CHECK(a.lo == b.lo && a.hi == b.hi);
  CHECK_NUM(a.mean, 0.8, 1e-15);
  CHECK_NUM(a.lo, 0.4, 1e-12);
  CHECK_NUM(a.hi, 1.2, 1e-12);

  CHECK(stats_paired_bootstrap(d, 0, 100, 1, 0.95, &r) == -1);
  CHECK(stats_paired_bootstrap(d, 4, 0, 1, 0.95, &r) == -1);
  CHECK(stats_paired_bootstrap(d, 4, 10, 1, 1.0, &r) == -1);
}

int main(void)
{
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  test_schema();
  test_values();
  test_transactions();
  test_concurrent_writers();
  test_kill9();
  test_random_hex();
  test_stats();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return check_done();
}
