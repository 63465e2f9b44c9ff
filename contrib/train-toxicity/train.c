/* evalua-train-toxicity: trains the embedded toxicity model and reports its
 * quality. Reproducible: the split is a hash of the row id, the example
 * order comes from a seeded generator, and training is single-threaded.
 *
 *   evalua-train-toxicity train --davidson labeled_data.csv
 *       [--neutral FILE_OR_DIR]... [--stormfront stormfront.csv]
 *       [--seed N] [--epochs N] [--bits N] [--hate-weight W] [--lr R] [--l2 R]
 *       [--generated N] [--identity-templates 0|1] --out engine/data/toxicity.bin
 *   evalua-train-toxicity eval --model toxicity.bin --davidson labeled_data.csv
 *       [--stormfront stormfront.csv]
 *
 * Davidson rows: class 0 (hate) and 1 (offensive) are toxic, 2 (neither) is
 * not. Neutral text (sentences from the given files plus generated
 * assistant-style sentences) is added as non-toxic so the model does not
 * learn "not a tweet" = toxic, and contrastive identity templates teach that
 * the predicate, not the group, makes a statement hateful. Split by a hash of
 * the row id (or sentence): 80% train, 10% validation (Platt calibration on
 * Davidson rows only), 10% test (reported); templates are training-only. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sha256.h"
#include "toxicity.h"

enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST };

typedef struct {
  char *text;
  int label;     /* 1 toxic */
  int split;
  int source;    /* 0 davidson, 1 neutral, 2 templates, 3 implicit hate */
  int hate;      /* Davidson class 0 */
  size_t f0, nf; /* features in the global array */
} example;

typedef struct {
  example *v;
  size_t n, cap;
} exlist;

static void die(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("evalua-train-toxicity: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void *xrealloc(void *p, size_t n)
{
  p = realloc(p, n ? n : 1);
  if (!p) die("out of memory");
  return p;
}

static void ex_push(exlist *l, char *text, int label, int split, int source)
{
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 1024;
    l->v = xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = (example){text, label, split, source, 0, 0, 0};
}

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) die("%s: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *p = xrealloc(NULL, cap);
  for (;;) {
    if (n == cap) p = xrealloc(p, cap *= 2);
    size_t k = fread(p + n, 1, cap - n, f);
    if (k == 0) break;
    n += k;
  }
  fclose(f);
  p = xrealloc(p, n + 1);
  p[n] = 0;
  *len = n;
  return p;
}

/* ---- CSV (RFC 4180: quoted fields, "" escapes, newlines inside quotes) ---- */

typedef struct {
  const char *s;
  size_t n, i;
  int line;
} csv;

/* Reads one record into fields (each malloc'd); returns the count, 0 at EOF. */
static int csv_record(csv *c, char **fields, int maxf, const char *path)
{
  if (c->i >= c->n) return 0;
  int nf = 0;
  int start_line = c->line;
  for (;;) {
    size_t cap = 64, k = 0;
    char *f = xrealloc(NULL, cap);
    if (c->i < c->n && c->s[c->i] == '"') {
      c->i++;
      for (;;) {
        if (c->i >= c->n) die("%s:%d: unclosed quote", path, start_line);
        char ch = c->s[c->i++];
        if (ch == '"') {
          if (c->i < c->n && c->s[c->i] == '"') c->i++;
          else break;
        }
        if (ch == '\n') c->line++;
        if (k + 1 >= cap) f = xrealloc(f, cap *= 2);
        f[k++] = ch;
      }
    }
    while (c->i < c->n && c->s[c->i] != ',' && c->s[c->i] != '\n') {
      char ch = c->s[c->i++];
      if (ch == '\r' && (c->i >= c->n || c->s[c->i] == '\n')) continue;
      if (k + 1 >= cap) f = xrealloc(f, cap *= 2);
      f[k++] = ch;
    }
    f[k] = 0;
    if (nf < maxf) fields[nf++] = f;
    else free(f);
    if (c->i >= c->n) break;
    if (c->s[c->i] == '\n') {
      c->i++;
      c->line++;
      break;
    }
    c->i++;   /* comma */
  }
  return nf;
}

static uint64_t hash_str(const char *s, uint64_t seed)
{
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

static int split_of(const char *id)
{
  /* fixed salt, independent of --seed, so the test split never moves */
  unsigned b = (unsigned)(hash_str(id, 0x5eed5eedULL) % 10);
  return b == 0 ? SPLIT_TEST : b == 1 ? SPLIT_VAL : SPLIT_TRAIN;
}

static void load_davidson(exlist *l, const char *path)
{
  csv c = {0};
  c.s = read_file(path, &c.n);
  c.line = 1;
  char *f[8];
  int nf = csv_record(&c, f, 8, path);
  if (nf < 7 || strcmp(f[5], "class") != 0 || strcmp(f[6], "tweet") != 0)
    die("%s:1: expected the header ,count,hate_speech,offensive_language,neither,class,tweet", path);
  for (int k = 0; k < nf; k++) free(f[k]);
  for (;;) {
    int line = c.line;
    nf = csv_record(&c, f, 8, path);
    if (nf == 0) break;
    if (nf == 1 && f[0][0] == 0) { free(f[0]); continue; }
    if (nf != 7) die("%s:%d: expected 7 fields, got %d", path, line, nf);
    int cls = atoi(f[5]);
    if (cls < 0 || cls > 2 || f[5][1] != 0) die("%s:%d: bad class \"%s\"", path, line, f[5]);
    ex_push(l, f[6], cls != 2, split_of(f[0]), 0);
    l->v[l->n - 1].hate = cls == 0;
    for (int k = 0; k < 6; k++) free(f[k]);
  }
  free((void *)c.s);
}

/* ---- neutral text ---- */

static int seen_add(uint64_t **tab, size_t *cap, size_t *n, uint64_t h)
{
  if (*n * 2 >= *cap) {
    size_t nc = *cap ? *cap * 2 : 4096;
    uint64_t *nt = calloc(nc, sizeof *nt);
    if (!nt) die("out of memory");
    for (size_t i = 0; i < *cap; i++)
      if ((*tab)[i]) {
        size_t j = (*tab)[i] & (nc - 1);
        while (nt[j]) j = (j + 1) & (nc - 1);
        nt[j] = (*tab)[i];
      }
    free(*tab);
    *tab = nt;
    *cap = nc;
  }
  if (!h) h = 1;
  size_t j = h & (*cap - 1);
  while ((*tab)[j]) {
    if ((*tab)[j] == h) return 0;
    j = (j + 1) & (*cap - 1);
  }
  (*tab)[j] = h;
  (*n)++;
  return 1;
}

static uint64_t *seen_tab;
static size_t seen_cap, seen_n;

/* Adds the sentences of a plain text file (20..400 bytes, mostly letters). */
static size_t load_neutral_file(exlist *l, const char *path)
{
  size_t len, added = 0;
  char *s = read_file(path, &len);
  size_t i = 0;
  while (i < len) {
    size_t a = i;
    while (i < len) {
      char ch = s[i++];
      if ((ch == '.' || ch == '!' || ch == '?') && (i >= len || s[i] == ' ' || s[i] == '\n')) break;
      if (ch == '\n' && i < len && s[i] == '\n') break;
    }
    /* collapse whitespace */
    char *t = xrealloc(NULL, i - a + 1);
    size_t k = 0, letters = 0;
    for (size_t j = a; j < i; j++) {
      char ch = s[j];
      if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
      if (ch == ' ' && (k == 0 || t[k - 1] == ' ')) continue;
      if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (unsigned char)ch >= 0x80)
        letters++;
      t[k++] = ch;
    }
    while (k && t[k - 1] == ' ') k--;
    t[k] = 0;
    if (k >= 20 && k <= 400 && letters * 10 >= k * 7 &&
        seen_add(&seen_tab, &seen_cap, &seen_n, hash_str(t, 1))) {
      ex_push(l, t, 0, split_of(t), 1);
      added++;
    } else {
      free(t);
    }
  }
  free(s);
  return added;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t load_neutral(exlist *l, const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0) die("%s: %s", path, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return load_neutral_file(l, path);
  DIR *d = opendir(path);
  if (!d) die("%s: %s", path, strerror(errno));
  char **names = NULL;
  size_t n = 0, added = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    names = xrealloc(names, (n + 1) * sizeof *names);
    size_t pl = strlen(path) + strlen(e->d_name) + 2;
    names[n] = xrealloc(NULL, pl);
    snprintf(names[n], pl, "%s/%s", path, e->d_name);
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);   /* directory order is not reproducible */
  for (size_t i = 0; i < n; i++) {
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) added += load_neutral_file(l, names[i]);
    free(names[i]);
  }
  free(names);
  return added;
}

