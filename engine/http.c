/* http.c: the transfer engine over one libcurl multi handle, in the shape of
 * curl's 10-at-a-time example (admit up to the in-flight cap, let curl work,
 * drain info_read, retry or finish, wait with the next timer as the timeout)
 * on curl's multi_socket interface with epoll, so each wake-up costs what
 * its ready sockets cost, not what every transfer in flight costs. */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

#include <curl/curl.h>

#include "schedutil.h"

#define HEADER_CAP (1u << 20) /* response header bytes at most */

enum xstate { X_NEW, X_QUEUED, X_TIMER, X_RUNNING, X_DONE };
enum xkind { K_REQUEST, K_SLEEP };

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

struct bucket {
  struct bucket *next;
  char *name;
  sched_bucket b;
  int blocked; /* an earlier queued transfer of this bucket is waiting */
};

struct http_xfer {
  http_engine *e;
  enum xkind kind;
  enum xstate state;
  void *owner;
  http_xfer *prev, *next; /* in the queue or the done list */
  size_t heap_idx;        /* while state == X_TIMER */
  uint64_t due_us;
  /* the request, kept for retries */
  CURL *easy;
  struct curl_slist *hdrs;
  char *method, *url, *body;
  size_t body_len;
  long timeout_ms;
  int max_attempts;
  struct bucket *bucket;
  double tokens;
  /* the outcome */
  int attempts;
  int sends;              /* times curl sent the request in this attempt */
  long status;
  buf resp, head;
  int over_cap;
  char *error;
  char curl_err[CURL_ERROR_SIZE];
};

struct http_engine {
  CURLM *multi;
  CURLSH *share;                    /* DNS and TLS sessions shared by all handles */
  http_config cfg;
  http_xfer *q_head, *q_tail;       /* waiting for a slot or a bucket */
  http_xfer *d_head, *d_tail;       /* finished */
  http_xfer *r_head, *r_tail;       /* running (added to curl) */
  http_xfer **heap;                 /* timers: backoff waits and sleeps */
  size_t nheap, heapcap;
  struct bucket *buckets;
  uint64_t bucket_wake_us;          /* earliest time a blocked bucket refills */
  long running, pending;
  CURL **pool;                      /* reusable easy handles */
  size_t npool, poolcap;
  uint64_t rng;
  http_stats st;
  int epfd;                         /* the sockets curl wants watched */
  uint64_t curl_due_us;             /* curl's timeout; 0 = none */
};

/* ---- small helpers ---- */

