/* tsbatch.c: the batch APIs of the test server (see tsbatch.h). Files and
 * batches are kept in memory until POST /reset; ids count up from 1. */
#define _GNU_SOURCE
#include "tsbatch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long tsbatch_ms = 300;
double tsbatch_fail_rate = 0.0;
int tsbatch_port = 0;

#define MAX_LINES 50000           /* OpenAI: requests per batch file */

struct file {
  char id[32];
  tsbuf data;
};

struct batch {
  char id[40];
  int anthropic;
  uint64_t created_us;
  char input_file[32];      /* OpenAI */
  tsbuf requests;           /* Anthropic: the create body */
  long total, succeeded, failed;
  int processed;
  char *error;              /* validation failure (OpenAI status "failed") */
  char output_file[32], error_file[32];
  tsbuf results;            /* Anthropic results JSONL */
};

static struct file *files;
static size_t nfiles, capfiles;
static struct batch *batches;
static size_t nbatches, capbatches;
static struct {
  long requests, uploads, upload_bytes, creates, polls, downloads, lines, failed_lines, max_lines;
} bst;

/* custom_id hash -> times processed (open addressing; 0 = empty slot) */
static uint64_t *seen_keys;
static long *seen_counts;
static size_t seen_cap, seen_n;

static uint64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t hash(const char *s, size_t n)
{
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3ull;
  }
  return h ? h : 1;
}

