/* rouge.c: ROUGE-N, ROUGE-L and ROUGE-Lsum as Google's rouge_score 0.1.2
 * computes them (the scorer behind HF evaluate's "rouge" and MLflow):
 * tokenizer = lower-case, every run outside [a-z0-9] is a separator,
 * optional Porter stemming of tokens longer than 3 characters; rougeN over
 * n-gram multisets; rougeL over the LCS; rougeLsum over the summary-level
 * union LCS of newline-separated lines, with rouge_score's backtrack tie-break
 * and per-token clipping. Tokens are interned to integers per call. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* the most LCS cells one text pair (rougeL) or line pair (rougeLsum, 2 bits
 * each: 64 MiB) may need; about a second of work. rouge_score itself builds
 * the whole table as Python lists and runs out of memory long before. */
#define LCS_MAX_CELLS ((uint64_t)1 << 28)

/* ---- an interner: byte strings -> dense ids 0..n-1 ---- */

struct interner {
  uint32_t *slot;  /* id + 1, 0 = empty */
  uint32_t mask;
  uint32_t n;
  uint32_t *off, *len; /* per id: its bytes in arena */
  uint32_t idcap;
  char *arena;
  size_t used, cap;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h ^ (h >> 29);
}

static void intern_free(struct interner *t)
{
  free(t->slot);
  free(t->off);
  free(t->len);
  free(t->arena);
}

static void intern_reset(struct interner *t)
{
  if (t->slot && t->n) memset(t->slot, 0, ((size_t)t->mask + 1) * sizeof *t->slot);
  t->n = 0;
  t->used = 0;
}

static int intern_rehash(struct interner *t, uint32_t ncap)
{
  uint32_t *ns = calloc(ncap, sizeof *ns);
  if (!ns) return -1;
  for (uint32_t id = 0; id < t->n; id++) {
    uint64_t h = hash_bytes(t->arena + t->off[id], t->len[id]) & (ncap - 1);
    while (ns[h]) h = (h + 1) & (ncap - 1);
    ns[h] = id + 1;
  }
  free(t->slot);
  t->slot = ns;
  t->mask = ncap - 1;
  return 0;
}

/* Returns the id of s[0..n), adding it; -1 when out of memory. */
static int64_t intern(struct interner *t, const char *s, size_t n)
{
  if (!t->slot && intern_rehash(t, 1024)) return -1;
  uint64_t h = hash_bytes(s, n) & t->mask;
  for (; t->slot[h]; h = (h + 1) & t->mask) {
    uint32_t id = t->slot[h] - 1;
    if (t->len[id] == n && memcmp(t->arena + t->off[id], s, n) == 0) return id;
  }
  if (t->n == UINT32_MAX - 1 || t->used + n > UINT32_MAX) return -1;
  if (t->n + 1 > t->idcap) {
    uint32_t nc = t->idcap ? t->idcap * 2 : 1024;
    uint32_t *no = realloc(t->off, nc * sizeof *no);
    if (!no) return -1;
    t->off = no;
    uint32_t *nl = realloc(t->len, nc * sizeof *nl);
    if (!nl) return -1;
    t->len = nl;
    t->idcap = nc;
  }
  if (t->used + n > t->cap) {
    size_t nc = t->cap ? t->cap * 2 : 8192;
    while (nc < t->used + n) nc *= 2;
    char *na = realloc(t->arena, nc);
    if (!na) return -1;
    t->arena = na;
    t->cap = nc;
  }
  memcpy(t->arena + t->used, s, n);
  uint32_t id = t->n++;
  t->off[id] = (uint32_t)t->used;
  t->len[id] = (uint32_t)n;
  t->used += n;
  t->slot[h] = id + 1;
  if ((uint64_t)t->n * 2 > t->mask && intern_rehash(t, (t->mask + 1) * 2)) return -1;
  return id;
}

/* ---- growable arrays ---- */

struct u32s {
  uint32_t *v;
  size_t n, cap;
};

static int u32_push(struct u32s *a, uint32_t x)
{
  if (a->n == a->cap) {
    size_t nc = a->cap ? a->cap * 2 : 256;
    uint32_t *p = realloc(a->v, nc * sizeof *p);
    if (!p) return -1;
    a->v = p;
    a->cap = nc;
  }
  a->v[a->n++] = x;
  return 0;
}