static int buf_add(buf *b, const void *s, size_t n, size_t cap)
{
  if (b->len + n > cap) return -1;
  if (b->len + n + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 1024;
    while (c < b->len + n + 1) c *= 2;
    char *p = realloc(b->p, c);
    if (!p) return -1;
    b->p = p;
    b->cap = c;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

static void buf_free(buf *b)
{
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static char *dupn(const char *s, size_t n)
{
  char *p = malloc(n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* The URL for messages: scheme://host/path, never the query nor a
 * user:password@ part (keys hide there). */
static void url_for_msg(const char *url, char *out, size_t cap)
{
  size_t n = strcspn(url, "?#");
  const char *auth = strstr(url, "://");
  size_t skip_from = 0, skip_to = 0;
  if (auth && (size_t)(auth - url) < n) {
    size_t host = (size_t)(auth - url) + 3;
    size_t end = host + strcspn(url + host, "/?#");
    const char *at = memchr(url + host, '@', end - host);
    if (at) { skip_from = host; skip_to = (size_t)(at - url) + 1; }
  }
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    if (i >= skip_from && i < skip_to) continue;
    out[o++] = url[i];
  }
  out[o] = '\0';
}

static void set_error(http_xfer *x, const char *fmt_detail)
{
  char u[512];
  url_for_msg(x->url, u, sizeof u);
  size_t n = strlen(x->method) + strlen(u) + strlen(fmt_detail) + 32;
  free(x->error);
  x->error = malloc(n);
  if (x->error) snprintf(x->error, n, "http.request: %s %s: %s", x->method, u, fmt_detail);
}

/* "message": "..." from a JSON error body, for "gave up" messages */
static void body_message(const buf *b, char *out, size_t cap)
{
  out[0] = '\0';
  if (!b->p) return;
  const char *m = strstr(b->p, "\"message\"");
  if (!m) return;
  m += 9;
  while (*m == ' ' || *m == ':') m++;
  if (*m != '"') return;
  m++;
  size_t k = 0;
  while (*m && *m != '"' && k + 1 < cap) {
    if (*m == '\\' && m[1]) m++;
    out[k++] = (*m == '\n' || *m == '\r') ? ' ' : *m;
    m++;
  }
  out[k] = '\0';
}

/* ---- lists ---- */

static void list_push(http_xfer **head, http_xfer **tail, http_xfer *x, int front)
{
  x->prev = x->next = NULL;
  if (!*head) {
    *head = *tail = x;
  } else if (front) {
    x->next = *head;
    (*head)->prev = x;
    *head = x;
  } else {
    x->prev = *tail;
    (*tail)->next = x;
    *tail = x;
  }
}

static void list_remove(http_xfer **head, http_xfer **tail, http_xfer *x)
{
  if (x->prev) x->prev->next = x->next;
  else *head = x->next;
  if (x->next) x->next->prev = x->prev;
  else *tail = x->prev;
  x->prev = x->next = NULL;
}

/* ---- the timer heap (index kept in each transfer, for removal) ---- */

static void heap_set(http_engine *e, size_t i, http_xfer *x)
{
  e->heap[i] = x;
  x->heap_idx = i;
}

static void heap_up(http_engine *e, size_t i)
{
  http_xfer *x = e->heap[i];
  while (i) {
    size_t p = (i - 1) / 2;
    if (e->heap[p]->due_us <= x->due_us) break;
    heap_set(e, i, e->heap[p]);
    i = p;
  }
  heap_set(e, i, x);
}

static void heap_down(http_engine *e, size_t i)
{
  http_xfer *x = e->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= e->nheap) break;
    if (c + 1 < e->nheap && e->heap[c + 1]->due_us < e->heap[c]->due_us) c++;
    if (x->due_us <= e->heap[c]->due_us) break;
    heap_set(e, i, e->heap[c]);
    i = c;
  }
  heap_set(e, i, x);
}

static int heap_push(http_engine *e, http_xfer *x)
{
  if (e->nheap == e->heapcap) {
    size_t cap = e->heapcap ? e->heapcap * 2 : 64;
    http_xfer **h = realloc(e->heap, cap * sizeof *h);
    if (!h) return -1;
    e->heap = h;
    e->heapcap = cap;
  }
  e->heap[e->nheap++] = x;
  heap_up(e, e->nheap - 1);
  return 0;
}

static void heap_remove(http_engine *e, http_xfer *x)
{
  size_t i = x->heap_idx;
  http_xfer *last = e->heap[--e->nheap];
  if (i == e->nheap) return;
  heap_set(e, i, last);
  heap_up(e, i);
  heap_down(e, last->heap_idx);
}

/* ---- curl callbacks: append to C buffers, nothing else ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
  http_xfer *x = ud;
  size_t len = size * n;
  if (buf_add(&x->resp, p, len, x->e->cfg.body_cap)) {
    x->over_cap = 1;
    return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
  }
  return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
  http_xfer *x = ud;
  size_t len = size * n;
  if (len >= 5 && !memcmp(p, "HTTP/", 5)) x->head.len = 0; /* 100-continue, redirects */
  if (buf_add(&x->head, p, len, HEADER_CAP)) return 0;
  return len;
}

/* Counts the requests curl really sends: on a reused connection that died
 * unanswered curl silently sends again, and that must count as a retry. */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *ud)
{
  (void)c, (void)data, (void)size;
  if (type == CURLINFO_HEADER_OUT) ((http_xfer *)ud)->sends++;
  return 0;
}

/* ---- engine ---- */

void http_config_default(http_config *c)
{
  c->concurrency = HTTP_DEFAULT_CONCURRENCY;
  c->max_attempts = 6;
  c->timeout_ms = 120000;
  c->connect_timeout_ms = 10000;
  c->body_cap = (size_t)64 << 20;
  c->backoff_base_ms = 1000;
  c->backoff_max_ms = 60000;
  c->retry_after_max_ms = 600000;
}

/* curl tells which sockets to watch for what (the multi_socket interface:
 * only sockets with events are handled, whatever the number in flight). */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *ud, void *sockp)
{
  http_engine *e = ud;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, NULL); /* may be closed already */
    curl_multi_assign(e->multi, s, NULL);
    return 0;
  }
  struct epoll_event ev = { .events = 0, .data.fd = s };
  if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
  if (sockp) {
    if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT)
      epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev);
  } else {
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev) && errno == EEXIST)
      epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev);
    curl_multi_assign(e->multi, s, e); /* any non-NULL mark: watched */
  }
  return 0;
}