/* xorshift64*: the one source of randomness, seeded by --seed */
static uint64_t rng_state;
static uint64_t rng(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}
#define PICK(a) (a[rng() % (sizeof a / sizeof a[0])])

/* Generated assistant-style sentences: the register of LLM outputs, which
 * Davidson's tweets lack. Includes neutral mentions of groups and of words
 * like "kill" in harmless senses so they are not learnt as toxic alone. */
static size_t gen_neutral(exlist *l, size_t count)
{
  static const char *const subj[] = {
      "The report", "This function", "Our team", "The committee", "My neighbour",
      "The new policy", "The museum", "The recipe", "This approach", "The researchers",
      "The city council", "Many women", "Many men", "Black and white photographs",
      "Muslim and Jewish leaders", "Gay and lesbian couples", "Immigrant families",
      "The African American history month", "Asian restaurants", "Christian charities",
      "The teacher", "The engine", "The dataset", "The article", "The patient",
      "Your question", "The server", "Young people", "Older adults", "The farmers",
      "The community", "This library", "The hospital", "The students", "The process",
      "Mexican cuisine", "The government", "Scientists", "The company", "The river"};
  static const char *const verb[] = {
      "explains", "describes", "improves", "supports", "reduces", "requires",
      "celebrates", "includes", "depends on", "focuses on", "welcomes", "analyses",
      "summarises", "compares", "protects", "helps with", "recommends", "measures",
      "discusses", "was designed for", "can kill the process running", "shows",
      "will review", "has changed", "builds", "organised", "funds", "studies"};
  static const char *const obj[] = {
      "the quarterly budget", "the main results", "a balanced diet", "the test suite",
      "climate change", "public transport", "the history of the region", "local schools",
      "the memory usage", "the trade-offs involved", "equal rights for everyone",
      "the annual festival", "customer feedback", "the training data",
      "the cultural heritage of their community", "renewable energy", "the configuration file",
      "access to healthcare", "the steps below", "a clear summary", "the error message",
      "the opening hours", "the legal requirements", "mental health", "small businesses",
      "the final chapter", "the user interface", "water quality", "the evaluation metrics",
      "religious freedom", "the weather forecast", "the garden", "the election results"};
  static const char *const tail[] = {
      ".", " in detail.", " every year.", " according to the documentation.",
      " without any problems.", " more efficiently.", " for the first time.",
      " in a respectful way.", ", as shown in the table.", " and the results look promising.",
      " before the deadline.", " in several countries.", "; see the next section."};
  static const char *const lead[] = {
      "", "", "", "Sure! ", "Here is a summary: ", "In short, ", "However, ",
      "According to the article, ", "Thank you for asking. ", "Note that ",
      "To answer your question, ", "Overall, ", "Yes, ", "I think "};
  static const char *const shortr[] = {
      "Yes.", "No.", "OK", "Thanks!", "Sure, here you go.", "I don't know.", "Great question!",
      "Done.", "Hello! How can I help you today?", "Good morning 😊", "Happy birthday! 🎉",
      "See you tomorrow 👋", "That sounds great 👍", "42", "N/A", "Paris", "True", "1. Preheat the oven.",
      "I'm sorry, I can't help with that.", "Here is the code:", "Step 2: restart the service.",
      "❤️", "🙂", "LOL that's funny 😂", "Have a nice day!", "The answer is 7."};
  size_t added = 0;
  for (size_t i = 0; i < sizeof shortr / sizeof shortr[0]; i++) {
    if (!seen_add(&seen_tab, &seen_cap, &seen_n, hash_str(shortr[i], 1))) continue;
    size_t k = strlen(shortr[i]);
    char *t = xrealloc(NULL, k + 1);
    memcpy(t, shortr[i], k + 1);
    ex_push(l, t, 0, SPLIT_TRAIN, 1);
    added++;
  }
  for (size_t i = 0; i < count; i++) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s %s %s%s", PICK(lead), PICK(subj), PICK(verb), PICK(obj),
             PICK(tail));
    if (!seen_add(&seen_tab, &seen_cap, &seen_n, hash_str(buf, 1))) continue;
    size_t k = strlen(buf);
    char *t = xrealloc(NULL, k + 1);
    memcpy(t, buf, k + 1);
    ex_push(l, t, 0, split_of(t), 1);
    added++;
  }
  return added;
}

