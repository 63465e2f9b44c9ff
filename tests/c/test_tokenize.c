/* test_tokenize.c: the tokenizer against the reference ids of npm tiktoken
 * (the .tsv files of tests/data/tokenize, made by contrib/bench/tokenize/vectors.sh),
 * plus the table, decode, UTF-8 repair and long-piece paths. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tokenize.h"

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf) buf[n] = '\0';
  *len = (size_t)n;
  return buf;
}

static int hexval(int c)
{
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static int same_ids(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
  return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* runs every line "ENC \t HEX \t IDS" of a vector file; valid_utf8 also
 * checks that decode(encode(x)) == x; returns the number of cases */
static size_t run_file(const char *path, int valid_utf8)
{
  size_t len;
  char *data = slurp(path, &len);
  CHECK(data != NULL);
  if (!data) {
    fprintf(stderr, "cannot read %s (run from the source root)\n", path);
    return 0;
  }
  size_t cases = 0, bad = 0, lineno = 0;
  char *save = NULL;
  for (char *ln = strtok_r(data, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
    lineno++;
    if (ln[0] == '#') continue;
    char *t1 = strchr(ln, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    CHECK(t1 && t2);
    if (!t1 || !t2) continue;
    *t1 = *t2 = '\0';
    const tok_encoding *e = tok_get(ln, NULL);
    CHECK(e != NULL);
    if (!e) continue;
    size_t hl = (size_t)(t2 - t1 - 1), n = hl / 2;
    char *text = malloc(n + 1);
    for (size_t i = 0; i < n; i++) text[i] = (char)(hexval(t1[1 + 2 * i]) << 4 | hexval(t1[2 + 2 * i]));
    size_t nwant = 0, cap = 16;
    uint32_t *want = malloc(cap * sizeof *want);
    for (char *p = t2 + 1; *p;) {
      if (nwant == cap) want = realloc(want, (cap *= 2) * sizeof *want);
      want[nwant++] = (uint32_t)strtoul(p, &p, 10);
      if (*p == ',') p++;
    }
    uint32_t *got = NULL;
    size_t ngot = 0;
    int rc = tok_encode(e, text, n, &got, &ngot);
    int ok = rc == 0 && same_ids(got, ngot, want, nwant) && tok_count(e, text, n) == nwant;
    if (ok && valid_utf8) {
      char *back = NULL;
      size_t blen = 0, badi = 0;
      ok = tok_decode(e, got, ngot, &back, &blen, &badi) == 0 && blen == n &&
           memcmp(back, text, n) == 0;
      free(back);
    }
    if (!ok && bad++ < 5) {
      fprintf(stderr, "%s:%zu: %s: %.60s...: want %zu ids, got %zu:", path, lineno, ln, t1 + 1,
              nwant, ngot);
      for (size_t i = 0; i < ngot && i < 12; i++) fprintf(stderr, " %u", got[i]);
      fprintf(stderr, " / want");
      for (size_t i = 0; i < nwant && i < 12; i++) fprintf(stderr, " %u", want[i]);
      fprintf(stderr, "\n");
    }
    CHECK(ok);
    cases++;
    free(got);
    free(want);
    free(text);
  }
  free(data);
  printf("%s: %zu cases, %zu failed\n", path, cases, bad);
  return cases;
}

struct pieces {
  size_t n, cap;
  size_t *len;
};

static void on_piece(size_t start, size_t end, void *ud)
{
  struct pieces *p = ud;
  if (p->n == p->cap) p->len = realloc(p->len, (p->cap = p->cap * 2 + 16) * sizeof *p->len);
  p->len[p->n++] = end - start;
}

/* the scanner against the regex module's split (splits.tsv, gen_splits.py) */
static size_t run_splits(const char *path)
{
  size_t len, cases = 0, bad = 0, lineno = 0;
  char *data = slurp(path, &len), *save = NULL;
  CHECK(data != NULL);
  if (!data) return 0;
  for (char *ln = strtok_r(data, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
    lineno++;
    if (ln[0] == '#') continue;
    char *t1 = strchr(ln, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t1 || !t2) continue;
    *t1 = *t2 = '\0';
    const tok_encoding *e = tok_get(ln, NULL);
    size_t n = (size_t)(t2 - t1 - 1) / 2;
    char *text = malloc(n + 1);
    for (size_t i = 0; i < n; i++) text[i] = (char)(hexval(t1[1 + 2 * i]) << 4 | hexval(t1[2 + 2 * i]));
    struct pieces got = {0, 0, NULL};
    size_t np = tok_split(e, text, n, on_piece, &got);
    int ok = np == got.n;
    size_t k = 0;
    for (char *p = t2 + 1; *p && ok; k++) {
      size_t want = strtoul(p, &p, 10);
      if (*p == ',') p++;
      ok = k < got.n && got.len[k] == want;
    }
    ok = ok && k == got.n;
    if (!ok && bad++ < 5) {
      fprintf(stderr, "%s:%zu: %s %s: pieces", path, lineno, ln, t1 + 1);
      for (size_t i = 0; i < got.n; i++) fprintf(stderr, " %zu", got.len[i]);
      fprintf(stderr, " / want %s\n", t2 + 1);
    }
    CHECK(ok);
    cases++;
    free(got.len);
    free(text);
  }
  free(data);
  printf("%s: %zu cases, %zu failed\n", path, cases, bad);
  return cases;
}

static size_t count_of(const char *enc, const char *s)
{
  return tok_count(tok_get(enc, NULL), s, strlen(s));
}

static void test_seed_rows(void)
{
  CHECK(count_of("cl100k_base", "\xc2\xa1" "Estoy feliz por la noticia!") == 9);
  CHECK(count_of("cl100k_base", "Revela el secreto.") == 7);
  CHECK(count_of("cl100k_base", "M\xc3\xa1s vale tarde que nunca.") == 7);
  CHECK(count_of("cl100k_base", "Morder la bala.") == 6);
  CHECK(count_of("o200k_base", "\xc2\xa1" "Estoy feliz por la noticia!") == 7);
  CHECK(count_of("cl100k_base", "") == 0);
  /* special-token text is plain text: 8 ordinary tokens, no 100257 */
  const tok_encoding *e = tok_get("cl100k_base", NULL);
  uint32_t *ids;
  size_t n;
  CHECK(tok_encode(e, "a <|endoftext|> b", 17, &ids, &n) == 0);
  CHECK(n == 8);
  for (size_t i = 0; i < n; i++) CHECK(ids[i] != 100257);
  free(ids);
}

static void test_get_and_decode(void)
{
  const char *err = NULL;
  CHECK(tok_get("p50k_base", &err) == NULL);
  CHECK(err && strstr(err, "cl100k_base, o200k_base"));
  CHECK_STR(tok_known(), "cl100k_base, o200k_base");
  const tok_encoding *cl = tok_get("cl100k_base", &err), *o2 = tok_get("o200k_base", &err);
  CHECK(cl && o2 && cl != o2);
  CHECK_STR(tok_name(cl), "cl100k_base");
  CHECK(tok_n_vocab(cl) == 100277 && tok_n_vocab(o2) == 200019);
  CHECK(tok_get("cl100k_base", NULL) == cl); /* built once */

  uint32_t ids[] = {15339, 1917, 100257};
  char *s = NULL;
  size_t n = 0, bad = 99;
  CHECK(tok_decode(cl, ids, 3, &s, &n, &bad) == 0);
  CHECK_STR(s, "hello world<|endoftext|>");
  free(s);
  uint32_t bad_ids[] = {15339, 100256, 1};
  s = NULL;
  CHECK(tok_decode(cl, bad_ids, 3, &s, &n, &bad) == -2 && bad == 1 && s == NULL);
  uint32_t o_ids[] = {24912, 2375, 199999, 200018};
  CHECK(tok_decode(o2, o_ids, 4, &s, &n, &bad) == 0);
  CHECK_STR(s, "hello world<|endoftext|><|endofprompt|>");
  free(s);
  CHECK(tok_decode(cl, ids, 0, &s, &n, &bad) == 0 && n == 0 && s && s[0] == '\0');
  free(s);
}

/* tiktoken's test_single_token_roundtrip: every token's bytes look up to itself */
static void test_single_tokens(const char *name, uint32_t n_ranks)
{
  const tok_encoding *e = tok_get(name, NULL);
  size_t bad = 0;
  for (uint32_t r = 0; r < n_ranks; r++) {
    char *s;
    size_t n, badi;
    if (tok_decode(e, &r, 1, &s, &n, &badi) != 0 || tok_rank(e, s, n) != (long)r) bad++;
    free(s);
  }
  CHECK(bad == 0);
  uint32_t gap = n_ranks; /* the first id past the ordinary tokens is not one */
  char *s = NULL;
  size_t n, badi;
  CHECK(tok_decode(e, &gap, 1, &s, &n, &badi) == -2);
  CHECK(tok_rank(e, "", 0) == -1);
  CHECK(tok_rank(e, "<|endoftext|>", 13) == -1);
  CHECK(tok_split(e, "ab\xe2\x82", 4, NULL, NULL) == (size_t)-1);
  CHECK(tok_split(e, "ab cd", 5, NULL, NULL) == 2);
}

static void test_sanitize(void)
{
  size_t n = 0;
  CHECK(tok_utf8_sanitize("plain \xc3\xa9", 8, &n) == NULL);
  struct {
    const char *in;
    size_t len;
    const char *out;
  } cases[] = {
    {"\x80", 1, "\xef\xbf\xbd"},
    {"a\xe2\x82 b", 5, "a\xef\xbf\xbd b"},
    {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"\xf0\x90\x80", 3, "\xef\xbf\xbd"},
    {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"x\xc3", 2, "x\xef\xbf\xbd"},
    {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *s = tok_utf8_sanitize(cases[i].in, cases[i].len, &n);
    CHECK_STR(s, cases[i].out);
    CHECK(s && n == strlen(cases[i].out));
    free(s);
  }
}

/* deterministic mixed corpus: words, scripts, digits, code, odd spaces */
static char *make_corpus(size_t target, size_t *len)
{
  static const char *parts[] = {
    "The ", "quick ", "brown ", "fox ", "jumps", " over", " the lazy dog. ", "don't ", "WE'LL ",
    "caf\xc3\xa9 ", "na\xc3\xafve ", "\xe4\xb8\xad\xe6\x96\x87 ", "\xe3\x81\x93\xe3\x82\x93 ",
    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 ", "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 ",
    "\xf0\x9f\x91\x8d ", "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 ", "12345678 ", "3.14 ",
    "int main(void) { return 0; }\n", "    if (x) {\n", "\t\treturn;\n", "\r\n", "\n\n", "   ",
    "\xc2\xa0", "\xe3\x80\x80", "\xc2\x85", "e\xcc\x81", "//", "<|endoftext|>", "$$$", "\xe2\x80\x94",
  };
  size_t np = sizeof parts / sizeof parts[0], n = 0;
  char *buf = malloc(target + 64);
  uint64_t x = 88172645463325252ull;
  while (n < target) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const char *p = parts[x % np];
    size_t l = strlen(p);
    memcpy(buf + n, p, l);
    n += l;
  }
  *len = n;
  return buf;
}

static void test_roundtrip_corpus(void)
{
  size_t n;
  char *text = make_corpus(1u << 20, &n);
  const char *names[] = {"cl100k_base", "o200k_base"};
  for (int k = 0; k < 2; k++) {
    const tok_encoding *e = tok_get(names[k], NULL);
    uint32_t *ids;
    size_t m;
    CHECK(tok_encode(e, text, n, &ids, &m) == 0);
    CHECK(m > n / 8 && m < n);
    CHECK(tok_count(e, text, n) == m);
    char *back;
    size_t blen, bad;
    CHECK(tok_decode(e, ids, m, &back, &blen, &bad) == 0);
    CHECK(blen == n && memcmp(back, text, n) == 0);
    free(back);
    free(ids);
  }
  free(text);
}

/* one 1 MB piece (a single letter run) goes through the heap merge */
static void test_long_piece(void)
{
  size_t n = 1u << 20;
  char *s = malloc(n);
  for (size_t i = 0; i < n; i++) s[i] = "abcdefghij"[(i * 7 + i / 3) % 10];
  const tok_encoding *e = tok_get("o200k_base", NULL);
  uint32_t *ids;
  size_t m;
  CHECK(tok_encode(e, s, n, &ids, &m) == 0);
  CHECK(m > 1000);
  char *back;
  size_t blen, bad;
  CHECK(tok_decode(e, ids, m, &back, &blen, &bad) == 0 && blen == n && memcmp(back, s, n) == 0);
  free(back);
  free(ids);
  free(s);
}

/* threads share the tables and keep their own piece caches */
struct job {
  const char *text;
  size_t len, want;
  int enc, ok;
};

static void *run_job(void *arg)
{
  struct job *j = arg;
  const tok_encoding *e = tok_get(j->enc ? "o200k_base" : "cl100k_base", NULL);
  j->ok = 1;
  for (int r = 0; r < 3; r++) j->ok &= tok_count(e, j->text, j->len) == j->want;
  return NULL;
}

static void test_threads(void)
{
  size_t n;
  char *text = make_corpus(200000, &n);
  struct job jobs[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (struct job){text + i * 1000, n - i * 1000, 0, i & 1, 0};
    /* start on a character boundary: skip continuation bytes */
    while ((unsigned char)jobs[i].text[0] >= 0x80 && (unsigned char)jobs[i].text[0] < 0xC0)
      jobs[i].text++, jobs[i].len--;
    jobs[i].want = tok_count(tok_get(i & 1 ? "o200k_base" : "cl100k_base", NULL), jobs[i].text,
                             jobs[i].len);
  }
  for (int i = 0; i < 4; i++) CHECK(pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0);
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK(jobs[i].ok);
  }
  free(text);
}

int main(void)
{
  test_get_and_decode();
  test_seed_rows();
  test_sanitize();
  test_single_tokens("cl100k_base", 100256);
  test_single_tokens("o200k_base", 199998);
  CHECK(run_splits("tests/data/tokenize/splits.tsv") == 12000);
  CHECK(run_file("tests/data/tokenize/testplans.tsv", 1) == 121);
  CHECK(run_file("tests/data/tokenize/cases.tsv", 1) > 200);
  CHECK(run_file("tests/data/tokenize/random.tsv", 1) == 6000);
  CHECK(run_file("tests/data/tokenize/wide.tsv", 1) == 5000);
  CHECK(run_file("tests/data/tokenize/invalid_utf8.tsv", 0) > 800);
  test_roundtrip_corpus();
  test_long_piece();
  test_threads();
  return check_done();
}