/* curl's single timeout: -1 removes it. */
static int on_timer(CURLM *multi, long timeout_ms, void *ud)
{
  http_engine *e = ud;
  (void)multi;
  if (timeout_ms < 0) e->curl_due_us = 0;
  else e->curl_due_us = sched_now_us() + (uint64_t)timeout_ms * 1000u + (timeout_ms == 0);
  return 0;
}

static void apply_multi_options(http_engine *e)
{
  long conc = e->cfg.concurrency > 0 ? e->cfg.concurrency : 1;
  curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, conc + 8);
  curl_multi_setopt(e->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, conc > 100 ? conc : 100L);
}

http_engine *http_new(const http_config *cfg, char *err, size_t errlen)
{
  static int inited;
  if (!inited) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      snprintf(err, errlen, "http: curl_global_init failed");
      return NULL;
    }
    inited = 1;
  }
  http_engine *e = calloc(1, sizeof *e);
  if (!e) {
    snprintf(err, errlen, "http: out of memory");
    return NULL;
  }
  if (cfg) e->cfg = *cfg;
  else http_config_default(&e->cfg);
  e->multi = curl_multi_init();
  if (!e->multi) {
    free(e);
    snprintf(err, errlen, "http: curl_multi_init failed");
    return NULL;
  }
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (e->epfd < 0) {
    curl_multi_cleanup(e->multi);
    free(e);
    snprintf(err, errlen, "http: epoll_create1: %s", strerror(errno));
    return NULL;
  }
  e->rng = sched_rand_seed(sched_now_us() ^ (uint64_t)(uintptr_t)e);
  e->share = curl_share_init(); /* one thread: no lock callbacks needed */
  if (e->share) {
    curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
  apply_multi_options(e);
  return e;
}

void http_configure(http_engine *e, const http_config *cfg)
{
  e->cfg = *cfg;
  apply_multi_options(e);
}

const http_config *http_get_config(const http_engine *e) { return &e->cfg; }

int http_set_limits(http_engine *e, const char *provider, double rpm, double tpm, double burst_s)
{
  struct bucket *b = e->buckets;
  while (b && strcmp(b->name, provider)) b = b->next;
  if (!b) {
    b = calloc(1, sizeof *b);
    if (!b || !(b->name = dupn(provider, strlen(provider)))) {
      free(b);
      return -1;
    }
    b->next = e->buckets;
    e->buckets = b;
  }
  sched_bucket_set(&b->b, rpm, tpm, burst_s, sched_now_us());
  return 0;
}

static void xfer_release(http_engine *e, http_xfer *x)
{
  if (x->easy) {
    curl_easy_reset(x->easy);
    if (e->npool == e->poolcap) {
      size_t cap = e->poolcap ? e->poolcap * 2 : 64;
      CURL **p = realloc(e->pool, cap * sizeof *p);
      if (p) {
        e->pool = p;
        e->poolcap = cap;
      }
    }
    if (e->npool < e->poolcap) e->pool[e->npool++] = x->easy;
    else curl_easy_cleanup(x->easy);
  }
  curl_slist_free_all(x->hdrs);
  free(x->method);
  free(x->url);
  free(x->body);
  buf_free(&x->resp);
  buf_free(&x->head);
  free(x->error);
  free(x);
}

/* Takes x out of wherever it is (not freed). */
static void detach(http_engine *e, http_xfer *x)
{
  switch (x->state) {
  case X_QUEUED: list_remove(&e->q_head, &e->q_tail, x); break;
  case X_TIMER: heap_remove(e, x); break;
  case X_RUNNING:
    list_remove(&e->r_head, &e->r_tail, x);
    curl_multi_remove_handle(e->multi, x->easy);
    e->running--;
    e->st.inflight = e->running;
    break;
  case X_DONE: list_remove(&e->d_head, &e->d_tail, x); break;
  case X_NEW: break;
  }
  if (x->state != X_DONE && x->state != X_NEW) e->pending--;
  x->state = X_NEW;
}

