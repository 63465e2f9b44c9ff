/* text.c: textstat-exact readability (textstat 0.7.3 / 0.7.4) and a
 * pyphen-exact hyphenator over the embedded hyph_en_US.dic.
 *
 * textstat runs on Python str, so everything here works on code points with
 * Python's character classes (text_unicode.c): \w for punctuation removal
 * and \b, str.isspace() for split(), str.lower() before hyphenation. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "text.h"
#include "text_unicode.h"

#define HYPH_DIC "engine/data/hyph_en_US.dic"

/* ---- UTF-8 ---- */

/* Decodes one code point at s[*i] (i < n) and advances *i. A byte that does
 * not start a well-formed sequence (RFC 3629: no overlongs, no surrogates,
 * <= U+10FFFF) reads as U+FFFD and advances by one byte. */
static unsigned utf8_next(const unsigned char *s, size_t n, size_t *i)
{
  size_t p = *i;
  unsigned c = s[p];
  if (c < 0x80) { *i = p + 1; return c; }
  unsigned need, cp, min;
  if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; min = 0x10000; }
  else { *i = p + 1; return 0xFFFD; }
  if (p + need >= n) { *i = p + 1; return 0xFFFD; }
  for (unsigned k = 1; k <= need; k++) {
    unsigned b = s[p + k];
    if ((b & 0xC0) != 0x80) { *i = p + 1; return 0xFFFD; }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { *i = p + 1; return 0xFFFD; }
  *i = p + need + 1;
  return cp;
}

/* ---- scratch buffers ---- */

struct text_work {
  unsigned *cp;   /* decoded text */
  size_t cpcap;
  unsigned *lo;   /* lower-cased text */
  size_t locap;
  unsigned *word; /* one word, with the two dots pyphen adds */
  size_t wordcap;
  unsigned char *refs;
  size_t refscap;
  /* syllable cache: lower-cased word -> pyphen point count. Natural text
   * repeats its words, so most words are looked up, not hyphenated. */
  uint32_t *slot;    /* entry + 1, 0 = empty; SYL_SLOTS of them */
  uint32_t *koff, *klen;
  int32_t *kval;
  unsigned *arena;   /* the words' code points */
  uint32_t nent, used;
};

#define SYL_SLOTS (1u << 15)
#define SYL_MAXENT (1u << 14)
#define SYL_ARENA (1u << 18)

struct text_work *text_work_new(void)
{
  return calloc(1, sizeof(struct text_work));
}

void text_work_free(struct text_work *w)
{
  if (!w) return;
  free(w->cp);
  free(w->lo);
  free(w->word);
  free(w->refs);
  free(w->slot);
  free(w->koff);
  free(w->klen);
  free(w->kval);
  free(w->arena);
  free(w);
}

/* Grows *buf to hold at least need elements of size sz; 0 or -1 (no memory). */
static int grow(void **buf, size_t *cap, size_t need, size_t sz)
{
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap : 64;
  while (nc < need) {
    if (nc > SIZE_MAX / 2 / sz) return -1;
    nc *= 2;
  }
  void *p = realloc(*buf, nc * sz);
  if (!p) return -1;
  *buf = p;
  *cap = nc;
  return 0;
}

/* Decodes s into w->cp; returns the number of code points or -1. */
static long decode(struct text_work *w, const char *s, size_t n)
{
  if (grow((void **)&w->cp, &w->cpcap, n + 1, sizeof(unsigned))) return -1;
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, k = 0;
  while (i < n) w->cp[k++] = u[i] < 0x80 ? u[i++] : utf8_next(u, n, &i);
  return (long)k;
}

/* Python str.lower() of cp[0..n) into w->lo (U+0130 becomes two code
 * points; the final-sigma rule is not applied: no pattern holds Greek). */
static long lower_into(struct text_work *w, const unsigned *cp, size_t n)
{
  if (grow((void **)&w->lo, &w->locap, 2 * n + 1, sizeof(unsigned))) return -1;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (cp[i] == 0x130) {
      w->lo[k++] = 0x69;
      w->lo[k++] = 0x307;
    } else {
      w->lo[k++] = text_ulower1(cp[i]);
    }
  }
  return (long)k;
}

/* ---- the pattern trie ---- */

/* Trie nodes are numbered from 1 (the root); edges live in one open-address
 * hash keyed by (parent, code point). A node holds at most one pattern. */
