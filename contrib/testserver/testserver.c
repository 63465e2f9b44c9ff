/* evalua-testserver: a loopback OpenAI- and Anthropic-compatible server for
 * tests and benchmarks. One process, one thread, epoll, non-blocking sockets,
 * HTTP/1.1 keep-alive. Replies depend only on the request; latency is a
 * timer (never a sleep); faults are injected by rate and seed or forced by a
 * request header. Run with --help for the flags. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tsbatch.h"
#include "tsjson.h"
#include "judges.h"

#define MAX_REQUEST (256u << 20) /* a request larger than this gets 413 (batch files: 200 MB) */
#define ECHO_MAX 200             /* bytes of the user message echoed back */
#define MAX_FAULTS 16
#define MAX_PATHS 64

enum fault { F_NONE, F_429, F_500, F_503, F_RESET, F_STALL, F_MALFORMED, F_TRUNCATED, F_COUNT };
static const char *fault_names[F_COUNT] = { "none", "429", "500", "503", "reset",
                                            "stall", "malformed", "truncated" };

/* ---- options ---- */
static struct {
  int port;
  const char *port_file, *pid_file, *replies_file, *require_key, *log_file;
  long latency_ms, jitter_ms, stall_ms, retry_after_ms;
  long retry_after; /* seconds; -1 = no Retry-After header */
  uint64_t seed;
  double fault_rate;
  enum fault faults[MAX_FAULTS];
  int nfaults;
  double max_seconds;
} opt = { 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 30000, -1, -1, 1, 0.0, { F_NONE }, 0, 600 };

/* ---- replies rules ---- */
struct rule {
  char *match, *reply;
  int judge; /* also applies to judge prompts */
};
static struct rule *rules;
static size_t nrules;

/* ---- modes for the row pipeline's tests: a server that refuses structured
 * output (as OpenAI does for models without json_schema support) and a judge
 * that sometimes answers garbage the first time it is asked ---- */
static struct {
  int refuse_schema;     /* --refuse-json-schema 1: 400 on response_format json_schema */
  double judge_garbage;  /* --judge-garbage R: share of judge prompts answered garbage */
  long garbage_receipts; /* --garbage-receipts N: ... for their first N receipts */
  long seen;             /* receipts of the request being answered (set by handle) */
} modes = { 0, 0.0, 1, 0 };

/* ---- counters ---- */
struct keyent {
  uint64_t hash;
  long count;
  uint64_t last_us;
  int64_t min_gap_us; /* -1 until a second arrival */
};
static struct {
  long requests, other_requests, bad_requests, client_aborts;
  long inflight, inflight_peak;
  long conns_total, conns_open, conns_peak;
  long fault_counter; /* drives the fault PRNG; reset by POST /reset */
  long faults[F_COUNT];
  long status[600];
  struct { char *path; long count; } paths[MAX_PATHS];
  int npaths;
  long paths_other;
  struct keyent *keys;
  size_t nkeys, keycap;
  long repeated_keys, max_key_count;
  uint64_t bytes_in, bytes_out;
} st;

static FILE *logf;
static uint64_t start_us;

static uint64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 0x100000001b3ull;
  }
  return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

