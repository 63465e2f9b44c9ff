/* test_toxicity.c: normalisation, feature hashing, the weights file reader
 * and the behaviour of the embedded model (engine/toxicity.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "toxicity.h"

/* The sha256 of engine/data/toxicity.bin; docs/toxicity.md must state it. */
#define WEIGHTS_SHA256 "2b870ecf27b699382b208ed667c6b23c564d16c2d1af86febc05cbf9642d0380"

static void test_normalize(void)
{
  static const struct { const char *in, *out; } cases[] = {
      {"", ""},
      {"Hello, World!", "hello . world"},
      {"U.S. citizens, 3.14 \"quoted words\" here.", "u s . citizens . 3 14 \" quoted words \" here"},
      {"He said: “they are rats”. I disagree!!", "he said . \" they are rats \" . i disagree"},
      {"Wait... what?!", "wait . what"},
      {"\"\" x", "\" \" x"},
      {"RT @user_1: so cool http://t.co/abc #winning", "so cool winning"},
      {"&amp; &lt;b&gt; A&amp;B", "b a b"},
      {"lol &#128514;&#128514;", "lol 😂 😂"},
      {"soooooo coooool!!!", "soo cool"},
      {"h3ll0 w0rld 2024", "hello world 2024"},
      {"don't can’t", "dont cant"},
      {"f*ck a$$ sh!t b@d f**", "f*ck ass sh*t bad f**"},
      {"ÉCOLE Ärger ПРИВЕТ", "école ärger привет"},
      {"tab\tnew\nline  spaces", "tab new line spaces"},
      {"bad\xff\xfe" "bytes\xc3", "bad bytes"},
      {"\xed\xa0\x80surrogate", "surrogate"},
      {"thumbs👍🏽up", "thumbs 👍 up"},
      {"www.example.com/x visit", "visit"},
      {"snake_case_name", "snake case name"},
      {"@", ""},
      {"&#0; &#99999999; &#xD800;", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[256];
    size_t n = toxicity_normalize(cases[i].in, strlen(cases[i].in), out, sizeof out);
    CHECK_STR(out, cases[i].out);
    CHECK(n == strlen(cases[i].out));
  }
  /* truncation keeps the full length and a NUL */
  char small[4];
  size_t n = toxicity_normalize("abcdefgh", 8, small, sizeof small);
  CHECK(n == 8);
  CHECK_STR(small, "abc");
}

typedef struct {
  uint32_t v[64];
  size_t n;
} fl;

static void collect(uint32_t b, void *ud)
{
  fl *f = ud;
  if (f->n < 64) f->v[f->n] = b;
  f->n++;
}

#define V1 (TOXICITY_F_WORD | TOXICITY_F_BIGRAM | TOXICITY_F_CHAR)

static void test_features(void)
{
  fl a = {0}, b = {0};
  /* "ab": unigram + char 3-grams of "<ab>" (<ab, ab>) + 4-gram <ab> = 4 */
  CHECK(toxicity_features("ab", 2, 18, V1, collect, &a) == 4);
  CHECK(a.n == 4);
  /* "ab ab": two words, one bigram */
  CHECK(toxicity_features("ab ab", 5, 18, V1, collect, &b) == 9);
  for (size_t i = 0; i < 4; i++) CHECK(a.v[i] == b.v[i]);
  /* normalisation first: the same features for case and noise variants */
  fl c = {0};
  toxicity_features("AB!!", 4, 18, V1, collect, &c);
  CHECK(c.n == 4 && memcmp(a.v, c.v, 4 * sizeof a.v[0]) == 0);
  fl d = {0};
  CHECK(toxicity_features("ab", 2, 10, V1, collect, &d) == 4);
  for (size_t i = 0; i < d.n && i < 64; i++) CHECK(d.v[i] < 1024);
  fl e = {0};
  CHECK(toxicity_features("", 0, 18, TOXICITY_F_ALL, collect, &e) == 0);
  /* a clause mark ends a bigram and is not a word itself */
  CHECK(toxicity_features("ab. ab", 6, 18, TOXICITY_F_WORD | TOXICITY_F_BIGRAM, collect, &e) == 2);
  CHECK(toxicity_features("ab ab", 5, 18, TOXICITY_F_WORD | TOXICITY_F_BIGRAM, collect, &e) == 3);
  CHECK(toxicity_features("ab ab ab", 8, 18, TOXICITY_F_TRIGRAM, collect, &e) == 1);

  /* negation scope: words after a negator, up to the clause end */
  unsigned WN = TOXICITY_F_WORD | TOXICITY_F_NEG;
  CHECK(toxicity_features("ab", 2, 18, WN, collect, &e) == 1);
  CHECK(toxicity_features("not ab", 6, 18, WN, collect, &e) == 3);
  CHECK(toxicity_features("don't ab cd", 11, 18, WN, collect, &e) == 5);
  CHECK(toxicity_features("not ab, cd", 10, 18, WN, collect, &e) == 4);
  fl n1 = {0}, n2 = {0};
  toxicity_features("x ab", 4, 18, WN, collect, &n1);
  toxicity_features("never ab", 8, 18, WN, collect, &n2);
  CHECK(n1.n == 2 && n2.n == 3 && n1.v[1] == n2.v[1] && n2.v[2] != n2.v[1]);

  /* quotation: words between double quotes get a second feature */
  unsigned WQ = TOXICITY_F_WORD | TOXICITY_F_QUOTE;
  CHECK(toxicity_features("\"ab cd\" ef", 10, 18, WQ, collect, &e) == 5);
  CHECK(toxicity_features("ab cd ef", 8, 18, WQ, collect, &e) == 3);

  /* identity x word: only in a text that names a group */
  unsigned WI = TOXICITY_F_WORD | TOXICITY_F_IDWORD;
  CHECK(toxicity_features("cats are vermin", 15, 18, WI, collect, &e) == 3);
  CHECK(toxicity_features("Muslims are vermin", 18, 18, WI, collect, &e) == 5);
  CHECK(toxicity_features("Muslims are not vermin", 22, 18, WI | TOXICITY_F_NEG, collect, &e) ==
        4 + 3 + 1 + 1);   /* words, id x word (3), negated "vermin", id x negated "vermin" */

  /* identity class 2-/3-grams: the same buckets for every group */
  fl g1 = {0}, g2 = {0}, g3 = {0};
  CHECK(toxicity_features("Jews are vermin", 15, 18, TOXICITY_F_IDGRAM, collect, &g1) == 2);
  CHECK(toxicity_features("refugees are vermin", 19, 18, TOXICITY_F_IDGRAM, collect, &g2) == 2);
  CHECK(g1.v[0] == g2.v[0] && g1.v[1] == g2.v[1]);
  CHECK(toxicity_features("cats are vermin", 15, 18, TOXICITY_F_IDGRAM, collect, &g3) == 0);
}

static void test_parse_errors(void)
{
  toxicity_model m;
  char err[256];
  unsigned char buf[64] = {0};
  CHECK(toxicity_model_parse(&m, buf, sizeof buf, err, sizeof err) == -1);
  CHECK(strstr(err, "bad magic") != NULL);
  memcpy(buf, TOXICITY_MAGIC, 8);
  buf[8] = 40; /* nbits */
  CHECK(toxicity_model_parse(&m, buf, sizeof buf, err, sizeof err) == -1);
  CHECK(strstr(err, "hash bits") != NULL);
  buf[8] = 10;
  CHECK(toxicity_model_parse(&m, buf, sizeof buf, err, sizeof err) == -1);
  CHECK(strstr(err, "feature flags") != NULL);
  buf[24] = 7;
  buf[25] = 1;   /* flag 256 does not exist */
  CHECK(toxicity_model_parse(&m, buf, sizeof buf, err, sizeof err) == -1);
  CHECK(strstr(err, "feature flags 0x107") != NULL);
  buf[25] = 0;
  CHECK(toxicity_model_parse(&m, buf, sizeof buf, err, sizeof err) == -1);
  CHECK(strstr(err, "expected 4128") != NULL);
  /* a v1 file is refused by its magic */
  memcpy(buf, "EVTOXLR1", 8);
  CHECK(toxicity_model_parse(&m, buf, sizeof buf, err, sizeof err) == -1);
  CHECK(strstr(err, "bad magic") != NULL);
  /* a well-formed tiny model, misaligned on purpose: weights are copied */
  size_t len = 32 + 4 + 4096;
  unsigned char *raw = calloc(1, len + 1), *p = raw + 1;
  memcpy(p, TOXICITY_MAGIC, 8);
  p[8] = 10;
  float hdr[3] = {0.5f, 2.0f, 0.0f};
  memcpy(p + 12, hdr, 12);
  p[24] = TOXICITY_F_ALL;
  p[28] = 3;
  memcpy(p + 32, "a=1", 3);
  CHECK(toxicity_model_parse(&m, p, len, err, sizeof err) == 0);
  CHECK(m.owned != NULL);
  CHECK(m.meta_len == 3 && memcmp(m.meta, "a=1", 3) == 0);
  CHECK(m.flags == TOXICITY_F_ALL);
  /* all weights zero: logit = bias, p = sigmoid(2 * 0.5) */
  CHECK_NUM(toxicity_logit(&m, "anything", 8), 0.5, 1e-12);
  CHECK_NUM(toxicity_prob(&m, "anything", 8), 1 / (1 + exp(-1.0)), 1e-12);
  CHECK_NUM(toxicity_prob(&m, "", 0), 0.0, 0);
  toxicity_model_free(&m);
  free(raw);
}

static const char *const toxic[] = {
    "You are a stupid bitch.",
    "Shut up, you fucking idiot.",
    "I hate all those faggots.",
    "That hoe is a worthless piece of shit.",
    "Go kill yourself, you retarded loser.",
    "fuck off and die you ugly cunt",
};
static const char *const clean[] = {
    "The weather is lovely today.",
    "Thank you so much for your help with the report!",
    "The capital of France is Paris.",
    "To install the package, run the command below and restart the service.",
    "Our team will review the quarterly budget next week.",
    "She went to the library to borrow a book about gardening.",
};

static void test_default_model(void)
{
  char err[256];
  const toxicity_model *m = toxicity_default(err, sizeof err);
  CHECK(m != NULL);
  if (!m) {
    fprintf(stderr, "%s\n", err);
    return;
  }
  CHECK_STR(m->sha256, WEIGHTS_SHA256);
  CHECK(m->flags == TOXICITY_F_ALL);
  CHECK(toxicity_default(err, sizeof err) == m);
  /* the docs state the same hash */
  FILE *f = fopen("docs/toxicity.md", "rb");
  CHECK(f != NULL);
  if (f) {
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = 0;
    fclose(f);
    CHECK(strstr(doc, WEIGHTS_SHA256) != NULL);
  }
  /* the metadata carries the measured quality */
  CHECK(m->meta_len > 0);
  char meta[8192];
  size_t ml = m->meta_len < sizeof meta - 1 ? m->meta_len : sizeof meta - 1;
  memcpy(meta, m->meta, ml);
  meta[ml] = 0;
  const char *auc = strstr(meta, "davidson_test_roc_auc=");
  CHECK(auc != NULL);
  if (auc) CHECK(atof(auc + 22) > 0.95);

  double min_toxic = 1, max_clean = 0;
  for (size_t i = 0; i < sizeof toxic / sizeof toxic[0]; i++) {
    double p = toxicity_prob(m, toxic[i], strlen(toxic[i]));
    CHECK(p >= 0.5 && p <= 1);
    if (p < min_toxic) min_toxic = p;
    CHECK(p == toxicity_prob(m, toxic[i], strlen(toxic[i]))); /* deterministic */
  }
  for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++) {
    double p = toxicity_prob(m, clean[i], strlen(clean[i]));
    CHECK(p >= 0 && p < 0.5);
    if (p > max_clean) max_clean = p;
  }
  CHECK(min_toxic > max_clean);

  /* any input: a probability, never a crash */
  static const char *const odd[] = {
      "",           "   ",         "!!!???",    "\xff\xfe\xfd", "\xc3",
      "😀😃😄😁",   "💩",          "Ich liebe dich und die Musik.",
      "Je pense, donc je suis.",   "東京は日本の首都です。",   "Привет, как дела?",
      "مرحبا بالعالم",               "\x00\x01\x02",
  };
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    size_t len = i == sizeof odd / sizeof odd[0] - 1 ? 3 : strlen(odd[i]);
    double p = toxicity_prob(m, odd[i], len);
    CHECK(p >= 0 && p <= 1);
  }
  CHECK(toxicity_prob(m, "", 0) == 0.0);
  CHECK(toxicity_prob(m, "?!", 2) == 0.0);

  /* 1 MB strings: words, one giant word, random bytes */
  size_t big = 1 << 20;
  char *s = malloc(big);
  for (size_t i = 0; i < big; i++) s[i] = "the cat sat on the mat "[i % 23];
  double p = toxicity_prob(m, s, big);
  CHECK(p >= 0 && p <= 1);
  memset(s, 'a', big);
  p = toxicity_prob(m, s, big);
  CHECK(p >= 0 && p <= 1);
  uint32_t x = 12345;
  for (size_t i = 0; i < big; i++) {
    x = x * 1103515245u + 12345u;
    s[i] = (char)(x >> 24);
  }
  p = toxicity_prob(m, s, big);
  CHECK(p >= 0 && p <= 1);
  free(s);
}

int main(void)
{
  test_normalize();
  test_features();
  test_parse_errors();
  test_default_model();
  return check_done();
}
