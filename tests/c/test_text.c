/* test_text.c: evalua.text's C core: textstat readability, pyphen
 * hyphenation, NLTK's Porter stemmer and rouge_score's ROUGE, against
 * vectors generated offline from the Python originals
 * (tests/data/text/gen_vectors.py) and rouge_score's own test expectations. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "text.h"

static struct text_work *tw;
static struct rouge_work *rw;

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  size_t got = fread(b, 1, (size_t)n, f);
  fclose(f);
  b[got] = '\0';
  if (len) *len = got;
  return b;
}

static struct text_counts counts(const char *s)
{
  struct text_counts c;
  memset(&c, 0xff, sizeof c);
  CHECK(text_counts(tw, s, strlen(s), &c) == 0);
  return c;
}

static double fk(const char *s)
{
  struct text_counts c = counts(s);
  return text_fk_grade(&c, 1);
}

static double ari(const char *s)
{
  struct text_counts c = counts(s);
  return text_ari(&c, 1);
}

static void test_legacy_round(void)
{
  static const struct { double x; int p; double want; } v[] = {
    {-2.62, 1, -2.7}, {-15.59, 1, -15.7}, {-2.0, 1, -2.1}, {5.24, 1, 5.2},
    {0.852, 1, 0.9},  {3.678, 1, 3.7},    {4.8, 2, 4.8},   {5.3333, 2, 5.33},
    {2.675, 2, 2.68}, {0.0, 1, 0.0},      {0.05, 1, 0.1},  {-0.05, 1, -0.1},
    {7.25, 1, 7.3},   {-7.25, 1, -7.3},   {1.0, 0, 1.0},   {-1.0, 0, -2.0},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    CHECK_NUM(text_legacy_round(v[i].x, v[i].p), v[i].want, 1e-12);
}

static void test_readability_cases(void)
{
  /* the seed's rows (MLflow's LLM-as-judge blog table, textstat 0.7.3/0.7.4) */
  CHECK_NUM(fk("¡Estoy feliz por la noticia!"), 5.2, 1e-12);
  CHECK_NUM(fk("Revela el secreto."), 9.2, 1e-12);
  CHECK_NUM(fk("Más vale tarde que nunca."), 0.5, 1e-12);
  CHECK_NUM(fk("Morder la bala."), -2.7, 1e-12);
  CHECK_NUM(ari("¡Estoy feliz por la noticia!"), 3.7, 1e-12);
  CHECK_NUM(ari("Revela el secreto."), 5.2, 1e-12);
  CHECK_NUM(ari("Más vale tarde que nunca."), 0.9, 1e-12);
  CHECK_NUM(ari("Morder la bala."), 0.5, 1e-12);
  CHECK_NUM(fk("Morderse la bala."), 0.9, 1e-12); /* the blog's third row */
  CHECK_NUM(ari("Morderse la bala."), 3.6, 1e-12);
  /* no words: FK -15.59 rounds (legacy, negative) to -15.7; ARI is 0.0 */
  CHECK_NUM(fk(""), -15.7, 1e-12);
  CHECK_NUM(ari(""), 0.0, 0);
  CHECK_NUM(fk("?!... --"), -15.7, 1e-12);
  CHECK_NUM(ari("?!... --"), 0.0, 0);
  struct text_counts c = counts("?!... --");
  CHECK(c.chars == 7 && c.words == 0 && c.sentences == 1 && c.syllables == 0);
  /* apostrophes and hyphens vanish inside words: one word each */
  c = counts("don't well-known rock'n'roll");
  CHECK(c.words == 3);
  CHECK(c.chars == 26);
  /* a lone dash is no word; punctuation counts as characters */
  c = counts("a - b");
  CHECK(c.words == 2 && c.chars == 3);
  /* combining marks are not \w in Python: removed, yet counted as characters */
  c = counts("cafe\xcc\x81 na\xc3\xafve");
  CHECK(c.words == 2 && c.chars == 10);
  /* '_', digits, vulgar fractions and roman numerals are \w */
  c = counts("snake_case 42 \xc2\xbd \xe2\x85\xab");
  CHECK(c.words == 4);
  /* sentences: at least 3 words each, else ignored; never fewer than 1 */
  CHECK(counts("One two three. Four five six! Seven eight nine?").sentences == 3);
  CHECK(counts("One two. Three four five six.").sentences == 1);
  CHECK(counts("Hi. Yo. Ok.").sentences == 1);
  /* str.split() whitespace: NBSP, EM SPACE, U+001C and NEL split words */
  CHECK(counts("a\xc2\xa0" "b\xe2\x80\x83" "c\x1c" "d\xc2\x85" "e").words == 5);
  /* U+200B ZERO WIDTH SPACE is neither \w nor \s: it joins */
  CHECK(counts("a\xe2\x80\x8b" "b").words == 1);
}

