/* judges.h: the test server's judge modes beyond one scored answer:
 * pairwise verdicts (including a position-biased judge), n choices and
 * token logprobs for score answers. Pure C over tsjson. */
#ifndef TS_JUDGES_H
#define TS_JUDGES_H
#include <stddef.h>
#include <stdint.h>
#include "tsjson.h"

/* --pairwise MODE: "longer" (the longer output wins, equal lengths tie:
 * a judge with no position preference), "first" (always "A": a judge that
 * only looks at the position), "hash" (A, B or tie from a hash of the
 * prompt: positions matter, so swapped verdicts often disagree). */
extern const char *ts_pairwise_mode;
/* Nonzero when mode is one of the above. */
int ts_pairwise_mode_ok(const char *mode);

/* When the prompt (n bytes) is a pairwise judge prompt (it marks both
 * outputs with "(end of output A)" / "(end of output B)"), appends the
 * verdict to text (JSON when json, else winner:/justification: lines) and
 * returns 1; else returns 0 and appends nothing. */
int ts_pairwise_reply(const char *prompt, size_t n, int json, tsbuf *text);

/* The score of judge choice k for a judge hash hj: choice 0 is 1 + hj % 5
 * (the single-answer score), others mix k in. */
int ts_judge_score(uint64_t hj, int k);

/* Appends the OpenAI "choices" array of a score judge's answer: the
 * request's "n" choices (1..16), each with its own score, and with
 * "logprobs": true per-token logprobs whose score token carries
 * top_logprobs over 1..5 (and one non-digit token). prompt_len feeds the
 * justification text; json: answer as a JSON object. Returns the bytes of
 * answer text written, for the usage counts. */
size_t ts_judge_choices(const tsj_node *req, uint64_t hj, size_t prompt_len, int json, tsbuf *body);

/* Nonzero when a request asks for more than one choice or for logprobs. */
int ts_judge_wants_choices(const tsj_node *req);

#endif
