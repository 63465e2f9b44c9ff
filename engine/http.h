/* http.h: the transfer engine. One libcurl multi handle drives every request
 * of a run; a transfer is submitted with an opaque owner (the Lua task), may
 * wait for a rate-limit bucket or an in-flight slot, is retried here (429,
 * 5xx, timeouts, connection errors: exponential backoff with jitter, honouring
 * Retry-After / retry-after-ms) and ends on the done list with a response or
 * an error. Timers (sleeps) are transfers of their own kind, so one loop and
 * one cancel path serve both. Curl callbacks only append to capped buffers.
 * No Lua here. */
#ifndef EVALUA_HTTP_H
#define EVALUA_HTTP_H
#include <stddef.h>
#include <stdint.h>

/* Requests in flight at most unless configured (--concurrency): the one
 * place this default is written (main.c, the scheduler and --help use it). */
#define HTTP_DEFAULT_CONCURRENCY 32
#define HTTP_STR_(x) #x
#define HTTP_STR(x) HTTP_STR_(x)

typedef struct http_engine http_engine;
typedef struct http_xfer http_xfer;

typedef struct http_config {
  long concurrency;      /* transfers in flight at most (HTTP_DEFAULT_CONCURRENCY) */
  int max_attempts;      /* attempts per request, first included (default 6) */
  long timeout_ms;       /* per attempt (default 120000) */
  long connect_timeout_ms; /* default 10000 */
  size_t body_cap;       /* response body bytes at most (default 64 MB) */
  long backoff_base_ms;  /* first retry delay scale (default 1000) */
  long backoff_max_ms;   /* longest backoff (default 60000) */
  long retry_after_max_ms; /* longest honoured Retry-After (default 600000) */
} http_config;

/* The defaults above. */
void http_config_default(http_config *c);

typedef struct http_req {
  const char *method;    /* NULL: POST when body is set, else GET */
  const char *url;       /* required */
  const char *const *headers; /* "Name: value" lines (copied) */
  size_t nheaders;
  const char *body;      /* may be NULL (copied) */
  size_t body_len;
  long timeout_ms;       /* 0: the engine's */
  int max_attempts;      /* 0: the engine's */
  const char *provider;  /* rate-limit bucket name or NULL */
  double tokens;         /* estimated tokens for the tokens-per-minute bucket */
} http_req;

typedef struct http_stats {
  long requests;         /* attempts started */
  long retries;          /* attempts that were retries */
  long failures;         /* requests that ended with an error */
  long completed;        /* requests that ended with a response */
  long inflight, inflight_peak;
  long status_2xx, status_4xx, status_5xx;
  uint64_t bytes_in, bytes_out;
  double tokens_est;     /* sum of http_req.tokens of admitted requests */
} http_stats;

/* Creates an engine (curl_global_init happens once per process). Returns
 * NULL with a message in err on failure. Free with http_free. */
http_engine *http_new(const http_config *cfg, char *err, size_t errlen);
/* Removes and frees every transfer (in flight, waiting or done) and the
 * engine. NULL is a no-op. */
void http_free(http_engine *e);

/* Closes every connection the engine keeps open for reuse (and frees the
 * idle handles); limits and settings stay. Returns 0, or -1 (nothing done)
 * while transfers are pending or when curl cannot make a new multi handle. */
int http_close_idle(http_engine *e);
/* Replaces the configuration; applies to new attempts. */
void http_configure(http_engine *e, const http_config *cfg);
const http_config *http_get_config(const http_engine *e);
/* Sets a provider's requests-per-minute and tokens-per-minute limits (0:
 * unlimited); burst_s is how many seconds of the rate a bucket holds. */
int http_set_limits(http_engine *e, const char *provider, double rpm, double tpm, double burst_s);

/* Submits a request (everything is copied). Returns the transfer, owned by
 * the engine until it comes out of http_next_done (then the caller frees it
 * with http_xfer_free) or is cancelled. NULL with err set on a bad request
 * (bad method, out of memory). */
http_xfer *http_submit(http_engine *e, const http_req *req, void *owner, char *err, size_t errlen);
/* A timer transfer that completes after ms milliseconds. */
http_xfer *http_sleep(http_engine *e, long ms, void *owner);
/* Removes a transfer wherever it is (queue, timer, curl, done list) and frees
 * it. The owner is gone (a dead task). */
void http_cancel(http_engine *e, http_xfer *x);
/* Ends every queued, waiting and running request transfer now with error
 * `msg` (they come out of http_next_done); sleeps are left alone. */
void http_fail_all(http_engine *e, const char *msg);

/* One turn of the loop: fire due timers, admit queued transfers, let curl
 * work, collect finished transfers (retrying those that should be). Waits
 * up to max_wait_ms (0: never) for activity when nothing finished yet.
 * Returns 0, or -1 with err set on a curl multi failure. */
int http_step(http_engine *e, long max_wait_ms, char *err, size_t errlen);
/* Starts queued transfers now (up to the caps) and lets curl send them,
 * without waiting or collecting: a loop that resumes many tasks in a row
 * calls it so early requests do not wait for the whole batch. Returns 0, or
 * -1 with err set on a curl multi failure. */
int http_flush(http_engine *e, char *err, size_t errlen);
/* Pops a finished transfer, or NULL. */
http_xfer *http_next_done(http_engine *e);
/* Transfers not yet finished (queued, waiting, running, sleeping). */
long http_pending(const http_engine *e);

/* Results of a finished transfer. */
void *http_xfer_owner(const http_xfer *x);
int http_xfer_is_sleep(const http_xfer *x);
/* NULL when the transfer ended with a response; else the error text
 * ("http.request: POST http://host/path: ..."). */
const char *http_xfer_error(const http_xfer *x);
long http_xfer_status(const http_xfer *x);
const char *http_xfer_body(const http_xfer *x, size_t *len);
/* The raw header block of the final response (status line first). */
const char *http_xfer_headers(const http_xfer *x, size_t *len);
int http_xfer_attempts(const http_xfer *x);
/* Frees a transfer that came out of http_next_done. */
void http_xfer_free(http_engine *e, http_xfer *x);

void http_get_stats(const http_engine *e, http_stats *s);
void http_reset_stats(http_engine *e);

#endif
