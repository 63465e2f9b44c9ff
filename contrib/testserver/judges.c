/* judges.c: pairwise verdicts, n choices and logprobs of the test server's
 * judge answers (see judges.h). */
#define _GNU_SOURCE
#include "judges.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *ts_pairwise_mode = "longer";

int ts_pairwise_mode_ok(const char *mode)
{
  return !strcmp(mode, "longer") || !strcmp(mode, "first") || !strcmp(mode, "hash");
}

static uint64_t mix(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* The last occurrence of needle in hay[0..n). */
static const char *find_last(const char *hay, size_t n, const char *needle)
{
  size_t m = strlen(needle);
  const char *hit = NULL;
  for (const char *p = hay; (p = memmem(p, n - (size_t)(p - hay), needle, m)) != NULL; p++) hit = p;
  return hit;
}

/* The text between the last `open` and the `close` that follows it. */
static int between(const char *p, size_t n, const char *open, const char *close, size_t *len)
{
  const char *s = find_last(p, n, open);
  if (!s) return 0;
  s += strlen(open);
  const char *e = memmem(s, n - (size_t)(s - p), close, strlen(close));
  if (!e) return 0;
  *len = (size_t)(e - s);
  return 1;
}

int ts_pairwise_reply(const char *prompt, size_t n, int json, tsbuf *text)
{
  size_t la, lb;
  if (!between(prompt, n, "Output A:\n", "\n(end of output A)", &la) ||
      !between(prompt, n, "Output B:\n", "\n(end of output B)", &lb))
    return 0;
  const char *w;
  char just[200];
  if (!strcmp(ts_pairwise_mode, "first")) {
    w = "A";
    snprintf(just, sizeof just, "output A comes first");
  } else if (!strcmp(ts_pairwise_mode, "hash")) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)prompt[i]) * 1099511628211ull;
    static const char *const pick[3] = { "A", "B", "tie" };
    w = pick[mix(h) % 3];
    snprintf(just, sizeof just, "a coin with three sides said %s", w);
  } else {
    w = la > lb ? "A" : lb > la ? "B" : "tie";
    snprintf(just, sizeof just, "output A has %zu bytes, output B %zu", la, lb);
  }
  if (json) {
    tsbuf_printf(text, "{\"winner\": \"%s\", \"justification\": ", w);
    tsbuf_json_str(text, just, strlen(just));
    tsbuf_adds(text, "}");
  } else {
    tsbuf_printf(text, "winner: %s\njustification: %s", w, just);
  }
  return 1;
}

int ts_judge_score(uint64_t hj, int k)
{
  if (k == 0) return (int)(1 + hj % 5);
  return (int)(1 + mix(hj ^ (uint64_t)k) % 5);
}

static long number_of(const tsj_node *n, long dflt)
{
  return n && n->type == TSJ_NUM ? (long)n->num : dflt;
}

int ts_judge_wants_choices(const tsj_node *req)
{
  const tsj_node *lp = tsj_get(req, "logprobs");
  return number_of(tsj_get(req, "n"), 1) > 1 || (lp && lp->type == TSJ_BOOL && lp->num != 0);
}

/* One token of a logprobs content list; top: the digit alternatives. */
static void token(tsbuf *b, const char *s, size_t n, double lp, int first)
{
  if (!first) tsbuf_adds(b, ",");
  tsbuf_adds(b, "{\"token\":");
  tsbuf_json_str(b, s, n);
  tsbuf_printf(b, ",\"logprob\":%.17g,\"bytes\":null,\"top_logprobs\":[]}", lp);
}

size_t ts_judge_choices(const tsj_node *req, uint64_t hj, size_t prompt_len, int json, tsbuf *body)
{
  long n = number_of(tsj_get(req, "n"), 1);
  if (n < 1) n = 1;
  if (n > 16) n = 16;
  const tsj_node *lpn = tsj_get(req, "logprobs");
  int logprobs = lpn && lpn->type == TSJ_BOOL && lpn->num != 0;
  long top = number_of(tsj_get(req, "top_logprobs"), 0);
  size_t written = 0;
  tsbuf_adds(body, "[");
  for (long k = 0; k < n; k++) {
    int score = ts_judge_score(hj, (int)k);
    char just[160];
    snprintf(just, sizeof just, "deterministic judgement %08llx of a %zu-byte prompt: score %d",
             (unsigned long long)(mix(hj ^ (uint64_t)k) >> 32), prompt_len, score);
    tsbuf pre = { 0 }, post = { 0 }, text = { 0 };
    if (json) {
      tsbuf_adds(&pre, "{\"score\": ");
      tsbuf_adds(&post, ", \"justification\": ");
      tsbuf_json_str(&post, just, strlen(just));
      tsbuf_adds(&post, "}");
    } else {
      tsbuf_adds(&pre, "score: ");
      tsbuf_printf(&post, "\njustification: %s", just);
    }
    char digit[2] = { (char)('0' + score), 0 };
    tsbuf_add(&text, pre.p, pre.len);
    tsbuf_add(&text, digit, 1);
    tsbuf_add(&text, post.p, post.len);
    written += text.len;
    tsbuf_printf(body, "%s{\"index\":%ld,\"message\":{\"role\":\"assistant\",\"content\":", k ? "," : "", k);
    tsbuf_json_str(body, text.p, text.len);
    tsbuf_adds(body, "},\"logprobs\":");
    if (!logprobs) {
      tsbuf_adds(body, "null");
    } else {
      /* p(d) ~ exp(-|d - score| * s), s in [0.6, 1.6), and 1% on the word "high" */
      double s = 0.6 + (double)(mix(hj + 77u + (uint64_t)k) % 1000) / 1000.0, w[6], tot = 0;
      for (int d = 1; d <= 5; d++) tot += (w[d] = exp(-fabs((double)(d - score)) * s));
      for (int d = 1; d <= 5; d++) w[d] = 0.99 * w[d] / tot;
      tsbuf_adds(body, "{\"content\":[");
      token(body, pre.p, pre.len, -0.001, 1);
      tsbuf_adds(body, ",{\"token\":");
      tsbuf_json_str(body, digit, 1);
      tsbuf_printf(body, ",\"logprob\":%.17g,\"bytes\":null,\"top_logprobs\":[", log(w[score]));
      /* most likely first, as the API orders them; at most top entries */
      int order[6], m = 0;
      for (int d = 1; d <= 5; d++) order[m++] = d;
      for (int i = 0; i < m; i++)
        for (int j = i + 1; j < m; j++)
          if (w[order[j]] > w[order[i]]) { int t = order[i]; order[i] = order[j]; order[j] = t; }
      long shown = 0;
      for (int i = 0; i < m && (top <= 0 || shown < top); i++, shown++) {
        tsbuf_printf(body, "%s{\"token\":\"%d\",\"logprob\":%.17g,\"bytes\":null}", i ? "," : "", order[i],
                     log(w[order[i]]));
      }
      if (top <= 0 || shown < top)
        tsbuf_printf(body, "%s{\"token\":\"high\",\"logprob\":%.17g,\"bytes\":null}", shown ? "," : "", log(0.01));
      tsbuf_adds(body, "]}");
      token(body, post.p, post.len, -0.002, 0);
      tsbuf_adds(body, "],\"refusal\":null}");
    }
    tsbuf_adds(body, ",\"finish_reason\":\"stop\"}");
    tsbuf_free(&pre);
    tsbuf_free(&post);
    tsbuf_free(&text);
  }
  tsbuf_adds(body, "]");
  return written;
}