void http_free(http_engine *e)
{
  if (!e) return;
  while (e->q_head) http_cancel(e, e->q_head);
  while (e->d_head) http_cancel(e, e->d_head);
  while (e->nheap) http_cancel(e, e->heap[0]);
  while (e->r_head) http_cancel(e, e->r_head);
  for (size_t i = 0; i < e->npool; i++) curl_easy_cleanup(e->pool[i]);
  free(e->pool);
  free(e->heap);
  while (e->buckets) {
    struct bucket *b = e->buckets;
    e->buckets = b->next;
    free(b->name);
    free(b);
  }
  curl_multi_cleanup(e->multi);
  if (e->share) curl_share_cleanup(e->share);
  close(e->epfd);
  free(e);
}

int http_close_idle(http_engine *e)
{
  if (!e || e->pending || e->running || e->d_head) return -1;
  CURLM *fresh = curl_multi_init();
  if (!fresh) return -1;
  for (size_t i = 0; i < e->npool; i++) curl_easy_cleanup(e->pool[i]);
  e->npool = 0;
  curl_multi_cleanup(e->multi); /* closes the cached connections */
  e->multi = fresh;
  e->curl_due_us = 0;
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
  apply_multi_options(e);
  return 0;
}

static void finish(http_engine *e, http_xfer *x)
{
  if (x->state != X_NEW) detach(e, x);
  x->state = X_DONE;
  list_push(&e->d_head, &e->d_tail, x, 0);
  if (x->kind == K_REQUEST) {
    if (x->error) e->st.failures++;
    else e->st.completed++;
  }
}

static int valid_method(const char *m)
{
  if (!*m || strlen(m) > 16) return 0;
  for (const char *p = m; *p; p++)
    if (!isupper((unsigned char)*p)) return 0;
  return 1;
}

http_xfer *http_submit(http_engine *e, const http_req *req, void *owner, char *err, size_t errlen)
{
  const char *method = req->method ? req->method : (req->body ? "POST" : "GET");
  if (!valid_method(method)) {
    snprintf(err, errlen, "http.request: bad method '%.40s'", method);
    return NULL;
  }
  if (!req->url || (strncmp(req->url, "http://", 7) && strncmp(req->url, "https://", 8))) {
    snprintf(err, errlen, "http.request: url must start with http:// or https://");
    return NULL;
  }
  http_xfer *x = calloc(1, sizeof *x);
  if (!x) goto oom;
  x->e = e;
  x->kind = K_REQUEST;
  x->owner = owner;
  x->method = dupn(method, strlen(method));
  x->url = dupn(req->url, strlen(req->url));
  if (!x->method || !x->url) goto oom;
  if (req->body) {
    x->body = dupn(req->body, req->body_len);
    if (!x->body) goto oom;
    x->body_len = req->body_len;
  }
  int has_ctype = 0, has_expect = 0;
  for (size_t i = 0; i < req->nheaders; i++) {
    const char *h = req->headers[i];
    if (!strncasecmp(h, "content-type:", 13)) has_ctype = 1;
    if (!strncasecmp(h, "expect:", 7)) has_expect = 1;
    struct curl_slist *l = curl_slist_append(x->hdrs, h);
    if (!l) goto oom;
    x->hdrs = l;
  }
  if (x->body && !has_ctype) {
    struct curl_slist *l = curl_slist_append(x->hdrs, "Content-Type: application/json");
    if (!l) goto oom;
    x->hdrs = l;
  }
  if (!has_expect) { /* no 100-continue round trip */
    struct curl_slist *l = curl_slist_append(x->hdrs, "Expect:");
    if (!l) goto oom;
    x->hdrs = l;
  }
  x->timeout_ms = req->timeout_ms;
  x->max_attempts = req->max_attempts;
  x->tokens = req->tokens > 0 ? req->tokens : 0;
  if (req->provider) {
    for (struct bucket *b = e->buckets; b; b = b->next)
      if (!strcmp(b->name, req->provider)) x->bucket = b;
  }
  x->state = X_QUEUED;
  list_push(&e->q_head, &e->q_tail, x, 0);
  e->pending++;
  return x;
oom:
  if (x) {
    x->easy = NULL;
    xfer_release(e, x);
  }
  snprintf(err, errlen, "http.request: out of memory");
  return NULL;
}

http_xfer *http_sleep(http_engine *e, long ms, void *owner)
{
  http_xfer *x = calloc(1, sizeof *x);
  if (!x) return NULL;
  x->e = e;
  x->kind = K_SLEEP;
  x->owner = owner;
  x->due_us = sched_now_us() + (uint64_t)(ms > 0 ? ms : 0) * 1000u;
  if (heap_push(e, x)) {
    free(x);
    return NULL;
  }
  x->state = X_TIMER;
  e->pending++;
  return x;
}

