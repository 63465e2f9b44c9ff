/* porter.c: the Porter stemmer exactly as NLTK's PorterStemmer in its
 * default NLTK_EXTENSIONS mode (nltk 3.x), which rouge_score applies to
 * tokens longer than 3 characters. Written from the published algorithm
 * and NLTK's documented departures; the words are lower-case ASCII. */
#include <string.h>

#include "text.h"

struct word {
  char *b;
  size_t n;
};

static int is_vowel(char c)
{
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* b[i] is a consonant: not a vowel, and a 'y' only after a vowel or at 0.
 * Runs of 'y' alternate, so count back to the first non-'y'. */
static int cons(const char *b, size_t i)
{
  if (is_vowel(b[i])) return 0;
  if (b[i] != 'y') return 1;
  size_t j = i;
  while (j > 0 && b[j] == 'y') j--;
  int base = b[j] == 'y' ? 1 : !is_vowel(b[j]);
  return ((i - j) & 1) ? !base : base;
}

/* the number of "vc" pairs in the consonant/vowel pattern of b[0..n) */
static int measure(const char *b, size_t n)
{
  int m = 0;
  for (size_t i = 1; i < n; i++)
    if (cons(b, i) && !cons(b, i - 1)) m++;
  return m;
}

static int has_vowel(const char *b, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!cons(b, i)) return 1;
  return 0;
}

static int double_cons(const char *b, size_t n)
{
  return n >= 2 && b[n - 1] == b[n - 2] && cons(b, n - 1);
}

static int cvc(const char *b, size_t n)
{
  if (n >= 3 && cons(b, n - 3) && !cons(b, n - 2) && cons(b, n - 1) && b[n - 1] != 'w' &&
      b[n - 1] != 'x' && b[n - 1] != 'y')
    return 1;
  return n == 2 && !cons(b, 0) && cons(b, 1);
}

static int ends(const struct word *w, const char *suf)
{
  size_t k = strlen(suf);
  return w->n >= k && memcmp(w->b + w->n - k, suf, k) == 0;
}

/* w minus the last k characters, plus rep (never longer than the input). */
static void replace(struct word *w, size_t k, const char *rep)
{
  size_t r = strlen(rep);
  memcpy(w->b + w->n - k, rep, r);
  w->n = w->n - k + r;
}

enum cond { C_NONE, C_M0, C_M1, C_ION, C_LOGI };

struct rule {
  const char *suf, *rep;
  enum cond cond;
};

/* NLTK's _apply_rule_list: the first rule whose suffix matches decides; when
 * its condition fails the word is returned unchanged. */
static void apply(struct word *w, const struct rule *rules, size_t nrules)
{
  for (size_t i = 0; i < nrules; i++) {
    const struct rule *r = &rules[i];
    if (!ends(w, r->suf)) continue;
    size_t k = strlen(r->suf), sn = w->n - k;
    int ok = 1;
    switch (r->cond) {
    case C_NONE: break;
    case C_M0: ok = measure(w->b, sn) > 0; break;
    case C_M1: ok = measure(w->b, sn) > 1; break;
    case C_ION: ok = measure(w->b, sn) > 1 && (w->b[sn - 1] == 's' || w->b[sn - 1] == 't'); break;
    case C_LOGI: ok = measure(w->b, w->n - 3) > 0; break;
    }
    if (ok) replace(w, k, r->rep);
    return;
  }
}

#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

static void step1a(struct word *w)
{
  if (ends(w, "ies") && w->n == 4) { replace(w, 3, "ie"); return; }
  static const struct rule r[] = {
    {"sses", "ss", C_NONE}, {"ies", "i", C_NONE}, {"ss", "ss", C_NONE}, {"s", "", C_NONE}};
  apply(w, r, NRULES(r));
}

static void step1b(struct word *w)
{
  if (ends(w, "ied")) {
    replace(w, 3, w->n == 4 ? "ie" : "i");
    return;
  }
  if (ends(w, "eed")) {
    if (measure(w->b, w->n - 3) > 0) w->n -= 1;
    return;
  }
  size_t k = 0;
  if (ends(w, "ed") && has_vowel(w->b, w->n - 2)) k = 2;
  else if (ends(w, "ing") && has_vowel(w->b, w->n - 3)) k = 3;
  if (!k) return;
  w->n -= k; /* the intermediate stem */
  if (ends(w, "at")) { replace(w, 2, "ate"); return; }
  if (ends(w, "bl")) { replace(w, 2, "ble"); return; }
  if (ends(w, "iz")) { replace(w, 2, "ize"); return; }
  if (double_cons(w->b, w->n)) {
    char last = w->b[w->n - 1];
    if (last != 'l' && last != 's' && last != 'z') w->n -= 1;
    return;
  }
  if (measure(w->b, w->n) == 1 && cvc(w->b, w->n)) replace(w, 0, "e");
}