static uint64_t mix(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* Returns how often h was processed before, and counts this time. */
static long seen_bump(uint64_t h)
{
  if (seen_n * 2 >= seen_cap) {
    size_t cap = seen_cap ? seen_cap * 2 : 1024;
    uint64_t *k = calloc(cap, sizeof *k);
    long *c = calloc(cap, sizeof *c);
    if (!k || !c) abort();
    for (size_t i = 0; i < seen_cap; i++) {
      if (!seen_keys[i]) continue;
      size_t j = seen_keys[i] & (cap - 1);
      while (k[j]) j = (j + 1) & (cap - 1);
      k[j] = seen_keys[i];
      c[j] = seen_counts[i];
    }
    free(seen_keys);
    free(seen_counts);
    seen_keys = k;
    seen_counts = c;
    seen_cap = cap;
  }
  size_t j = h & (seen_cap - 1);
  while (seen_keys[j] && seen_keys[j] != h) j = (j + 1) & (seen_cap - 1);
  if (!seen_keys[j]) {
    seen_keys[j] = h;
    seen_n++;
  }
  return seen_counts[j]++;
}

/* Whether the line with this custom_id fails this time. */
static int line_fails(const char *custom_id)
{
  uint64_t h = hash(custom_id, strlen(custom_id));
  long before = seen_bump(h);
  return before == 0 && tsbatch_fail_rate > 0 &&
         (double)(mix(h) >> 11) * (1.0 / 9007199254740992.0) < tsbatch_fail_rate;
}

void tsbatch_reset(void)
{
  for (size_t i = 0; i < nfiles; i++) tsbuf_free(&files[i].data);
  for (size_t i = 0; i < nbatches; i++) {
    tsbuf_free(&batches[i].requests);
    tsbuf_free(&batches[i].results);
    free(batches[i].error);
  }
  nfiles = nbatches = 0;
  memset(&bst, 0, sizeof bst);
  free(seen_keys);
  free(seen_counts);
  seen_keys = NULL;
  seen_counts = NULL;
  seen_cap = seen_n = 0;
}

int tsbatch_handles(const char *path)
{
  return !strncmp(path, "/v1/files", 9) || !strncmp(path, "/v1/batches", 11) ||
         !strncmp(path, "/v1/messages/batches", 20) || !strcmp(path, "/batch-stats");
}

static struct file *new_file(void)
{
  if (nfiles == capfiles) {
    capfiles = capfiles ? capfiles * 2 : 16;
    files = realloc(files, capfiles * sizeof *files);
    if (!files) abort();
  }
  struct file *f = &files[nfiles++];
  memset(f, 0, sizeof *f);
  snprintf(f->id, sizeof f->id, "file-%zu", nfiles);
  return f;
}

static struct file *find_file(const char *id, size_t n)
{
  for (size_t i = 0; i < nfiles; i++)
    if (strlen(files[i].id) == n && !memcmp(files[i].id, id, n)) return &files[i];
  return NULL;
}

static struct batch *find_batch(const char *id, size_t n)
{
  for (size_t i = 0; i < nbatches; i++)
    if (strlen(batches[i].id) == n && !memcmp(batches[i].id, id, n)) return &batches[i];
  return NULL;
}

static struct batch *new_batch(int anthropic)
{
  if (nbatches == capbatches) {
    capbatches = capbatches ? capbatches * 2 : 16;
    batches = realloc(batches, capbatches * sizeof *batches);
    if (!batches) abort();
  }
  struct batch *b = &batches[nbatches++];
  memset(b, 0, sizeof *b);
  b->anthropic = anthropic;
  b->created_us = now_us();
  snprintf(b->id, sizeof b->id, anthropic ? "msgbatch_%zu" : "batch_%zu", nbatches);
  bst.creates++;
  return b;
}

static void error_json(tsbuf *out, int *status, int code, const char *msg)
{
  *status = code;
  tsbuf_adds(out, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":");
  tsbuf_json_str(out, msg, strlen(msg));
  tsbuf_adds(out, "}}");
}

/* The content of multipart field `name`, or NULL. */
static const char *multipart_field(const char *b, size_t n, const char *name, size_t *vlen)
{
  const char *eol = memmem(b, n, "\r\n", 2);
  if (!eol || n < 2 || b[0] != '-' || b[1] != '-') return NULL;
  size_t dlen = (size_t)(eol - b);
  char want[128];
  snprintf(want, sizeof want, "name=\"%s\"", name);
  const char *p = eol + 2, *end = b + n;
  while (p < end) {
    const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
    if (!hend) return NULL;
    const char *content = hend + 4;
    const char *next = NULL;
    for (const char *s = content; s + 2 + dlen <= end; s++) {
      s = memmem(s, (size_t)(end - s), "\r\n", 2);
      if (!s || s + 2 + dlen > end) break;
      if (!memcmp(s + 2, b, dlen)) { next = s; break; }
    }
    if (!next) return NULL;
    if (memmem(p, (size_t)(hend - p), want, strlen(want))) {
      *vlen = (size_t)(next - content);
      return content;
    }
    p = next + 2 + dlen;
    if (p + 2 <= end && p[0] == '-' && p[1] == '-') return NULL;
    p += 2; /* CRLF after the delimiter */
  }
  return NULL;
}

static void upload(const char *body, size_t len, tsbuf *out, int *status)
{
  size_t flen = 0, plen = 0;
  const char *data = multipart_field(body, len, "file", &flen);
  const char *purpose = multipart_field(body, len, "purpose", &plen);
  if (!data) { error_json(out, status, 400, "multipart field 'file' missing"); return; }
  if (!purpose || plen != 5 || memcmp(purpose, "batch", 5)) {
    error_json(out, status, 400, "purpose must be 'batch'");
    return;
  }
  struct file *f = new_file();
  tsbuf_add(&f->data, data, flen);
  bst.uploads++;
  bst.upload_bytes += (long)flen;
  tsbuf_printf(out, "{\"id\":\"%s\",\"object\":\"file\",\"bytes\":%zu,\"created_at\":1700000000,"
               "\"filename\":\"batch.jsonl\",\"purpose\":\"batch\"}", f->id, flen);
}

/* Answers every line of an OpenAI batch into an output and an error file. */
static void process_openai(struct batch *b)
{
  b->processed = 1;
  struct file *in = find_file(b->input_file, strlen(b->input_file));
  if (!in) { b->error = strdup("input file vanished"); return; }
  tsbuf okbuf = { 0 }, errbuf = { 0 };
  const char *p = in->data.p, *end = in->data.p + in->data.len;
  char model0[256] = "";
  long n = 0;
  while (p && p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    if (le > p) {
      char err[128];
      tsj_doc *d = tsj_parse(p, (size_t)(le - p), err, sizeof err);
      const tsj_node *root = d ? tsj_root(d) : NULL;
      const char *cid = root ? tsj_str(tsj_get(root, "custom_id")) : NULL;
      const tsj_node *body = root ? tsj_get(root, "body") : NULL;
      const char *url = root ? tsj_str(tsj_get(root, "url")) : NULL;
      const char *model = body ? tsj_str(tsj_get(body, "model")) : NULL;
      if (!cid || !body || body->type != TSJ_OBJ || !url || strcmp(url, "/v1/chat/completions")) {
        char msg[200];
        snprintf(msg, sizeof msg, "line %ld: needs custom_id, url /v1/chat/completions and a body", n + 1);
        b->error = strdup(msg);
        tsj_free(d);
        break;
      }
      if (!model0[0] && model) snprintf(model0, sizeof model0, "%s", model);
      if (model && strcmp(model, model0)) {
        b->error = strdup("a batch file may only hold requests to one model");
        tsj_free(d);
        break;
      }
      n++;
      bst.lines++;
      if (line_fails(cid)) {
        b->failed++;
        bst.failed_lines++;
        tsbuf_printf(&errbuf, "{\"id\":\"batch_req_%ld\",\"custom_id\":", bst.lines);
        tsbuf_json_str(&errbuf, cid, strlen(cid));
        tsbuf_printf(&errbuf, ",\"response\":{\"status_code\":500,\"request_id\":\"req_%ld\",\"body\":"
                     "{\"error\":{\"message\":\"The server had an error processing your request\","
                     "\"type\":\"server_error\"}}},\"error\":null}\n", bst.lines);
      } else {
        tsbuf reply = { 0 };
        int st = 200;
        ts_chat_reply_node(body, 0, &reply, &st);
        b->succeeded++;
        tsbuf_printf(&okbuf, "{\"id\":\"batch_req_%ld\",\"custom_id\":", bst.lines);
        tsbuf_json_str(&okbuf, cid, strlen(cid));
        tsbuf_printf(&okbuf, ",\"response\":{\"status_code\":%d,\"request_id\":\"req_%ld\",\"body\":", st,
                     bst.lines);
        tsbuf_add(&okbuf, reply.p, reply.len);
        tsbuf_adds(&okbuf, "},\"error\":null}\n");
        tsbuf_free(&reply);
      }
      tsj_free(d);
    }
    p = nl ? nl + 1 : NULL;
  }
  if (!b->error && n > MAX_LINES) b->error = strdup("a batch file holds at most 50000 requests");
  if (b->error) {
    b->succeeded = b->failed = 0;
  } else {
    if (okbuf.len) {
      struct file *f = new_file();
      f->data = okbuf;
      okbuf = (tsbuf){ 0 };
      snprintf(b->output_file, sizeof b->output_file, "%s", f->id);
    }
    if (errbuf.len) {
      struct file *f = new_file();
      f->data = errbuf;
      errbuf = (tsbuf){ 0 };
      snprintf(b->error_file, sizeof b->error_file, "%s", f->id);
    }
    if (n > bst.max_lines) bst.max_lines = n;
  }
  tsbuf_free(&okbuf);
  tsbuf_free(&errbuf);
}

static void process_anthropic(struct batch *b)
{
  b->processed = 1;
  char err[128];
  tsj_doc *d = tsj_parse(b->requests.p, b->requests.len, err, sizeof err);
  const tsj_node *reqs = d ? tsj_get(tsj_root(d), "requests") : NULL;
  long n = 0;
  for (const tsj_node *r = reqs ? reqs->child : NULL; r; r = r->next) {
    const char *cid = tsj_str(tsj_get(r, "custom_id"));
    const tsj_node *params = tsj_get(r, "params");
    if (!cid || !params) continue;
    n++;
    bst.lines++;
    tsbuf_adds(&b->results, "{\"custom_id\":");
    tsbuf_json_str(&b->results, cid, strlen(cid));
    if (line_fails(cid)) {
      b->failed++;
      bst.failed_lines++;
      tsbuf_adds(&b->results, ",\"result\":{\"type\":\"errored\",\"error\":{\"type\":\"error\",\"error\":"
                 "{\"type\":\"api_error\",\"message\":\"Internal server error\"}}}}\n");
    } else {
      tsbuf reply = { 0 };
      int st = 200;
      ts_chat_reply_node(params, 1, &reply, &st);
      b->succeeded++;
      tsbuf_adds(&b->results, ",\"result\":{\"type\":\"succeeded\",\"message\":");
      tsbuf_add(&b->results, reply.p, reply.len);
      tsbuf_adds(&b->results, "}}\n");
      tsbuf_free(&reply);
    }
  }
  if (n > bst.max_lines) bst.max_lines = n;
  tsj_free(d);
  if (!b->results.p) tsbuf_add(&b->results, "", 0);
}

/* Elapsed fraction of a batch's run time; processes it when it is due. */
static double progress(struct batch *b)
{
  double f = tsbatch_ms > 0 ? (double)(now_us() - b->created_us) / (tsbatch_ms * 1000.0) : 1.0;
  if (f >= 1.0 && !b->processed) {
    if (b->anthropic) process_anthropic(b);
    else process_openai(b);
  }
  return f;
}

static void openai_batch_json(struct batch *b, tsbuf *out)
{
  double f = progress(b);
  const char *status = f < 0.2 ? "validating" : f < 1.0 ? "in_progress" : b->error ? "failed" : "completed";
  tsbuf_printf(out, "{\"id\":\"%s\",\"object\":\"batch\",\"endpoint\":\"/v1/chat/completions\",", b->id);
  if (b->error && f >= 1.0) {
    tsbuf_adds(out, "\"errors\":{\"object\":\"list\",\"data\":[{\"code\":\"invalid_request\",\"message\":");
    tsbuf_json_str(out, b->error, strlen(b->error));
    tsbuf_adds(out, "}]},");
  } else {
    tsbuf_adds(out, "\"errors\":null,");
  }
  tsbuf_printf(out, "\"input_file_id\":\"%s\",\"completion_window\":\"24h\",\"status\":\"%s\",",
               b->input_file, status);
  if (b->output_file[0] && f >= 1.0) tsbuf_printf(out, "\"output_file_id\":\"%s\",", b->output_file);
  else tsbuf_adds(out, "\"output_file_id\":null,");
  if (b->error_file[0] && f >= 1.0) tsbuf_printf(out, "\"error_file_id\":\"%s\",", b->error_file);
  else tsbuf_adds(out, "\"error_file_id\":null,");
  long total = b->total, done = 0, failed = 0;
  if (f >= 1.0) { done = b->succeeded; failed = b->failed; }
  else if (f >= 0.2) done = (long)(total * (f - 0.2) / 0.8);
  tsbuf_printf(out, "\"created_at\":1700000000,\"request_counts\":{\"total\":%ld,\"completed\":%ld,"
               "\"failed\":%ld}}", total, done, failed);
}

static void anthropic_batch_json(struct batch *b, tsbuf *out)
{
  double f = progress(b);
  int ended = f >= 1.0;
  long total = b->total;
  long ok = ended ? b->succeeded : (long)(total * (f < 0 ? 0 : f));
  long bad = ended ? b->failed : 0;
  tsbuf_printf(out, "{\"id\":\"%s\",\"type\":\"message_batch\",\"processing_status\":\"%s\","
               "\"request_counts\":{\"processing\":%ld,\"succeeded\":%ld,\"errored\":%ld,"
               "\"canceled\":0,\"expired\":0},\"ended_at\":%s,\"created_at\":\"2024-01-01T00:00:00Z\","
               "\"expires_at\":\"2024-01-02T00:00:00Z\",\"cancel_initiated_at\":null,\"results_url\":",
               b->id, ended ? "ended" : "in_progress", ended ? 0 : total - ok, ok, bad,
               ended ? "\"2024-01-01T00:01:00Z\"" : "null");
  if (ended) tsbuf_printf(out, "\"http://127.0.0.1:%d/v1/messages/batches/%s/results\"}", tsbatch_port, b->id);
  else tsbuf_adds(out, "null}");
}

static void create_openai(const char *body, size_t len, tsbuf *out, int *status)
{
  char err[128];
  tsj_doc *d = tsj_parse(body, len, err, sizeof err);
  const tsj_node *root = d ? tsj_root(d) : NULL;
  const char *fid = root ? tsj_str(tsj_get(root, "input_file_id")) : NULL;
  const char *ep = root ? tsj_str(tsj_get(root, "endpoint")) : NULL;
  struct file *f = fid ? find_file(fid, strlen(fid)) : NULL;
  if (!f) {
    error_json(out, status, fid ? 404 : 400, fid ? "no such input file" : "input_file_id missing");
  } else if (!ep || strcmp(ep, "/v1/chat/completions")) {
    error_json(out, status, 400, "endpoint must be /v1/chat/completions");
  } else {
    struct batch *b = new_batch(0);
    snprintf(b->input_file, sizeof b->input_file, "%s", fid);
    for (size_t i = 0; i < f->data.len; i++)
      if (f->data.p[i] == '\n') b->total++;
    if (f->data.len && f->data.p[f->data.len - 1] != '\n') b->total++;
    openai_batch_json(b, out);
  }
  tsj_free(d);
}

static void create_anthropic(const char *body, size_t len, tsbuf *out, int *status)
{
  char err[128];
  tsj_doc *d = tsj_parse(body, len, err, sizeof err);
  const tsj_node *reqs = d ? tsj_get(tsj_root(d), "requests") : NULL;
  if (!reqs || reqs->type != TSJ_ARR || reqs->len == 0) {
    error_json(out, status, 400, "requests must be a non-empty list");
  } else if (reqs->len > 100000) {
    error_json(out, status, 400, "a batch holds at most 100000 requests");
  } else {
    struct batch *b = new_batch(1);
    tsbuf_add(&b->requests, body, len);
    b->total = (long)reqs->len;
    anthropic_batch_json(b, out);
  }
  tsj_free(d);
}

void tsbatch_handle(const char *method, const char *path, const char *body, size_t len, tsbuf *out,
                    int *status)
{
  *status = 200;
  bst.requests++;
  int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
  if (!strcmp(path, "/batch-stats")) {
    bst.requests--;
    tsbuf_printf(out, "{\"requests\":%ld,\"uploads\":%ld,\"upload_bytes\":%ld,\"batches\":%ld,"
                 "\"polls\":%ld,\"downloads\":%ld,\"lines\":%ld,\"failed_lines\":%ld,\"max_lines\":%ld}",
                 bst.requests, bst.uploads, bst.upload_bytes, bst.creates, bst.polls, bst.downloads,
                 bst.lines, bst.failed_lines, bst.max_lines);
    return;
  }
  if (!strcmp(path, "/v1/files") && post) { upload(body, len, out, status); return; }
  if (!strncmp(path, "/v1/files/", 10) && get) {
    const char *id = path + 10, *slash = strchr(id, '/');
    struct file *f = slash && !strcmp(slash, "/content") ? find_file(id, (size_t)(slash - id)) : NULL;
    if (!f) { error_json(out, status, 404, "no such file"); return; }
    bst.downloads++;
    tsbuf_add(out, f->data.p ? f->data.p : "", f->data.len);
    return;
  }
  if (!strcmp(path, "/v1/batches") && post) { create_openai(body, len, out, status); return; }
  if (!strncmp(path, "/v1/batches/", 12) && get) {
    struct batch *b = find_batch(path + 12, strlen(path + 12));
    if (!b || b->anthropic) { error_json(out, status, 404, "no such batch"); return; }
    bst.polls++;
    openai_batch_json(b, out);
    return;
  }
  if (!strcmp(path, "/v1/messages/batches") && post) { create_anthropic(body, len, out, status); return; }
  if (!strncmp(path, "/v1/messages/batches/", 21) && get) {
    const char *id = path + 21, *slash = strchr(id, '/');
    struct batch *b = find_batch(id, slash ? (size_t)(slash - id) : strlen(id));
    if (!b || !b->anthropic) { error_json(out, status, 404, "no such batch"); return; }
    if (slash && !strcmp(slash, "/results")) {
      if (!b->processed) { error_json(out, status, 400, "the batch has not ended"); return; }
      bst.downloads++;
      tsbuf_add(out, b->results.p, b->results.len);
      return;
    }
    if (slash) { error_json(out, status, 404, "no such endpoint"); return; }
    bst.polls++;
    anthropic_batch_json(b, out);
    return;
  }
  error_json(out, status, 404, "no such batch endpoint");
}