void http_cancel(http_engine *e, http_xfer *x)
{
  detach(e, x);
  xfer_release(e, x);
}

void http_fail_all(http_engine *e, const char *msg)
{
  http_xfer *todo = NULL;
  /* collect first: finish() moves transfers between lists */
  while (e->q_head) {
    http_xfer *x = e->q_head;
    detach(e, x);
    x->next = todo;
    todo = x;
  }
  /* removing from the heap moves other entries, possibly to slots already
   * scanned: start again after every removal */
  for (size_t i = 0; i < e->nheap;) {
    http_xfer *x = e->heap[i];
    if (x->kind == K_REQUEST) {
      detach(e, x);
      x->next = todo;
      todo = x;
      i = 0;
    } else {
      i++;
    }
  }
  while (e->r_head) {
    http_xfer *x = e->r_head;
    detach(e, x);
    x->next = todo;
    todo = x;
  }
  while (todo) {
    http_xfer *x = todo;
    todo = x->next;
    x->next = NULL;
    free(x->error);
    x->error = dupn(msg, strlen(msg));
    finish(e, x);
  }
}

/* Arms the easy handle for one attempt and adds it to the multi handle. */
static int start(http_engine *e, http_xfer *x)
{
  if (!x->easy) {
    x->easy = e->npool ? e->pool[--e->npool] : curl_easy_init();
    if (!x->easy) return -1;
  }
  CURL *c = x->easy;
  x->resp.len = x->head.len = 0;
  x->over_cap = 0;
  x->sends = 0;
  x->status = 0;
  x->curl_err[0] = '\0';
  curl_easy_setopt(c, CURLOPT_URL, x->url);
  curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)x);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (e->share) curl_easy_setopt(c, CURLOPT_SHARE, e->share);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->curl_err);
  curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(c, CURLOPT_DEBUGDATA, x);
  curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* for on_debug; nothing is printed */
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, x->timeout_ms > 0 ? x->timeout_ms : e->cfg.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->cfg.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 16384L);
  if (!strcmp(x->method, "GET")) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->body ? x->body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
    if (strcmp(x->method, "POST")) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, x->method);
  }
  if (curl_multi_add_handle(e->multi, c) != CURLM_OK) return -1;
  x->state = X_RUNNING;
  list_push(&e->r_head, &e->r_tail, x, 0);
  x->attempts++;
  e->running++;
  e->st.requests++;
  if (x->attempts > 1) e->st.retries++;
  else e->st.tokens_est += x->tokens;
  e->st.bytes_out += x->body_len;
  e->st.inflight = e->running;
  if (e->running > e->st.inflight_peak) e->st.inflight_peak = e->running;
  return 0;
}

/* Starts queued transfers while there are free slots and bucket room. */
static void admit(http_engine *e)
{
  if (!e->q_head) return;
  uint64_t now = sched_now_us();
  for (struct bucket *b = e->buckets; b; b = b->next) b->blocked = 0;
  e->bucket_wake_us = 0;
  long cap = e->cfg.concurrency > 0 ? e->cfg.concurrency : 1;
  http_xfer *x = e->q_head;
  while (x && e->running < cap) {
    http_xfer *next = x->next;
    if (x->bucket) {
      uint64_t wait;
      if (x->bucket->blocked) { x = next; continue; }
      if (!sched_bucket_take(&x->bucket->b, x->attempts ? 0 : x->tokens, now, &wait)) {
        x->bucket->blocked = 1;
        if (!e->bucket_wake_us || now + wait < e->bucket_wake_us) e->bucket_wake_us = now + wait;
        x = next;
        continue;
      }
    }
    list_remove(&e->q_head, &e->q_tail, x);
    x->state = X_NEW;
    if (start(e, x)) {
      e->pending--;
      set_error(x, "could not start the transfer (out of memory)");
      finish(e, x);
    }
    x = next;
  }
}

static int retryable_curl(CURLcode rc)
{
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_COULDNT_CONNECT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_WEIRD_SERVER_REPLY:
    return 1;
  default:
    return 0;
  }
}

/* Milliseconds the server asked to wait (retry-after-ms, else Retry-After
 * in seconds or as an HTTP date), or -1 when it did not say. */
