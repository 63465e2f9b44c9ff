/* bpe_gpt2.c: GPT-2 byte-level BPE: pre-tokenizer, vocabulary, merges. */
#include "bpe_gpt2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "roberta_json.h"

/* ---- Unicode classes ---- */

static int in_ranges(const bpe_urange *r, unsigned n, uint32_t cp)
{
  unsigned lo = 0, hi = n;
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if (cp < r[mid].lo) hi = mid;
    else if (cp > r[mid].hi) lo = mid + 1;
    else return 1;
  }
  return 0;
}

int bpe_uclass(uint32_t cp)
{
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return BPE_LETTER;
    if (cp >= '0' && cp <= '9') return BPE_NUMBER;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return BPE_SPACE;
    return BPE_OTHER;
  }
  /* Unicode White_Space */
  if (cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
      cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000)
    return BPE_SPACE;
  if (in_ranges(bpe_letters, bpe_letters_len, cp)) return BPE_LETTER;
  if (in_ranges(bpe_numbers, bpe_numbers_len, cp)) return BPE_NUMBER;
  return BPE_OTHER;
}

/* Decodes one character at s[0..n); invalid UTF-8 is one byte of class other. */
static size_t next_char(const unsigned char *s, size_t n, int *cls)
{
  unsigned char c = s[0];
  if (c < 0x80) {
    *cls = bpe_uclass(c);
    return 1;
  }
  size_t L;
  uint32_t v, min;
  if (c >= 0xC2 && c <= 0xDF) { L = 2; v = c & 0x1F; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { L = 3; v = c & 0x0F; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { L = 4; v = c & 0x07; min = 0x10000; }
  else { *cls = BPE_OTHER; return 1; }
  if (L > n) { *cls = BPE_OTHER; return 1; }
  for (size_t i = 1; i < L; i++) {
    if ((s[i] & 0xC0) != 0x80) { *cls = BPE_OTHER; return 1; }
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { *cls = BPE_OTHER; return 1; }
  *cls = bpe_uclass(v);
  return L;
}

/* Length of the run of characters of class cls starting at s[i]. */
static size_t run_of(const unsigned char *s, size_t n, size_t i, int cls)
{
  size_t j = i;
  while (j < n) {
    int c;
    size_t L = next_char(s + j, n - j, &c);
    if (c != cls) break;
    j += L;
  }
  return j - i;
}

size_t bpe_pretokenize(const char *text, size_t len,
                       int (*fn)(const char *piece, size_t n, void *ud), void *ud)
{
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0, count = 0;
  while (i < len) {
    size_t piece = 0;
    if (s[i] == '\'' && i + 1 < len) {
      unsigned char a = s[i + 1], b = i + 2 < len ? s[i + 2] : 0;
      if (a == 's' || a == 't' || a == 'm' || a == 'd') piece = 2;
      else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) piece = 3;
    }
    if (!piece) {
      int c;
      size_t L = next_char(s + i, len - i, &c);
      if (s[i] == ' ' && i + 1 < len) {
        int c2;
        next_char(s + i + 1, len - i - 1, &c2);
        if (c2 != BPE_SPACE) {   /* " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+" */
          piece = 1 + run_of(s, len, i + 1, c2);
        }
      }
      if (!piece) {
        if (c != BPE_SPACE) {
          piece = run_of(s, len, i, c);
        } else {
          /* \s+(?!\S) backs off one character before a non-space; \s+ otherwise */
          size_t j = i, last = i;
          while (j < len) {
            int cj;
            size_t Lj = next_char(s + j, len - j, &cj);
            if (cj != BPE_SPACE) break;
            last = j;
            j += Lj;
          }
          if (j >= len || last == i) piece = j - i;
          else piece = last - i;
          (void)L;
        }
      }
    }
    count++;
    if (fn((const char *)s + i, piece, ud)) break;
    i += piece;
  }
  return count;
}

/* ---- tables ---- */

typedef struct {
  char *key;
  size_t len;
  int32_t id;
} vslot;

typedef struct {
  uint64_t key; /* (a << 32 | b) + 1, 0 = empty */
  uint32_t rank;
  int32_t result;
} mslot;

struct bpe_tokenizer {
  vslot *v;
  size_t vcap, vn;
  mslot *m;
  size_t mcap, mn;
  int32_t byte_id[256];
  int32_t max_id;
  char byte_char[256][3]; /* UTF-8 of GPT-2's printable character per byte */
  unsigned char byte_char_len[256];
};

static uint64_t hash_bytes(const char *s, size_t n)
{
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return h ^ (h >> 29);
}

static uint64_t mix64(uint64_t k)
{
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return k;
}

int32_t bpe_token_id(const bpe_tokenizer *t, const char *tok, size_t n)
{
  size_t j = hash_bytes(tok, n) & (t->vcap - 1);
  while (t->v[j].key) {
    if (t->v[j].len == n && memcmp(t->v[j].key, tok, n) == 0) return t->v[j].id;
    j = (j + 1) & (t->vcap - 1);
  }
  return -1;
}

size_t bpe_vocab_size(const bpe_tokenizer *t) { return t->vn; }
int32_t bpe_max_id(const bpe_tokenizer *t) { return t->max_id; }

static const mslot *merge_find(const bpe_tokenizer *t, int32_t a, int32_t b)
{
  uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
  size_t j = mix64(key) & (t->mcap - 1);
  while (t->m[j].key) {
    if (t->m[j].key == key) return &t->m[j];
    j = (j + 1) & (t->mcap - 1);
  }
  return NULL;
}

static size_t pow2_at_least(size_t n)
{
  size_t c = 16;
  while (c < n) c *= 2;
  return c;
}

void bpe_free(bpe_tokenizer *t)
{
  if (!t) return;
  if (t->v)
    for (size_t i = 0; i < t->vcap; i++) free(t->v[i].key);
  free(t->v);
  free(t->m);
  free(t);
}

static void set_byte_chars(bpe_tokenizer *t)
{
  int n = 0;
  for (int b = 0; b < 256; b++) {
    int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    unsigned cp = keep ? (unsigned)b : 256u + (unsigned)n++;
    if (cp < 0x80) {
      t->byte_char[b][0] = (char)cp;
      t->byte_char_len[b] = 1;
    } else {
      t->byte_char[b][0] = (char)(0xC0 | (cp >> 6));
      t->byte_char[b][1] = (char)(0x80 | (cp & 0x3F));
      t->byte_char_len[b] = 2;
    }
  }
}

bpe_tokenizer *bpe_new(const char *vocab_json, size_t vocab_len, const char *vocab_name,
                       const char *merges, size_t merges_len, const char *merges_name,
                       char *err, size_t errlen)
{
  rj_value v;
  char jerr[200];
  if (rj_parse(vocab_json, vocab_len, &v, jerr, sizeof jerr) != 0) {
    snprintf(err, errlen, "roberta: %s:%s", vocab_name, jerr);
    return NULL;
  }
  if (v.type != RJ_OBJ || v.n == 0) {
    snprintf(err, errlen, "roberta: %s: expected a non-empty object token -> id", vocab_name);
    rj_free(&v);
    return NULL;
  }
  bpe_tokenizer *t = calloc(1, sizeof *t);
  if (!t) goto oom;
  set_byte_chars(t);
  t->vcap = pow2_at_least(v.n * 2);
  t->v = calloc(t->vcap, sizeof *t->v);
  if (!t->v) goto oom;
  t->max_id = -1;
  for (size_t i = 0; i < v.n; i++) {
    const rj_value *x = &v.items[i];
    if (x->type != RJ_NUM || x->num < 0 || x->num > 1e9 || x->num != (double)(int32_t)x->num) {
      snprintf(err, errlen, "roberta: %s: the id of \"%s\" is not a non-negative integer",
               vocab_name, v.keys[i]);
      goto fail;
    }
    const char *key = v.keys[i];
    size_t kl = v.klens[i];
    size_t j = hash_bytes(key, kl) & (t->vcap - 1);
    while (t->v[j].key && !(t->v[j].len == kl && memcmp(t->v[j].key, key, kl) == 0))
      j = (j + 1) & (t->vcap - 1);
    if (!t->v[j].key) {
      t->v[j].key = v.keys[i]; /* steal the key */
      v.keys[i] = NULL;
      t->v[j].len = kl;
      t->vn++;
    }
    t->v[j].id = (int32_t)x->num;
    if (t->v[j].id > t->max_id) t->max_id = t->v[j].id;
  }
  rj_free(&v); /* stolen keys are NULL there */
  for (int b = 0; b < 256; b++) t->byte_id[b] = bpe_token_id(t, t->byte_char[b], t->byte_char_len[b]);

  /* merges */
  size_t lines = 1;
  for (size_t i = 0; i < merges_len; i++) lines += merges[i] == '\n';
  t->mcap = pow2_at_least(lines * 2);
  t->m = calloc(t->mcap, sizeof *t->m);
  if (!t->m) goto oom;
  size_t i = 0, line = 0;
  uint32_t rank = 0;
  char *buf = NULL;
  size_t bufcap = 0;
  while (i < merges_len) {
    size_t a = i;
    while (i < merges_len && merges[i] != '\n') i++;
    size_t e = i;
    i++;
    line++;
    if (e > a && merges[e - 1] == '\r') e--;
    if (e == a) continue;
    if (line == 1 && e - a >= 8 && memcmp(merges + a, "#version", 8) == 0) continue;
    const char *sp = memchr(merges + a, ' ', e - a);
    if (!sp || sp == merges + a || sp + 1 >= merges + e || memchr(sp + 1, ' ', (size_t)(merges + e - sp - 1))) {
      snprintf(err, errlen, "roberta: %s:%zu: expected two tokens separated by one space",
               merges_name, line);
      free(buf);
      goto fail;
    }
    size_t la = (size_t)(sp - (merges + a)), lb = (size_t)(merges + e - sp - 1);
    int32_t ia = bpe_token_id(t, merges + a, la), ib = bpe_token_id(t, sp + 1, lb);
    if (la + lb > bufcap) {
      bufcap = (la + lb) * 2;
      char *nb = realloc(buf, bufcap);
      if (!nb) { free(buf); goto oom; }
      buf = nb;
    }
    memcpy(buf, merges + a, la);
    memcpy(buf + la, sp + 1, lb);
    int32_t ir = bpe_token_id(t, buf, la + lb);
    uint32_t r = rank++;
    if (ia < 0 || ib < 0 || ir < 0) continue;
    uint64_t key = (((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib) + 1;
    size_t j = mix64(key) & (t->mcap - 1);
    while (t->m[j].key && t->m[j].key != key) j = (j + 1) & (t->mcap - 1);
    if (t->m[j].key) continue; /* a duplicate merge keeps its first (best) rank */
    t->m[j].key = key;
    t->m[j].rank = r;
    t->m[j].result = ir;
    t->mn++;
  }
  free(buf);
  return t;
oom:
  snprintf(err, errlen, "roberta: out of memory loading the tokenizer");
fail:
  rj_free(&v);
  bpe_free(t);
  return NULL;
}

bpe_tokenizer *bpe_load(const char *vocab_path, const char *merges_path, char *err,
                        size_t errlen)
{
  size_t vl, ml;
  char *v = file_read("roberta", vocab_path, &vl, err, errlen);
  if (!v) return NULL;
  char *m = file_read("roberta", merges_path, &ml, err, errlen);
  if (!m) {
    free(v);
    return NULL;
  }
  bpe_tokenizer *t = bpe_new(v, vl, vocab_path, m, ml, merges_path, err, errlen);
  free(v);
  free(m);
  return t;
}

/* ---- encoding ---- */

typedef struct {
  uint32_t rank;
  uint32_t pos;
  int32_t a, b;
  uint32_t right;
} hent;

static int hless(const hent *x, const hent *y)
{
  return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
}

static void hpush(hent *h, size_t *n, hent e)
{
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!hless(&e, &h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = e;
}

static hent hpop(hent *h, size_t *n)
{
  hent top = h[0], last = h[--(*n)];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && hless(&h[c + 1], &h[c])) c++;
    if (!hless(&h[c], &last)) break;
    h[i] = h[c];
    i = c;
  }
  if (*n) h[i] = last;
  return top;
}

typedef struct {
  const bpe_tokenizer *t;
  int32_t unk, *out;
  size_t cap, n;
  int oom;
  /* scratch, grown as needed */
  int32_t *id;
  uint32_t *next, *prev;
  hent *heap;
  size_t scap;
} enc;

static int grow(enc *e, size_t n)
{
  if (n <= e->scap) return 0;
  size_t c = e->scap ? e->scap : 64;
  while (c < n) c *= 2;
  int32_t *id = realloc(e->id, c * sizeof *id);
  if (id) e->id = id;
  uint32_t *nx = realloc(e->next, c * sizeof *nx);
  if (nx) e->next = nx;
  uint32_t *pv = realloc(e->prev, c * sizeof *pv);
  if (pv) e->prev = pv;
  hent *h = realloc(e->heap, 2 * c * sizeof *h);
  if (h) e->heap = h;
  if (!id || !nx || !pv || !h) return -1;
  e->scap = c;
  return 0;
}

#define NONE 0xFFFFFFFFu

static void try_pair(enc *e, uint32_t p, hent *heap, size_t *hn)
{
  uint32_t q = e->next[p];
  if (q == NONE) return;
  const mslot *m = merge_find(e->t, e->id[p], e->id[q]);
  if (!m) return;
  hent x = {m->rank, p, e->id[p], e->id[q], q};
  hpush(heap, hn, x);
}

static int enc_piece(const char *piece, size_t n, void *ud)
{
  enc *e = ud;
  if (grow(e, n + 1)) {
    e->oom = 1;
    return 1;
  }
  const bpe_tokenizer *t = e->t;
  for (size_t i = 0; i < n; i++) {
    e->id[i] = t->byte_id[(unsigned char)piece[i]];
    e->prev[i] = i ? (uint32_t)(i - 1) : NONE;
    e->next[i] = i + 1 < n ? (uint32_t)(i + 1) : NONE;
  }
  size_t hn = 0;
  for (size_t i = 0; i + 1 < n; i++)
    if (e->id[i] >= 0 && e->id[i + 1] >= 0) try_pair(e, (uint32_t)i, e->heap, &hn);
  /* the heap holds at most n - 1 + (one or two per merge) entries <= 2n */
  while (hn) {
    hent x = hpop(e->heap, &hn);
    uint32_t p = x.pos;
    if (e->id[p] != x.a || e->next[p] != x.right || e->id[x.right] != x.b) continue;
    const mslot *m = merge_find(t, x.a, x.b);
    uint32_t q = x.right;
    e->id[p] = m->result;
    e->next[p] = e->next[q];
    if (e->next[q] != NONE) e->prev[e->next[q]] = p;
    e->id[q] = -2; /* dead */
    if (e->prev[p] != NONE && hn + 2 <= 2 * e->scap) try_pair(e, e->prev[p], e->heap, &hn);
    if (hn + 2 <= 2 * e->scap) try_pair(e, p, e->heap, &hn);
  }
  for (uint32_t p = 0; p != NONE && n > 0; p = e->next[p]) {
    if (e->n >= e->cap) return 1;
    e->out[e->n++] = e->id[p] >= 0 ? e->id[p] : e->unk;
  }
  return e->n >= e->cap;
}

long bpe_encode(const bpe_tokenizer *t, const char *text, size_t len, int32_t unk_id,
                int32_t *out, size_t cap)
{
  enc e = {t, unk_id, out, cap, 0, 0, NULL, NULL, NULL, NULL, 0};
  if (cap > 0) bpe_pretokenize(text, len, enc_piece, &e);
  free(e.id);
  free(e.next);
  free(e.prev);
  free(e.heap);
  return e.oom ? -1 : (long)e.n;
}