#include "templates.h"

#define NELEM(a) (sizeof a / sizeof a[0])

static size_t push_gen(exlist *l, const char *buf, int tox, size_t *ntoxic)
{
  if (!seen_add(&seen_tab, &seen_cap, &seen_n, hash_str(buf, 1))) return 0;
  size_t len = strlen(buf);
  char *t = xrealloc(NULL, len + 1);
  memcpy(t, buf, len + 1);
  /* capitalise the first letter like a sentence */
  if (t[0] >= 'a' && t[0] <= 'z') t[0] = (char)(t[0] - 32);
  ex_push(l, t, tox, SPLIT_TRAIN, 2);
  l->v[l->n - 1].hate = tox; /* weighs like Davidson's hate class */
  *ntoxic += (size_t)tox;
  return 1;
}

/* The predicate with "not" inserted ("are animals" -> "are not animals"),
 * or 0 when it has no simple negation or is already negative. */
static int negate_pred(const char *p, char *out, size_t cap)
{
  if (strstr(p, " not ") || strstr(p, "n't") || strstr(p, "never") || !strncmp(p, "no ", 3))
    return 0;
  static const char *const aux[] = {"are ", "should ", "must ", "will ", "can "};
  for (size_t i = 0; i < NELEM(aux); i++) {
    size_t k = strlen(aux[i]);
    if (!strncmp(p, aux[i], k)) {
      snprintf(out, cap, "%.*snot %s", (int)k, p, p + k);
      return 1;
    }
  }
  return 0;
}

/* Contrastive identity templates (in the spirit of HateCheck's functional
 * tests): hateful statements about a group are toxic; neutral statements,
 * counter-speech quoting hate and negated hate about the same groups are
 * not; harmless subjects with the same predicates are not. The model learns
 * from the predicate and its frame rather than from the group's name.
 * Sampled with the seeded generator; training split only. */
static size_t gen_identity(exlist *l, size_t *ntoxic, size_t *counts)
{
  size_t added = 0;
  char buf[512], neg[256];
  *ntoxic = 0;
  memset(counts, 0, 5 * sizeof *counts);
  for (size_t g = 0; g < NELEM(tpl_groups); g++) {
    const char *G = tpl_groups[g];
    for (size_t p = 0; p < NELEM(tpl_hate_pred); p++) {
      const char *P = tpl_hate_pred[p];
      for (int r = 0; r < 2; r++) {   /* two hateful frames per (group, predicate) */
        snprintf(buf, sizeof buf, PICK(tpl_hate_wrap), G, P);
        counts[0] += push_gen(l, buf, 1, ntoxic);
      }
      snprintf(buf, sizeof buf, PICK(tpl_counter_wrap), G, P);
      counts[2] += push_gen(l, buf, 0, ntoxic);
      if (negate_pred(P, neg, sizeof neg)) {
        snprintf(buf, sizeof buf, PICK(tpl_hate_wrap), G, neg);
        counts[3] += push_gen(l, buf, 0, ntoxic);
      } else if (!strstr(P, "n't") && !strstr(P, " not ")) {
        snprintf(buf, sizeof buf, PICK(tpl_negated_wrap), G, P);
        counts[3] += push_gen(l, buf, 0, ntoxic);
      }
      if (rng() % 2 == 0) {
        snprintf(buf, sizeof buf, PICK(tpl_negated_wrap), G, P);
        if (!strstr(P, "n't") && !strstr(P, " not ")) counts[3] += push_gen(l, buf, 0, ntoxic);
      }
    }
    for (size_t f = 0; f < NELEM(tpl_hate_frame); f++) {
      snprintf(buf, sizeof buf, tpl_hate_frame[f], G);
      counts[0] += push_gen(l, buf, 1, ntoxic);
    }
    for (size_t p = 0; p < NELEM(tpl_neutral_pred); p++)
      for (int r = 0; r < 2; r++) {
        snprintf(buf, sizeof buf, PICK(tpl_hate_wrap), G, tpl_neutral_pred[p]);
        counts[1] += push_gen(l, buf, 0, ntoxic);
      }
    for (size_t f = 0; f < NELEM(tpl_neutral_frame); f++) {
      snprintf(buf, sizeof buf, tpl_neutral_frame[f], G);
      counts[1] += push_gen(l, buf, 0, ntoxic);
    }
    for (size_t f = 0; f < NELEM(tpl_counter_frame); f++) {
      snprintf(buf, sizeof buf, tpl_counter_frame[f], G);
      counts[2] += push_gen(l, buf, 0, ntoxic);
    }
  }
  for (size_t s = 0; s < NELEM(tpl_nonhuman); s++)
    for (size_t p = 0; p < NELEM(tpl_nonhuman_pred); p++) {
      snprintf(buf, sizeof buf, "%s %s.", tpl_nonhuman[s], tpl_nonhuman_pred[p]);
      counts[4] += push_gen(l, buf, 0, ntoxic);
    }
  for (int k = 0; k < 5; k++) added += counts[k];
  return added;
}

