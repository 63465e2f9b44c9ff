/* tsbatch.h: the test server's batch APIs: OpenAI Files + Batches
 * (POST /v1/files, POST /v1/batches, GET /v1/batches/ID, GET
 * /v1/files/ID/content) and Anthropic Message Batches (POST
 * /v1/messages/batches, GET /v1/messages/batches/ID[/results]). State lives
 * in memory; a batch "runs" for tsbatch_ms after it is created and its lines
 * are answered (with the chat replies of ts_chat_reply) when a poll finds
 * it due. tsbatch_fail_rate of the lines fail the first time their
 * custom_id is processed (deterministically, by a hash of it). */
#ifndef TSBATCH_H
#define TSBATCH_H
#include <stddef.h>

#include "tsjson.h"

extern long tsbatch_ms;          /* how long a batch takes (default 300) */
extern double tsbatch_fail_rate; /* lines failing on their first processing */
extern int tsbatch_port;         /* for Anthropic's absolute results_url */

/* Whether path is one of the batch endpoints. */
int tsbatch_handles(const char *path);
/* Answers one request: fills body (JSON or JSONL) and *status. */
void tsbatch_handle(const char *method, const char *path, const char *body, size_t len,
                    tsbuf *out, int *status);
/* Forgets every file and batch and zeroes the counters (POST /reset). */
void tsbatch_reset(void);

/* Provided by testserver.c: the reply to one parsed chat request (OpenAI
 * chat completions, or Anthropic Messages when anthropic is set); *status
 * 200, or 400 with an error body when req is not an object. */
void ts_chat_reply_node(const tsj_node *req, int anthropic, tsbuf *out, int *status);

#endif