struct hyph_node {
  uint32_t vals;   /* offset of the values in hyph.pool */
  uint8_t off;     /* start offset of the values (leading zeros chopped) */
  uint8_t nvals;   /* 0: no pattern ends here */
};

static struct {
  struct hyph_node *nodes;
  uint32_t nnodes, nodecap;
  uint64_t *ekey;  /* (parent << 21 | cp) + 1, 0 = empty */
  uint32_t *echild;
  uint32_t emask;
  uint8_t *pool;
  uint32_t npool, poolcap;
  int ok;
  char err[160];
} hyph;

static pthread_once_t hyph_once = PTHREAD_ONCE_INIT;

static uint64_t edge_hash(uint64_t k)
{
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return k;
}

static uint32_t edge_get(uint32_t parent, unsigned cp)
{
  uint64_t key = (((uint64_t)parent << 21) | cp) + 1;
  for (uint64_t h = edge_hash(key) & hyph.emask;; h = (h + 1) & hyph.emask) {
    if (hyph.ekey[h] == key) return hyph.echild[h];
    if (hyph.ekey[h] == 0) return 0;
  }
}

static int edge_grow(void)
{
  uint32_t ncap = (hyph.emask + 1) * 2;
  uint64_t *nk = calloc(ncap, sizeof *nk);
  uint32_t *nc = calloc(ncap, sizeof *nc);
  if (!nk || !nc) { free(nk); free(nc); return -1; }
  for (uint32_t i = 0; i <= hyph.emask; i++) {
    if (!hyph.ekey[i]) continue;
    uint64_t h = edge_hash(hyph.ekey[i]) & (ncap - 1);
    while (nk[h]) h = (h + 1) & (ncap - 1);
    nk[h] = hyph.ekey[i];
    nc[h] = hyph.echild[i];
  }
  free(hyph.ekey);
  free(hyph.echild);
  hyph.ekey = nk;
  hyph.echild = nc;
  hyph.emask = ncap - 1;
  return 0;
}

/* Returns the child of parent for cp, creating it; 0 when out of memory. */
static uint32_t edge_add(uint32_t parent, unsigned cp)
{
  uint32_t c = edge_get(parent, cp);
  if (c) return c;
  if ((hyph.nnodes + 1) * 2 > hyph.emask && edge_grow()) return 0;
  if (hyph.nnodes + 1 >= hyph.nodecap) {
    uint32_t ncap = hyph.nodecap * 2;
    struct hyph_node *p = realloc(hyph.nodes, ncap * sizeof *p);
    if (!p) return 0;
    hyph.nodes = p;
    hyph.nodecap = ncap;
  }
  c = ++hyph.nnodes;
  memset(&hyph.nodes[c], 0, sizeof hyph.nodes[c]);
  uint64_t key = (((uint64_t)parent << 21) | cp) + 1;
  uint64_t h = edge_hash(key) & hyph.emask;
  while (hyph.ekey[h]) h = (h + 1) & hyph.emask;
  hyph.ekey[h] = key;
  hyph.echild[h] = c;
  return c;
}

static int is_pyspace(unsigned c)
{
  return (text_uflags_fast(c) & TEXT_U_SPACE) != 0;
}

static int hex_val(unsigned c)
{
  if (c >= '0' && c <= '9') return (int)(c - '0');
  if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
  return -1;
}

/* Adds one stripped pattern line (code points p[0..n)) as pyphen does:
 * ^^hh escapes, the part before '/' of a nonstandard pattern, then
 * re.findall(r'(\d?)(\D?)') into letters and values. */