/* every row of textstat.jsonl: {"text": ..., "chars": ..., ...} as written by
 * gen_vectors.py (json.dumps with ensure_ascii=False) */
static const char *json_str(const char *p, char *out, size_t cap)
{
  size_t k = 0;
  p++; /* the opening quote */
  while (*p && *p != '"') {
    unsigned c = (unsigned char)*p++;
    if (c == '\\') {
      c = (unsigned char)*p++;
      switch (c) {
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'r': c = '\r'; break;
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'u': {
        unsigned cp = (unsigned)strtoul((char[]){p[0], p[1], p[2], p[3], 0}, NULL, 16);
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && p[0] == '\\' && p[1] == 'u') {
          unsigned lo = (unsigned)strtoul((char[]){p[2], p[3], p[4], p[5], 0}, NULL, 16);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 6;
        }
        if (cp < 0x80) out[k++] = (char)cp;
        else if (cp < 0x800) { out[k++] = (char)(0xC0 | cp >> 6); out[k++] = (char)(0x80 | (cp & 63)); }
        else if (cp < 0x10000) {
          out[k++] = (char)(0xE0 | cp >> 12);
          out[k++] = (char)(0x80 | ((cp >> 6) & 63));
          out[k++] = (char)(0x80 | (cp & 63));
        } else {
          out[k++] = (char)(0xF0 | cp >> 18);
          out[k++] = (char)(0x80 | ((cp >> 12) & 63));
          out[k++] = (char)(0x80 | ((cp >> 6) & 63));
          out[k++] = (char)(0x80 | (cp & 63));
        }
        continue;
      }
      default: break; /* \" \\ \/ */
      }
    }
    if (k + 5 < cap) out[k++] = (char)c;
  }
  out[k] = '\0';
  return p + 1;
}

static double json_num(const char *line, const char *key)
{
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\": ", key);
  const char *p = strstr(line, pat);
  if (!p) return -9999;
  return strtod(p + strlen(pat), NULL);
}

static void test_textstat_vectors(const char *path, int min_rows)
{
  char *data = slurp(path, NULL);
  CHECK(data != NULL);
  if (!data) return;
  char *text = malloc(1 << 20);
  int rows = 0, bad = 0;
  for (char *line = data; *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    /* the text is the first field; the numbers follow it */
    const char *after = json_str(line + strlen("{\"text\": "), text, 1 << 20);
    struct text_counts c;
    CHECK(text_counts(tw, text, strlen(text), &c) == 0);
    double want[8] = {json_num(after, "chars"), json_num(after, "words"),
                      json_num(after, "sentences"), json_num(after, "syllables"),
                      json_num(after, "fk"), json_num(after, "ari"),
                      json_num(after, "fk_raw"), json_num(after, "ari_raw")};
    double got[8] = {(double)c.chars, (double)c.words, (double)c.sentences, (double)c.syllables,
                     text_fk_grade(&c, 1), text_ari(&c, 1), text_fk_grade(&c, 0),
                     text_ari(&c, 0)};
    for (int k = 0; k < 8; k++) {
      if (got[k] != want[k] && !(k >= 6 && fabs(got[k] - want[k]) < 1e-9)) {
        if (bad++ < 10)
          fprintf(stderr, "textstat row %d field %d: want %.17g got %.17g: %.80s\n", rows + 1,
                  k, want[k], got[k], text);
      }
    }
    rows++;
    if (!nl) break;
    line = nl + 1;
  }
  CHECK(rows >= min_rows);
  CHECK(bad == 0);
  free(text);
  free(data);
}