static int u32_fill(struct u32s *a, size_t n)
{
  if (n > a->cap) {
    uint32_t *p = realloc(a->v, n * sizeof *p);
    if (!p) return -1;
    a->v = p;
    a->cap = n;
  }
  if (n) memset(a->v, 0, n * sizeof *a->v);
  a->n = n;
  return 0;
}

struct rouge_work {
  struct interner tok, gram;
  struct u32s tids, pids;     /* token ids of target and prediction */
  struct u32s tline, pline;   /* rougeLsum: start index of each line, plus the end */
  struct u32s tg, pg;         /* n-gram ids */
  struct u32s ct, cp;         /* counts per id */
  struct u32s row0, row1;     /* LCS rows */
  struct u32s mark;           /* rougeLsum: LCS hits of the current reference line */
  unsigned char *dir;         /* rougeLsum: 2-bit backtrack directions */
  size_t dircap;
  char *buf;                  /* one token, lower-cased, stemmed */
  size_t bufcap;
  /* stem cache across calls: raw token (interned in sraw) -> its stem in
   * sarena; started over when it holds STEM_CACHE_MAX tokens */
  struct interner sraw;
  uint32_t *soff, *slen;
  uint32_t scap_ids;
  char *sarena;
  size_t sused, scap;
};

#define STEM_CACHE_MAX (1u << 16)

struct rouge_work *rouge_work_new(void)
{
  return calloc(1, sizeof(struct rouge_work));
}

void rouge_work_free(struct rouge_work *w)
{
  if (!w) return;
  intern_free(&w->tok);
  intern_free(&w->gram);
  struct u32s *arrs[] = {&w->tids, &w->pids, &w->tline, &w->pline, &w->tg, &w->pg,
                         &w->ct,   &w->cp,   &w->row0,  &w->row1,  &w->mark};
  for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) free(arrs[i]->v);
  free(w->dir);
  free(w->buf);
  intern_free(&w->sraw);
  free(w->soff);
  free(w->slen);
  free(w->sarena);
  free(w);
}

int rouge_parse_type(const char *name, struct rouge_spec *spec)
{
  if (strcmp(name, "rougeL") == 0) { spec->kind = ROUGE_L; spec->n = 0; return 0; }
  if (strcmp(name, "rougeLsum") == 0) { spec->kind = ROUGE_LSUM; spec->n = 0; return 0; }
  if (strncmp(name, "rouge", 5) == 0 && name[5] >= '1' && name[5] <= '9' && name[6] == '\0') {
    spec->kind = ROUGE_N;
    spec->n = name[5] - '0';
    return 0;
  }
  return -1;
}

/* ---- the tokenizer ---- */

/* Appends one token (lower-case ASCII in w->buf[0..n)) to ids, stemmed when
 * asked and longer than 3 characters. */
/* The stem of the token in w->buf[0..n), through the cache: *out points at
 * it (valid until the next call). 0, or -1 when out of memory. */
static int cached_stem(struct rouge_work *w, size_t n, const char **out, size_t *outn)
{
  if (w->sraw.n >= STEM_CACHE_MAX) {
    intern_reset(&w->sraw);
    w->sused = 0;
  }
  uint32_t before = w->sraw.n;
  int64_t id = intern(&w->sraw, w->buf, n);
  if (id < 0) return -1;
  if (w->sraw.n != before) { /* new: stem it and keep the stem */
    if (w->sraw.n > w->scap_ids) {
      uint32_t nc = w->scap_ids ? w->scap_ids * 2 : 1024;
      uint32_t *no = realloc(w->soff, nc * sizeof *no);
      if (!no) return -1;
      w->soff = no;
      uint32_t *nl = realloc(w->slen, nc * sizeof *nl);
      if (!nl) return -1;
      w->slen = nl;
      w->scap_ids = nc;
    }
    if (w->sused + n > w->scap) {
      size_t nc = w->scap ? w->scap * 2 : 65536;
      while (nc < w->sused + n) nc *= 2;
      char *na = realloc(w->sarena, nc);
      if (!na) return -1;
      w->sarena = na;
      w->scap = nc;
    }
    size_t k = porter_stem(w->buf, n, w->buf); /* w->buf has room for n + 1 */
    memcpy(w->sarena + w->sused, w->buf, k);
    w->soff[id] = (uint32_t)w->sused;
    w->slen[id] = (uint32_t)k;
    w->sused += k;
  }
  *out = w->sarena + w->soff[id];
  *outn = w->slen[id];
  return 0;
}