static int add_pattern(unsigned *p, size_t n)
{
  /* ^^hh -> the character (in place: the result is never longer) */
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (i + 3 < n && p[i] == '^' && p[i + 1] == '^' && hex_val(p[i + 2]) >= 0 &&
        hex_val(p[i + 3]) >= 0) {
      p[m++] = (unsigned)(hex_val(p[i + 2]) * 16 + hex_val(p[i + 3]));
      i += 3;
    } else {
      p[m++] = p[i];
    }
  }
  n = m;
  int slash = -1, eq = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '/' && slash < 0) slash = (int)i;
    if (p[i] == '=') eq = 1;
  }
  if (slash >= 0 && eq) n = (size_t)slash;
  /* findall: each match is an optional digit then an optional non-digit;
   * a final empty match at the end adds a value 0 */
  uint8_t vals[256];
  unsigned keys[256];
  size_t nv = 0, nk = 0, i = 0;
  for (;;) {
    if (nv >= 255) return 0; /* absurd line: ignored */
    int d = 0, any = 0;
    if (i < n && p[i] >= '0' && p[i] <= '9') { d = (int)(p[i] - '0'); i++; any = 1; }
    if (i < n && !(p[i] >= '0' && p[i] <= '9')) { keys[nk++] = p[i]; i++; any = 1; }
    vals[nv++] = (uint8_t)d;
    if (!any) break; /* the empty match at the end */
  }
  int maxv = 0;
  for (size_t k = 0; k < nv; k++) if (vals[k] > maxv) maxv = vals[k];
  if (maxv == 0 || nk == 0) return 0;
  size_t start = 0, end = nv;
  while (!vals[start]) start++;
  while (!vals[end - 1]) end--;
  uint32_t node = 1;
  for (size_t k = 0; k < nk; k++) {
    node = edge_add(node, keys[k]);
    if (!node) return -1;
  }
  if (hyph.npool + (end - start) > hyph.poolcap) {
    uint32_t ncap = hyph.poolcap * 2 + (uint32_t)(end - start);
    uint8_t *np = realloc(hyph.pool, ncap);
    if (!np) return -1;
    hyph.pool = np;
    hyph.poolcap = ncap;
  }
  /* a later duplicate key replaces the earlier one, as a dict does */
  hyph.nodes[node].vals = hyph.npool;
  hyph.nodes[node].off = (uint8_t)start;
  hyph.nodes[node].nvals = (uint8_t)(end - start);
  memcpy(hyph.pool + hyph.npool, vals + start, end - start);
  hyph.npool += (uint32_t)(end - start);
  return 0;
}

static int starts_with(const unsigned *p, size_t n, const char *lit)
{
  size_t k = 0;
  for (; lit[k]; k++)
    if (k >= n || p[k] != (unsigned char)lit[k]) return 0;
  return 1;
}

static void hyph_load(void)
{
  size_t len;
  const unsigned char *dic = embed_find(HYPH_DIC, &len);
  if (!dic) {
    snprintf(hyph.err, sizeof hyph.err, "hyphenation: %s is not embedded", HYPH_DIC);
    return;
  }
  hyph.nodecap = 1 << 16;
  hyph.nodes = malloc(hyph.nodecap * sizeof *hyph.nodes);
  hyph.emask = (1 << 17) - 1;
  hyph.ekey = calloc(hyph.emask + 1, sizeof *hyph.ekey);
  hyph.echild = calloc(hyph.emask + 1, sizeof *hyph.echild);
  hyph.poolcap = 1 << 15;
  hyph.pool = malloc(hyph.poolcap);
  unsigned *line = malloc((len + 1) * sizeof *line);
  if (!hyph.nodes || !hyph.ekey || !hyph.echild || !hyph.pool || !line) goto oom;
  hyph.nnodes = 1; /* the root */
  memset(&hyph.nodes[1], 0, sizeof hyph.nodes[1]);
  size_t i = 0;
  int first = 1;
  while (i < len) {
    size_t n = 0;
    while (i < len && dic[i] != '\n') line[n++] = utf8_next(dic, len, &i);
    if (i < len) i++; /* the newline */
    if (first) { first = 0; continue; } /* the encoding line */
    size_t a = 0, b = n;
    while (a < b && is_pyspace(line[a])) a++;
    while (b > a && is_pyspace(line[b - 1])) b--;
    if (a == b) continue;
    unsigned *p = line + a;
    size_t m = b - a;
    if (p[0] == '%' || p[0] == '#' || starts_with(p, m, "LEFTHYPHENMIN") ||
        starts_with(p, m, "RIGHTHYPHENMIN") || starts_with(p, m, "COMPOUNDLEFTHYPHENMIN") ||
        starts_with(p, m, "COMPOUNDRIGHTHYPHENMIN"))
      continue;
    if (add_pattern(p, m)) goto oom;
  }
  free(line);
  hyph.ok = 1;
  return;
oom:
  free(line);
  snprintf(hyph.err, sizeof hyph.err, "hyphenation: out of memory loading %s", HYPH_DIC);
}

int hyph_init(char *err, size_t cap)
{
  pthread_once(&hyph_once, hyph_load);
  if (hyph.ok) return 0;
  if (err && cap) snprintf(err, cap, "%s", hyph.err);
  return -1;
}