static void test_hyphenation_vectors(void)
{
  char *data = slurp("tests/data/text/hyph_en_US.tsv", NULL);
  CHECK(data != NULL);
  if (!data) return;
  int rows = 0, bad = 0;
  for (char *line = data; *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    char *tab = strchr(line, '\t');
    CHECK(tab != NULL);
    if (!tab) break;
    *tab = '\0';
    int pos[64];
    int n = hyph_positions(tw, line, strlen(line), pos, 64);
    char got[512] = "";
    size_t at = 0;
    for (int k = 0; k < n && k < 64; k++)
      at += (size_t)snprintf(got + at, sizeof got - at, k ? ",%d" : "%d", pos[k]);
    if (strcmp(got, tab + 1) != 0 && bad++ < 10)
      fprintf(stderr, "hyphenation of %s: want %s got %s\n", line, tab + 1, got);
    rows++;
    if (!nl) break;
    line = nl + 1;
  }
  CHECK(rows > 6000);
  CHECK(bad == 0);
  free(data);
}

static void test_hyphenation_cases(void)
{
  int pos[8];
  CHECK(hyph_positions(tw, "secreto", 7, pos, 8) == 2 && pos[0] == 2 && pos[1] == 5);
  CHECK(hyph_positions(tw, "noticia", 7, pos, 8) == 1 && pos[0] == 4);
  CHECK(hyph_positions(tw, "morderse", 8, pos, 8) == 1 && pos[0] == 6);
  CHECK(hyph_positions(tw, "", 0, pos, 8) == 0);
  CHECK(hyph_positions(tw, "a", 1, pos, 8) == 0);
  /* upper case is lowered first (str.lower()), U+0130 included */
  CHECK(hyph_positions(tw, "SECRETO", 7, pos, 8) == 2 && pos[0] == 2 && pos[1] == 5);
  CHECK(hyph_positions(tw, "\xc4\xb0stanbul", 9, pos, 8) == 2 && pos[0] == 3 && pos[1] == 6);
  /* more points than room: the count is still returned */
  const char *w = "supercalifragilisticexpialidocious";
  int n = hyph_positions(tw, w, strlen(w), pos, 2);
  CHECK(n > 2);
}

static void test_porter_vectors(void)
{
  char *data = slurp("tests/data/text/porter.tsv", NULL);
  CHECK(data != NULL);
  if (!data) return;
  int rows = 0, bad = 0;
  char out[256];
  for (char *line = data; *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    char *tab = strchr(line, '\t');
    CHECK(tab != NULL);
    if (!tab) break;
    *tab = '\0';
    size_t n = strlen(line);
    if (n < sizeof out) {
      porter_stem(line, n, out);
      if (strcmp(out, tab + 1) != 0 && bad++ < 10)
        fprintf(stderr, "stem of %s: want %s got %s\n", line, tab + 1, out);
    }
    rows++;
    if (!nl) break;
    line = nl + 1;
  }
  CHECK(rows > 8000);
  CHECK(bad == 0);
  free(data);
}

static struct rouge_score rouge(const char *type, int stem, const char *target, const char *pred)
{
  struct rouge_spec spec;
  struct rouge_score s = {-1, -1, -1};
  char err[200];
  CHECK(rouge_parse_type(type, &spec) == 0);
  spec.use_stemmer = stem;
  CHECK(rouge_compute(rw, &spec, target, strlen(target), pred, strlen(pred), &s, err, sizeof err) == 0);
  return s;
}

#define CHECK_SCORE(s, p, r, f, tol)                                          \
  do {                                                                       \
    struct rouge_score s_ = (s);                                             \
    CHECK_NUM(s_.precision, p, tol);                                         \
    CHECK_NUM(s_.recall, r, tol);                                            \
    CHECK_NUM(s_.fmeasure, f, tol);                                          \
  } while (0)

