/* test_http.c: the pure C parts of the scheduler (buckets, backoff, the
 * progress line) and the transfer engine against the loopback test server:
 * responses, retries, cancellation of running transfers, teardown with
 * transfers in flight (LeakSanitizer checks the frees). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "schedutil.h"

static void test_bucket(void)
{
  sched_bucket b;
  memset(&b, 0, sizeof b);
  uint64_t t = 1000000, wait = 0;
  sched_bucket_set(&b, 600, 0, 1.0, t); /* 10/s, bucket of 10 */
  int taken = 0;
  while (sched_bucket_take(&b, 0, t, &wait)) taken++;
  CHECK(taken == 10);
  CHECK(wait >= 99000 && wait <= 100001); /* one request per 100 ms */
  CHECK(!sched_bucket_take(&b, 0, t + 50000, &wait));
  CHECK(sched_bucket_take(&b, 0, t + 100000, &wait));
  /* tokens: 6000/min = 100/s, bucket of 100; a 250-token request waits for a
   * full bucket and then goes into debt */
  sched_bucket tb;
  memset(&tb, 0, sizeof tb);
  sched_bucket_set(&tb, 0, 6000, 1.0, t);
  CHECK(sched_bucket_take(&tb, 250, t, &wait));
  CHECK(!sched_bucket_take(&tb, 50, t, &wait));
  CHECK(wait >= 1990000 && wait <= 2000001); /* -150 + 50 needed: 2 s */
  /* unlimited */
  sched_bucket u;
  memset(&u, 0, sizeof u);
  sched_bucket_set(&u, 0, 0, 1.0, t);
  for (int i = 0; i < 1000; i++) CHECK(sched_bucket_take(&u, 1e6, t, &wait) || i < 0);
}

static void test_backoff(void)
{
  uint64_t rng = sched_rand_seed(42);
  for (int i = 0; i < 200; i++) {
    long d1 = sched_backoff_ms(1, 100, 10000, -1, &rng);
    long d3 = sched_backoff_ms(3, 100, 10000, -1, &rng);
    long dmax = sched_backoff_ms(20, 100, 10000, -1, &rng);
    long ra = sched_backoff_ms(1, 100, 10000, 2000, &rng);
    CHECK(d1 >= 50 && d1 <= 100);
    CHECK(d3 >= 200 && d3 <= 400);
    CHECK(dmax >= 5000 && dmax <= 10000);
    CHECK(ra >= 2000 && ra <= 2200); /* never before Retry-After */
  }
}

static void test_progress_line(void)
{
  char buf[256];
  sched_progress p = { 50, 200, 100, 8, 3, 1, 12345, 1, 10.0, NULL };
  sched_progress_line(buf, sizeof buf, &p, 0);
  CHECK_STR(buf, "rows 50/200 (25%)  10 req/s  8 in flight  3 retries  ~12.3k tokens  10.0s  eta 30.0s");
  sched_progress_line(buf, sizeof buf, &p, 1);
  CHECK_STR(buf, "evalua: 50 rows in 10.0s: 100 requests (10/s), 3 retries, 1 failed, ~12.3k tokens");
  /* evaluate labels the phase and the metrics */
  p.label = "predict 50/200 \xc2\xb7 judge fluency 20/200";
  sched_progress_line(buf, sizeof buf, &p, 0);
  CHECK_STR(buf, "predict 50/200 \xc2\xb7 judge fluency 20/200  10 req/s  8 in flight  3 retries  1 failed  "
                 "~12.3k tokens  10.0s  eta 30.0s");
  sched_progress_line(buf, sizeof buf, &p, 1);
  CHECK_STR(buf, "evalua: predict 50/200 \xc2\xb7 judge fluency 20/200 in 10.0s: 100 requests (10/s), "
                 "3 retries, 1 failed, ~12.3k tokens");
}

/* ---- the engine against evalua-testserver ---- */

static pid_t server_pid;
static char base_url[64];