/* pyphen HyphDict.positions + Pyphen.positions on an already lower-cased
 * word lw[0..n); origlen is len(word) of the caller's word (the right limit
 * uses it). Stores up to cap kept points in out; returns the count or -1. */
static long positions(struct text_work *w, const unsigned *lw, size_t n, size_t origlen,
                      int *out, int cap)
{
  size_t L = n + 2;
  if (grow((void **)&w->word, &w->wordcap, L, sizeof(unsigned))) return -1;
  if (grow((void **)&w->refs, &w->refscap, L + 1, 1)) return -1;
  unsigned *s = w->word;
  unsigned char *refs = w->refs;
  s[0] = '.';
  memcpy(s + 1, lw, n * sizeof *lw);
  s[L - 1] = '.';
  memset(refs, 0, L + 1);
  for (size_t i = 0; i + 1 < L; i++) {
    uint32_t node = 1;
    for (size_t j = i; j < L; j++) {
      node = edge_get(node, s[j]);
      if (!node) break;
      const struct hyph_node *hn = &hyph.nodes[node];
      if (!hn->nvals) continue;
      const uint8_t *v = hyph.pool + hn->vals;
      size_t base = i + hn->off;
      for (size_t t = 0; t < hn->nvals && base + t <= L; t++)
        if (v[t] > refs[base + t]) refs[base + t] = v[t];
    }
  }
  long count = 0;
  long right = (long)origlen - 2;
  for (size_t k = 1; k <= L; k++) {
    if (!(refs[k] & 1)) continue;
    long pos = (long)k - 1;
    if (pos < 2 || pos > right) continue;
    if (out && count < cap) out[count] = (int)pos;
    count++;
  }
  return count;
}

static uint32_t word_hash(const unsigned *cp, size_t n)
{
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ cp[i]) * 16777619u;
  return h ^ (h >> 15);
}

/* The number of kept pyphen points of the lower-cased word lw[0..n), through
 * the cache; -1 when out of memory. */
static long cached_points(struct text_work *w, const unsigned *lw, size_t n)
{
  if (!w->slot) {
    w->slot = calloc(SYL_SLOTS, sizeof *w->slot);
    w->koff = malloc(SYL_MAXENT * sizeof *w->koff);
    w->klen = malloc(SYL_MAXENT * sizeof *w->klen);
    w->kval = malloc(SYL_MAXENT * sizeof *w->kval);
    w->arena = malloc(SYL_ARENA * sizeof *w->arena);
    if (!w->slot || !w->koff || !w->klen || !w->kval || !w->arena) return -1;
  }
  if (n > 64) return positions(w, lw, n, n, NULL, 0); /* rare: not worth a slot */
  uint32_t h = word_hash(lw, n) & (SYL_SLOTS - 1);
  for (; w->slot[h]; h = (h + 1) & (SYL_SLOTS - 1)) {
    uint32_t e = w->slot[h] - 1;
    if (w->klen[e] == n && memcmp(w->arena + w->koff[e], lw, n * sizeof *lw) == 0)
      return w->kval[e];
  }
  long pts = positions(w, lw, n, n, NULL, 0);
  if (pts < 0) return -1;
  if (w->nent == SYL_MAXENT || w->used + n > SYL_ARENA) { /* full: start over */
    memset(w->slot, 0, SYL_SLOTS * sizeof *w->slot);
    w->nent = w->used = 0;
    h = word_hash(lw, n) & (SYL_SLOTS - 1);
  }
  uint32_t e = w->nent++;
  w->koff[e] = w->used;
  w->klen[e] = (uint32_t)n;
  w->kval[e] = (int32_t)pts;
  memcpy(w->arena + w->used, lw, n * sizeof *lw);
  w->used += (uint32_t)n;
  w->slot[h] = e + 1;
  return pts;
}

int hyph_positions(struct text_work *w, const char *word, size_t n, int *pos, int cap)
{
  if (hyph_init(NULL, 0)) return -1;
  long ncp = decode(w, word, n);
  if (ncp < 0) return -1;
  long nlo = lower_into(w, w->cp, (size_t)ncp);
  if (nlo < 0) return -1;
  return (int)positions(w, w->lo, (size_t)nlo, (size_t)ncp, pos, cap);
}

/* ---- textstat ---- */

static int is_word(unsigned c)
{
  return (text_uflags_fast(c) & TEXT_U_WORD) != 0;
}