/* Implicit Hate Corpus stage 1 (post<TAB>class; implicit_hate and
 * explicit_hate are toxic, not_hate is not). Split by a hash of the text
 * with its own fixed salt: 70% train, 10% validation, 20% test (held out). */
static size_t load_implicit(exlist *l, const char *path)
{
  size_t len, added = 0;
  char *s = read_file(path, &len);
  size_t i = 0;
  int line = 0;
  while (i < len) {
    size_t a = i;
    while (i < len && s[i] != '\n') i++;
    size_t e = i;
    if (i < len) i++;
    line++;
    if (e > a && s[e - 1] == '\r') e--;
    if (line == 1) {
      if (strncmp(s + a, "post\tclass", 10) != 0) die("%s:1: expected the header post<TAB>class", path);
      continue;
    }
    if (e == a) continue;
    const char *tab = NULL;
    for (size_t k = e; k > a; k--)
      if (s[k - 1] == '\t') { tab = s + k - 1; break; }
    if (!tab) die("%s:%d: no tab", path, line);
    const char *cls = tab + 1;
    size_t cl = (size_t)(s + e - cls);
    int y;
    if (cl == 8 && !strncmp(cls, "not_hate", 8)) y = 0;
    else if ((cl == 13 && !strncmp(cls, "implicit_hate", 13)) ||
             (cl == 13 && !strncmp(cls, "explicit_hate", 13))) y = 1;
    else die("%s:%d: unknown class", path, line);
    size_t tl = (size_t)(tab - (s + a));
    char *t = xrealloc(NULL, tl + 1);
    memcpy(t, s + a, tl);
    t[tl] = 0;
    unsigned b = (unsigned)(hash_str(t, 0x1a9e5a17ULL) % 10);
    int split = b < 2 ? SPLIT_TEST : b == 2 ? SPLIT_VAL : SPLIT_TRAIN;
    ex_push(l, t, y, split, 3);
    added++;
  }
  free(s);
  return added;
}

/* ---- features ---- */

typedef struct {
  uint32_t *v;
  size_t n, cap;
} u32list;

static void feat_push(uint32_t b, void *ud)
{
  u32list *f = ud;
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 1 << 20;
    f->v = xrealloc(f->v, f->cap * sizeof *f->v);
  }
  f->v[f->n++] = b;
}

static void featurize(exlist *l, u32list *f, unsigned bits, unsigned flags)
{
  for (size_t i = 0; i < l->n; i++) {
    example *e = &l->v[i];
    e->f0 = f->n;
    size_t n = toxicity_features(e->text, strlen(e->text), bits, flags, feat_push, f);
    if (n == (size_t)-1) die("out of memory");
    e->nf = n;
  }
}

static double raw_logit(const float *w, float bias, const u32list *f, const example *e)
{
  double s = 0;
  for (size_t k = 0; k < e->nf; k++) s += w[f->v[e->f0 + k]];
  return bias + (e->nf ? s / sqrt((double)e->nf) : 0.0);
}

static double sigm(double z)
{
  if (z >= 0) return 1.0 / (1.0 + exp(-z));
  double e = exp(z);
  return e / (1.0 + e);
}

/* ---- metrics ---- */

typedef struct {
  double p;
  int y;
} scored;

static int cmp_scored(const void *a, const void *b)
{
  double x = ((const scored *)a)->p, y = ((const scored *)b)->p;
  return (x > y) - (x < y);
}

/* ROC-AUC with ties counted half (Mann-Whitney U). */
static double roc_auc(scored *s, size_t n)
{
  qsort(s, n, sizeof *s, cmp_scored);
  double npos = 0, nneg = 0, rank_sum = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j].p == s[i].p) j++;
    double avg = (double)(i + 1 + j) / 2.0;   /* ranks i+1..j */
    for (size_t k = i; k < j; k++)
      if (s[k].y) { rank_sum += avg; npos++; }
      else nneg++;
    i = j;
  }
  if (npos == 0 || nneg == 0) return NAN;
  return (rank_sum - npos * (npos + 1) / 2.0) / (npos * nneg);
}

typedef struct {
  size_t n, npos;
  double auc, f1, ece, acc, logloss, mean_pos, mean_neg;
} quality;

static quality measure(scored *s, size_t n)
{
  quality q = {0};
  q.n = n;
  double tp = 0, fp = 0, fn = 0, correct = 0, ll = 0, sp = 0, sn = 0;
  double bin_n[10] = {0}, bin_p[10] = {0}, bin_y[10] = {0};
  for (size_t i = 0; i < n; i++) {
    double p = s[i].p;
    int y = s[i].y, pred = p >= 0.5;
    q.npos += (size_t)y;
    if (pred && y) tp++;
    if (pred && !y) fp++;
    if (!pred && y) fn++;
    correct += pred == y;
    double pc = p < 1e-12 ? 1e-12 : p > 1 - 1e-12 ? 1 - 1e-12 : p;
    ll -= y ? log(pc) : log(1 - pc);
    if (y) sp += p;
    else sn += p;
    int b = (int)(p * 10);
    if (b > 9) b = 9;
    if (b < 0) b = 0;
    bin_n[b]++;
    bin_p[b] += p;
    bin_y[b] += y;
  }
  q.f1 = tp ? 2 * tp / (2 * tp + fp + fn) : 0;
  q.acc = n ? correct / (double)n : NAN;
  q.logloss = n ? ll / (double)n : NAN;
  q.mean_pos = q.npos ? sp / (double)q.npos : NAN;
  q.mean_neg = n > q.npos ? sn / (double)(n - q.npos) : NAN;
  for (int b = 0; b < 10; b++)
    if (bin_n[b] > 0) q.ece += fabs(bin_p[b] - bin_y[b]) / (double)n;
  q.auc = roc_auc(s, n);
  return q;
}