static uint64_t splitmix(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
static double unit(uint64_t x) { return (double)(x >> 11) * (1.0 / 9007199254740992.0); }

/* ---- the per-request key table: how often each request was received ---- */
static struct keyent *key_slot(uint64_t h)
{
  if (st.nkeys * 2 >= st.keycap) {
    size_t cap = st.keycap ? st.keycap * 2 : 1024;
    struct keyent *k = calloc(cap, sizeof *k);
    if (!k) abort();
    for (size_t i = 0; i < st.keycap; i++) {
      if (!st.keys[i].count) continue;
      size_t j = st.keys[i].hash & (cap - 1);
      while (k[j].count) j = (j + 1) & (cap - 1);
      k[j] = st.keys[i];
    }
    free(st.keys);
    st.keys = k;
    st.keycap = cap;
  }
  size_t j = h & (st.keycap - 1);
  while (st.keys[j].count && st.keys[j].hash != h) j = (j + 1) & (st.keycap - 1);
  return &st.keys[j];
}

static long key_count(uint64_t h, uint64_t t)
{
  struct keyent *k = key_slot(h);
  if (!k->count) {
    k->hash = h;
    k->min_gap_us = -1;
    st.nkeys++;
  } else {
    int64_t gap = (int64_t)(t - k->last_us);
    if (k->min_gap_us < 0 || gap < k->min_gap_us) k->min_gap_us = gap;
    if (k->count == 1) st.repeated_keys++;
  }
  k->count++;
  k->last_us = t;
  if (k->count > st.max_key_count) st.max_key_count = k->count;
  return k->count;
}

static void count_path(const char *path)
{
  for (int i = 0; i < st.npaths; i++)
    if (!strcmp(st.paths[i].path, path)) { st.paths[i].count++; return; }
  if (st.npaths == MAX_PATHS) { st.paths_other++; return; }
  st.paths[st.npaths].path = strdup(path);
  st.paths[st.npaths++].count = 1;
}

static void stats_reset(void)
{
  for (int i = 0; i < st.npaths; i++) free(st.paths[i].path);
  free(st.keys);
  long inflight = st.inflight, open = st.conns_open;
  memset(&st, 0, sizeof st);
  st.inflight = st.inflight_peak = inflight;
  st.conns_open = st.conns_peak = open;
}

static void stats_json(tsbuf *b, int with_keys)
{
  tsbuf_printf(b, "{\"requests\":%ld,\"other_requests\":%ld,\"bad_requests\":%ld,"
               "\"client_aborts\":%ld,\"inflight\":%ld,\"inflight_peak\":%ld,"
               "\"connections\":%ld,\"connections_open\":%ld,\"connections_peak\":%ld,"
               "\"bytes_in\":%llu,\"bytes_out\":%llu,\"distinct_keys\":%zu,"
               "\"repeated_keys\":%ld,\"max_key_count\":%ld,\"uptime_ms\":%llu,\"paths\":{",
               st.requests, st.other_requests, st.bad_requests, st.client_aborts, st.inflight,
               st.inflight_peak, st.conns_total, st.conns_open, st.conns_peak,
               (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out, st.nkeys,
               st.repeated_keys, st.max_key_count,
               (unsigned long long)((now_us() - start_us) / 1000));
  for (int i = 0; i < st.npaths; i++) {
    if (i) tsbuf_adds(b, ",");
    tsbuf_json_str(b, st.paths[i].path, strlen(st.paths[i].path));
    tsbuf_printf(b, ":%ld", st.paths[i].count);
  }
  if (st.paths_other) tsbuf_printf(b, "%s\"(other)\":%ld", st.npaths ? "," : "", st.paths_other);
  tsbuf_adds(b, "},\"status\":{");
  int first = 1;
  for (int i = 0; i < 600; i++) {
    if (!st.status[i]) continue;
    tsbuf_printf(b, "%s\"%d\":%ld", first ? "" : ",", i, st.status[i]);
    first = 0;
  }
  tsbuf_adds(b, "},\"faults\":{");
  first = 1;
  for (int i = 1; i < F_COUNT; i++) {
    tsbuf_printf(b, "%s\"%s\":%ld", first ? "" : ",", fault_names[i], st.faults[i]);
    first = 0;
  }
  tsbuf_adds(b, "}");
  if (with_keys) {
    tsbuf_adds(b, ",\"keys\":{");
    first = 1;
    for (size_t i = 0; i < st.keycap; i++) {
      struct keyent *k = &st.keys[i];
      if (!k->count) continue;
      tsbuf_printf(b, "%s\"%016llx\":{\"count\":%ld,\"min_gap_ms\":%.3f}", first ? "" : ",",
                   (unsigned long long)k->hash, k->count,
                   k->min_gap_us < 0 ? -1.0 : (double)k->min_gap_us / 1000.0);
      first = 0;
    }
    tsbuf_adds(b, "}");
  }
  tsbuf_adds(b, "}\n");
}

/* ---- connections and timers ---- */
enum action { ACT_NONE, ACT_SEND, ACT_RESET, ACT_STALL };

struct conn {
  int fd, open;
  unsigned gen;
  tsbuf in;
  size_t in_off;
  tsbuf out;
  size_t out_off;
  tsbuf resp;          /* the prepared answer, moved to out when its timer fires */
  enum action action;  /* what the armed timer does */
  int pending;         /* a request is being answered */
  int llm;             /* the pending request counts as in flight */
  int close_after;     /* close once out is flushed */
  int want_write;
  int sent_continue;
};
static struct conn *conns;
static int nconns;

struct timer {
  uint64_t due;
  int fd;
  unsigned gen;
};
static struct timer *heap;
static size_t nheap, heapcap;

static void heap_push(uint64_t due, int fd, unsigned gen)
{
  if (nheap == heapcap) {
    heapcap = heapcap ? heapcap * 2 : 256;
    heap = realloc(heap, heapcap * sizeof *heap);
    if (!heap) abort();
  }
  size_t i = nheap++;
  while (i) {
    size_t p = (i - 1) / 2;
    if (heap[p].due <= due) break;
    heap[i] = heap[p];
    i = p;
  }
  heap[i] = (struct timer){ due, fd, gen };
}

static struct timer heap_pop(void)
{
  struct timer top = heap[0], last = heap[--nheap];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= nheap) break;
    if (c + 1 < nheap && heap[c + 1].due < heap[c].due) c++;
    if (last.due <= heap[c].due) break;
    heap[i] = heap[c];
    i = c;
  }
  if (nheap) heap[i] = last;
  return top;
}

static int epfd;

static struct conn *conn_get(int fd)
{
  if (fd >= nconns) {
    int n = nconns ? nconns : 1024;
    while (n <= fd) n *= 2;
    conns = realloc(conns, (size_t)n * sizeof *conns);
    if (!conns) abort();
    memset(conns + nconns, 0, (size_t)(n - nconns) * sizeof *conns);
    nconns = n;
  }
  return &conns[fd];
}

static void conn_close(struct conn *c, int reset)
{
  if (!c->open) return;
  if (c->pending && c->llm) st.inflight--;
  if (reset) {
    struct linger lg = { 1, 0 };
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  tsbuf_free(&c->in);
  tsbuf_free(&c->out);
  tsbuf_free(&c->resp);
  c->open = 0;
  c->gen++;
  st.conns_open--;
}

static void set_write_interest(struct conn *c, int on)
{
  if (c->want_write == on) return;
  struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.fd = c->fd };
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_write = on;
}

/* Writes what it can of out; when all is written the request is done (the
 * caller then looks for the next request with try_parse). */
static void conn_flush(struct conn *c)
{
  while (c->out_off < c->out.len) {
    ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) { set_write_interest(c, 1); return; }
      conn_close(c, 0);
      return;
    }
    st.bytes_out += (uint64_t)n;
    c->out_off += (size_t)n;
  }
  c->out.len = c->out_off = 0;
  set_write_interest(c, 0);
  if (c->pending) {
    if (c->llm) st.inflight--;
    c->pending = c->llm = 0;
  }
  if (c->close_after) conn_close(c, 0);
}

