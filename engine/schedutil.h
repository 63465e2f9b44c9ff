/* schedutil.h: the pure C pieces of the task scheduler that need no curl and no
 * Lua: a monotonic clock, a small PRNG, request/token buckets for rate
 * limits, retry backoff, and the progress line. */
#ifndef EVALUA_SCHEDUTIL_H
#define EVALUA_SCHEDUTIL_H
#include <stddef.h>
#include <stdint.h>

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t sched_now_us(void);

/* xorshift64*: state must be non-zero (sched_rand_seed makes it so). */
uint64_t sched_rand_seed(uint64_t seed);
uint64_t sched_rand(uint64_t *state);
/* A uniform double in [0, 1). */
double sched_rand_unit(uint64_t *state);

/* A requests-per-minute and tokens-per-minute bucket pair. A rate of 0 means
 * unlimited. Each bucket holds at most `burst_s` seconds of its rate (at
 * least one request, and at least the tokens of the request being taken, so a
 * large request waits for a full bucket and then takes it into debt). */
typedef struct sched_bucket {
  double rpm, tpm, burst_s;
  double req_avail, tok_avail;
  uint64_t last_us;
} sched_bucket;

/* Sets the rates (keeps what is available, clipped to the new size). */
void sched_bucket_set(sched_bucket *b, double rpm, double tpm, double burst_s, uint64_t now_us);
/* Takes one request and `tokens` tokens when both buckets allow it and
 * returns 1; otherwise returns 0 and sets *wait_us to the time until they
 * will (never 0). */
int sched_bucket_take(sched_bucket *b, double tokens, uint64_t now_us, uint64_t *wait_us);

/* The delay before retry number `attempt` (1 = after the first failure):
 * base * 2^(attempt-1) capped at max_ms, with "equal jitter" (half fixed,
 * half random). When the server said how long to wait (retry_after_ms >= 0)
 * the delay is that, plus up to 10% (at most 1 s) of jitter, never less. */
long sched_backoff_ms(int attempt, long base_ms, long max_ms, long retry_after_ms, uint64_t *rng);

/* Counters the progress line shows. */
typedef struct sched_progress {
  long done, total;         /* rows */
  long requests, inflight, retries, failures;
  double tokens;
  int tokens_estimated;     /* tokens are the callers' estimates */
  double elapsed_s;
  const char *label;        /* what the rows are doing ("predict 5/10 · judge q 3/10"), or NULL */
} sched_progress;

/* Writes the one-line progress text (no newline) into buf; `final` makes
 * the summary wording. Returns buf. */
char *sched_progress_line(char *buf, size_t cap, const sched_progress *p, int final);

#endif