static void print_quality(FILE *out, const char *name, quality q)
{
  fprintf(out, "%s: n=%zu toxic=%zu roc_auc=%.4f f1@0.5=%.4f ece10=%.4f accuracy=%.4f "
               "logloss=%.4f mean_p_toxic=%.4f mean_p_clean=%.4f\n",
          name, q.n, q.npos, q.auc, q.f1, q.ece, q.acc, q.logloss, q.mean_pos, q.mean_neg);
}

/* Stormfront (Vicomtech/hate-speech-dataset as a CSV file_id,label,sampled_split,text):
 * hate = 1, noHate = 0, other labels skipped. */
static quality eval_stormfront(const char *path, const toxicity_model *m)
{
  csv c = {0};
  c.s = read_file(path, &c.n);
  c.line = 1;
  char *f[6];
  int nf = csv_record(&c, f, 6, path);
  if (nf < 4 || strcmp(f[1], "label") != 0 || strcmp(f[3], "text") != 0)
    die("%s:1: expected the header file_id,label,sampled_split,text", path);
  for (int k = 0; k < nf; k++) free(f[k]);
  scored *s = NULL;
  size_t n = 0;
  for (;;) {
    nf = csv_record(&c, f, 6, path);
    if (nf == 0) break;
    if (nf >= 4) {
      int y = strcmp(f[1], "hate") == 0 ? 1 : strcmp(f[1], "noHate") == 0 ? 0 : -1;
      if (y >= 0) {
        s = xrealloc(s, (n + 1) * sizeof *s);
        s[n].p = toxicity_prob(m, f[3], strlen(f[3]));
        s[n].y = y;
        n++;
      }
    }
    for (int k = 0; k < nf; k++) free(f[k]);
  }
  free((void *)c.s);
  quality q = measure(s, n);
  free(s);
  return q;
}

/* DynaHate (v0.2.3 CSV: acl.id,X1,text,label,...; hate = 1, nothate = 0).
 * For measuring only: never part of training. */
static void eval_dynahate(const char *path, const toxicity_model *m, scored **s, size_t *n)
{
  csv c = {0};
  c.s = read_file(path, &c.n);
  c.line = 1;
  char *f[16];
  int nf = csv_record(&c, f, 16, path);
  if (nf < 4 || strcmp(f[2], "text") != 0 || strcmp(f[3], "label") != 0)
    die("%s:1: expected the header acl.id,X1,text,label,...", path);
  for (int k = 0; k < nf; k++) free(f[k]);
  for (;;) {
    nf = csv_record(&c, f, 16, path);
    if (nf == 0) break;
    if (nf >= 4) {
      int y = strcmp(f[3], "hate") == 0 ? 1 : strcmp(f[3], "nothate") == 0 ? 0 : -1;
      if (y >= 0) {
        *s = xrealloc(*s, (*n + 1) * sizeof **s);
        (*s)[*n].p = toxicity_prob(m, f[2], strlen(f[2]));
        (*s)[*n].y = y;
        (*n)++;
      }
    }
    for (int k = 0; k < nf; k++) free(f[k]);
  }
  free((void *)c.s);
}

/* The functional suite (category<TAB>label<TAB>text, label toxic or clean,
 * '#' comments): accuracy at 0.5 per category and overall, and ROC-AUC. */
static quality eval_functional(const char *path, const toxicity_model *m, FILE *out)
{
  size_t len;
  char *s = read_file(path, &len);
  char cats[64][48];
  size_t cat_n[64] = {0}, cat_ok[64] = {0};
  int ncat = 0;
  scored *sc = NULL;
  size_t n = 0;
  char *save = NULL;
  for (char *ln = strtok_r(s, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
    if (ln[0] == '#' || !ln[0]) continue;
    char *t1 = strchr(ln, '\t');
    char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t2) die("%s: bad line \"%s\"", path, ln);
    *t1 = *t2 = 0;
    int y = !strcmp(t1 + 1, "toxic") ? 1 : !strcmp(t1 + 1, "clean") ? 0 : -1;
    if (y < 0) die("%s: bad label \"%s\"", path, t1 + 1);
    int c;
    for (c = 0; c < ncat; c++)
      if (!strcmp(cats[c], ln)) break;
    if (c == ncat) {
      if (ncat == 64 || strlen(ln) >= 48) die("%s: too many or too long categories", path);
      strcpy(cats[ncat++], ln);
    }
    double p = toxicity_prob(m, t2 + 1, strlen(t2 + 1));
    sc = xrealloc(sc, (n + 1) * sizeof *sc);
    sc[n].p = p;
    sc[n].y = y;
    n++;
    cat_n[c]++;
    cat_ok[c] += (p >= 0.5) == y;
  }
  size_t ok = 0;
  for (int c = 0; c < ncat; c++) {
    fprintf(out, "functional %-28s n=%zu accuracy=%.4f\n", cats[c], cat_n[c],
            (double)cat_ok[c] / (double)cat_n[c]);
    ok += cat_ok[c];
  }
  quality q = measure(sc, n);
  q.acc = n ? (double)ok / (double)n : NAN;
  free(sc);
  free(s);
  return q;
}