/* Runs the prepared action of a pending request (at once or from its timer). */
static void conn_act(struct conn *c)
{
  enum action a = c->action;
  c->action = ACT_NONE;
  if (a == ACT_RESET) { conn_close(c, 1); return; }
  if (a == ACT_STALL) { conn_close(c, 0); return; }
  tsbuf_add(&c->out, c->resp.p, c->resp.len);
  c->resp.len = 0;
  conn_flush(c);
}

/* ---- HTTP responses ---- */
static const char *reason(int status)
{
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 413: return "Payload Too Large";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Status";
  }
}

/* Writes a whole response into b. extra: more header lines (each ending CRLF). */
static void http_response(tsbuf *b, int status, const char *extra, const char *body, size_t len,
                          size_t claimed_len, int close)
{
  tsbuf_printf(b, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s%s\r\n",
               status, reason(status), claimed_len ? claimed_len : len, extra ? extra : "",
               close ? "Connection: close\r\n" : "");
  tsbuf_add(b, body, len);
}

/* ---- requests ---- */
struct request {
  char method[16];
  char path[1024];   /* without the query string */
  char query[1024];
  const char *body;
  size_t body_len;
  int close;
  long content_length;
  int chunked, expect_continue;
  char auth[512], xkey[512], apikey[512];
  char fault[32];
  long fault_count, latency_ms;
};

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
  if (n >= cap) n = cap - 1;
  memcpy(dst, v, n);
  dst[n] = '\0';
}

/* Parses the head of a request; returns its length, 0 when incomplete, -1 bad. */
static long parse_head(const char *s, size_t len, struct request *r)
{
  const char *end = memmem(s, len, "\r\n\r\n", 4);
  if (!end) return len > 65536 ? -1 : 0;
  memset(r, 0, sizeof *r);
  r->content_length = -1;
  r->fault_count = -1;
  r->latency_ms = -1;
  const char *line_end = memmem(s, (size_t)(end - s) + 2, "\r\n", 2);
  const char *sp1 = memchr(s, ' ', (size_t)(line_end - s));
  if (!sp1) return -1;
  const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
  if (!sp2) return -1;
  copy_value(r->method, sizeof r->method, s, (size_t)(sp1 - s));
  const char *target = sp1 + 1;
  const char *q = memchr(target, '?', (size_t)(sp2 - target));
  copy_value(r->path, sizeof r->path, target, (size_t)((q ? q : sp2) - target));
  if (q) copy_value(r->query, sizeof r->query, q + 1, (size_t)(sp2 - q - 1));
  if (line_end - sp2 - 1 == 8 && !memcmp(sp2 + 1, "HTTP/1.0", 8)) r->close = 1;
  const char *p = line_end + 2;
  while (p < end + 2) {
    const char *e = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
    if (!e) break;
    const char *colon = memchr(p, ':', (size_t)(e - p));
    if (colon) {
      size_t nl = (size_t)(colon - p);
      const char *v = colon + 1;
      while (v < e && (*v == ' ' || *v == '\t')) v++;
      size_t vl = (size_t)(e - v);
      while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
#define HDR(name) (nl == sizeof(name) - 1 && !strncasecmp(p, name, nl))
      char tmp[64];
      if (HDR("content-length")) {
        copy_value(tmp, sizeof tmp, v, vl);
        r->content_length = strtol(tmp, NULL, 10);
      } else if (HDR("transfer-encoding")) {
        r->chunked = vl >= 7 && !strncasecmp(v + vl - 7, "chunked", 7);
      } else if (HDR("connection")) {
        if (vl == 5 && !strncasecmp(v, "close", 5)) r->close = 1;
        if (vl == 10 && !strncasecmp(v, "keep-alive", 10)) r->close = 0;
      } else if (HDR("expect")) {
        r->expect_continue = vl == 12 && !strncasecmp(v, "100-continue", 12);
      } else if (HDR("authorization")) {
        copy_value(r->auth, sizeof r->auth, v, vl);
      } else if (HDR("x-api-key")) {
        copy_value(r->xkey, sizeof r->xkey, v, vl);
      } else if (HDR("api-key")) {
        copy_value(r->apikey, sizeof r->apikey, v, vl);
      } else if (HDR("x-evalua-fault")) {
        copy_value(r->fault, sizeof r->fault, v, vl);
      } else if (HDR("x-evalua-fault-count")) {
        copy_value(tmp, sizeof tmp, v, vl);
        r->fault_count = strtol(tmp, NULL, 10);
      } else if (HDR("x-evalua-latency-ms")) {
        copy_value(tmp, sizeof tmp, v, vl);
        r->latency_ms = strtol(tmp, NULL, 10);
      }
#undef HDR
    }
    p = e + 2;
  }
  return (long)(end + 4 - s);
}

/* Decodes a chunked body starting at s; returns bytes consumed, 0 when
 * incomplete, -1 when malformed. */
static long parse_chunked(const char *s, size_t len, tsbuf *body)
{
  size_t i = 0;
  body->len = 0;
  for (;;) {
    const char *e = memmem(s + i, len - i, "\r\n", 2);
    if (!e) return 0;
    char *x;
    unsigned long n = strtoul(s + i, &x, 16);
    if (x == s + i) return -1;
    i = (size_t)(e - s) + 2;
    if (n == 0) {
      /* trailers end with an empty line */
      for (;;) {
        const char *t = memmem(s + i, len - i, "\r\n", 2);
        if (!t) return 0;
        size_t tl = (size_t)(t - (s + i));
        i += tl + 2;
        if (tl == 0) return (long)i;
      }
    }
    if (n > MAX_REQUEST || len - i < n + 2) return n > MAX_REQUEST ? -1 : 0;
    tsbuf_add(body, s + i, n);
    i += n;
    if (s[i] != '\r' || s[i + 1] != '\n') return -1;
    i += 2;
  }
}