static long retry_after_ms(const http_xfer *x)
{
  long secs = -1;
  for (const char *line = x->head.p; line && *line;) {
    const char *eol = strchr(line, '\n');
    if (!strncasecmp(line, "retry-after-ms:", 15)) {
      char *end;
      double v = strtod(line + 15, &end);
      if (end != line + 15 && v >= 0) return (long)(v + 0.999);
    } else if (!strncasecmp(line, "retry-after:", 12)) {
      const char *v = line + 12;
      while (*v == ' ' || *v == '\t') v++;
      size_t n = eol ? (size_t)(eol - v) : strlen(v);
      while (n && (v[n - 1] == '\r' || v[n - 1] == ' ')) n--;
      char tmp[64];
      if (n && n < sizeof tmp) {
        memcpy(tmp, v, n);
        tmp[n] = '\0';
        if (strspn(tmp, "0123456789") == n) {
          secs = strtol(tmp, NULL, 10);
        } else {
          time_t when = curl_getdate(tmp, NULL);
          if (when != -1) secs = when > time(NULL) ? (long)(when - time(NULL)) : 0;
        }
      }
    }
    if (!eol) break;
    line = eol + 1;
  }
  return secs >= 0 ? secs * 1000 : -1;
}

/* Retry or finish a transfer that curl reports done. */
static void complete(http_engine *e, http_xfer *x, CURLcode rc)
{
  list_remove(&e->r_head, &e->r_tail, x);
  curl_multi_remove_handle(e->multi, x->easy);
  e->running--;
  e->st.inflight = e->running;
  x->state = X_NEW;
  long status = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  x->status = status;
  e->st.bytes_in += x->resp.len + x->head.len;
  if (x->sends > 1) { /* curl's own resends on a dead reused connection */
    x->attempts += x->sends - 1;
    e->st.requests += x->sends - 1;
    e->st.retries += x->sends - 1;
  }
  int max = x->max_attempts > 0 ? x->max_attempts : e->cfg.max_attempts;
  char detail[512];
  int retry = 0;
  if (rc == CURLE_OK) {
    if (status >= 200 && status < 300) e->st.status_2xx++;
    else if (status >= 400 && status < 500) e->st.status_4xx++;
    else if (status >= 500) e->st.status_5xx++;
    if (status == 429 || (status >= 500 && status < 600)) {
      char msg[200];
      body_message(&x->resp, msg, sizeof msg);
      snprintf(detail, sizeof detail, "HTTP %ld%s%s", status, msg[0] ? ": " : "", msg);
      retry = 1;
    }
  } else if (x->over_cap) {
    snprintf(detail, sizeof detail, "response body exceeds the %zu-byte cap", e->cfg.body_cap);
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    snprintf(detail, sizeof detail, "timeout after %ld ms",
             x->timeout_ms > 0 ? x->timeout_ms : e->cfg.timeout_ms);
    retry = 1;
  } else {
    snprintf(detail, sizeof detail, "%s", x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc));
    retry = retryable_curl(rc);
  }
  if (retry && x->attempts < max) {
    long ra = rc == CURLE_OK ? retry_after_ms(x) : -1;
    if (ra > e->cfg.retry_after_max_ms) ra = e->cfg.retry_after_max_ms;
    long d = sched_backoff_ms(x->attempts, e->cfg.backoff_base_ms, e->cfg.backoff_max_ms, ra, &e->rng);
    x->due_us = sched_now_us() + (uint64_t)d * 1000u;
    if (heap_push(e, x) == 0) {
      x->state = X_TIMER;
      return;
    }
  }
  e->pending--;
  if (rc == CURLE_OK && !retry) {
    finish(e, x); /* a response, whatever its status */
    return;
  }
  if (retry) {
    char msg[700];
    snprintf(msg, sizeof msg, "gave up after %d attempt%s (last: %s)", x->attempts,
             x->attempts == 1 ? "" : "s", detail);
    set_error(x, msg);
  } else {
    set_error(x, detail);
  }
  finish(e, x);
}

static void fire_timers(http_engine *e)
{
  uint64_t now = sched_now_us();
  while (e->nheap && e->heap[0]->due_us <= now) {
    http_xfer *x = e->heap[0];
    heap_remove(e, x);
    x->state = X_NEW;
    if (x->kind == K_SLEEP) {
      e->pending--;
      finish(e, x);
    } else {
      x->state = X_QUEUED; /* a retry goes ahead of new work */
      list_push(&e->q_head, &e->q_tail, x, 1);
    }
  }
}