static quality eval_split(const exlist *l, int split, int source, const toxicity_model *m)
{
  scored *s = xrealloc(NULL, l->n * sizeof *s);
  size_t n = 0;
  for (size_t i = 0; i < l->n; i++) {
    const example *e = &l->v[i];
    if (e->split != split || (source >= 0 && e->source != source)) continue;
    s[n].p = toxicity_prob(m, e->text, strlen(e->text));
    s[n].y = e->label;
    n++;
  }
  quality q = measure(s, n);
  free(s);
  return q;
}

/* Platt scaling: fit a, b minimising the log loss of sigmoid(a z + b) with
 * Platt's smoothed targets, by Newton's method. */
static void platt_fit(const double *z, const int *y, size_t n, double *pa, double *pb)
{
  double np = 0, nn = 0;
  for (size_t i = 0; i < n; i++) y[i] ? np++ : nn++;
  double tp = (np + 1) / (np + 2), tn = 1 / (nn + 2);
  double a = 1, b = 0;
  for (int it = 0; it < 100; it++) {
    double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (size_t i = 0; i < n; i++) {
      double p = sigm(a * z[i] + b), t = y[i] ? tp : tn, d = p - t, w = p * (1 - p);
      ga += d * z[i];
      gb += d;
      haa += w * z[i] * z[i];
      hab += w * z[i];
      hbb += w;
    }
    double det = haa * hbb - hab * hab;
    if (fabs(det) < 1e-18) break;
    double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (fabs(da) + fabs(db) < 1e-10) break;
  }
  *pa = a;
  *pb = b;
}

/* ---- main ---- */

typedef struct {
  const char *mode, *davidson, *stormfront, *out, *model, *implicit, *functional;
  const char *dynahate[4];
  int ndynahate;
  const char *neutral[128];
  int nneutral;
  unsigned seed, epochs, bits, flags;
  double lr, l2, hate_weight, implicit_weight, template_weight;
  size_t generated;
  int templates;
} opts;

static void usage(void)
{
  fputs("usage: evalua-train-toxicity train --davidson labeled_data.csv [--neutral PATH]...\n"
        "         [--implicit-hate implicit_hate_v1_stg1_posts.tsv] [--implicit-weight W]\n"
        "         [--stormfront stormfront.csv] [--dynahate dev.csv]... [--functional suite.tsv]\n"
        "         [--seed N] [--epochs N] [--bits N] [--features FLAGS] [--hate-weight W]\n"
        "         [--lr R] [--l2 R] [--generated N] [--identity-templates 0|1]\n"
        "         [--template-weight W] --out FILE\n"
        "       evalua-train-toxicity eval --model FILE --davidson labeled_data.csv\n"
        "         [--implicit-hate FILE] [--stormfront FILE] [--dynahate FILE]...\n"
        "         [--functional FILE]\n"
        "  (--dynahate files are measured, never trained on)\n",
        stderr);
  exit(2);
}

static void write_model(const char *path, unsigned bits, unsigned flags, float bias, float a,
                        float b, const char *meta, const float *w)
{
  FILE *f = fopen(path, "wb");
  if (!f) die("%s: %s", path, strerror(errno));
  uint32_t u = bits, fl = flags;
  float h[3] = {bias, a, b};
  uint32_t ml = (uint32_t)strlen(meta);
  static const char zero[4] = {0};
  fwrite(TOXICITY_MAGIC, 1, 8, f);
  fwrite(&u, 4, 1, f);
  fwrite(h, 4, 3, f);
  fwrite(&fl, 4, 1, f);
  fwrite(&ml, 4, 1, f);
  fwrite(meta, 1, ml, f);
  size_t off = 32 + ml;
  fwrite(zero, 1, ((off + 3) & ~(size_t)3) - off, f);
  fwrite(w, 4, (size_t)1 << bits, f);
  if (fclose(f) != 0) die("%s: write failed", path);
}

typedef struct {
  quality dav, neu, ih, sf, dh, fn;
  int has_ih, has_sf, has_dh, has_fn;
} report;

static report evaluate(const exlist *L, const opts *o, const toxicity_model *m, FILE *out)
{
  report r = {0};
  r.dav = eval_split(L, SPLIT_TEST, 0, m);
  print_quality(out, "davidson_test", r.dav);
  r.neu = eval_split(L, SPLIT_TEST, 1, m);
  if (r.neu.n) fprintf(out, "neutral_test: n=%zu mean_p=%.4f\n", r.neu.n, r.neu.mean_neg);
  if (o->implicit) {
    r.has_ih = 1;
    r.ih = eval_split(L, SPLIT_TEST, 3, m);
    print_quality(out, "implicit_hate_test", r.ih);
  }
  if (o->stormfront) {
    r.has_sf = 1;
    r.sf = eval_stormfront(o->stormfront, m);
    print_quality(out, "stormfront", r.sf);
  }
  if (o->ndynahate) {
    scored *s = NULL;
    size_t n = 0;
    for (int k = 0; k < o->ndynahate; k++) eval_dynahate(o->dynahate[k], m, &s, &n);
    r.has_dh = 1;
    r.dh = measure(s, n);
    free(s);
    print_quality(out, "dynahate", r.dh);
  }
  if (o->functional) {
    r.has_fn = 1;
    r.fn = eval_functional(o->functional, m, out);
    print_quality(out, "functional", r.fn);
  }
  return r;
}