/* ---- the model replies ---- */
static const char *ci_find(const char *hay, size_t n, const char *needle)
{
  size_t m = strlen(needle);
  for (size_t i = 0; i + m <= n; i++)
    if (!strncasecmp(hay + i, needle, m)) return hay + i;
  return NULL;
}

/* Appends the text of a message content: a string or a list of text parts. */
static void content_text(const tsj_node *content, tsbuf *out)
{
  if (!content) return;
  if (content->type == TSJ_STR) { tsbuf_add(out, content->str, content->len); return; }
  if (content->type != TSJ_ARR) return;
  for (const tsj_node *part = content->child; part; part = part->next) {
    const tsj_node *t = tsj_get(part, "text");
    if (t && t->type == TSJ_STR) tsbuf_add(out, t->str, t->len);
    else if (part->type == TSJ_STR) tsbuf_add(out, part->str, part->len);
  }
}

enum api { API_OPENAI, API_ANTHROPIC };

/* Whether to refuse this request's structured output (--refuse-json-schema). */
static int schema_refused(const tsj_node *req)
{
  if (!modes.refuse_schema) return 0;
  const char *t = tsj_str(tsj_get(tsj_get(req, "response_format"), "type"));
  return t && !strcmp(t, "json_schema");
}

/* A garbage judge answer for a share of prompts (by hash), only for the
 * first --garbage-receipts receipts of the same request: asked again, the
 * judge answers properly. */
static int garbage_answer(uint64_t prompt_hash, tsbuf *text)
{
  if (modes.judge_garbage <= 0 || modes.seen > modes.garbage_receipts) return 0;
  if (unit(splitmix(prompt_hash ^ 0x9e3779b97f4a7c15ull)) >= modes.judge_garbage) return 0;
  tsbuf_adds(text, "I would rather not grade this one.");
  return 1;
}