/* Collects the transfers curl has finished. */
static void collect(http_engine *e)
{
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(e->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    CURLcode rc = m->data.result; /* copy before remove: m dies with it */
    http_xfer *x = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    complete(e, x, rc);
  }
}

static int action(http_engine *e, curl_socket_t s, int mask, char *err, size_t errlen)
{
  int running;
  CURLMcode mc = curl_multi_socket_action(e->multi, s, mask, &running);
  if (mc != CURLM_OK) {
    snprintf(err, errlen, "http: curl_multi_socket_action: %s", curl_multi_strerror(mc));
    return -1;
  }
  return 0;
}

/* Lets curl handle its expired timeout (new handles ask for one at 0 ms). */
static int curl_timeouts(http_engine *e, char *err, size_t errlen)
{
  for (int i = 0; i < 8 && e->curl_due_us && e->curl_due_us <= sched_now_us(); i++) {
    e->curl_due_us = 0;
    if (action(e, CURL_SOCKET_TIMEOUT, 0, err, errlen)) return -1;
  }
  return 0;
}

static long ms_until(uint64_t due, uint64_t now)
{
  return due > now ? (long)((due - now + 999) / 1000) : 0;
}

int http_step(http_engine *e, long max_wait_ms, char *err, size_t errlen)
{
  fire_timers(e);
  admit(e);
  if (curl_timeouts(e, err, errlen)) return -1;
  collect(e);
  admit(e); /* slots freed by retries being scheduled */
  if (curl_timeouts(e, err, errlen)) return -1;
  long wait = e->d_head || max_wait_ms < 0 ? 0 : max_wait_ms;
  uint64_t now = sched_now_us();
  if (e->nheap) {
    long ms = ms_until(e->heap[0]->due_us, now);
    if (ms < wait) wait = ms;
  }
  if (e->bucket_wake_us && e->q_head) {
    long ms = ms_until(e->bucket_wake_us, now);
    if (ms < wait) wait = ms;
  }
  if (e->curl_due_us) {
    long ms = ms_until(e->curl_due_us, now);
    if (ms < wait) wait = ms;
  }
  struct epoll_event evs[256];
  int n = epoll_wait(e->epfd, evs, 256, (int)wait);
  if (n < 0 && errno != EINTR) {
    snprintf(err, errlen, "http: epoll_wait: %s", strerror(errno));
    return -1;
  }
  for (int i = 0; i < n; i++) {
    int mask = 0;
    if (evs[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
    if (evs[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
    if (evs[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
    if (action(e, evs[i].data.fd, mask, err, errlen)) return -1;
  }
  if (curl_timeouts(e, err, errlen)) return -1;
  collect(e);
  fire_timers(e);
  admit(e);
  if (curl_timeouts(e, err, errlen)) return -1;
  collect(e);
  return 0;
}

int http_flush(http_engine *e, char *err, size_t errlen)
{
  if (!e->q_head) return 0;
  admit(e);
  return curl_timeouts(e, err, errlen);
}

http_xfer *http_next_done(http_engine *e)
{
  http_xfer *x = e->d_head;
  if (!x) return NULL;
  list_remove(&e->d_head, &e->d_tail, x);
  x->state = X_NEW;
  return x;
}

long http_pending(const http_engine *e) { return e->pending; }

void *http_xfer_owner(const http_xfer *x) { return x->owner; }
int http_xfer_is_sleep(const http_xfer *x) { return x->kind == K_SLEEP; }
const char *http_xfer_error(const http_xfer *x) { return x->error; }
long http_xfer_status(const http_xfer *x) { return x->status; }
int http_xfer_attempts(const http_xfer *x) { return x->attempts; }

const char *http_xfer_body(const http_xfer *x, size_t *len)
{
  *len = x->resp.len;
  return x->resp.p ? x->resp.p : "";
}

const char *http_xfer_headers(const http_xfer *x, size_t *len)
{
  *len = x->head.len;
  return x->head.p ? x->head.p : "";
}

void http_xfer_free(http_engine *e, http_xfer *x)
{
  if (x) http_cancel(e, x);
}

void http_get_stats(const http_engine *e, http_stats *s)
{
  *s = e->st;
  s->inflight = e->running;
}

void http_reset_stats(http_engine *e)
{
  memset(&e->st, 0, sizeof e->st);
  e->st.inflight = e->st.inflight_peak = e->running;
}