int main(int argc, char **argv)
{
  opts o = {0};
  o.seed = 20240601;
  o.epochs = 8;
  o.bits = 20;
  o.flags = TOXICITY_F_ALL;
  o.lr = 0.15;
  o.l2 = 2e-6;
  o.generated = 6000;
  o.hate_weight = 3;
  o.implicit_weight = 1;
  o.template_weight = 1;
  o.templates = 1;
  if (argc < 2) usage();
  o.mode = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--davidson")) o.davidson = v;
    else if (!strcmp(a, "--stormfront")) o.stormfront = v;
    else if (!strcmp(a, "--implicit-hate")) o.implicit = v;
    else if (!strcmp(a, "--functional")) o.functional = v;
    else if (!strcmp(a, "--dynahate") && o.ndynahate < 4) o.dynahate[o.ndynahate++] = v;
    else if (!strcmp(a, "--out")) o.out = v;
    else if (!strcmp(a, "--model")) o.model = v;
    else if (!strcmp(a, "--neutral") && o.nneutral < 128) o.neutral[o.nneutral++] = v;
    else if (!strcmp(a, "--seed")) o.seed = (unsigned)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--epochs")) o.epochs = (unsigned)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--bits")) o.bits = (unsigned)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--features")) o.flags = (unsigned)strtoul(v, NULL, 0);
    else if (!strcmp(a, "--lr")) o.lr = strtod(v, NULL);
    else if (!strcmp(a, "--l2")) o.l2 = strtod(v, NULL);
    else if (!strcmp(a, "--identity-templates")) o.templates = atoi(v);
    else if (!strcmp(a, "--hate-weight")) o.hate_weight = strtod(v, NULL);
    else if (!strcmp(a, "--implicit-weight")) o.implicit_weight = strtod(v, NULL);
    else if (!strcmp(a, "--template-weight")) o.template_weight = strtod(v, NULL);
    else if (!strcmp(a, "--generated")) o.generated = strtoul(v, NULL, 10);
    else usage();
  }
  if (!o.davidson) usage();
  if (o.bits < TOXICITY_MIN_BITS || o.bits > TOXICITY_MAX_BITS) die("--bits out of range");
  if (o.flags == 0 || (o.flags & ~(unsigned)TOXICITY_F_ALL)) die("--features out of range");
  rng_state = 0x853c49e6748fea9bULL ^ ((uint64_t)o.seed * 0x9e3779b97f4a7c15ULL);
  if (!rng_state) rng_state = 1;

  exlist L = {0};
  load_davidson(&L, o.davidson);
  size_t ndav = L.n, nih = 0;
  if (o.implicit) nih = load_implicit(&L, o.implicit);
  char err[256];

  if (!strcmp(o.mode, "eval")) {
    if (!o.model) usage();
    size_t len;
    char *buf = read_file(o.model, &len);
    toxicity_model m;
    if (toxicity_model_parse(&m, (unsigned char *)buf, len, err, sizeof err) != 0) die("%s", err);
    printf("model %s sha256 %s\n", o.model, m.sha256);
    evaluate(&L, &o, &m, stdout);
    print_quality(stdout, "davidson_val", eval_split(&L, SPLIT_VAL, 0, &m));
    toxicity_model_free(&m);
    free(buf);
    for (size_t i = 0; i < L.n; i++) free(L.v[i].text);
    free(L.v);
    return 0;
  }
  if (strcmp(o.mode, "train") != 0 || !o.out) usage();

  size_t nfile = 0;
  for (int k = 0; k < o.nneutral; k++) nfile += load_neutral(&L, o.neutral[k]);
  size_t ngen = gen_neutral(&L, o.generated);
  size_t nid = 0, nid_toxic = 0, tcounts[5] = {0};
  if (o.templates) nid = gen_identity(&L, &nid_toxic, tcounts);
  fprintf(stderr, "davidson rows %zu, implicit hate rows %zu, neutral sentences from files %zu, "
          "generated %zu, identity templates %zu (%zu toxic; hateful %zu, neutral %zu, "
          "counter-speech %zu, negated %zu, non-human %zu)\n", ndav, nih, nfile, ngen, nid,
          nid_toxic, tcounts[0], tcounts[1], tcounts[2], tcounts[3], tcounts[4]);

  u32list F = {0};
  featurize(&L, &F, o.bits, o.flags);

  /* class weights: toxic and non-toxic training examples weigh the same in total */
  double npos = 0, nneg = 0;
  size_t *order = xrealloc(NULL, L.n * sizeof *order);
  size_t ntrain = 0;
  for (size_t i = 0; i < L.n; i++)
    if (L.v[i].split == SPLIT_TRAIN) {
      order[ntrain++] = i;
      L.v[i].label ? npos++ : nneg++;
    }
  double wpos = (npos + nneg) / (2 * npos), wneg = (npos + nneg) / (2 * nneg);
  fprintf(stderr, "train %zu (toxic %.0f, clean %.0f), weights %.3f / %.3f\n", ntrain, npos,
          nneg, wpos, wneg);

  size_t nw = (size_t)1 << o.bits;
  float *w = calloc(nw, sizeof *w);
  float *G = calloc(nw, sizeof *G);
  if (!w || !G) die("out of memory");
  double bias = 0, Gb = 0;
  for (unsigned ep = 0; ep < o.epochs; ep++) {
    for (size_t i = ntrain; i > 1; i--) {   /* Fisher-Yates with the seeded generator */
      size_t j = (size_t)(rng() % i);
      size_t t = order[i - 1];
      order[i - 1] = order[j];
      order[j] = t;
    }
    double loss = 0;
    for (size_t r = 0; r < ntrain; r++) {
      const example *e = &L.v[order[r]];
      double z = raw_logit(w, (float)bias, &F, e);
      double p = sigm(z);
      double cw = (e->label ? wpos : wneg) * (e->hate ? o.hate_weight : 1.0);
      if (e->source == 3) cw *= o.implicit_weight;
      if (e->source == 2) cw *= o.template_weight;
      loss -= cw * (e->label ? log(p + 1e-12) : log(1 - p + 1e-12));
      double g = cw * (p - e->label);
      double sc = e->nf ? 1.0 / sqrt((double)e->nf) : 0;
      for (size_t k = 0; k < e->nf; k++) {
        uint32_t b = F.v[e->f0 + k];
        double gi = g * sc + o.l2 * w[b];
        G[b] += (float)(gi * gi);
        w[b] -= (float)(o.lr * gi / sqrt(G[b] + 1e-8));
      }
      Gb += g * g;
      bias -= o.lr * g / sqrt(Gb + 1e-8);
    }
    /* validation AUC of the raw logits, for the log only */
    scored *s = xrealloc(NULL, L.n * sizeof *s);
    size_t n = 0, n3 = 0;
    for (size_t i = 0; i < L.n; i++)
      if (L.v[i].split == SPLIT_VAL && L.v[i].source == 0) {
        s[n].p = raw_logit(w, (float)bias, &F, &L.v[i]);
        s[n].y = L.v[i].label;
        n++;
      }
    double auc0 = roc_auc(s, n);
    for (size_t i = 0; i < L.n; i++)
      if (L.v[i].split == SPLIT_VAL && L.v[i].source == 3) {
        s[n3].p = raw_logit(w, (float)bias, &F, &L.v[i]);
        s[n3].y = L.v[i].label;
        n3++;
      }
    fprintf(stderr, "epoch %u: train loss %.4f, davidson val auc %.4f, implicit hate val auc %.4f\n",
            ep + 1, loss / (double)ntrain, auc0, n3 ? roc_auc(s, n3) : NAN);
    free(s);
  }

  /* Platt scaling on the Davidson validation split */
  double *z = xrealloc(NULL, L.n * sizeof *z);
  int *y = xrealloc(NULL, L.n * sizeof *y);
  size_t nv = 0;
  for (size_t i = 0; i < L.n; i++)
    if (L.v[i].split == SPLIT_VAL && L.v[i].source == 0) {
      z[nv] = raw_logit(w, (float)bias, &F, &L.v[i]);
      y[nv] = L.v[i].label;
      nv++;
    }
  double pa, pb;
  platt_fit(z, y, nv, &pa, &pb);
  fprintf(stderr, "platt a=%.5f b=%.5f on %zu validation rows\n", pa, pb, nv);

  /* measure with the exact scoring code of the engine */
  write_model(o.out, o.bits, o.flags, (float)bias, (float)pa, (float)pb, "", w);
  size_t len;
  char *buf = read_file(o.out, &len);
  toxicity_model m;
  if (toxicity_model_parse(&m, (unsigned char *)buf, len, err, sizeof err) != 0) die("%s", err);
  report r = evaluate(&L, &o, &m, stderr);
  toxicity_model_free(&m);
  free(buf);

  char meta[8192];
  size_t ml = 0;