/* the expectations of google-research rouge/rouge_scorer_test.py */
static void test_rouge_upstream(void)
{
  struct rouge_spec spec;
  const char *bad[] = {"rougen", "rouge0", "rouge10", "rougel", "rougeLSum", "", "rouge"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK(rouge_parse_type(bad[i], &spec) != 0);
  const char *good[] = {"rouge1", "rouge9", "rougeL", "rougeLsum"};
  for (size_t i = 0; i < 4; i++) CHECK(rouge_parse_type(good[i], &spec) == 0);
  CHECK_SCORE(rouge("rouge9", 0, "testing one two", "testing"), 0, 0, 0, 1e-12);

  CHECK_SCORE(rouge("rouge1", 0, "testing one two", "testing"), 1, 1.0 / 3, 0.5, 1e-12);
  const char *types[] = {"rouge1", "rouge2", "rougeL", "rougeLsum"};
  for (int i = 0; i < 4; i++) CHECK_SCORE(rouge(types[i], 0, "testing one two", ""), 0, 0, 0, 0);
  CHECK_SCORE(rouge("rouge2", 0, "testing one two", "testing one"), 1, 0.5, 2.0 / 3, 1e-12);
  CHECK_SCORE(rouge("rougeL", 0, "testing one two", "testing one"), 1, 2.0 / 3, 0.8, 1e-12);
  CHECK_SCORE(rouge("rougeL", 0, "testing one two", "testing two"), 1, 2.0 / 3, 0.8, 1e-12);
  CHECK_SCORE(rouge("rouge1", 0, "testing one two", "testing one"), 1, 2.0 / 3, 0.8, 1e-12);

  char *tgt = slurp("tests/data/text/rouge/target.txt", NULL);
  char *pred = slurp("tests/data/text/rouge/prediction.txt", NULL);
  CHECK(tgt && pred);
  if (tgt && pred) {
    /* rouge_scorer_test reads the files with readlines(): line i keeps its "\n" */
    char *t1 = strchr(tgt, '\n') + 1, *p1 = strchr(pred, '\n') + 1;
    char t0[1024], p0[1024];
    snprintf(t0, sizeof t0, "%.*s", (int)(t1 - tgt), tgt);
    snprintf(p0, sizeof p0, "%.*s", (int)(p1 - pred), pred);
    CHECK_SCORE(rouge("rouge1", 0, t0, p0), 0.68750, 0.40741, 0.51163, 5e-6);
    CHECK_SCORE(rouge("rouge1", 0, t1, p1), 0.65385, 0.40476, 0.50000, 5e-6);
    CHECK_SCORE(rouge("rouge1", 1, t0, p0), 0.68750, 0.40741, 0.51163, 5e-6);
    CHECK_SCORE(rouge("rouge1", 1, t1, p1), 0.69231, 0.42857, 0.52941, 5e-6);
    CHECK_SCORE(rouge("rouge2", 0, t0, p0), 0.53333, 0.30769, 0.39024, 5e-6);
    CHECK_SCORE(rouge("rouge2", 0, t1, p1), 0.48000, 0.29268, 0.36364, 5e-6);
    CHECK_SCORE(rouge("rouge2", 1, t0, p0), 0.53333, 0.30769, 0.39024, 5e-6);
    CHECK_SCORE(rouge("rouge2", 1, t1, p1), 0.48000, 0.29268, 0.36364, 5e-6);
    CHECK_SCORE(rouge("rougeL", 0, t0, p0), 0.68750, 0.40741, 0.51163, 5e-6);
    CHECK_SCORE(rouge("rougeL", 0, t1, p1), 0.65385, 0.40476, 0.50000, 5e-6);
  }
  free(tgt);
  free(pred);
  tgt = slurp("tests/data/text/rouge/target_multi.0.txt", NULL);
  pred = slurp("tests/data/text/rouge/prediction_multi.0.txt", NULL);
  CHECK(tgt && pred);
  if (tgt && pred) CHECK_SCORE(rouge("rougeLsum", 1, tgt, pred), 0.66667, 0.36538, 0.47205, 5e-6);
  free(tgt);
  free(pred);

  struct rouge_score s = rouge("rougeLsum", 0, "w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5");
  CHECK_NUM(s.recall, 0.8, 1e-12);
  CHECK_NUM(s.precision, 0.4, 1e-12);
  CHECK_NUM(s.fmeasure, 0.5333, 1e-3);
  CHECK_SCORE(rouge("rougeLsum", 0, "w1 w2 w3 w4 w5", ""), 0, 0, 0, 0);
  CHECK_SCORE(rouge("rougeLsum", 0, "", "w1"), 0, 0, 0, 0);
  CHECK_SCORE(rouge("rougeLsum", 0, "w1 w2 w3 w4 w5", "/"), 0, 0, 0, 0);
}

static void test_rouge_more(void)
{
  /* metric-algorithms.md §4 (target, prediction) */
  const char *t = "\xc2\xa1" "Estoy feliz por la noticia!", *p = "Estoy muy feliz por la noticia.";
  CHECK_NUM(rouge("rouge1", 0, t, p).fmeasure, 0.909091, 1e-6);
  CHECK_NUM(rouge("rouge2", 0, t, p).fmeasure, 0.666667, 1e-6);
  CHECK_NUM(rouge("rougeL", 0, t, p).fmeasure, 0.909091, 1e-6);
  CHECK_NUM(rouge("rougeLsum", 0, t, p).fmeasure, 0.909091, 1e-6);
  t = "M\xc3\xa1s vale tarde que nunca.";
  p = "Mas vale tarde que nunca";
  CHECK_NUM(rouge("rouge1", 0, t, p).fmeasure, 0.727273, 1e-6);
  CHECK_NUM(rouge("rouge2", 0, t, p).fmeasure, 0.666667, 1e-6);
  CHECK_NUM(rouge("rougeL", 0, t, p).fmeasure, 0.727273, 1e-6);
  t = "I'm over the moon about the news!";
  p = "I am very happy about the news.";
  CHECK_NUM(rouge("rouge1", 0, t, p).fmeasure, 0.533333, 1e-6);
  CHECK_NUM(rouge("rouge2", 0, t, p).fmeasure, 0.307692, 1e-6);
  CHECK_NUM(rouge("rougeL", 0, t, p).fmeasure, 0.533333, 1e-6);
  /* union LCS with per-token clipping (rouge_scorer_test testSummaryLevelLcs
   * and the ROUGE paper's example) and repeated tokens */
  CHECK_SCORE(rouge("rougeLsum", 0, "a b c d e", "a b f g h\na c h i e"), 0.4, 0.8, 0.64 / 1.2, 1e-12);
  /* every candidate line picks the same (last) reference index: one hit */
  CHECK_SCORE(rouge("rougeLsum", 0, "a a a", "a\na\na\na"), 0.25, 1.0 / 3, 2.0 / 7, 1e-12);
  CHECK_SCORE(rouge("rougeLsum", 0, "a b\nb a", "b a"), 1.0, 0.5, 2.0 / 3, 1e-12);
  /* empty lines are dropped; "\r" lines stay but hold no tokens */
  CHECK_SCORE(rouge("rougeLsum", 0, "\n\na b\n\n", "\r\na b\r\n"), 1, 1, 1, 1e-12);
  /* rougeN counts clip: overlap = sum of min counts */
  CHECK_SCORE(rouge("rouge1", 0, "the the the cat", "the cat cat"), 2.0 / 3, 0.5, 4.0 / 7, 1e-12);
  /* tokenizer: case, digits, non-ASCII letters split; U+0130 and KELVIN SIGN */
  char toks[256];
  CHECK(rouge_tokens(rw, "Hello, WORLD-42 caf\xc3\xa9s", 22, 0, toks, sizeof toks) == 5);
  CHECK_STR(toks, "hello world 42 caf s");
  CHECK(rouge_tokens(rw, "\xc4\xb0stanbul \xe2\x84\xaa" "elvin", 18, 0, toks, sizeof toks) == 3);
  CHECK_STR(toks, "i stanbul kelvin");
  CHECK(rouge_tokens(rw, "running quickly cats are ok", 27, 1, toks, sizeof toks) == 5);
  CHECK_STR(toks, "run quickli cat are ok");
  /* stemming only touches tokens longer than 3 characters */
  CHECK(rouge_tokens(rw, "dies died ties", 14, 1, toks, sizeof toks) == 3);
  CHECK_STR(toks, "die die tie");
  CHECK(rouge_tokens(rw, "was has is going", 16, 1, toks, sizeof toks) == 4);
  CHECK_STR(toks, "was has is go");
}

/* pairs past the LCS cap fail cleanly; rougeN has no cap */
static void test_rouge_caps(void)
{
  size_t n = 2 * 17000;
  char *big = malloc(n + 1);
  CHECK(big != NULL);
  if (!big) return;
  for (size_t i = 0; i < n; i += 2) { big[i] = (char)('a' + (i / 2) % 7); big[i + 1] = ' '; }
  big[n] = '\0';
  struct rouge_spec spec = {ROUGE_L, 0, 0};
  struct rouge_score s;
  char err[200] = "";
  CHECK(rouge_compute(rw, &spec, big, n, big, n, &s, err, sizeof err) == -1);
  CHECK_STR(err, "rougeL: texts too long (17000 x 17000 tokens)");
  spec.kind = ROUGE_LSUM;
  CHECK(rouge_compute(rw, &spec, big, n, big, n, &s, err, sizeof err) == -1);
  CHECK_STR(err, "rougeLsum: line pair too long (17000 x 17000 tokens)");
  /* tokens on many short lines are fine for rougeLsum (4,000 of them here) */
  for (size_t i = 399; i < 8000; i += 400) big[i] = '\n';
  CHECK(rouge_compute(rw, &spec, big, 8000, big, 8000, &s, err, sizeof err) == 0);
  CHECK_NUM(s.fmeasure, 1.0, 1e-12);
  spec.kind = ROUGE_N;
  spec.n = 2;
  CHECK(rouge_compute(rw, &spec, big, n, big, n, &s, err, sizeof err) == 0);
  CHECK_NUM(s.fmeasure, 1.0, 1e-12);
  free(big);
}

/* the stem cache starts over when full; stems must not change */
static void test_stem_cache(void)
{
  enum { N = 70000 };
  char *txt = malloc((size_t)N * 10), *a = malloc((size_t)N * 10), *b = malloc((size_t)N * 10);
  char *want = malloc((size_t)N * 10);
  CHECK(txt && a && b && want);
  if (!txt || !a || !b || !want) return;
  size_t at = 0, wat = 0;
  for (int i = 0; i < N; i++) {
    char w[16];
    int v = i, k = 0;
    w[k++] = 'z';
    for (int d = 0; d < 4; d++) { w[k++] = (char)('a' + v % 26); v /= 26; }
    memcpy(w + k, i % 2 ? "ing" : "ies", 3);
    k += 3;
    memcpy(txt + at, w, (size_t)k);
    at += (size_t)k;
    txt[at++] = ' ';
    char st[16];
    size_t sn = porter_stem(w, (size_t)k, st);
    if (wat) want[wat++] = ' ';
    memcpy(want + wat, st, sn);
    wat += sn;
  }
  want[wat] = '\0';
  CHECK(rouge_tokens(rw, txt, at, 1, a, (size_t)N * 10) == N);
  CHECK(rouge_tokens(rw, txt, at, 1, b, (size_t)N * 10) == N);
  CHECK(strcmp(a, want) == 0);
  CHECK(strcmp(b, want) == 0);
  free(txt);
  free(a);
  free(b);
  free(want);
}

/* invalid UTF-8 never crashes and reads as U+FFFD per bad byte */
static void test_invalid_utf8(void)
{
  struct text_counts c = counts("\xff\xfe abc");
  CHECK(c.words == 1 && c.chars == 5);
  c = counts("abc\xe2\x84"); /* truncated sequence at the end */
  CHECK(c.words == 1 && c.chars == 5);
  c = counts("\xc0\xaf\xed\xa0\x80 x"); /* overlong, surrogate */
  CHECK(c.words == 1 && c.chars == 6);
  int pos[8];
  CHECK(hyph_positions(tw, "hy\xffphenation", 12, pos, 8) >= 0);
  uint32_t seed = 12345;
  char buf[257];
  for (int iter = 0; iter < 3000; iter++) {
    size_t n = (size_t)(iter % 256);
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      unsigned r = seed >> 16;
      /* mostly bytes that matter: ASCII letters, spaces, dots, lead/continuation bytes */
      const char pick[] = "aZ .!?\n-'_\x80\xbf\xc2\xc4\xb0\xe2\x84\xaa\xf0\xf4\xff";
      buf[i] = (r & 1) ? pick[(r >> 1) % (sizeof pick - 1)] : (char)(r >> 3);
    }
    buf[n] = '\0';
    struct text_counts cc;
    CHECK(text_counts(tw, buf, n, &cc) == 0);
    CHECK(cc.sentences >= 1 && cc.words >= 0 && cc.syllables >= cc.words);
    struct rouge_spec spec = {ROUGE_LSUM, 0, iter & 1};
    struct rouge_score s;
    char err[200];
    CHECK(rouge_compute(rw, &spec, buf, n, buf + n / 2, n - n / 2, &s, err, sizeof err) == 0);
    CHECK(s.fmeasure >= 0 && s.fmeasure <= 1);
    spec.kind = ROUGE_N;
    spec.n = 1 + iter % 9;
    CHECK(rouge_compute(rw, &spec, buf, n, buf + n / 3, n - n / 3, &s, err, sizeof err) == 0);
    CHECK(s.fmeasure >= 0 && s.fmeasure <= 1);
  }
}

