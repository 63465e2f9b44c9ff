/* hfhub.c: blocking libcurl downloads with resume (see hfhub.h). */
#include "hfhub.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sha256.h"

#define ERR_BODY_MAX 4096

typedef struct {
  const hfhub_request *req;
  hfhub_result *res;
  CURL *curl;
  FILE *f;             /* file mode: opened at the first body byte of a 2xx */
  int mode;            /* 0 undecided, 1 writing the file/memory, 2 error body */
  uint64_t have0;      /* bytes of the partial file before this call */
  uint64_t range_start;/* Content-Range start of the current response, or -1 */
  int has_range;
  uint64_t range_total;
  char err[256];
} xfer;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_ok;
static void global_init(void) { global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

static int buf_add(hfhub_result *r, const char *p, size_t n, size_t max)
{
  if (max && r->len + n > max) n = r->len < max ? max - r->len : 0;
  if (n == 0) return 0;
  char *b = realloc(r->body, r->len + n + 1);
  if (!b) return -1;
  memcpy(b + r->len, p, n);
  r->body = b;
  r->len += n;
  b[r->len] = 0;
  return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
  xfer *x = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {   /* a new response (redirects too) */
    x->has_range = 0;
    x->range_total = 0;
  } else if (len > 14 && strncasecmp(p, "content-range:", 14) == 0) {
    uint64_t a, b, t;
    char tmp[128];
    size_t k = len - 14 < sizeof tmp - 1 ? len - 14 : sizeof tmp - 1;
    memcpy(tmp, p + 14, k);
    tmp[k] = 0;
    if (sscanf(tmp, " bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64, &a, &b, &t) == 3) {
      x->has_range = 1;
      x->range_start = a;
      x->range_total = t;
    }
  }
  return len;
}

/* Decides at the first body byte what to do with the body. */
static int decide(xfer *x)
{
  long st = 0;
  curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &st);
  x->res->status = st;
  if (st < 200 || st >= 300) {
    x->mode = 2;
    return 0;
  }
  x->mode = 1;
  if (!x->req->path) return 0;
  const char *how = "wb";
  if (st == 206) {
    if (!x->has_range || x->range_start != x->have0) {
      snprintf(x->err, sizeof x->err, "the server resumed at byte %" PRIu64 ", not at %" PRIu64,
               x->has_range ? x->range_start : 0, x->have0);
      return -1;
    }
    how = "ab";
    x->res->resumed_from = x->have0;
    x->res->total = x->range_total;
  } else {
    x->res->resumed_from = 0;   /* a full answer: start over */
    curl_off_t cl = -1;
    curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    if (cl >= 0) x->res->total = (uint64_t)cl;
  }
  x->f = fopen(x->req->path, how);
  if (!x->f) {
    snprintf(x->err, sizeof x->err, "%s: %s", x->req->path, strerror(errno));
    return -1;
  }
  return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
  xfer *x = ud;
  size_t len = size * n;
  if (x->mode == 0 && decide(x) != 0) return 0;
  if (x->mode == 2) {
    if (buf_add(x->res, p, len, ERR_BODY_MAX) != 0) return 0;
    return len;
  }
  if (!x->req->path) {
    if (buf_add(x->res, p, len, 0) != 0) {
      snprintf(x->err, sizeof x->err, "out of memory");
      return 0;
    }
    return len;
  }
  if (fwrite(p, 1, len, x->f) != len) {
    snprintf(x->err, sizeof x->err, "%s: write failed: %s", x->req->path, strerror(errno));
    return 0;
  }
  x->res->written += len;
  return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult,
                       curl_off_t ulnow)
{
  (void)ult;
  (void)ulnow;
  xfer *x = ud;
  if (!x->req->progress || x->mode != 1) return 0;
  uint64_t base = x->res->resumed_from;
  uint64_t total = x->res->total ? x->res->total : dltotal > 0 ? base + (uint64_t)dltotal : 0;
  return x->req->progress(x->req->ud, base + (uint64_t)dlnow, total);
}

int hfhub_fetch(const hfhub_request *req, hfhub_result *res, char *err, size_t errlen)
{
  memset(res, 0, sizeof *res);
  pthread_once(&global_once, global_init);
  if (!global_ok) {
    snprintf(err, errlen, "curl_global_init failed");
    return -1;
  }
  xfer x;
  memset(&x, 0, sizeof x);
  x.req = req;
  x.res = res;
  char range[64];
  if (req->path && req->resume) {
    struct stat st;
    if (stat(req->path, &st) == 0 && st.st_size > 0) x.have0 = (uint64_t)st.st_size;
  }
  CURL *c = curl_easy_init();
  if (!c) {
    snprintf(err, errlen, "curl_easy_init failed");
    return -1;
  }
  x.curl = c;
  curl_easy_setopt(c, CURLOPT_URL, req->url);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "evalua-models-pull/1");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req->connect_timeout_s > 0 ? req->connect_timeout_s : 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req->stall_timeout_s > 0 ? req->stall_timeout_s : 60L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
  if (req->token && *req->token) {
    /* libcurl sends it to the first host only, never across a redirect to another */
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, req->token);
  }
  if (x.have0 > 0) {
    snprintf(range, sizeof range, "%" PRIu64 "-", x.have0);
    curl_easy_setopt(c, CURLOPT_RANGE, range);
  }
  CURLcode rc = curl_easy_perform(c);
  if (x.mode == 0) decide(&x);   /* an empty body */
  long st = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
  res->status = st;
  int ok = 0;
  if (x.f && fclose(x.f) != 0 && !x.err[0])
    snprintf(x.err, sizeof x.err, "%s: write failed: %s", req->path, strerror(errno));
  x.f = NULL;
  if (x.err[0]) {
    snprintf(err, errlen, "%s", x.err);
  } else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x.mode == 2)) {
    if (rc == CURLE_ABORTED_BY_CALLBACK) snprintf(err, errlen, "download aborted");
    else if (req->path && x.mode == 1)
      snprintf(err, errlen, "transfer cut after %" PRIu64 " of %" PRIu64 " bytes (%s)",
               res->resumed_from + res->written, res->total, curl_easy_strerror(rc));
    else snprintf(err, errlen, "%s", curl_easy_strerror(rc));
  } else if (st == 416 && x.have0 > 0) {
    ok = 1;   /* nothing left to send: the partial file is already whole */
    res->resumed_from = x.have0;
    res->total = x.range_total ? x.range_total : x.have0;
  } else if (st >= 200 && st < 300) {
    ok = 1;
  } else {
    snprintf(err, errlen, "HTTP %ld", st);
  }
  curl_easy_cleanup(c);
  return ok ? 0 : -1;
}