/* Builds the 200 reply body for a chat request. */
static void build_reply(const tsj_node *req, enum api api, const char *deployment, tsbuf *body)
{
  tsbuf prompt = { 0 }, last = { 0 }, text = { 0 };
  const tsj_node *sys = tsj_get(req, "system");
  if (sys) { content_text(sys, &prompt); tsbuf_add(&prompt, "\n", 1); }
  const tsj_node *msgs = tsj_get(req, "messages");
  if (msgs && msgs->type == TSJ_ARR) {
    for (const tsj_node *m = msgs->child; m; m = m->next) {
      size_t before = prompt.len;
      content_text(tsj_get(m, "content"), &prompt);
      const char *role = tsj_str(tsj_get(m, "role"));
      if (role && !strcmp(role, "user")) {
        last.len = 0;
        tsbuf_add(&last, prompt.p + before, prompt.len - before);
      }
      tsbuf_add(&prompt, "\n", 1);
    }
  }
  if (!prompt.p) tsbuf_add(&prompt, "", 0);
  if (!last.p) tsbuf_add(&last, "", 0);
  uint64_t h = fnv1a(FNV_INIT, prompt.p, prompt.len);
  int judge = ci_find(prompt.p, prompt.len, "score:") &&
              ci_find(prompt.p, prompt.len, "justification:");
  const struct rule *hit = NULL;
  for (size_t i = 0; i < nrules && !hit; i++)
    if ((!judge || rules[i].judge) && memmem(last.p, last.len, rules[i].match, strlen(rules[i].match)))
      hit = &rules[i];
  /* judges.c: pairwise prompts, n choices and logprobs of score answers */
  const char *rft0 = tsj_str(tsj_get(tsj_get(req, "response_format"), "type"));
  int want_json = rft0 && (!strcmp(rft0, "json_schema") || !strcmp(rft0, "json_object"));
  /* the judge model takes part, so two judges of one prompt may disagree;
     so does a seed, so K seeded samples of one prompt differ */
  const char *jm0 = tsj_str(tsj_get(req, "model"));
  uint64_t hj0 = jm0 ? fnv1a(h, jm0, strlen(jm0)) : h;
  const tsj_node *seedn = tsj_get(req, "seed");
  if (seedn && seedn->type == TSJ_NUM) {
    long long sv = (long long)seedn->num;
    hj0 = fnv1a(hj0, &sv, sizeof sv);
  }
  int choices = 0;
  if (hit) {
    tsbuf_adds(&text, hit->reply);
  } else if (!hit && ts_pairwise_reply(prompt.p, prompt.len, want_json, &text)) {
    /* a pairwise verdict */
  } else if (judge && api == API_OPENAI && ts_judge_wants_choices(req)) {
    choices = 1;
  } else if (judge && garbage_answer(h, &text)) {
    /* text is the garbage */
  } else if (judge) {
    uint64_t hj = hj0;
    int score = (int)(1 + hj % 5);
    char just[160];
    snprintf(just, sizeof just, "deterministic judgement %08llx of a %zu-byte prompt: score %d",
             (unsigned long long)(hj >> 32), prompt.len, score);
    const tsj_node *rf = tsj_get(req, "response_format");
    const char *rft = tsj_str(tsj_get(rf, "type"));
    if (rft && (!strcmp(rft, "json_schema") || !strcmp(rft, "json_object"))) {
      tsbuf_printf(&text, "{\"score\": %d, \"justification\": ", score);
      tsbuf_json_str(&text, just, strlen(just));
      tsbuf_adds(&text, "}");
    } else {
      tsbuf_printf(&text, "score: %d\njustification: %s", score, just);
    }
  } else {
    size_t n = last.len;
    if (n > ECHO_MAX) {
      n = ECHO_MAX;
      while (n && ((unsigned char)last.p[n] & 0xC0) == 0x80) n--; /* keep UTF-8 whole */
    }
    tsbuf_adds(&text, "reply to: ");
    tsbuf_add(&text, last.p, n);
  }
  long ptok = (long)(prompt.len + 3) / 4, ctok = (long)(text.len + 3) / 4;
  if (ptok < 1) ptok = 1;
  if (ctok < 1) ctok = 1;
  const char *model = tsj_str(tsj_get(req, "model"));
  if (!model) model = deployment ? deployment : "evalua-test-model";
  if (api == API_OPENAI) {
    tsbuf_printf(body, "{\"id\":\"chatcmpl-%016llx\",\"object\":\"chat.completion\","
                 "\"created\":1700000000,\"model\":", (unsigned long long)h);
    tsbuf_json_str(body, model, strlen(model));
    if (choices) {
      tsbuf_adds(body, ",\"choices\":");
      size_t wrote = ts_judge_choices(req, hj0, prompt.len, want_json, body);
      ctok = (long)(wrote + 3) / 4;
      tsbuf_printf(body, ",\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld}}",
                   ptok, ctok, ptok + ctok);
    } else {
    tsbuf_adds(body, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    tsbuf_json_str(body, text.p, text.len);
    tsbuf_printf(body, "},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":%ld,"
                 "\"completion_tokens\":%ld,\"total_tokens\":%ld}}", ptok, ctok, ptok + ctok);
    }
  } else {
    tsbuf_printf(body, "{\"id\":\"msg_%016llx\",\"type\":\"message\",\"role\":\"assistant\",\"model\":",
                 (unsigned long long)h);
    tsbuf_json_str(body, model, strlen(model));
    tsbuf_adds(body, ",\"content\":[{\"type\":\"text\",\"text\":");
    tsbuf_json_str(body, text.p, text.len);
    tsbuf_printf(body, "}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                 "\"usage\":{\"input_tokens\":%ld,\"output_tokens\":%ld}}", ptok, ctok);
  }
  tsbuf_free(&prompt);
  tsbuf_free(&last);
  tsbuf_free(&text);
}

static void error_body(tsbuf *b, enum api api, const char *type, const char *msg)
{
  if (api == API_ANTHROPIC) {
    tsbuf_adds(b, "{\"type\":\"error\",\"error\":{\"type\":");
    tsbuf_json_str(b, type, strlen(type));
    tsbuf_adds(b, ",\"message\":");
    tsbuf_json_str(b, msg, strlen(msg));
    tsbuf_adds(b, "}}");
  } else {
    tsbuf_adds(b, "{\"error\":{\"message\":");
    tsbuf_json_str(b, msg, strlen(msg));
    tsbuf_adds(b, ",\"type\":");
    tsbuf_json_str(b, type, strlen(type));
    tsbuf_adds(b, ",\"param\":null,\"code\":null}}");
  }
}

/* The batch APIs (tsbatch.c) answer their lines with the same replies. */
void ts_chat_reply_node(const tsj_node *req, int anthropic, tsbuf *out, int *status)
{
  enum api api = anthropic ? API_ANTHROPIC : API_OPENAI;
  *status = 200;
  if (!req || req->type != TSJ_OBJ) {
    *status = 400;
    error_body(out, api, "invalid_request_error", "request body is not a JSON object");
    return;
  }
  build_reply(req, api, NULL, out);
}

static enum fault fault_by_name(const char *s)
{
  for (int i = 1; i < F_COUNT; i++)
    if (!strcmp(s, fault_names[i])) return (enum fault)i;
  return F_NONE;
}

/* Decides the answer to one request and arms it (now or after the latency). */
static void handle(struct conn *c, struct request *r)
{
  uint64_t t = now_us();
  tsbuf body = { 0 };
  int status = 200;
  char extra[256] = "";
  enum api api = API_OPENAI;
  const char *deployment = NULL;
  char depbuf[256];
  int llm = 0;
  c->resp.len = 0;
  c->action = ACT_SEND;

  if (!strcmp(r->path, "/v1/chat/completions") || !strcmp(r->path, "/chat/completions")) {
    llm = 1;
  } else if (!strcmp(r->path, "/v1/messages")) {
    llm = 1;
    api = API_ANTHROPIC;
  } else if (!strncmp(r->path, "/openai/deployments/", 20)) {
    const char *name = r->path + 20, *slash = strchr(name, '/');
    if (slash && !strcmp(slash, "/chat/completions")) {
      llm = 1;
      copy_value(depbuf, sizeof depbuf, name, (size_t)(slash - name));
      deployment = depbuf;
    }
  }

  if (!llm) {
    st.other_requests++;
    if (!strcmp(r->path, "/stats") && !strcmp(r->method, "GET")) {
      stats_json(&body, strstr(r->query, "keys=1") != NULL);
    } else if (tsbatch_handles(r->path)) {
      tsbatch_handle(r->method, r->path, r->body, r->body_len, &body, &status);
    } else if (!strcmp(r->path, "/reset") && !strcmp(r->method, "POST")) {
      stats_reset();
      tsbatch_reset();
      tsbuf_adds(&body, "{\"ok\":true}\n");
    } else if (!strcmp(r->path, "/health")) {
      tsbuf_adds(&body, "{\"ok\":true}\n");
    } else {
      status = 404;
      error_body(&body, api, "not_found", "no such endpoint");
    }
    http_response(&c->resp, status, NULL, body.p ? body.p : "", body.len, 0, r->close);
    c->close_after = r->close;
    tsbuf_free(&body);
    c->pending = 1;
    c->llm = 0;
    conn_act(c);
    return;
  }

  st.requests++;
  count_path(r->path);
  uint64_t key = fnv1a(fnv1a(fnv1a(FNV_INIT, r->method, strlen(r->method)), r->path,
                             strlen(r->path)), r->body, r->body_len);
  long seen = key_count(key, t);
  long k = st.fault_counter++;
  uint64_t draw = splitmix(opt.seed ^ splitmix((uint64_t)k));
  c->pending = 1;
  c->llm = 1;
  if (++st.inflight > st.inflight_peak) st.inflight_peak = st.inflight;

  enum fault f = F_NONE;
  const char *want = opt.require_key;
  if (want) {
    char bearer[600];
    snprintf(bearer, sizeof bearer, "Bearer %s", want);
    if (strcmp(r->auth, bearer) && strcmp(r->xkey, want) && strcmp(r->apikey, want)) status = 401;
  }
  if (status == 401) {
    error_body(&body, api, api == API_ANTHROPIC ? "authentication_error" : "invalid_request_error",
               "Incorrect API key provided");
  } else if (strcmp(r->method, "POST")) {
    status = 405;
    error_body(&body, api, "invalid_request_error", "use POST");
  } else {
    if (r->fault[0] && (r->fault_count < 0 || seen <= r->fault_count)) {
      f = fault_by_name(r->fault);
    } else if (!r->fault[0] && opt.nfaults && unit(draw) < opt.fault_rate) {
      f = opt.faults[splitmix(draw) % (uint64_t)opt.nfaults];
    }
    st.faults[f]++;
    switch (f) {
    case F_429:
      status = 429;
      if (opt.retry_after >= 0)
        snprintf(extra, sizeof extra, "Retry-After: %ld\r\n", opt.retry_after);
      if (opt.retry_after_ms >= 0)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "retry-after-ms: %ld\r\n",
                 opt.retry_after_ms);
      error_body(&body, api, "rate_limit_error", "Rate limit reached, please try again later");
      break;
    case F_500:
      status = 500;
      error_body(&body, api, "server_error", "The server had an error processing your request");
      break;
    case F_503:
      status = 503;
      error_body(&body, api, "overloaded_error", "The server is overloaded");
      break;
    case F_RESET: c->action = ACT_RESET; break;
    case F_STALL: c->action = ACT_STALL; break;
    case F_MALFORMED: tsbuf_adds(&body, "{\"id\": \"chatcmpl-broken\", \"choices\": [{\"message\": "); break;
    default: {
      char err[128];
      tsj_doc *doc = tsj_parse(r->body, r->body_len, err, sizeof err);
      if (!doc || tsj_root(doc)->type != TSJ_OBJ) {
        status = 400;
        char msg[200];
        snprintf(msg, sizeof msg, "request body is not a JSON object (%s)", doc ? "not an object" : err);
        error_body(&body, api, "invalid_request_error", msg);
      } else if (schema_refused(tsj_root(doc))) {
        status = 400;
        error_body(&body, api, "invalid_request_error",
                   "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.");
      } else {
        modes.seen = seen;
        build_reply(tsj_root(doc), api, deployment, &body);
      }
      tsj_free(doc);
    }
    }
  }

  long delay = r->latency_ms >= 0 ? r->latency_ms : opt.latency_ms;
  if (opt.jitter_ms > 0 && r->latency_ms < 0)
    delay += (long)(splitmix(draw ^ 0x5bd1e995u) % (uint64_t)(opt.jitter_ms + 1));
  snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "x-evalua-delay-ms: %ld\r\n", delay);
  if (c->action == ACT_SEND) {
    if (status < 600) st.status[status]++;
    if (!body.p) tsbuf_add(&body, "", 0);
    size_t claimed = f == F_TRUNCATED ? body.len + 64 : 0;
    http_response(&c->resp, status, extra, body.p, body.len, claimed, r->close || f == F_TRUNCATED);
    c->close_after = r->close || f == F_TRUNCATED;
  }
  if (logf)
    fprintf(logf, "%.3f %s %s %d %s key=%016llx\n", (double)(t - start_us) / 1e6, r->method,
            r->path, c->action == ACT_SEND ? status : 0, fault_names[f], (unsigned long long)key);
  tsbuf_free(&body);

  if (c->action == ACT_STALL) delay = opt.stall_ms;
  if (delay <= 0) { conn_act(c); return; }
  heap_push(t + (uint64_t)delay * 1000u, c->fd, c->gen);
}