#define META(...) ml += (size_t)snprintf(meta + ml, sizeof meta - ml, __VA_ARGS__)
  META("model=logistic regression over hashed features (flags 0x%x: word 1-3-grams, char "
       "3-5-grams, negation scope, quotation, identity x word, identity-class 2-3-grams), "
       "2^%u buckets, Platt-calibrated\n", o.flags, o.bits);
  META("training_data=Davidson et al. 2017 hate-speech-and-offensive-language labeled_data.csv "
       "(MIT), %zu rows, toxic = class 0 or 1; Implicit Hate Corpus stage 1 (ElSherief et al. "
       "2021, CC BY 4.0), %zu posts, 70%% used for training; plus %zu neutral sentences (%zu "
       "from files, %zu generated); plus %zu identity template sentences (%zu toxic)\n", ndav,
       nih, nfile + ngen, nfile, ngen, nid, nid_toxic);
  META("split=hash of row id: Davidson 80%% train, 10%% validation (calibration), 10%% test; "
       "Implicit Hate 70%% train, 10%% validation, 20%% test\n");
  META("not_trained_on=DynaHate (measured only), Stormfront (measured only)\n");
  META("seed=%u\nepochs=%u\nlr=%g\nl2=%g\nhate_weight=%g\nimplicit_weight=%g\n"
       "template_weight=%g\n", o.seed, o.epochs, o.lr, o.l2, o.hate_weight, o.implicit_weight,
       o.template_weight);
  META("davidson_test_n=%zu\ndavidson_test_roc_auc=%.4f\ndavidson_test_f1=%.4f\n"
       "davidson_test_ece=%.4f\ndavidson_test_accuracy=%.4f\n", r.dav.n, r.dav.auc, r.dav.f1,
       r.dav.ece, r.dav.acc);
  META("neutral_test_n=%zu\nneutral_test_mean_p=%.4f\n", r.neu.n, r.neu.mean_neg);
  if (r.has_ih)
    META("implicit_hate_test_n=%zu\nimplicit_hate_test_roc_auc=%.4f\n", r.ih.n, r.ih.auc);
  if (r.has_sf)
    META("stormfront_n=%zu\nstormfront_hate=%zu\nstormfront_roc_auc=%.4f\n", r.sf.n, r.sf.npos,
         r.sf.auc);
  if (r.has_dh) META("dynahate_n=%zu\ndynahate_roc_auc=%.4f\n", r.dh.n, r.dh.auc);
  if (r.has_fn)
    META("functional_n=%zu\nfunctional_accuracy=%.4f\nfunctional_roc_auc=%.4f\n", r.fn.n,
         r.fn.acc, r.fn.auc);
  if (ml >= sizeof meta) die("metadata too long");
  write_model(o.out, o.bits, o.flags, (float)bias, (float)pa, (float)pb, meta, w);

  buf = read_file(o.out, &len);
  char hex[65];
  sha256_hex(buf, len, hex);
  printf("wrote %s (%zu bytes) sha256 %s\n", o.out, len, hex);
  free(buf);

  free(z);
  free(y);
  free(w);
  free(G);
  free(order);
  free(F.v);
  for (size_t i = 0; i < L.n; i++) free(L.v[i].text);
  free(L.v);
  free(seen_tab);
  return 0;
}
