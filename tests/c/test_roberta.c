/* test_roberta.c: the GPT-2 byte-level BPE (against gpt-tokenizer's
 * r50k_base output, tests/data/toxicity/gpt2/) and the RoBERTa classifier
 * (against an independent numpy forward pass of a tiny random model written
 * by tests/roberta_ref.py into a temporary directory). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpe_gpt2.h"
#include "check.h"
#include "roberta.h"
#include "roberta_json.h"

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
    free(p);
    p = NULL;
  }
  fclose(f);
  if (p) p[n] = 0;
  *len = (size_t)n;
  return p;
}

static void spit(const char *path, const char *s)
{
  FILE *f = fopen(path, "wb");
  if (f) {
    fputs(s, f);
    fclose(f);
  }
}

/* ---- pre-tokenizer ---- */

typedef struct {
  char buf[512];
  size_t n;
} joined;

static int join_piece(const char *p, size_t n, void *ud)
{
  joined *j = ud;
  if (j->n + n + 2 < sizeof j->buf) {
    memcpy(j->buf + j->n, p, n);
    j->n += n;
    j->buf[j->n++] = '|';
    j->buf[j->n] = 0;
  }
  return 0;
}

static void test_pretokenize(void)
{
  static const struct { const char *in, *out; } cases[] = {
      {"Hello world", "Hello| world|"},
      {"Hello  world", "Hello| | world|"},
      {"a   b", "a|  | b|"},
      {"end  ", "end|  |"},
      {"I'm you're it's 'S", "I|'m| you|'re| it|'s| '|S|"},
      {"x\n\ny", "x|\n|\n|y|"},
      {"x \ny", "x| |\n|y|"},
      {"abc123 45!!", "abc|123| 45|!!|"},
      {"  !?x", " | !?|x|"},
      {"caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9| na\xc3\xafve|"},
      {"bad\xff\xfe bytes", "bad|\xff\xfe| bytes|"},
      {"\xc2\xa0nbsp", "\xc2\xa0|nbsp|"},
      {"x\xc2\xb2", "x|\xc2\xb2|"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    joined j = {{0}, 0};
    bpe_pretokenize(cases[i].in, strlen(cases[i].in), join_piece, &j);
    CHECK_STR(j.buf, cases[i].out);
  }
  CHECK(bpe_uclass('a') == BPE_LETTER);
  CHECK(bpe_uclass(0x4E2D) == BPE_LETTER);  /* 中 */
  CHECK(bpe_uclass(0x0663) == BPE_NUMBER);  /* Arabic-Indic three */
  CHECK(bpe_uclass(0x2167) == BPE_NUMBER);  /* Roman numeral eight (Nl) */
  CHECK(bpe_uclass(0x3000) == BPE_SPACE);
  CHECK(bpe_uclass(0x200B) == BPE_OTHER);   /* zero width space is not White_Space */
  CHECK(bpe_uclass(0x1F600) == BPE_OTHER);
  CHECK(bpe_uclass(0x0301) == BPE_OTHER);   /* combining mark */
}

/* ---- GPT-2 vectors ---- */

static void test_gpt2_vectors(void)
{
  char err[512];
  bpe_tokenizer *t = bpe_load("tests/data/toxicity/gpt2/vocab.json",
                              "tests/data/toxicity/gpt2/merges.txt", err, sizeof err);
  CHECK(t != NULL);
  if (!t) {
    fprintf(stderr, "%s\n", err);
    return;
  }
  size_t len;
  char *src = slurp("tests/data/toxicity/gpt2/expected.jsonl", &len);
  CHECK(src != NULL);
  int cases = 0;
  for (char *line = src; line && *line;) {
    char *nl = strchr(line, '\n');
    size_t ll = nl ? (size_t)(nl - line) : strlen(line);
    rj_value v;
    if (ll > 0 && rj_parse(line, ll, &v, err, sizeof err) == 0) {
      const rj_value *text = rj_get(&v, "text"), *ids = rj_get(&v, "ids");
      int32_t out[1024];
      long n = bpe_encode(t, text->str, text->slen, 3, out, 1024);
      int same = n == (long)ids->n;
      for (size_t i = 0; same && i < ids->n; i++) same = out[i] == (int32_t)ids->items[i].num;
      CHECK(same);
      if (!same) fprintf(stderr, "  tokenizer mismatch on \"%s\"\n", text->str);
      /* cap: stops early with a prefix of the full encoding */
      if (ids->n > 2) {
        int32_t small[2];
        CHECK(bpe_encode(t, text->str, text->slen, 3, small, 2) == 2);
        CHECK(small[0] == out[0] && small[1] == out[1]);
      }
      rj_free(&v);
      cases++;
    }
    line = nl ? nl + 1 : NULL;
  }
  CHECK(cases >= 290);
  free(src);

  /* any bytes: every byte has a token, nothing is lost */
  char all[256];
  for (int i = 0; i < 256; i++) all[i] = (char)i;
  int32_t out[512];
  long n = bpe_encode(t, all, 256, -7, out, 512);
  CHECK(n > 0 && n <= 256);
  for (long i = 0; i < n; i++) CHECK(out[i] >= 0);
  /* a 1 MB single word finishes (O(n log n) merging) */
  size_t big = 1 << 20;
  char *s = malloc(big);
  for (size_t i = 0; i < big; i++) s[i] = "the"[i % 3];
  clock_t c0 = clock();
  int32_t *ids = malloc(sizeof *ids * big);
  n = bpe_encode(t, s, big, 3, ids, big);
  CHECK(n > 0 && n < (long)big);
  CHECK((double)(clock() - c0) / CLOCKS_PER_SEC < 20);
  free(ids);
  free(s);
  bpe_free(t);

  /* errors name the file and the place */
  const char *bad = "{\"a\": 0,}", *voc = "{\"a\": 0, \"b\": 1, \"ab\": 2}";
  t = bpe_new(bad, strlen(bad), "v.json", "", 0, "m.txt", err, sizeof err);
  CHECK(t == NULL);
  CHECK(strstr(err, "roberta: v.json:1:") != NULL);
  t = bpe_new(voc, strlen(voc), "v.json", "#version: 0.2\na b c\n", 20,
              "m.txt", err, sizeof err);
  CHECK(t == NULL);
  CHECK_STR(err, "roberta: m.txt:2: expected two tokens separated by one space");
  t = bpe_new(voc, strlen(voc), "v.json", "a b\nb a\n", 8, "m.txt", err,
              sizeof err);
  CHECK(t != NULL);
  if (t) {
    n = bpe_encode(t, "abba", 4, 9, out, 8);
    CHECK(n == 3 && out[0] == 2 && out[1] == 1 && out[2] == 0);
    n = bpe_encode(t, "abc", 3, 9, out, 8); /* 'c' is not in the vocabulary */
    CHECK(n == 2 && out[0] == 2 && out[1] == 9);
    bpe_free(t);
  }
}

/* ---- the model against numpy ---- */

static void check_dir(const char *dir, const rj_value *cases, double tol)
{
  char err[512];
  roberta_model *m = roberta_open(dir, 1, err, sizeof err);
  CHECK(m != NULL);
  if (!m) {
    fprintf(stderr, "%s\n", err);
    return;
  }
  const roberta_config *c = roberta_get_config(m);
  CHECK(c->layers == 2 && c->hidden == 32 && c->heads == 4 && c->intermediate == 64);
  CHECK(c->hate_label == 1);
  CHECK_STR(c->hate_label_name, "hate");
  CHECK(c->max_tokens == 512);
  size_t n = cases->n;
  const char **texts = calloc(n, sizeof *texts);
  size_t *lens = calloc(n, sizeof *lens);
  double *p1 = calloc(n, sizeof *p1), *p3 = calloc(n, sizeof *p3), *lg = calloc(2 * n, sizeof *lg);
  for (size_t i = 0; i < n; i++) {
    const rj_value *cs = &cases->items[i];
    texts[i] = rj_get(cs, "text")->str;
    lens[i] = rj_get(cs, "text")->slen;
    const rj_value *ids = rj_get(cs, "ids");
    int32_t got[ROBERTA_MAX_TOKENS];
    int k = roberta_tokenize(m, texts[i], lens[i], got, ROBERTA_MAX_TOKENS);
    int same = k == (int)ids->n;
    for (int j = 0; same && j < k; j++) same = got[j] == (int32_t)ids->items[j].num;
    CHECK(same);
    if (!same) fprintf(stderr, "  ids differ for case %zu (%d vs %zu ids)\n", i, k, ids->n);
  }
  CHECK(roberta_score_logits(m, texts, lens, n, 1, p1, lg, err, sizeof err) == 0);
  CHECK(roberta_score(m, texts, lens, n, 3, p3, err, sizeof err) == 0);
  for (size_t i = 0; i < n; i++) {
    const rj_value *cs = &cases->items[i];
    double want = rj_get(cs, "prob")->num;
    CHECK_NUM(p1[i], want, tol);
    CHECK_NUM(p3[i], want, tol); /* batching does not change a score */
    const rj_value *z = rj_get(cs, "logits");
    CHECK_NUM(lg[2 * i], z->items[0].num, 10 * tol);
    CHECK_NUM(lg[2 * i + 1], z->items[1].num, 10 * tol);
  }
  /* ten 512-token texts in one batch: split by the row cap, same scores */
  size_t longest = 0;
  for (size_t i = 1; i < n; i++) if (lens[i] > lens[longest]) longest = i;
  const char *many[10];
  size_t many_len[10];
  double pm[10];
  for (int i = 0; i < 10; i++) many[i] = texts[longest], many_len[i] = lens[longest];
  CHECK(roberta_score(m, many, many_len, 10, 10, pm, err, sizeof err) == 0);
  for (int i = 0; i < 10; i++) CHECK_NUM(pm[i], p1[longest], 1e-6);
  const char *sha = roberta_weights_sha256(m);
  CHECK(strlen(sha) == 64);
  free(texts), free(lens), free(p1), free(p3), free(lg);
  roberta_close(m);
}

static void test_model(void)
{
  char tmpl[] = "/tmp/evalua-roberta-XXXXXX";
  char *dir = mkdtemp(tmpl);
  CHECK(dir != NULL);
  if (!dir) return;
  const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s tests/roberta_ref.py %s", py, dir);
  int rc = system(cmd);
  CHECK(rc == 0);
  if (rc != 0) {
    fprintf(stderr, "tests/roberta_ref.py failed: it needs python3 with numpy and regex "
                    "(Debian: python3-numpy python3-regex)\n");
    return;
  }
  char path[1024];
  snprintf(path, sizeof path, "%s/expected.json", dir);
  size_t len;
  char *src = slurp(path, &len);
  rj_value exp;
  char err[512];
  CHECK(src && rj_parse(src, len, &exp, err, sizeof err) == 0);
  free(src);
  snprintf(path, sizeof path, "%s/f32", dir);
  check_dir(path, rj_get(&exp, "f32"), 1e-5);
  snprintf(path, sizeof path, "%s/half", dir);
  check_dir(path, rj_get(&exp, "half"), 1e-5);
  rj_free(&exp);

  /* invalid UTF-8 and huge inputs are scored, never a crash */
  snprintf(path, sizeof path, "%s/f32", dir);
  roberta_model *m = roberta_open(path, 0, err, sizeof err);
  CHECK(m != NULL);
  if (m) {
    size_t big = 1 << 20;
    char *s = malloc(big);
    for (size_t i = 0; i < big; i++) s[i] = (char)("ab \xff\xc3"[i % 5]);
    const char *texts[2] = {s, "\xed\xa0\x80"};
    size_t lens[2] = {big, 3};
    double p[2] = {-1, -1};
    CHECK(roberta_score(m, texts, lens, 2, 2, p, err, sizeof err) == 0);
    CHECK(p[0] >= 0 && p[0] <= 1 && p[1] >= 0 && p[1] <= 1);
    int32_t ids[ROBERTA_MAX_TOKENS];
    CHECK(roberta_tokenize(m, s, big, ids, ROBERTA_MAX_TOKENS) == 512);
    CHECK(ids[0] == 0 && ids[511] == 2);
    free(s);
    roberta_close(m);
  }

  /* errors */
  CHECK(roberta_open("/nonexistent/model", 0, err, sizeof err) == NULL);
  CHECK(strstr(err, "roberta: /nonexistent/model: not a model directory") != NULL);
  snprintf(path, sizeof path, "%s/f32/config.json", dir);
  size_t cl;
  char *cfg = slurp(path, &cl);
  spit(path, "{\"hidden_size\": 32,");
  snprintf(path, sizeof path, "%s/f32", dir);
  CHECK(roberta_open(path, 0, err, sizeof err) == NULL);
  CHECK(strstr(err, "config.json:1:") != NULL);
  /* a config that disagrees with the weights */
  char *edited = malloc(cl + 16);
  const char *at = strstr(cfg, "\"intermediate_size\": 64");
  CHECK(at != NULL);
  if (at) {
    snprintf(edited, cl + 16, "%.*s\"intermediate_size\": 65%s", (int)(at - cfg), cfg,
             at + strlen("\"intermediate_size\": 64"));
    snprintf(path, sizeof path, "%s/f32/config.json", dir);
    spit(path, edited);
    snprintf(path, sizeof path, "%s/f32", dir);
    CHECK(roberta_open(path, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "tensor \"roberta.encoder.layer.0.intermediate.dense.weight\" does not "
                      "have shape [65, 32]") != NULL);
  }
  free(edited);
  snprintf(path, sizeof path, "%s/f32/config.json", dir);
  spit(path, cfg);
  free(cfg);
  snprintf(path, sizeof path, "%s/f32/model.safetensors", dir);
  spit(path, "\x10\0\0\0\0\0\0\0{}");
  snprintf(path, sizeof path, "%s/f32", dir);
  CHECK(roberta_open(path, 0, err, sizeof err) == NULL);
  CHECK(strstr(err, "not a safetensors file") != NULL);
  snprintf(path, sizeof path, "%s/f32/model.safetensors", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/f32", dir);
  CHECK(roberta_open(path, 0, err, sizeof err) == NULL);
  CHECK(strstr(err, "convert pytorch_model.bin first") != NULL);

  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

int main(void)
{
  test_pretokenize();
  test_gpt2_vectors();
  test_model();
  return check_done();
}