static int start_server(const char *extra_latency)
{
  const char *bdir = getenv("EVALUA_BUILD_DIR");
  char bin[1024], pf[] = "/tmp/evalua-test-http-XXXXXX";
  snprintf(bin, sizeof bin, "%s/evalua-testserver", bdir ? bdir : "build");
  int fd = mkstemp(pf);
  if (fd < 0) return -1;
  close(fd);
  unlink(pf);
  server_pid = fork();
  if (server_pid == 0) {
    execl(bin, bin, "--port", "0", "--port-file", pf, "--max-seconds", "60", "--latency-ms",
          extra_latency, "--stall-ms", "5000", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 500; i++) {
    FILE *f = fopen(pf, "r");
    int port = 0;
    if (f) {
      if (fscanf(f, "%d", &port) != 1) port = 0;
      fclose(f);
    }
    if (port) {
      unlink(pf);
      snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", port);
      return 0;
    }
    usleep(20000);
  }
  return -1;
}

static void stop_server(void)
{
  if (server_pid > 0) {
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    server_pid = 0;
  }
}

/* Runs the engine until every transfer has finished or 10 s passed. */
static int run_until_idle(http_engine *e, http_xfer **done, int cap)
{
  int n = 0;
  char err[256];
  uint64_t t0 = sched_now_us();
  for (;;) {
    http_xfer *x;
    while ((x = http_next_done(e))) {
      if (n < cap) done[n++] = x;
      else http_xfer_free(e, x);
    }
    if (http_pending(e) == 0 || sched_now_us() - t0 > 10000000) break;
    if (http_step(e, 100, err, sizeof err)) {
      fprintf(stderr, "http_step: %s\n", err);
      return -1;
    }
  }
  return n;
}

static http_xfer *submit(http_engine *e, const char *path, const char *body, const char *h1,
                         void *owner)
{
  char url[256], err[256];
  snprintf(url, sizeof url, "%s%s", base_url, path);
  const char *hdrs[1] = { h1 };
  http_req r = { 0 };
  r.url = url;
  r.body = body;
  r.body_len = body ? strlen(body) : 0;
  r.headers = hdrs;
  r.nheaders = h1 ? 1 : 0;
  http_xfer *x = http_submit(e, &r, owner, err, sizeof err);
  if (!x) fprintf(stderr, "submit: %s\n", err);
  return x;
}

/* A counter from the server's /stats, fetched through the engine while
 * other transfers may still be pending. */
static long stat_of(http_engine *e, const char *name)
{
  http_xfer *sx = submit(e, "/stats", NULL, NULL, NULL), *got = NULL;
  char err[256];
  uint64_t t0 = sched_now_us();
  while (!got && sched_now_us() - t0 < 10000000) {
    if (http_step(e, 50, err, sizeof err)) return -1;
    http_xfer *x;
    while ((x = http_next_done(e))) {
      if (x == sx) got = x;
      else http_xfer_free(e, x);
    }
  }
  if (!got) return -1;
  size_t len;
  const char *body = http_xfer_body(got, &len);
  char key[64];
  snprintf(key, sizeof key, "\"%s\":", name);
  const char *p = strstr(body, key);
  long v = p ? strtol(p + strlen(key), NULL, 10) : -1;
  http_xfer_free(e, got);
  return v;
}

static void test_engine(void)
{
  if (start_server("0")) {
    CHECK(!"test server did not start");
    return;
  }
  http_config cfg;
  http_config_default(&cfg);
  cfg.concurrency = 4;
  cfg.backoff_base_ms = 5;
  cfg.backoff_max_ms = 20;
  char err[256];
  http_engine *e = http_new(&cfg, err, sizeof err);
  CHECK(e != NULL);
  if (!e) return;

  /* plain requests, owners come back */
  static int owners[20];
  const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  for (int i = 0; i < 20; i++) submit(e, "/v1/chat/completions", body, NULL, &owners[i]);
  http_xfer *done[32];
  int n = run_until_idle(e, done, 32);
  CHECK(n == 20);
  int seen = 0;
  for (int i = 0; i < n; i++) {
    size_t len;
    CHECK(http_xfer_error(done[i]) == NULL);
    CHECK(http_xfer_status(done[i]) == 200);
    CHECK(strstr(http_xfer_body(done[i], &len), "reply to: hi") != NULL);
    CHECK(strstr(http_xfer_headers(done[i], &len), "Content-Type: application/json") != NULL);
    int *o = http_xfer_owner(done[i]);
    CHECK(o >= owners && o < owners + 20);
    seen++;
    http_xfer_free(e, done[i]);
  }
  CHECK(seen == 20);
  http_stats st;
  http_get_stats(e, &st);
  CHECK(st.requests == 20 && st.completed == 20 && st.inflight == 0);
  CHECK(st.inflight_peak == 4);

  /* a retried 503 gives up with the attempts and the server's message */
  cfg.max_attempts = 3;
  http_configure(e, &cfg);
  submit(e, "/v1/chat/completions", body, "x-evalua-fault: 503", NULL);
  n = run_until_idle(e, done, 1);
  CHECK(n == 1);
  if (n == 1) {
    char want[256];
    snprintf(want, sizeof want,
             "http.request: POST %s/v1/chat/completions: gave up after 3 attempts "
             "(last: HTTP 503: The server is overloaded)", base_url);
    CHECK_STR(http_xfer_error(done[0]), want);
    CHECK(http_xfer_attempts(done[0]) == 3);
    http_xfer_free(e, done[0]);
  }

  /* cancelling a running transfer: curl drops the connection */
  http_xfer *x = submit(e, "/v1/chat/completions", body, "x-evalua-fault: stall", NULL);
  for (int i = 0; i < 20; i++) http_step(e, 10, err, sizeof err);
  http_get_stats(e, &st);
  CHECK(st.inflight == 1);
  CHECK(stat_of(e, "inflight") == 1); /* the server holds it */
  http_cancel(e, x);
  CHECK(http_pending(e) == 0);
  long aborts = 0;
  for (int i = 0; i < 40 && aborts != 1; i++) { /* the server notices soon */
    usleep(50000);
    aborts = stat_of(e, "client_aborts");
  }
  CHECK(aborts == 1);

  /* a sleep completes after its time, with its owner */
  uint64_t t0 = sched_now_us();
  http_sleep(e, 50, owners);
  n = run_until_idle(e, done, 1);
  CHECK(n == 1 && http_xfer_is_sleep(done[0]) && http_xfer_owner(done[0]) == owners);
  CHECK(sched_now_us() - t0 >= 50000);
  if (n == 1) http_xfer_free(e, done[0]);

  /* fail_all ends queued and running requests with the message */
  for (int i = 0; i < 6; i++) submit(e, "/v1/chat/completions", body, "x-evalua-fault: stall", NULL);
  http_step(e, 10, err, sizeof err);
  http_fail_all(e, "stopped: bad key");
  n = run_until_idle(e, done, 8);
  CHECK(n == 6);
  for (int i = 0; i < n; i++) {
    CHECK_STR(http_xfer_error(done[i]), "stopped: bad key");
    http_xfer_free(e, done[i]);
  }

  /* bad requests are refused at submit */
  http_req bad = { 0 };
  bad.url = "file:///etc/passwd";
  CHECK(http_submit(e, &bad, NULL, err, sizeof err) == NULL);
  CHECK(strstr(err, "http:// or https://") != NULL);
  bad.url = base_url;
  bad.method = "get";
  CHECK(http_submit(e, &bad, NULL, err, sizeof err) == NULL);
  CHECK_STR(err, "http.request: bad method 'get'");

  /* teardown with transfers queued, running, waiting and sleeping */
  for (int i = 0; i < 10; i++) submit(e, "/v1/chat/completions", body, "x-evalua-fault: stall", NULL);
  submit(e, "/v1/chat/completions", body, "x-evalua-fault: 500", NULL);
  http_sleep(e, 10000, NULL);
  for (int i = 0; i < 10; i++) http_step(e, 5, err, sizeof err);
  http_free(e);
  stop_server();
}

int main(void)
{
  test_bucket();
  test_backoff();
  test_progress_line();
  test_engine();
  return check_done();
}