static void bad_request(struct conn *c, int status, const char *msg)
{
  tsbuf body = { 0 };
  st.bad_requests++;
  error_body(&body, API_OPENAI, "invalid_request_error", msg);
  c->resp.len = 0;
  http_response(&c->resp, status, NULL, body.p, body.len, 0, 1);
  tsbuf_free(&body);
  c->close_after = 1;
  c->pending = 1;
  c->llm = 0;
  c->action = ACT_SEND;
  conn_act(c);
}

/* Answers every complete request in the input buffer, one at a time. */
static void try_parse(struct conn *c)
{
  while (c->open && !c->pending && c->in_off < c->in.len) {
    const char *s = c->in.p + c->in_off;
    size_t len = c->in.len - c->in_off;
    struct request r;
    long head = parse_head(s, len, &r);
    if (head < 0) { bad_request(c, 400, "malformed request head"); return; }
    if (head == 0) return;
    tsbuf chunked = { 0 };
    size_t total;
    if (r.chunked) {
      long n = parse_chunked(s + head, len - (size_t)head, &chunked);
      if (n < 0) { tsbuf_free(&chunked); bad_request(c, 400, "malformed chunked body"); return; }
      if (n == 0) {
        tsbuf_free(&chunked);
        if (r.expect_continue && !c->sent_continue) {
          c->sent_continue = 1;
          send(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL);
        }
        return;
      }
      r.body = chunked.p ? chunked.p : "";
      r.body_len = chunked.len;
      total = (size_t)head + (size_t)n;
    } else {
      long cl = r.content_length < 0 ? 0 : r.content_length;
      if ((unsigned long)cl > MAX_REQUEST) { bad_request(c, 413, "request body too large"); return; }
      if (len - (size_t)head < (size_t)cl) {
        if (r.expect_continue && !c->sent_continue) {
          c->sent_continue = 1;
          send(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL);
        }
        return;
      }
      r.body = s + head;
      r.body_len = (size_t)cl;
      total = (size_t)head + (size_t)cl;
    }
    c->sent_continue = 0;
    c->in_off += total; /* r.body stays valid: nothing reads into c->in meanwhile */
    handle(c, &r);      /* may close c or start writing */
    tsbuf_free(&chunked);
    if (!c->open) return;
    if (c->in_off == c->in.len) c->in.len = c->in_off = 0;
  }
}