static int add_token(struct rouge_work *w, size_t n, int stem, struct u32s *ids)
{
  const char *tok = w->buf;
  if (stem && n > 3) {
    if (n > 64) n = porter_stem(w->buf, n, w->buf); /* long tokens skip the cache */
    else if (cached_stem(w, n, &tok, &n)) return -1;
  }
  int64_t id = intern(&w->tok, tok, n);
  if (id < 0 || u32_push(ids, (uint32_t)id)) return -1;
  return 0;
}

static int buf_put(struct rouge_work *w, size_t at, char c)
{
  if (at + 2 > w->bufcap) {
    size_t nc = w->bufcap ? w->bufcap * 2 : 256;
    char *p = realloc(w->buf, nc);
    if (!p) return -1;
    w->buf = p;
    w->bufcap = nc;
  }
  w->buf[at] = c;
  return 0;
}

/* Tokenizes s[0..n) onto ids. Python's lower() maps only two non-ASCII code
 * points into ASCII: U+0130 -> "i" + U+0307 and U+212A (Kelvin) -> "k";
 * every other non-ASCII code point, and any invalid byte, separates. */
static int tokenize(struct rouge_work *w, const char *s, size_t n, int stem, struct u32s *ids)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t len = 0;
  for (size_t i = 0; i < n;) {
    unsigned c = u[i];
    char out = 0;     /* an ASCII letter or digit to append */
    int sep_after = 0; /* U+0130 leaves a combining dot after its 'i' */
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z') out = (char)(c + 32);
      else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out = (char)c;
      i++;
    } else if (c == 0xC4 && i + 1 < n && u[i + 1] == 0xB0) {
      out = 'i';
      sep_after = 1;
      i += 2;
    } else if (c == 0xE2 && i + 2 < n && u[i + 1] == 0x84 && u[i + 2] == 0xAA) {
      out = 'k';
      i += 3;
    } else {
      i++;
    }
    if (out) {
      if (buf_put(w, len++, out)) return -1;
    }
    if ((!out || sep_after) && len) {
      if (add_token(w, len, stem, ids)) return -1;
      len = 0;
    }
  }
  if (len && add_token(w, len, stem, ids)) return -1;
  return 0;
}

/* Tokenizes each non-empty "\n"-separated line; lines->v[k] is where line k
 * starts in ids, and a last entry marks the end. */
static int tokenize_lines(struct rouge_work *w, const char *s, size_t n, int stem,
                          struct u32s *ids, struct u32s *lines)
{
  size_t a = 0;
  while (a <= n) {
    const char *nl = a < n ? memchr(s + a, '\n', n - a) : NULL;
    size_t b = nl ? (size_t)(nl - s) : n;
    if (b > a) {
      if (u32_push(lines, (uint32_t)ids->n) || tokenize(w, s + a, b - a, stem, ids)) return -1;
    }
    if (!nl) break;
    a = b + 1;
  }
  return u32_push(lines, (uint32_t)ids->n);
}

/* ---- scores ---- */