void hfhub_result_free(hfhub_result *res)
{
  free(res->body);
  res->body = NULL;
  res->len = 0;
}

int hfhub_sha256_file(const char *path, char hex[65], uint64_t *size, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  enum { CHUNK = 1 << 20 };
  unsigned char *buf = malloc(CHUNK);
  if (!buf) {
    fclose(f);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  sha256_ctx ctx;
  sha256_init(&ctx);
  uint64_t total = 0;
  size_t k;
  while ((k = fread(buf, 1, CHUNK, f)) > 0) {
    sha256_update(&ctx, buf, k);
    total += k;
  }
  int bad = ferror(f);
  fclose(f);
  free(buf);
  if (bad) {
    snprintf(err, errlen, "%s: read error", path);
    return -1;
  }
  unsigned char d[32];
  sha256_final(&ctx, d);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
  if (size) *size = total;
  return 0;
}

/* ---- SHA-1, only for git blob ids (the hub's oid of non-LFS files) ---- */

typedef struct {
  uint32_t h[5];
  uint64_t len;
  unsigned char buf[64];
  size_t nbuf;
} sha1_ctx;

static uint32_t rol(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static void sha1_block(sha1_ctx *c, const unsigned char *p)
{
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           (uint32_t)p[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = c->h[0], b = c->h[1], d = c->h[3], e = c->h[4], cc = c->h[2];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) { f = (b & cc) | (~b & d); k = 0x5A827999; }
    else if (i < 40) { f = b ^ cc ^ d; k = 0x6ED9EBA1; }
    else if (i < 60) { f = (b & cc) | (b & d) | (cc & d); k = 0x8F1BBCDC; }
    else { f = b ^ cc ^ d; k = 0xCA62C1D6; }
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d;
    d = cc;
    cc = rol(b, 30);
    b = a;
    a = t;
  }
  c->h[0] += a;
  c->h[1] += b;
  c->h[2] += cc;
  c->h[3] += d;
  c->h[4] += e;
}

static void sha1_init(sha1_ctx *c)
{
  static const uint32_t iv[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  memcpy(c->h, iv, sizeof iv);
  c->len = 0;
  c->nbuf = 0;
}

static void sha1_update(sha1_ctx *c, const unsigned char *p, size_t n)
{
  c->len += n;
  while (n > 0) {
    size_t k = 64 - c->nbuf < n ? 64 - c->nbuf : n;
    memcpy(c->buf + c->nbuf, p, k);
    c->nbuf += k;
    p += k;
    n -= k;
    if (c->nbuf == 64) {
      sha1_block(c, c->buf);
      c->nbuf = 0;
    }
  }
}

static void sha1_final(sha1_ctx *c, unsigned char out[20])
{
  uint64_t bits = c->len * 8;
  unsigned char pad = 0x80, zero = 0, lenb[8];
  sha1_update(c, &pad, 1);
  while (c->nbuf != 56) sha1_update(c, &zero, 1);
  for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
  sha1_update(c, lenb, 8);
  for (int i = 0; i < 5; i++) {
    out[4 * i] = (unsigned char)(c->h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
    out[4 * i + 3] = (unsigned char)c->h[i];
  }
}

int hfhub_git_oid_file(const char *path, char hex[41], char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    fclose(f);
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  sha1_ctx c;
  sha1_init(&c);
  char head[48];
  int hl = snprintf(head, sizeof head, "blob %lld", (long long)st.st_size);
  sha1_update(&c, (const unsigned char *)head, (size_t)hl + 1);   /* with the NUL */
  unsigned char buf[65536];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, f)) > 0) sha1_update(&c, buf, k);
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    snprintf(err, errlen, "%s: read error", path);
    return -1;
  }
  unsigned char d[20];
  sha1_final(&c, d);
  for (int i = 0; i < 20; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return 0;
}
