/* toxicity.c: text normalisation, feature hashing and scoring of the
 * embedded toxicity model (see toxicity.h for the file layout). */
#include "toxicity.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "sha256.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "toxicity.c reads little-endian weights directly; add byte swapping"
#endif

/* ---- normalisation ---- */

typedef struct {
  char *p;
  size_t n, cap;   /* cap 0 with p == NULL counts only */
  size_t word;     /* start of the word being built */
  int in_word;
  char last_mark;  /* the last token was this mark ('.' or '"'), else 0 */
  char saved_mark; /* last_mark before the current word (restored if it is dropped) */
} nbuf;

static void nb_put(nbuf *b, char c)
{
  if (b->n < b->cap) b->p[b->n] = c;
  b->n++;
}

/* Ends the current word: drops the retweet marker, maps leetspeak digits in
 * words that also have letters, collapses runs of 3+ equal bytes to 2. */
static void nb_end_word(nbuf *b)
{
  if (!b->in_word) return;
  b->in_word = 0;
  size_t s = b->word, e = b->n;
  if (e > b->cap) {   /* counting only (or out of room): keep the length bound */
    nb_put(b, ' ');
    return;
  }
  char *w = b->p + s;
  size_t L = e - s;
  if (L == 2 && w[0] == 'r' && w[1] == 't') {
    b->n = s;
    b->last_mark = b->saved_mark;
    return;
  }
  int letters = 0, digits = 0;
  for (size_t i = 0; i < L; i++) {
    unsigned char c = (unsigned char)w[i];
    if (c >= 'a' && c <= 'z') letters = 1;
    else if (c >= '0' && c <= '9') digits = 1;
  }
  if (letters && digits) {
    for (size_t i = 0; i < L; i++) {
      switch (w[i]) {
      case '0': w[i] = 'o'; break;
      case '1': w[i] = 'i'; break;
      case '3': w[i] = 'e'; break;
      case '4': w[i] = 'a'; break;
      case '5': w[i] = 's'; break;
      case '7': w[i] = 't'; break;
      default: break;
      }
    }
  }
  size_t o = 0;
  for (size_t i = 0; i < L; i++) {
    if (o >= 2 && w[o - 1] == w[i] && w[o - 2] == w[i]) continue;
    w[o++] = w[i];
  }
  b->n = s + o;
  if (o == 0) {
    b->last_mark = b->saved_mark;
    return;
  }
  nb_put(b, ' ');
}

static void nb_word_byte(nbuf *b, char c)
{
  if (!b->in_word) {
    b->in_word = 1;
    b->word = b->n;
    b->saved_mark = b->last_mark;
    b->last_mark = 0;
  }
  nb_put(b, c);
}