static void finish(struct rouge_score *out, double p, double r)
{
  out->precision = p;
  out->recall = r;
  out->fmeasure = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

static int score_n(struct rouge_work *w, int n, struct rouge_score *out)
{
  const struct u32s *tg = &w->tids, *pg = &w->pids; /* unigrams: the token ids */
  uint32_t ngrams = w->tok.n;
  if (n > 1) {
    intern_reset(&w->gram);
    struct u32s *src[2] = {&w->tids, &w->pids}, *dst[2] = {&w->tg, &w->pg};
    for (int s = 0; s < 2; s++) {
      dst[s]->n = 0;
      for (size_t i = 0; i + (size_t)n <= src[s]->n; i++) {
        int64_t id = intern(&w->gram, (const char *)(src[s]->v + i), (size_t)n * sizeof(uint32_t));
        if (id < 0 || u32_push(dst[s], (uint32_t)id)) return -1;
      }
    }
    tg = &w->tg;
    pg = &w->pg;
    ngrams = w->gram.n;
  }
  if (u32_fill(&w->ct, ngrams) || u32_fill(&w->cp, ngrams)) return -1;
  for (size_t i = 0; i < tg->n; i++) w->ct.v[tg->v[i]]++;
  for (size_t i = 0; i < pg->n; i++) w->cp.v[pg->v[i]]++;
  uint64_t overlap = 0;
  for (uint32_t g = 0; g < ngrams; g++)
    overlap += w->ct.v[g] < w->cp.v[g] ? w->ct.v[g] : w->cp.v[g];
  double p = (double)overlap / (double)(pg->n > 1 ? pg->n : 1);
  double r = (double)overlap / (double)(tg->n > 1 ? tg->n : 1);
  finish(out, p, r);
  return 0;
}

/* LCS length of a[0..na) and b[0..nb) in O(nb) memory. */
static int lcs_len(struct rouge_work *w, const uint32_t *a, size_t na, const uint32_t *b,
                   size_t nb, uint64_t *len)
{
  if (u32_fill(&w->row0, nb + 1) || u32_fill(&w->row1, nb + 1)) return -1;
  uint32_t *prev = w->row0.v, *cur = w->row1.v;
  for (size_t i = 1; i <= na; i++) {
    cur[0] = 0;
    for (size_t j = 1; j <= nb; j++) {
      if (a[i - 1] == b[j - 1]) cur[j] = prev[j - 1] + 1;
      else cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
    }
    uint32_t *t = prev;
    prev = cur;
    cur = t;
  }
  *len = prev[nb];
  return 0;
}

static int score_l(struct rouge_work *w, struct rouge_score *out, char *err, size_t cap)
{
  if (!w->tids.n || !w->pids.n) { finish(out, 0, 0); return 0; }
  if ((uint64_t)w->tids.n * w->pids.n > LCS_MAX_CELLS) {
    snprintf(err, cap, "rougeL: texts too long (%zu x %zu tokens)", w->tids.n, w->pids.n);
    return -1;
  }
  uint64_t lcs;
  if (lcs_len(w, w->tids.v, w->tids.n, w->pids.v, w->pids.n, &lcs)) {
    snprintf(err, cap, "rouge: out of memory");
    return -1;
  }
  finish(out, (double)lcs / (double)w->pids.n, (double)lcs / (double)w->tids.n);
  return 0;
}

enum { D_UP = 0, D_LEFT = 1, D_DIAG = 2 };

/* Marks in mark[] the indices of ref that rouge_score's _backtrack_norec
 * picks for the LCS of ref and can. */
static int lcs_mark(struct rouge_work *w, const uint32_t *ref, size_t nr, const uint32_t *can,
                    size_t nc, uint32_t *mark, char *err, size_t cap)
{
  uint64_t cells = (uint64_t)nr * nc;
  if (cells > LCS_MAX_CELLS) {
    snprintf(err, cap, "rougeLsum: line pair too long (%zu x %zu tokens)", nr, nc);
    return -1;
  }
  size_t bytes = (size_t)(cells / 4 + 1);
  if (bytes > w->dircap) {
    unsigned char *p = realloc(w->dir, bytes);
    if (!p) { snprintf(err, cap, "rouge: out of memory"); return -1; }
    w->dir = p;
    w->dircap = bytes;
  }
  if (u32_fill(&w->row0, nc + 1) || u32_fill(&w->row1, nc + 1)) {
    snprintf(err, cap, "rouge: out of memory");
    return -1;
  }
  uint32_t *prev = w->row0.v, *cur = w->row1.v;
  unsigned char *dir = w->dir;
  memset(dir, 0, bytes);
  for (size_t i = 1; i <= nr; i++) {
    cur[0] = 0;
    for (size_t j = 1; j <= nc; j++) {
      unsigned d;
      if (ref[i - 1] == can[j - 1]) {
        cur[j] = prev[j - 1] + 1;
        d = D_DIAG;
      } else {
        /* backtrack: go left when t[i][j-1] > t[i-1][j], else up */
        d = cur[j - 1] > prev[j] ? D_LEFT : D_UP;
        cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
      }
      size_t c = (i - 1) * nc + (j - 1);
      dir[c / 4] |= (unsigned char)(d << ((c % 4) * 2));
    }
    uint32_t *t = prev;
    prev = cur;
    cur = t;
  }
  size_t i = nr, j = nc;
  while (i > 0 && j > 0) {
    size_t c = (i - 1) * nc + (j - 1);
    unsigned d = (dir[c / 4] >> ((c % 4) * 2)) & 3;
    if (d == D_DIAG) { mark[i - 1] = 1; i--; j--; }
    else if (d == D_LEFT) j--;
    else i--;
  }
  return 0;
}

static int score_lsum(struct rouge_work *w, struct rouge_score *out, char *err, size_t cap)
{
  size_t m = w->tids.n, n = w->pids.n;
  if (!m || !n) { finish(out, 0, 0); return 0; }
  uint32_t ntok = w->tok.n;
  if (u32_fill(&w->ct, ntok) || u32_fill(&w->cp, ntok) || u32_fill(&w->mark, m)) goto oom;
  for (size_t i = 0; i < m; i++) w->ct.v[w->tids.v[i]]++;
  for (size_t i = 0; i < n; i++) w->cp.v[w->pids.v[i]]++;
  uint64_t hits = 0;
  for (size_t r = 0; r + 1 < w->tline.n; r++) {
    size_t ra = w->tline.v[r], rn = w->tline.v[r + 1] - ra;
    if (!rn) continue;
    const uint32_t *ref = w->tids.v + ra;
    uint32_t *mark = w->mark.v + ra;
    for (size_t c = 0; c + 1 < w->pline.n; c++) {
      size_t ca = w->pline.v[c], cn = w->pline.v[c + 1] - ca;
      if (!cn) continue;
      if (lcs_mark(w, ref, rn, w->pids.v + ca, cn, mark, err, cap)) return -1;
    }
    for (size_t k = 0; k < rn; k++) {
      if (!mark[k]) continue;
      uint32_t t = ref[k];
      if (w->cp.v[t] > 0 && w->ct.v[t] > 0) {
        hits++;
        w->cp.v[t]--;
        w->ct.v[t]--;
      }
    }
  }
  finish(out, (double)hits / (double)n, (double)hits / (double)m);
  return 0;
oom:
  snprintf(err, cap, "rouge: out of memory");
  return -1;
}

int rouge_compute(struct rouge_work *w, const struct rouge_spec *spec, const char *tgt,
                  size_t tn, const char *pred, size_t pn, struct rouge_score *out, char *err,
                  size_t cap)
{
  intern_reset(&w->tok);
  w->tids.n = w->pids.n = w->tline.n = w->pline.n = 0;
  int rc;
  if (spec->kind == ROUGE_LSUM)
    rc = tokenize_lines(w, tgt, tn, spec->use_stemmer, &w->tids, &w->tline) ||
         tokenize_lines(w, pred, pn, spec->use_stemmer, &w->pids, &w->pline);
  else
    rc = tokenize(w, tgt, tn, spec->use_stemmer, &w->tids) ||
         tokenize(w, pred, pn, spec->use_stemmer, &w->pids);
  if (rc) {
    snprintf(err, cap, "rouge: out of memory");
    return -1;
  }
  switch (spec->kind) {
  case ROUGE_N:
    if (spec->n < 1 || spec->n > 9) {
      snprintf(err, cap, "rouge: invalid n-gram size %d", spec->n);
      return -1;
    }
    rc = score_n(w, spec->n, out);
    break;
  case ROUGE_L: return score_l(w, out, err, cap);
  case ROUGE_LSUM: return score_lsum(w, out, err, cap);
  default: snprintf(err, cap, "rouge: invalid rouge type"); return -1;
  }
  if (rc) snprintf(err, cap, "rouge: out of memory");
  return rc;
}

long rouge_tokens(struct rouge_work *w, const char *s, size_t n, int use_stemmer, char *out,
                  size_t cap)
{
  intern_reset(&w->tok);
  w->tids.n = 0;
  if (tokenize(w, s, n, use_stemmer, &w->tids)) return -1;
  size_t at = 0;
  if (cap) out[0] = '\0';
  for (size_t i = 0; i < w->tids.n; i++) {
    uint32_t id = w->tids.v[i];
    size_t len = w->tok.len[id];
    if (at + len + (i ? 1 : 0) + 1 > cap) break;
    if (i) out[at++] = ' ';
    memcpy(out + at, w->tok.arena + w->tok.off[id], len);
    at += len;
    out[at] = '\0';
  }
  return (long)w->tids.n;
}