static void step1c(struct word *w)
{
  if (ends(w, "y") && w->n - 1 > 1 && cons(w->b, w->n - 2)) w->b[w->n - 1] = 'i';
}

static void step2(struct word *w)
{
  if (ends(w, "alli") && measure(w->b, w->n - 4) > 0) {
    replace(w, 4, "al");
    step2(w);
    return;
  }
  static const struct rule r[] = {
    {"ational", "ate", C_M0}, {"tional", "tion", C_M0}, {"enci", "ence", C_M0},
    {"anci", "ance", C_M0},   {"izer", "ize", C_M0},    {"bli", "ble", C_M0},
    {"alli", "al", C_M0},     {"entli", "ent", C_M0},   {"eli", "e", C_M0},
    {"ousli", "ous", C_M0},   {"ization", "ize", C_M0}, {"ation", "ate", C_M0},
    {"ator", "ate", C_M0},    {"alism", "al", C_M0},    {"iveness", "ive", C_M0},
    {"fulness", "ful", C_M0}, {"ousness", "ous", C_M0}, {"aliti", "al", C_M0},
    {"iviti", "ive", C_M0},   {"biliti", "ble", C_M0},  {"fulli", "ful", C_M0},
    {"logi", "log", C_LOGI}};
  apply(w, r, NRULES(r));
}

static void step3(struct word *w)
{
  static const struct rule r[] = {
    {"icate", "ic", C_M0}, {"ative", "", C_M0}, {"alize", "al", C_M0}, {"iciti", "ic", C_M0},
    {"ical", "ic", C_M0},  {"ful", "", C_M0},   {"ness", "", C_M0}};
  apply(w, r, NRULES(r));
}

static void step4(struct word *w)
{
  static const struct rule r[] = {
    {"al", "", C_M1},   {"ance", "", C_M1}, {"ence", "", C_M1},  {"er", "", C_M1},
    {"ic", "", C_M1},   {"able", "", C_M1}, {"ible", "", C_M1},  {"ant", "", C_M1},
    {"ement", "", C_M1}, {"ment", "", C_M1}, {"ent", "", C_M1},  {"ion", "", C_ION},
    {"ou", "", C_M1},   {"ism", "", C_M1},  {"ate", "", C_M1},   {"iti", "", C_M1},
    {"ous", "", C_M1},  {"ive", "", C_M1},  {"ize", "", C_M1}};
  apply(w, r, NRULES(r));
}

static void step5a(struct word *w)
{
  if (!ends(w, "e")) return;
  int m = measure(w->b, w->n - 1);
  if (m > 1 || (m == 1 && !cvc(w->b, w->n - 1))) w->n -= 1;
}

static void step5b(struct word *w)
{
  if (ends(w, "ll") && measure(w->b, w->n - 1) > 1) w->n -= 1;
}

/* NLTK's irregular forms: word -> stem, bypassing the steps */
static const char *const irregular[][2] = {
  {"sky", "sky"},         {"skies", "sky"},       {"dying", "die"},     {"lying", "lie"},
  {"tying", "tie"},       {"news", "news"},       {"innings", "inning"}, {"inning", "inning"},
  {"outings", "outing"},  {"outing", "outing"},   {"cannings", "canning"},
  {"canning", "canning"}, {"howe", "howe"},       {"proceed", "proceed"},
  {"exceed", "exceed"},   {"succeed", "succeed"}};

size_t porter_stem(const char *in, size_t n, char *out)
{
  for (size_t i = 0; i < NRULES(irregular); i++) {
    if (strlen(irregular[i][0]) == n && memcmp(irregular[i][0], in, n) == 0) {
      size_t k = strlen(irregular[i][1]);
      memcpy(out, irregular[i][1], k);
      out[k] = '\0';
      return k;
    }
  }
  memmove(out, in, n);
  struct word w = {out, n};
  if (n > 2) {
    step1a(&w);
    step1b(&w);
    step1c(&w);
    step2(&w);
    step3(&w);
    step4(&w);
    step5a(&w);
    step5b(&w);
  }
  out[w.n] = '\0';
  return w.n;
}