static void conn_read(struct conn *c)
{
  for (;;) {
    if (c->in.cap - c->in.len < 65536) {
      if (c->in_off) { /* compact before growing */
        memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
      }
      if (c->in.cap - c->in.len < 65536) {
        size_t cap = c->in.cap * 2 > c->in.len + 65536 ? c->in.cap * 2 : c->in.len + 65536;
        char *p = realloc(c->in.p, cap);
        if (!p) abort();
        c->in.p = p;
        c->in.cap = cap;
      }
    }
    ssize_t n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1, 0);
    if (n > 0) {
      st.bytes_in += (uint64_t)n;
      c->in.len += (size_t)n;
      if (c->in.len - c->in_off > MAX_REQUEST + 65536u) {
        bad_request(c, 413, "request too large");
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (c->pending && c->llm) st.client_aborts++;
    conn_close(c, 0);
    return;
  }
  try_parse(c);
}

/* ---- set-up ---- */
static void die(const char *fmt, const char *a)
{
  fprintf(stderr, "evalua-testserver: ");
  fprintf(stderr, fmt, a);
  fputc('\n', stderr);
  exit(2);
}

static void load_rules(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open replies file %s", path);
  char *line = NULL;
  size_t cap = 0, cap_rules = 0;
  ssize_t n;
  int lineno = 0;
  while ((n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = '\0';
    if (n == 0) continue;
    char err[128], msg[600];
    tsj_doc *d = tsj_parse(line, (size_t)n, err, sizeof err);
    const char *m = d ? tsj_str(tsj_get(tsj_root(d), "match")) : NULL;
    const char *rep = d ? tsj_str(tsj_get(tsj_root(d), "reply")) : NULL;
    if (!m || !rep) {
      snprintf(msg, sizeof msg, "%s:%d: %s", path, lineno,
               d ? "each line needs string fields \"match\" and \"reply\"" : err);
      tsj_free(d);
      die("%s", msg);
    }
    if (nrules == cap_rules) {
      cap_rules = cap_rules ? cap_rules * 2 : 16;
      rules = realloc(rules, cap_rules * sizeof *rules);
      if (!rules) abort();
    }
    const tsj_node *j = tsj_get(tsj_root(d), "judge");
    rules[nrules++] = (struct rule){ strdup(m), strdup(rep), j && j->type == TSJ_BOOL && j->num };
    tsj_free(d);
  }
  free(line);
  fclose(f);
}

static void write_file(const char *path, long v)
{
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) die("cannot write %s", path);
  fprintf(f, "%ld\n", v);
  fclose(f);
  if (rename(tmp, path)) die("cannot write %s", path);
}

static const char usage[] =
  "usage: evalua-testserver [--port N] [--port-file F] [--pid-file F] [--latency-ms N]\n"
  "         [--jitter-ms N] [--seed S] [--fault-rate R] [--faults 429,500,503,reset,stall,\n"
  "         malformed,truncated] [--retry-after S] [--retry-after-ms N] [--stall-ms N]\n"
  "         [--replies FILE.jsonl] [--require-key KEY] [--max-seconds N] [--log FILE]\n"
  "         [--pairwise longer|first|hash]\n"
  "         [--batch-ms N] [--batch-fail-rate R]\n"
  "         [--refuse-json-schema 0|1] [--judge-garbage R] [--garbage-receipts N]\n"
  "A loopback OpenAI/Anthropic-compatible server for tests (binds 127.0.0.1).\n"
  "Endpoints: POST /v1/chat/completions, /chat/completions,\n"
  "  /openai/deployments/NAME/chat/completions, /v1/messages; GET /stats[?keys=1];\n"
  "  POST /reset. Request headers x-evalua-fault: KIND [x-evalua-fault-count: N]\n"
  "  force a fault (for the first N receipts of that request); x-evalua-latency-ms: N\n"
  "  overrides the latency.\n"
  "Batch APIs: POST /v1/files, POST /v1/batches, GET /v1/batches/ID,\n"
  "  GET /v1/files/ID/content, POST /v1/messages/batches, GET /v1/messages/batches/ID[/results],\n"
  "  GET /batch-stats; a batch takes --batch-ms (300), --batch-fail-rate of its lines\n"
  "  fail the first time their custom_id is processed.\n";

static void parse_args(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage, stdout); exit(0); }
    if (i + 1 >= argc) die("option %s needs a value (see --help)", a);
    const char *v = argv[++i];
    char *e;
    if (!strcmp(a, "--port")) opt.port = (int)strtol(v, &e, 10);
    else if (!strcmp(a, "--port-file")) { opt.port_file = v; continue; }
    else if (!strcmp(a, "--pid-file")) { opt.pid_file = v; continue; }
    else if (!strcmp(a, "--replies")) { opt.replies_file = v; continue; }
    else if (!strcmp(a, "--require-key")) { opt.require_key = v; continue; }
    else if (!strcmp(a, "--log")) { opt.log_file = v; continue; }
    else if (!strcmp(a, "--pairwise")) {
      if (!ts_pairwise_mode_ok(v)) die("unknown pairwise judge '%s' (longer, first, hash)", v);
      ts_pairwise_mode = v;
      continue;
    }
    else if (!strcmp(a, "--latency-ms")) opt.latency_ms = strtol(v, &e, 10);
    else if (!strcmp(a, "--jitter-ms")) opt.jitter_ms = strtol(v, &e, 10);
    else if (!strcmp(a, "--stall-ms")) opt.stall_ms = strtol(v, &e, 10);
    else if (!strcmp(a, "--retry-after")) opt.retry_after = strtol(v, &e, 10);
    else if (!strcmp(a, "--retry-after-ms")) opt.retry_after_ms = strtol(v, &e, 10);
    else if (!strcmp(a, "--seed")) opt.seed = strtoull(v, &e, 10);
    else if (!strcmp(a, "--fault-rate")) opt.fault_rate = strtod(v, &e);
    else if (!strcmp(a, "--max-seconds")) opt.max_seconds = strtod(v, &e);
    else if (!strcmp(a, "--batch-ms")) tsbatch_ms = strtol(v, &e, 10);
    else if (!strcmp(a, "--batch-fail-rate")) tsbatch_fail_rate = strtod(v, &e);
    else if (!strcmp(a, "--refuse-json-schema")) modes.refuse_schema = (int)strtol(v, &e, 10);
    else if (!strcmp(a, "--judge-garbage")) modes.judge_garbage = strtod(v, &e);
    else if (!strcmp(a, "--garbage-receipts")) modes.garbage_receipts = strtol(v, &e, 10);
    else if (!strcmp(a, "--faults")) {
      char *copy = strdup(v), *save = NULL;
      opt.nfaults = 0;
      for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        enum fault f = fault_by_name(tok);
        if (f == F_NONE) die("unknown fault '%s' (429,500,503,reset,stall,malformed,truncated)", tok);
        if (opt.nfaults < MAX_FAULTS) opt.faults[opt.nfaults++] = f;
      }
      free(copy);
      continue;
    } else die("unknown option '%s' (see --help)", a);
    if (*e != '\0' || e == v) die("bad number '%s'", v);
  }
  if (opt.nfaults == 0 && opt.fault_rate > 0) {
    for (int f = F_429; f < F_COUNT; f++) opt.faults[opt.nfaults++] = (enum fault)f;
  }
}