static void nb_utf8(nbuf *b, uint32_t cp)
{
  if (cp < 0x80) {
    nb_word_byte(b, (char)cp);
  } else if (cp < 0x800) {
    nb_word_byte(b, (char)(0xC0 | (cp >> 6)));
    nb_word_byte(b, (char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    nb_word_byte(b, (char)(0xE0 | (cp >> 12)));
    nb_word_byte(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    nb_word_byte(b, (char)(0x80 | (cp & 0x3F)));
  } else {
    nb_word_byte(b, (char)(0xF0 | (cp >> 18)));
    nb_word_byte(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
    nb_word_byte(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    nb_word_byte(b, (char)(0x80 | (cp & 0x3F)));
  }
}

/* Strict UTF-8 decoding; returns the sequence length, 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
  unsigned char c = s[0];
  size_t L;
  uint32_t v, min;
  if (c < 0x80) { *cp = c; return 1; }
  if (c >= 0xC2 && c <= 0xDF) { L = 2; v = c & 0x1F; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { L = 3; v = c & 0x0F; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { L = 4; v = c & 0x07; min = 0x10000; }
  else return 0;
  if (L > n) return 0;
  for (size_t i = 1; i < L; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return L;
}

static uint32_t lower_cp(uint32_t cp)
{
  if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3A9) ||
      (cp >= 0x410 && cp <= 0x42F))
    return cp + 0x20;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 0x50;
  if (cp >= 0x100 && cp <= 0x17F && !(cp & 1)) return cp + 1;
  return cp;
}

static int is_symbol_cp(uint32_t cp)
{
  return (cp >= 0x2190 && cp <= 0x2BFF) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
         (cp >= 0x3030 && cp <= 0x303D) || cp == 0xA9 || cp == 0xAE;
}

static int is_space_or_punct_cp(uint32_t cp)
{
  return cp == 0x85 || (cp >= 0xA0 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
         (cp >= 0x2000 && cp <= 0x206F) || cp == 0x3000 || (cp >= 0x3001 && cp <= 0x3003) ||
         (cp >= 0xFF01 && cp <= 0xFF0F) || cp == 0xFEFF;
}

/* Clause ends (. , ! ? ; :) and double quotes are kept as one-character
 * tokens: negation scope ends at a clause end, quotation marks delimit
 * quoted (often counter-speech) words. Never first, never repeated. */
static void nb_mark(nbuf *b, char mark)
{
  nb_end_word(b);
  if (b->n == 0 && mark == '.') return;
  if (mark == '.' && b->last_mark == mark) return;   /* quotes must pair */
  if (b->last_mark == '.' && mark == '"') {   /* ". "" keeps both; "" ." too */
  }
  nb_word_byte(b, mark);
  b->in_word = 0;
  nb_put(b, ' ');
  b->last_mark = mark;
}

static void nb_cp(nbuf *b, uint32_t cp)
{
  if (cp < 0x80) {
    unsigned char c = (unsigned char)cp;
    if (c >= 'A' && c <= 'Z') nb_word_byte(b, (char)(c + 32));
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) nb_word_byte(b, (char)c);
    else if (c == '.' || c == ',' || c == '!' || c == '?' || c == ';' || c == ':') nb_mark(b, '.');
    else if (c == '"') nb_mark(b, '"');
    else nb_end_word(b);
    return;
  }
  if (cp == 0x201C || cp == 0x201D || cp == 0xAB || cp == 0xBB) {
    nb_mark(b, '"');
    return;
  }
  if (cp == 0x200D || (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0x1F3FB && cp <= 0x1F3FF))
    return;   /* joiners, variation selectors, skin tones: invisible */
  if (cp == 0x2019 && b->in_word) return;   /* typographic apostrophe */
  if (is_symbol_cp(cp)) {
    nb_end_word(b);
    nb_utf8(b, cp);
    nb_end_word(b);
    return;
  }
  if (is_space_or_punct_cp(cp)) {
    nb_end_word(b);
    return;
  }
  nb_utf8(b, lower_cp(cp));
}

static int ascii_word(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int prefix_ci(const char *s, size_t n, const char *p)
{
  size_t k = strlen(p);
  if (n < k) return 0;
  for (size_t i = 0; i < k; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 'A' && c <= 'Z') c += 32;
    if (c != (unsigned char)p[i]) return 0;
  }
  return 1;
}

static void normalize_into(nbuf *b, const char *text, size_t len)
{
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c == '&') {   /* HTML entities, as in scraped tweets */
      size_t j = i + 1;
      if (j < len && s[j] == '#') {
        uint32_t v = 0;
        int hex = 0, nd = 0;
        j++;
        if (j < len && (s[j] == 'x' || s[j] == 'X')) { hex = 1; j++; }
        while (j < len && nd < 8) {
          unsigned char d = s[j];
          int dv = (d >= '0' && d <= '9') ? d - '0'
                   : (hex && d >= 'a' && d <= 'f') ? d - 'a' + 10
                   : (hex && d >= 'A' && d <= 'F') ? d - 'A' + 10 : -1;
          if (dv < 0) break;
          v = v * (hex ? 16 : 10) + (uint32_t)dv;
          nd++;
          j++;
        }
        if (nd > 0 && j < len && s[j] == ';') {
          if (v > 0 && v <= 0x10FFFF && !(v >= 0xD800 && v <= 0xDFFF)) nb_cp(b, v);
          else nb_end_word(b);
          i = j + 1;
          continue;
        }
      } else {
        static const char *const names[] = {"amp;", "lt;", "gt;", "quot;", "apos;", "nbsp;"};
        size_t k;
        for (k = 0; k < sizeof names / sizeof names[0]; k++)
          if (prefix_ci(text + j, len - j, names[k])) break;
        if (k < sizeof names / sizeof names[0]) {
          nb_end_word(b);
          i = j + strlen(names[k]);
          continue;
        }
      }
      nb_end_word(b);
      i++;
      continue;
    }
    if (!b->in_word && (c == 'h' || c == 'H' || c == 'w' || c == 'W') &&
        (prefix_ci(text + i, len - i, "http://") || prefix_ci(text + i, len - i, "https://") ||
         prefix_ci(text + i, len - i, "www."))) {
      while (i < len && s[i] > ' ') i++;   /* URLs say nothing about toxicity */
      continue;
    }
    if (c == '@' && !b->in_word && i + 1 < len && ascii_word(s[i + 1])) {
      i++;
      while (i < len && ascii_word(s[i])) i++;   /* @mentions */
      continue;
    }
    if (b->in_word &&
        (c == '*' || c == '$' ||
         ((c == '\'' || c == '@') && i + 1 < len && ascii_word(s[i + 1])))) {
      if (c == '@') nb_word_byte(b, 'a');
      else if (c == '$') nb_word_byte(b, 's');
      else if (c == '*') nb_word_byte(b, '*');
      i++;   /* "don't" -> "dont", "b*tch", "a$$" -> "ass" */
      continue;
    }
    if (b->in_word && c == '!' && i + 1 < len && ascii_word(s[i + 1]) && s[i + 1] != '_') {
      nb_word_byte(b, '*');   /* "sh!t" masks like "sh*t" */
      i++;
      continue;
    }
    if ((c == '.' || c == ',' || c == ':' || c == ';') && i + 1 < len && ascii_word(s[i + 1])) {
      nb_end_word(b);   /* "U.S.", "3.14", "a,b": a separator, not a clause end */
      i++;
      continue;
    }
    if (c < 0x80) {
      nb_cp(b, c == '_' ? ' ' : c);
      i++;
      continue;
    }
    uint32_t cp;
    size_t L = utf8_decode(s + i, len - i, &cp);
    if (L == 0) {   /* invalid UTF-8: a separator */
      nb_end_word(b);
      i++;
      continue;
    }
    nb_cp(b, cp);
    i += L;
  }
  nb_end_word(b);
  if (b->last_mark && b->n >= 2) b->n -= 2;   /* no mark at the end */
  if (b->n > 0 && (b->n <= b->cap) && b->p[b->n - 1] == ' ') b->n--;
  else if (b->n > 0 && b->n > b->cap) b->n--;
}

size_t toxicity_normalize(const char *text, size_t len, char *out, size_t cap)
{
  /* run into a scratch buffer large enough, then copy what fits */
  size_t need = len * 2 + 8;   /* an entity or a byte never grows past 4 bytes + space */
  if (need < len) return 0;
  char *tmp = malloc(need > 0 ? need * 2 : 1);
  if (!tmp) {
    if (cap) out[0] = 0;
    return 0;
  }
  nbuf b = {tmp, 0, need * 2, 0, 0, 0, 0};
  normalize_into(&b, text, len);
  if (cap) {
    size_t k = b.n < cap - 1 ? b.n : cap - 1;
    memcpy(out, tmp, k);
    out[k] = 0;
  }
  free(tmp);
  return b.n;
}

/* ---- feature hashing ---- */

static inline uint64_t fmix64(uint64_t k)
{
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

#define FNV_PRIME 0x100000001b3ULL
#define SEED_WORD 0x9e3779b97f4a7c15ULL
#define SEED_BIGRAM 0xd6e8feb86659fd93ULL
#define SEED_CHAR 0xcbf29ce484222325ULL
#define SEED_NEG 0x8ebc6af09c88c6e3ULL
#define SEED_QUOTE 0x589965cc75374cc3ULL
#define SEED_IDWORD 0x1d8e4e27c47d124fULL
#define SEED_IDNEG 0xa0761d6478bd642fULL
#define SEED_CLS2 0xe7037ed1a0b428dbULL
#define SEED_CLS3 0x8ebc6af09c88c6e5ULL
#define SEED_TRI 0x94d049bb133111ebULL

static uint64_t fnv(const unsigned char *w, size_t L, uint64_t h)
{
  for (size_t k = 0; k < L; k++) h = (h ^ w[k]) * FNV_PRIME;
  return h;
}

/* Words that open a negation scope (after normalisation: no apostrophes). */
static const char *const negators[] = {
    "not", "no", "never", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent",
    "cant", "cannot", "wont", "wouldnt", "shouldnt", "couldnt", "aint", "nobody", "nothing",
    "none", "nor", "neither", "hardly", "havent", "hasnt", "without", "nt", NULL};

/* Identity terms: protected groups as people write them (plural, singular,
 * adjective). Their presence turns on the identity x word features and the
 * identity-abstracted word 2- and 3-grams ("<id> are animals"). */
static const char *const identity_terms[] = {
    "muslim", "muslims", "islam", "islamic", "jew", "jews", "jewish", "judaism", "black",
    "blacks", "african", "africans", "immigrant", "immigrants", "migrant", "migrants",
    "refugee", "refugees", "asylum", "women", "woman", "girls", "female", "females", "gay",
    "gays", "lesbian", "lesbians", "homosexual", "homosexuals", "bisexual", "queer", "lgbt",
    "lgbtq", "trans", "transgender", "transgenders", "tranny", "mexican", "mexicans", "latino",
    "latinos", "latina", "hispanic", "hispanics", "arab", "arabs", "asian", "asians", "chinese",
    "indian", "indians", "hindu", "hindus", "sikh", "sikhs", "christian", "christians",
    "catholic", "catholics", "white", "whites", "foreigner", "foreigners", "disabled",
    "handicapped", "roma", "gypsy", "gypsies", "travellers", "pakistani", "pakistanis",
    "somali", "somalis", "syrian", "syrians", "nigerian", "nigerians", "aboriginal",
    "indigenous", "natives", "atheist", "atheists", "feminist", "feminists", "minorities",
    "minority", "nonwhite", "nonwhites", "negro", "negroes", "jihadi", "jihadis", "zionist",
    "zionists", "aliens", "illegals", NULL};

/* The two word lists as one open-addressed table keyed by the word's hash
 * (the same FNV-1a hash as the unigram feature), built once. */
#define LEX_SLOTS 512
#define LEX_ID 1
#define LEX_NEG 2
static uint64_t lex_key[LEX_SLOTS];
static unsigned char lex_kind[LEX_SLOTS];
static pthread_once_t lex_once = PTHREAD_ONCE_INIT;

static void lex_add(const char *const *list, unsigned char kind)
{
  for (; *list; list++) {
    uint64_t h = fnv((const unsigned char *)*list, strlen(*list), SEED_WORD);
    size_t j = (size_t)(fmix64(h) & (LEX_SLOTS - 1));
    while (lex_kind[j] && lex_key[j] != h) j = (j + 1) & (LEX_SLOTS - 1);
    lex_key[j] = h;
    lex_kind[j] |= kind;
  }
}

static void lex_init(void)
{
  lex_add(identity_terms, LEX_ID);
  lex_add(negators, LEX_NEG);
}

static inline unsigned lex_get(uint64_t h)
{
  size_t j = (size_t)(fmix64(h) & (LEX_SLOTS - 1));
  while (lex_kind[j]) {
    if (lex_key[j] == h) return lex_kind[j];
    j = (j + 1) & (LEX_SLOTS - 1);
  }
  return 0;
}

typedef struct {
  unsigned shift, flags;
  toxicity_feature_fn fn;
  void *ud;
  size_t count;
} femit;

static inline void emit(femit *e, uint64_t h)
{
  e->fn((uint32_t)(fmix64(h) >> e->shift), e->ud);
  e->count++;
}

#define ID_CLASS 0x6c8e9cf570932bd5ULL   /* the hash every identity term shares */

/* Features of a normalised text (words, '.' clause marks and '"' quote
 * marks separated by single spaces). flags select the families. */
static size_t features_of(const char *t, size_t n, unsigned nbits, unsigned flags,
                          toxicity_feature_fn fn, void *ud)
{
  femit e = {64 - nbits, flags, fn, ud, 0};
  int has_id = 0;
  pthread_once(&lex_once, lex_init);
  if (flags & (TOXICITY_F_IDWORD | TOXICITY_F_IDGRAM)) {
    for (size_t i = 0; i < n;) {
      size_t s = i;
      while (i < n && t[i] != ' ') i++;
      if (lex_get(fnv((const unsigned char *)t + s, i - s, SEED_WORD)) & LEX_ID) {
        has_id = 1;
        break;
      }
      while (i < n && t[i] == ' ') i++;
    }
  }
  uint64_t prev = 0, prev_c = 0, prev2_c = 0, prev2 = 0;
  int nprev = 0, prev_id = 0, prev2_id = 0, neg = 0, quote = 0;
  size_t i = 0;
  while (i < n) {
    while (i < n && t[i] == ' ') i++;
    if (i >= n) break;
    size_t s = i;
    while (i < n && t[i] != ' ') i++;
    const unsigned char *w = (const unsigned char *)t + s;
    size_t L = i - s;
    if (L == 1 && (w[0] == '.' || w[0] == '"')) {
      if (w[0] == '"') quote = !quote;
      neg = 0;
      nprev = 0;
      continue;
    }
    uint64_t hw = fnv(w, L, SEED_WORD);
    unsigned kind = lex_get(hw);
    int is_id = has_id && (kind & LEX_ID);
    uint64_t hc = is_id ? ID_CLASS : hw;
    if (flags & TOXICITY_F_WORD) emit(&e, hw);
    if ((flags & TOXICITY_F_BIGRAM) && nprev >= 1) emit(&e, prev * 31 + hw + SEED_BIGRAM);
    if ((flags & TOXICITY_F_TRIGRAM) && nprev >= 2)
      emit(&e, (prev2 * 31 + prev) * 31 + hw + SEED_TRI);
    if ((flags & TOXICITY_F_NEG) && neg) emit(&e, hw + SEED_NEG);
    if ((flags & TOXICITY_F_QUOTE) && quote) emit(&e, hw + SEED_QUOTE);
    if (has_id && (flags & TOXICITY_F_IDWORD) && !is_id) {
      emit(&e, hw + SEED_IDWORD);
      if (neg) emit(&e, hw + SEED_IDNEG);
    }
    if (has_id && (flags & TOXICITY_F_IDGRAM)) {
      if (nprev >= 1 && (is_id || prev_id)) emit(&e, prev_c * 31 + hc + SEED_CLS2);
      if (nprev >= 2 && (is_id || prev_id || prev2_id))
        emit(&e, (prev2_c * 31 + prev_c) * 31 + hc + SEED_CLS3 + (uint64_t)neg);
    }
    if (flags & TOXICITY_F_CHAR) {
      /* character 3..5-grams over "<word>" */
      size_t P = L + 2;
      for (size_t a = 0; a + 3 <= P; a++) {
        uint64_t h = SEED_CHAR;
        for (size_t k = 0; k < 5 && a + k < P; k++) {
          size_t pos = a + k;
          unsigned char c = pos == 0 ? '<' : pos == P - 1 ? '>' : w[pos - 1];
          h = (h ^ c) * FNV_PRIME;
          if (k >= 2) emit(&e, h + k);
        }
      }
    }
    if ((flags & TOXICITY_F_NEG) && (kind & LEX_NEG)) neg = 1;
    prev2 = prev;
    prev2_c = prev_c;
    prev2_id = prev_id;
    prev = hw;
    prev_c = hc;
    prev_id = is_id;
    nprev++;
  }
  return e.count;
}

size_t toxicity_features(const char *text, size_t len, unsigned nbits, unsigned flags,
                         toxicity_feature_fn fn, void *ud)
{
  char stack[4096];
  size_t need = len * 2 + 8;
  char *p = stack;
  if (need > sizeof stack) {
    p = malloc(need);
    if (!p) return (size_t)-1;
  }
  nbuf b = {p, 0, need, 0, 0, 0, 0};
  normalize_into(&b, text, len);
  size_t n = b.n <= b.cap ? b.n : b.cap;
  size_t count = features_of(p, n, nbits, flags, fn, ud);
  if (p != stack) free(p);
  return count;
}

/* ---- the model ---- */

static uint32_t rd32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float rdf(const unsigned char *p)
{
  uint32_t u = rd32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

int toxicity_model_parse(toxicity_model *m, const unsigned char *buf, size_t len, char *err,
                         size_t errlen)
{
  memset(m, 0, sizeof *m);
  if (len < 32 || memcmp(buf, TOXICITY_MAGIC, 8) != 0) {
    snprintf(err, errlen, "toxicity: weights file is not an evalua toxicity model v2 (bad magic)");
    return -1;
  }
  unsigned nbits = rd32(buf + 8);
  if (nbits < TOXICITY_MIN_BITS || nbits > TOXICITY_MAX_BITS) {
    snprintf(err, errlen, "toxicity: weights file has %u hash bits (expected %d..%d)", nbits,
             TOXICITY_MIN_BITS, TOXICITY_MAX_BITS);
    return -1;
  }
  unsigned flags = rd32(buf + 24);
  if (flags == 0 || (flags & ~(unsigned)TOXICITY_F_ALL)) {
    snprintf(err, errlen, "toxicity: weights file has unknown feature flags 0x%x", flags);
    return -1;
  }
  size_t meta_len = rd32(buf + 28);
  size_t off = 32 + meta_len;
  off = (off + 3) & ~(size_t)3;
  size_t nw = (size_t)1 << nbits;
  if (meta_len > len || off > len || (len - off) / 4 < nw || len - off != nw * 4) {
    snprintf(err, errlen, "toxicity: weights file is %zu bytes, expected %zu", len, off + nw * 4);
    return -1;
  }
  m->nbits = nbits;
  m->flags = flags;
  m->bias = rdf(buf + 12);
  m->platt_a = rdf(buf + 16);
  m->platt_b = rdf(buf + 20);
  m->meta = (const char *)buf + 32;
  m->meta_len = meta_len;
  if (((uintptr_t)(buf + off) & 3) == 0) {
    m->w = (const float *)(const void *)(buf + off);
  } else {
    m->owned = malloc(nw * 4);
    if (!m->owned) {
      snprintf(err, errlen, "toxicity: out of memory");
      return -1;
    }
    memcpy(m->owned, buf + off, nw * 4);
    m->w = m->owned;
  }
  if (!isfinite(m->bias) || !isfinite(m->platt_a) || !isfinite(m->platt_b)) {
    snprintf(err, errlen, "toxicity: weights file has a non-finite header value");
    toxicity_model_free(m);
    return -1;
  }
  sha256_hex(buf, len, m->sha256);
  return 0;
}

void toxicity_model_free(toxicity_model *m)
{
  free(m->owned);
  m->owned = NULL;
  m->w = NULL;
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static toxicity_model default_model;
static int default_ok;
static char default_err[200];

static void default_init(void)
{
  size_t len = 0;
  const unsigned char *p = embed_find("engine/data/toxicity.bin", &len);
  if (!p) {
    snprintf(default_err, sizeof default_err,
             "toxicity: no embedded model (engine/data/toxicity.bin missing from the build)");
    return;
  }
  default_ok = toxicity_model_parse(&default_model, p, len, default_err, sizeof default_err) == 0;
}

const toxicity_model *toxicity_default(char *err, size_t errlen)
{
  pthread_once(&default_once, default_init);
  if (!default_ok) {
    snprintf(err, errlen, "%s", default_err);
    return NULL;
  }
  return &default_model;
}

typedef struct {
  const float *w;
  double sum;
} dot_acc;

static void dot_fn(uint32_t bucket, void *ud)
{
  dot_acc *a = ud;
  a->sum += a->w[bucket];
}

/* The logit and the number of features (0 for a text without words). */
static double logit_n(const toxicity_model *m, const char *text, size_t len, size_t *nf)
{
  dot_acc a = {m->w, 0};
  size_t n = toxicity_features(text, len, m->nbits, m->flags, dot_fn, &a);
  *nf = n;
  if (n == (size_t)-1) return NAN;
  return m->bias + (n ? a.sum / sqrt((double)n) : 0.0);
}

double toxicity_logit(const toxicity_model *m, const char *text, size_t len)
{
  size_t n;
  return logit_n(m, text, len, &n);
}

double toxicity_calibrate(const toxicity_model *m, double logit)
{
  double z = m->platt_a * logit + m->platt_b;
  if (z >= 0) return 1.0 / (1.0 + exp(-z));
  double e = exp(z);
  return e / (1.0 + e);
}

double toxicity_prob(const toxicity_model *m, const char *text, size_t len)
{
  size_t n;
  double l = logit_n(m, text, len, &n);
  if (isnan(l)) return l;
  if (n == 0) return 0.0;   /* no words, no emoji: nothing that could be toxic */
  return toxicity_calibrate(m, l);
}