/* the syllable cache starts over when full; results must not change */
static void test_syllable_cache(void)
{
  struct text_work *fresh = text_work_new();
  char *big = malloc(40000 * 8);
  CHECK(fresh && big);
  size_t at = 0;
  for (int i = 0; i < 40000; i++) {
    int v = i;
    big[at++] = 'q';
    for (int k = 0; k < 4; k++) { big[at++] = (char)('a' + v % 26); v /= 26; }
    if (i % 17 == 16) big[at++] = '.';
    big[at++] = ' ';
  }
  struct text_counts a, b;
  CHECK(text_counts(tw, big, at, &a) == 0);  /* fills and resets the cache */
  CHECK(text_counts(fresh, big, at, &b) == 0);
  CHECK(a.syllables == b.syllables && a.words == 40000);
  CHECK(text_counts(tw, big, at, &b) == 0);  /* now mostly from the cache */
  CHECK(a.syllables == b.syllables);
  CHECK_NUM(fk("Revela el secreto."), 9.2, 1e-12);
  struct text_counts c;
  CHECK(text_counts_ex(tw, "Revela el secreto.", 18, &c, 0) == 0);
  CHECK(c.syllables == -1 && c.words == 3 && c.chars == 16);
  free(big);
  text_work_free(fresh);
}

int main(void)
{
  char err[200];
  CHECK(hyph_init(err, sizeof err) == 0);
  tw = text_work_new();
  rw = rouge_work_new();
  CHECK(tw && rw);
  test_legacy_round();
  test_readability_cases();
  test_textstat_vectors("tests/data/text/textstat.jsonl", 800);
  test_textstat_vectors("tests/data/text/textstat_fuzz.jsonl", 600);
  test_hyphenation_cases();
  test_hyphenation_vectors();
  test_porter_vectors();
  test_rouge_upstream();
  test_rouge_more();
  test_invalid_utf8();
  test_syllable_cache();
  test_rouge_caps();
  test_stem_cache();
  text_work_free(tw);
  rouge_work_free(rw);
  return check_done();
}