int main(int argc, char **argv)
{
  parse_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  start_us = now_us();
  if (opt.replies_file) load_rules(opt.replies_file);
  if (opt.log_file) {
    logf = fopen(opt.log_file, "a");
    if (!logf) die("cannot open log file %s", opt.log_file);
  }
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ls < 0) die("socket: %s", strerror(errno));
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa)) die("bind: %s", strerror(errno));
  if (listen(ls, 4096)) die("listen: %s", strerror(errno));
  socklen_t sl = sizeof sa;
  getsockname(ls, (struct sockaddr *)&sa, &sl);
  int port = ntohs(sa.sin_port);
  tsbatch_port = port;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls };
  epoll_ctl(epfd, EPOLL_CTL_ADD, ls, &ev);
  if (opt.pid_file) write_file(opt.pid_file, (long)getpid());
  if (opt.port_file) write_file(opt.port_file, port);
  else printf("%d\n", port), fflush(stdout);

  uint64_t deadline = start_us + (uint64_t)(opt.max_seconds * 1e6);
  struct epoll_event evs[256];
  for (;;) {
    uint64_t t = now_us();
    if (t >= deadline) break;
    while (nheap && heap[0].due <= t) {
      struct timer tm = heap_pop();
      struct conn *c = tm.fd < nconns ? &conns[tm.fd] : NULL;
      if (!c || !c->open || c->gen != tm.gen) continue;
      conn_act(c);
      if (c->open && !c->pending) try_parse(c);
    }
    uint64_t wait = deadline - t;
    if (nheap && heap[0].due - t < wait) wait = heap[0].due - t;
    int timeout = (int)((wait + 999) / 1000);
    if (timeout > 1000) timeout = 1000;
    int n = epoll_wait(epfd, evs, 256, timeout);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        for (;;) {
          int cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break;
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn *c = conn_get(cfd);
          unsigned gen = c->gen;
          memset(c, 0, sizeof *c);
          c->fd = cfd;
          c->gen = gen + 1;
          c->open = 1;
          struct epoll_event cev = { .events = EPOLLIN, .data.fd = cfd };
          epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
          st.conns_total++;
          if (++st.conns_open > st.conns_peak) st.conns_peak = st.conns_open;
        }
        continue;
      }
      struct conn *c = &conns[fd];
      if (!c->open) continue;
      if (evs[i].events & EPOLLOUT) {
        conn_flush(c);
        if (c->open && !c->pending) try_parse(c);
      }
      if (c->open && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) conn_read(c);
    }
    if (logf) fflush(logf);
  }
  /* free everything, so leak checkers stay quiet */
  for (int fd = 0; fd < nconns; fd++) conn_close(&conns[fd], 0);
  free(conns);
  free(heap);
  stats_reset();
  free(st.keys);
  for (size_t i = 0; i < nrules; i++) {
    free(rules[i].match);
    free(rules[i].reply);
  }
  free(rules);
  close(epfd);
  close(ls);
  if (logf) fclose(logf);
  return 0;
}