/* lexicon_count of cp[a..b): words of re.sub(r"[^\w\s]", "", t).split();
 * stops counting at limit (a caller that only asks "<= 2?" passes 3). */
static long lexicon(const unsigned *cp, size_t a, size_t b, long limit)
{
  long words = 0;
  int in = 0;
  for (size_t i = a; i < b; i++) {
    unsigned f = text_uflags_fast(cp[i]);
    if (f & TEXT_U_SPACE) {
      in = 0;
    } else if (f & TEXT_U_WORD) {
      if (!in && ++words >= limit) return words;
      in = 1;
    }
  }
  return words;
}

static int is_term(unsigned c)
{
  return c == '.' || c == '!' || c == '?';
}

/* sentence_count: re.findall(r'\b[^.!?]+[.!?]*', text) minus the matches
 * with at most two words, at least 1. A match starts at a \b (Unicode \w
 * changes) whose character is not a terminator; greedy, so it runs to the
 * end of the following terminator run. */
static long sentences(const unsigned *cp, size_t n)
{
  long found = 0, ignored = 0;
  size_t p = 0;
  while (p < n) {
    int before = p > 0 && is_word(cp[p - 1]);
    if (before != is_word(cp[p]) && !is_term(cp[p])) {
      size_t q = p;
      while (q < n && !is_term(cp[q])) q++;
      while (q < n && is_term(cp[q])) q++;
      found++;
      if (lexicon(cp, p, q, 3) <= 2) ignored++;
      p = q;
    } else {
      p++;
    }
  }
  return found - ignored > 1 ? found - ignored : 1;
}

int text_counts(struct text_work *w, const char *s, size_t n, struct text_counts *c)
{
  return text_counts_ex(w, s, n, c, 1);
}

int text_counts_ex(struct text_work *w, const char *s, size_t n, struct text_counts *c,
                   int syllables)
{
  if (hyph_init(NULL, 0)) return -1;
  long ncp = decode(w, s, n);
  if (ncp < 0) return -1;
  const unsigned *cp = w->cp;
  long chars = 0;
  for (long i = 0; i < ncp; i++)
    if (!is_pyspace(cp[i])) chars++;
  c->chars = chars;
  c->words = lexicon(cp, 0, (size_t)ncp, LONG_MAX);
  c->sentences = sentences(cp, (size_t)ncp);
  c->syllables = -1;
  if (!syllables) return 0;
  /* syllable_count: lower(), remove punctuation, split, pyphen per word */
  long nlo = lower_into(w, cp, (size_t)ncp);
  if (nlo < 0) return -1;
  unsigned *lo = w->lo;
  long syl = 0;
  size_t i = 0;
  while (i < (size_t)nlo) {
    /* gather one word in place: word characters up to the next space */
    size_t k = i, len = 0;
    while (k < (size_t)nlo && !is_pyspace(lo[k])) {
      if (is_word(lo[k])) lo[i + len++] = lo[k];
      k++;
    }
    if (len) {
      long pts = cached_points(w, lo + i, len);
      if (pts < 0) return -1;
      syl += pts + 1;
    }
    i = k + 1;
  }
  c->syllables = syl;
  return 0;
}

double text_legacy_round(double x, int points)
{
  double p = 1.0;
  for (int i = 0; i < points; i++) p *= 10.0;
  return floor(x * p + copysign(0.5, x)) / p;
}

static double maybe_round(double x, int points, int rounding)
{
  return rounding ? text_legacy_round(x, points) : x;
}

double text_fk_grade(const struct text_counts *c, int rounding)
{
  double asl = maybe_round((double)c->words / (double)c->sentences, 1, rounding);
  double asw = c->words ? maybe_round((double)c->syllables / (double)c->words, 1, rounding) : 0.0;
  double fk = 0.39 * asl + 11.8 * asw - 15.59;
  return maybe_round(fk, 1, rounding);
}

double text_ari(const struct text_counts *c, int rounding)
{
  if (!c->words) return 0.0;
  double a = (double)c->chars / (double)c->words;
  double b = (double)c->words / (double)c->sentences;
  double r = 4.71 * maybe_round(a, 2, rounding) + 0.5 * maybe_round(b, 2, rounding) - 21.43;
  return maybe_round(r, 1, rounding);
}

size_t text_utf8_offset(const char *s, size_t n, size_t index)
{
  size_t i = 0;
  while (index > 0 && i < n) {
    utf8_next((const unsigned char *)s, n, &i);
    index--;
  }
  return i;
}
