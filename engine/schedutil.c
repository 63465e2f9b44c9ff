/* schedutil.c: clock, PRNG, rate-limit buckets, backoff and the progress line. */
#include "schedutil.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

uint64_t sched_now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t sched_rand_seed(uint64_t seed)
{
  seed ^= 0x9E3779B97F4A7C15ull;
  seed = (seed ^ (seed >> 30)) * 0xBF58476D1CE4E5B9ull;
  seed = (seed ^ (seed >> 27)) * 0x94D049BB133111EBull;
  seed ^= seed >> 31;
  return seed ? seed : 0x2545F4914F6CDD1Dull;
}

uint64_t sched_rand(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

double sched_rand_unit(uint64_t *s)
{
  return (double)(sched_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

static void refill(sched_bucket *b, uint64_t now)
{
  double dt = now > b->last_us ? (double)(now - b->last_us) / 1e6 : 0;
  b->last_us = now;
  if (b->rpm > 0) {
    double cap = fmax(1.0, b->rpm / 60.0 * b->burst_s);
    b->req_avail = fmin(cap, b->req_avail + dt * b->rpm / 60.0);
  }
  if (b->tpm > 0) {
    double cap = fmax(1.0, b->tpm / 60.0 * b->burst_s);
    b->tok_avail = fmin(cap, b->tok_avail + dt * b->tpm / 60.0);
  }
}

void sched_bucket_set(sched_bucket *b, double rpm, double tpm, double burst_s, uint64_t now)
{
  int fresh = b->last_us == 0;
  refill(b, now);
  b->rpm = rpm > 0 ? rpm : 0;
  b->tpm = tpm > 0 ? tpm : 0;
  b->burst_s = burst_s > 0 ? burst_s : 1.0;
  double rcap = fmax(1.0, b->rpm / 60.0 * b->burst_s);
  double tcap = fmax(1.0, b->tpm / 60.0 * b->burst_s);
  if (fresh) {
    b->req_avail = rcap;
    b->tok_avail = tcap;
  }
  if (b->req_avail > rcap) b->req_avail = rcap;
  if (b->tok_avail > tcap) b->tok_avail = tcap;
}

int sched_bucket_take(sched_bucket *b, double tokens, uint64_t now, uint64_t *wait_us)
{
  refill(b, now);
  double wait_s = 0;
  if (b->rpm > 0 && b->req_avail < 1.0)
    wait_s = fmax(wait_s, (1.0 - b->req_avail) / (b->rpm / 60.0));
  if (b->tpm > 0 && tokens > 0) {
    /* a request larger than the bucket waits for a full bucket */
    double cap = fmax(1.0, b->tpm / 60.0 * b->burst_s);
    double need = fmin(tokens, cap);
    if (b->tok_avail < need) wait_s = fmax(wait_s, (need - b->tok_avail) / (b->tpm / 60.0));
  }
  if (wait_s > 0) {
    uint64_t w = (uint64_t)ceil(wait_s * 1e6);
    *wait_us = w ? w : 1;
    return 0;
  }
  if (b->rpm > 0) b->req_avail -= 1.0;
  if (b->tpm > 0 && tokens > 0) b->tok_avail -= tokens;
  return 1;
}

long sched_backoff_ms(int attempt, long base_ms, long max_ms, long retry_after_ms, uint64_t *rng)
{
  if (retry_after_ms >= 0) {
    double extra = fmin(retry_after_ms * 0.1, 1000.0);
    return retry_after_ms + (long)(extra * sched_rand_unit(rng));
  }
  if (attempt < 1) attempt = 1;
  double d = (double)base_ms * pow(2.0, attempt - 1);
  if (d > (double)max_ms) d = (double)max_ms;
  return (long)(d / 2 + d / 2 * sched_rand_unit(rng));
}

static void fmt_secs(char *buf, size_t cap, double s)
{
  if (s < 0 || !isfinite(s)) snprintf(buf, cap, "?");
  else if (s < 60) snprintf(buf, cap, "%.1fs", s);
  else if (s < 3600) snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
  else snprintf(buf, cap, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static void fmt_count(char *buf, size_t cap, double v)
{
  if (v < 10000) snprintf(buf, cap, "%.0f", v);
  else if (v < 1e7) snprintf(buf, cap, "%.1fk", v / 1e3);
  else snprintf(buf, cap, "%.1fM", v / 1e6);
}

char *sched_progress_line(char *buf, size_t cap, const sched_progress *p, int final)
{
  char el[32], eta[32], tok[32];
  double rate = p->elapsed_s > 0 ? (double)p->requests / p->elapsed_s : 0;
  fmt_secs(el, sizeof el, p->elapsed_s);
  fmt_count(tok, sizeof tok, p->tokens);
  if (final && p->label) {
    snprintf(buf, cap, "evalua: %s in %s: %ld requests (%.0f/s), %ld retries, %ld failed, %s%s tokens",
             p->label, el, p->requests, rate, p->retries, p->failures,
             p->tokens_estimated ? "~" : "", tok);
    return buf;
  }
  if (final) {
    snprintf(buf, cap, "evalua: %ld rows in %s: %ld requests (%.0f/s), %ld retries, %ld failed, %s%s tokens",
             p->done, el, p->requests, rate, p->retries, p->failures,
             p->tokens_estimated ? "~" : "", tok);
    return buf;
  }
  double left = p->done > 0 ? p->elapsed_s / (double)p->done * (double)(p->total - p->done) : -1;
  fmt_secs(eta, sizeof eta, left);
  int pct = p->total > 0 ? (int)(100.0 * (double)p->done / (double)p->total) : 0;
  if (p->label) {
    snprintf(buf, cap, "%s  %.0f req/s  %ld in flight  %ld retries  %ld failed  %s%s tokens  %s  eta %s",
             p->label, rate, p->inflight, p->retries, p->failures, p->tokens_estimated ? "~" : "",
             tok, el, eta);
    return buf;
  }
  snprintf(buf, cap, "rows %ld/%ld (%d%%)  %.0f req/s  %ld in flight  %ld retries  %s%s tokens  %s  eta %s",
           p->done, p->total, pct, rate, p->inflight, p->retries, p->tokens_estimated ? "~" : "",
           tok, el, eta);
  return buf;
}
