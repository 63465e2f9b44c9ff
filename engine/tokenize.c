/* tokenize.c: tiktoken-exact byte-level BPE. Three stages, as in tiktoken's
 * Rust core: invalid UTF-8 is replaced, a hand-written scanner splits the
 * text exactly as the encoding's regex would (leftmost alternative wins,
 * Unicode 16 classes from unicode_tab.c), and each piece is either one rank
 * (whole piece in the table) or merged pair by pair, lowest rank first. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "tokenize.h"
#include "unicode_tab.h"

enum { SCAN_CL100K, SCAN_O200K };

struct special {
  uint32_t id;
  const char *text;
};

struct tok_encoding {
  const char *name;
  const char *file;     /* embedded rank file */
  int scanner;          /* SCAN_* */
  uint32_t n_vocab;     /* largest id + 1 */
  const struct special *specials;
  /* built once by build() */
  pthread_once_t once;
  const char *err;      /* static message when the build failed */
  uint32_t n_ranks;
  uint32_t *off;        /* token r is pool[off[r] .. off[r+1]) */
  unsigned char *pool;
  uint64_t *slots;      /* tokens of 3+ bytes, packed by SLOT(); 0 = empty */
  uint64_t mask;
  uint32_t *pair_rank;  /* [b0 << 8 | b1]: rank of each 2-byte token */
  uint32_t byte_rank[256];
};

static const struct special cl100k_specials[] = {
  {100257, "<|endoftext|>"}, {100258, "<|fim_prefix|>"}, {100259, "<|fim_middle|>"},
  {100260, "<|fim_suffix|>"}, {100276, "<|endofprompt|>"}, {0, NULL}};
static const struct special o200k_specials[] = {
  {199999, "<|endoftext|>"}, {200018, "<|endofprompt|>"}, {0, NULL}};

static struct tok_encoding encodings[] = {
  {"cl100k_base", "engine/data/cl100k_base.tiktoken", SCAN_CL100K, 100277,
   cl100k_specials, PTHREAD_ONCE_INIT, NULL, 0, NULL, NULL, NULL, 0, NULL, {0}},
  {"o200k_base", "engine/data/o200k_base.tiktoken", SCAN_O200K, 200019,
   o200k_specials, PTHREAD_ONCE_INIT, NULL, 0, NULL, NULL, NULL, 0, NULL, {0}},
};
#define N_ENCODINGS (sizeof encodings / sizeof encodings[0])

/* ---------------------------------------------------------------- hashing */

static inline uint64_t load_tail(const unsigned char *p, size_t n)
{
  uint64_t w = 0;
  for (size_t i = 0; i < n; i++) w |= (uint64_t)p[i] << (8 * i);
  return w;
}

static inline uint64_t hash_bytes(const unsigned char *p, size_t n)
{
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n) {
    h = (h ^ load_tail(p, n)) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
  }
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 32;
  return h;
}

#define NO_RANK UINT32_MAX

/* a[0..n) == b[0..n) without a libc call for the usual short tokens: two
 * overlapping loads cover 4..16 bytes and never read outside either range */
static inline int same_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
  if (n >= 8 && n <= 16) {
    uint64_t x0, y0, x1, y1;
    memcpy(&x0, a, 8), memcpy(&y0, b, 8), memcpy(&x1, a + n - 8, 8), memcpy(&y1, b + n - 8, 8);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  if (n >= 4 && n < 8) {
    uint32_t x0, y0, x1, y1;
    memcpy(&x0, a, 4), memcpy(&y0, b, 4), memcpy(&x1, a + n - 4, 4), memcpy(&y1, b + n - 4, 4);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  if (n < 4) {
    for (size_t i = 0; i < n; i++)
      if (a[i] != b[i]) return 0;
    return 1;
  }
  return memcmp(a, b, n) == 0;
}

/* A hash slot holds everything a lookup needs, so a hit touches the slot
 * and the token's bytes only: hash tag (17 bits) | length (8) | offset in
 * the pool (21) | rank (18). build_one checks that the tables fit. */
#define SLOT_RANK_BITS 18
#define SLOT_OFF_BITS 21
#define SLOT_LEN_BITS 8
#define SLOT_TAG_SHIFT (SLOT_RANK_BITS + SLOT_OFF_BITS + SLOT_LEN_BITS)
#define SLOT(h, len, off, rank)                                                    \
  ((h) >> SLOT_TAG_SHIFT << SLOT_TAG_SHIFT |                                       \
   (uint64_t)(len) << (SLOT_RANK_BITS + SLOT_OFF_BITS) | (uint64_t)(off) << SLOT_RANK_BITS | \
   (uint64_t)(rank))
#define SLOT_KEY(h, len) ((h) >> SLOT_TAG_SHIFT << SLOT_LEN_BITS | (uint64_t)(len))
#define SLOT_KEY_OF(s) ((s) >> (SLOT_RANK_BITS + SLOT_OFF_BITS))
#define SLOT_OFF_OF(s) ((uint32_t)((s) >> SLOT_RANK_BITS) & ((1u << SLOT_OFF_BITS) - 1))
#define SLOT_RANK_OF(s) ((uint32_t)(s) & ((1u << SLOT_RANK_BITS) - 1))

/* rank of the byte string p[0..n) (3 bytes or more) whose hash_bytes is h,
 * or NO_RANK */
static inline uint32_t rank_of_hashed(const tok_encoding *e, const unsigned char *p, size_t n,
                                      uint64_t h)
{
  if (n >= 1u << SLOT_LEN_BITS) return NO_RANK; /* longer than any token */
  uint64_t key = SLOT_KEY(h, n), i = h & e->mask;
  for (;;) {
    uint64_t s = e->slots[i];
    if (!s) return NO_RANK;
    if (SLOT_KEY_OF(s) == key && same_bytes(e->pool + SLOT_OFF_OF(s), p, n)) return SLOT_RANK_OF(s);
    i = (i + 1) & e->mask;
  }
}

/* rank of the byte string p[0..n), or NO_RANK */
static inline uint32_t rank_of(const tok_encoding *e, const unsigned char *p, size_t n)
{
  if (n == 1) return e->byte_rank[p[0]];
  if (n == 2) return e->pair_rank[p[0] << 8 | p[1]];
  return rank_of_hashed(e, p, n, hash_bytes(p, n));
}

/* ------------------------------------------------------- table building */

static signed char b64val[256];

static void b64_init(void)
{
  memset(b64val, -1, sizeof b64val);
  const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; i++) b64val[(unsigned char)a[i]] = (signed char)i;
}

/* decodes base64 s[0..n) into out; returns the byte count or -1 */
static long b64_decode(const unsigned char *s, size_t n, unsigned char *out)
{
  if (n % 4) return -1;
  long o = 0;
  for (size_t i = 0; i < n; i += 4) {
    int pad = (s[i + 3] == '=') + (s[i + 2] == '=');
    if (pad && i + 4 != n) return -1;
    int v0 = b64val[s[i]], v1 = b64val[s[i + 1]];
    int v2 = pad >= 2 ? 0 : b64val[s[i + 2]], v3 = pad >= 1 ? 0 : b64val[s[i + 3]];
    if ((v0 | v1 | v2 | v3) < 0) return -1;
    uint32_t w = (uint32_t)v0 << 18 | (uint32_t)v1 << 12 | (uint32_t)v2 << 6 | (uint32_t)v3;
    out[o++] = (unsigned char)(w >> 16);
    if (pad < 2) out[o++] = (unsigned char)(w >> 8);
    if (pad < 1) out[o++] = (unsigned char)w;
  }
  return o;
}

static void free_tables(tok_encoding *e)
{
  free(e->off);
  free(e->pool);
  free(e->slots);
  free(e->pair_rank);
  e->off = NULL;
  e->pool = NULL;
  e->slots = NULL;
  e->pair_rank = NULL;
}

/* Parses the embedded "<base64> <rank>\n" file; ranks must be 0..n-1, each
 * once. Sets e->err on failure. */
static void build_one(tok_encoding *e)
{
  size_t len;
  const unsigned char *src = embed_find(e->file, &len);
  if (!src) {
    e->err = "rank file not embedded in this binary";
    return;
  }
  size_t lines = 0;
  for (size_t i = 0; i < len; i++) lines += src[i] == '\n';
  if (len && src[len - 1] != '\n') lines++;
  if (lines == 0 || lines >= NO_RANK / 2) {
    e->err = "rank file is empty";
    return;
  }
  e->n_ranks = (uint32_t)lines;
  e->off = malloc((lines + 1) * sizeof *e->off);
  uint32_t *tmp_off = malloc(lines * sizeof *tmp_off), *tmp_len = malloc(lines * sizeof *tmp_len);
  unsigned char *raw = malloc(len / 4 * 3 + 4);
  uint64_t cap = 1;
  while (cap < (uint64_t)lines * 2) cap <<= 1;
  e->mask = cap - 1;
  e->slots = calloc(cap, sizeof *e->slots);
  e->pair_rank = malloc(65536 * sizeof *e->pair_rank);
  if (!e->off || !tmp_off || !tmp_len || !raw || !e->slots || !e->pair_rank) {
    e->err = "out of memory building the rank table";
    goto fail;
  }
  for (size_t r = 0; r < lines; r++) tmp_len[r] = UINT32_MAX;
  size_t pos = 0, total = 0;
  for (size_t ln = 0; ln < lines; ln++) {
    size_t sp = pos;
    while (sp < len && src[sp] != ' ' && src[sp] != '\n') sp++;
    if (sp >= len || src[sp] != ' ') {
      e->err = "malformed line in the rank file";
      goto fail;
    }
    uint64_t rank = 0;
    size_t q = sp + 1, digits = 0;
    while (q < len && src[q] >= '0' && src[q] <= '9' && digits < 11) {
      rank = rank * 10 + (uint64_t)(src[q] - '0');
      q++;
      digits++;
    }
    if (!digits || (q < len && src[q] != '\n') || rank >= lines || tmp_len[rank] != UINT32_MAX) {
      e->err = "bad or duplicate rank in the rank file";
      goto fail;
    }
    long n = b64_decode(src + pos, sp - pos, raw + total);
    if (n <= 0) {
      e->err = "bad base64 in the rank file";
      goto fail;
    }
    tmp_off[rank] = (uint32_t)total;
    tmp_len[rank] = (uint32_t)n;
    total += (size_t)n;
    pos = q + 1;
  }
  /* lay the tokens out in rank order so off[] is monotone */
  e->pool = malloc(total ? total : 1);
  if (!e->pool) {
    e->err = "out of memory building the rank table";
    goto fail;
  }
  uint32_t o = 0;
  for (size_t r = 0; r < lines; r++) {
    e->off[r] = o;
    memcpy(e->pool + o, raw + tmp_off[r], tmp_len[r]);
    o += tmp_len[r];
  }
  e->off[lines] = o;
  if (lines > 1u << SLOT_RANK_BITS || o > 1u << SLOT_OFF_BITS) {
    e->err = "rank file too large for the token index";
    goto fail;
  }
  for (int b = 0; b < 256; b++) e->byte_rank[b] = NO_RANK;
  for (int b = 0; b < 65536; b++) e->pair_rank[b] = NO_RANK;
  for (uint32_t r = 0; r < e->n_ranks; r++) {
    const unsigned char *p = e->pool + e->off[r];
    size_t n = e->off[r + 1] - e->off[r];
    if (n == 1) {
      if (e->byte_rank[p[0]] != NO_RANK) goto dup;
      e->byte_rank[p[0]] = r;
      continue;
    }
    if (n == 2) {
      if (e->pair_rank[p[0] << 8 | p[1]] != NO_RANK) goto dup;
      e->pair_rank[p[0] << 8 | p[1]] = r;
      continue;
    }
    if (n >= 1u << SLOT_LEN_BITS) {
      e->err = "rank file has a token too long for the token index";
      goto fail;
    }
    uint64_t h = hash_bytes(p, n), i = h & e->mask;
    while (e->slots[i]) {
      uint32_t s = SLOT_RANK_OF(e->slots[i]);
      if (e->off[s + 1] - e->off[s] == n && memcmp(e->pool + e->off[s], p, n) == 0) goto dup;
      i = (i + 1) & e->mask;
    }
    e->slots[i] = SLOT(h, n, e->off[r], r);
  }
  for (int b = 0; b < 256; b++)
    if (e->byte_rank[b] == NO_RANK) {
      e->err = "rank file lacks a single-byte token";
      goto fail;
    }
  free(tmp_off);
  free(tmp_len);
  free(raw);
  return;
dup:
  e->err = "duplicate token in the rank file";
fail:
  free(tmp_off);
  free(tmp_len);
  free(raw);
  free_tables(e);
}

static pthread_once_t b64_once = PTHREAD_ONCE_INIT;
static void build_cl100k(void) { build_one(&encodings[0]); }
static void build_o200k(void) { build_one(&encodings[1]); }
static void (*const builders[N_ENCODINGS])(void) = {build_cl100k, build_o200k};

const char *tok_known(void) { return "cl100k_base, o200k_base"; }

const tok_encoding *tok_get(const char *name, const char **err)
{
  for (size_t i = 0; i < N_ENCODINGS; i++) {
    if (strcmp(name, encodings[i].name) != 0) continue;
    pthread_once(&b64_once, b64_init);
    pthread_once(&encodings[i].once, builders[i]);
    if (encodings[i].err) {
      if (err) *err = encodings[i].err;
      return NULL;
    }
    return &encodings[i];
  }
  if (err) *err = "unknown encoding (known: cl100k_base, o200k_base)";
  return NULL;
}

const char *tok_name(const tok_encoding *e) { return e->name; }

long tok_rank(const tok_encoding *e, const void *p, size_t n)
{
  if (n == 0) return -1;
  uint32_t r = rank_of(e, p, n);
  return r == NO_RANK ? -1 : (long)r;
}
uint32_t tok_n_vocab(const tok_encoding *e) { return e->n_vocab; }

/* ------------------------------------------------------------ UTF-8 */

/* length of the valid sequence at s[i] (s has n bytes), 0 when invalid;
 * *sub gets the length of the maximal invalid subpart otherwise */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t i, size_t *sub)
{
  unsigned b = s[i];
  size_t need;
  unsigned lo = 0x80, hi = 0xBF;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) need = 1;
  else if (b == 0xE0) need = 2, lo = 0xA0;
  else if (b == 0xED) need = 2, hi = 0x9F;
  else if (b >= 0xE1 && b <= 0xEF) need = 2;
  else if (b == 0xF0) need = 3, lo = 0x90;
  else if (b == 0xF4) need = 3, hi = 0x8F;
  else if (b >= 0xF1 && b <= 0xF3) need = 3;
  else {
    *sub = 1;
    return 0;
  }
  for (size_t k = 1; k <= need; k++) {
    if (i + k >= n || s[i + k] < lo || s[i + k] > hi) {
      *sub = k;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

char *tok_utf8_sanitize(const char *text, size_t len, size_t *outlen)
{
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0, sub = 0, bad = 0;
  while (i < len) {
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = utf8_seq(s, len, i, &sub);
    if (!k) break;
    i += k;
  }
  if (i == len) return NULL;
  /* count the replacements to size the copy */
  for (size_t j = i; j < len;) {
    size_t k = utf8_seq(s, len, j, &sub);
    if (k) j += k;
    else j += sub, bad++;
  }
  char *out = malloc(len + 2 * bad + 1);
  if (!out) {
    *outlen = (size_t)-1;
    return NULL;
  }
  memcpy(out, text, i);
  size_t o = i;
  while (i < len) {
    size_t k = utf8_seq(s, len, i, &sub);
    if (k) {
      memcpy(out + o, s + i, k);
      o += k;
      i += k;
    } else {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i += sub;
    }
  }
  out[o] = '\0';
  *outlen = o;
  return out;
}

/* ----------------------------------------------------------- the scanner */

/* character classes of ASCII, and helpers over valid UTF-8 */
#define C_CRLF 64 /* \r or \n, on top of UC_WS */

static unsigned char ascii_class[128];
static pthread_once_t ascii_once = PTHREAD_ONCE_INIT;
static void ascii_init(void)
{
  for (int c = 0; c < 128; c++) ascii_class[c] = (unsigned char)uc_class((uint32_t)c);
  ascii_class['\r'] |= C_CRLF;
  ascii_class['\n'] |= C_CRLF;
}

/* class of the character at s[i] (i < n) and its byte length in *len */
static inline unsigned cls_at(const unsigned char *s, size_t i, size_t *len)
{
  unsigned b = s[i];
  if (b < 0x80) {
    *len = 1;
    return ascii_class[b];
  }
  uint32_t cp;
  if (b < 0xE0) {
    cp = (b & 0x1Fu) << 6 | (s[i + 1] & 0x3Fu);
    *len = 2;
  } else if (b < 0xF0) {
    cp = (b & 0x0Fu) << 12 | (s[i + 1] & 0x3Fu) << 6 | (s[i + 2] & 0x3Fu);
    *len = 3;
  } else {
    cp = (b & 0x07u) << 18 | (s[i + 1] & 0x3Fu) << 12 | (s[i + 2] & 0x3Fu) << 6 |
         (s[i + 3] & 0x3Fu);
    *len = 4;
  }
  return uc_class(cp);
}

/* end of the run of characters having one of `bits`, from i */
static inline size_t run_of(const unsigned char *s, size_t n, size_t i, unsigned bits)
{
  size_t l;
  while (i < n) {
    if (s[i] < 0x80) {
      if (!(ascii_class[s[i]] & bits)) break;
      i++;
      continue;
    }
    if (!(cls_at(s, i, &l) & bits)) break;
    i += l;
  }
  return i;
}

/* "other": [^\s\p{L}\p{N}] */
#define IS_OTHER(c) (!((c) & (UC_WS | UC_L | UC_N)))
/* the optional prefix [^\r\n\p{L}\p{N}] */
#define IS_PREFIX(c) (!((c) & (C_CRLF | UC_L | UC_N)))

/* (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[i]: its end, or 0. Case-insensitive
 * as Rust's regex: simple case folding, so 's' also matches U+017F. */
static inline size_t contraction(const unsigned char *s, size_t n, size_t i)
{
  if (i >= n || s[i] != '\'' || i + 1 >= n) return 0;
  unsigned a = s[i + 1] | 0x20;
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
  if (s[i + 1] == 0xC5 && i + 2 < n && s[i + 2] == 0xBF) return i + 3; /* U+017F */
  if (i + 2 >= n) return 0;
  unsigned b = s[i + 2] | 0x20;
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
  return 0;
}

/* end of the other-run from i, then of [\r\n]* (cl100k) or [\r\n/]* (o200k) */
static inline size_t punct_piece(const unsigned char *s, size_t n, size_t i, int slash)
{
  size_t l;
  while (i < n) {
    unsigned c = cls_at(s, i, &l);
    if (!IS_OTHER(c)) break;
    i += l;
  }
  while (i < n && (s[i] == '\r' || s[i] == '\n' || (slash && s[i] == '/'))) i++;
  return i;
}

/* the three whitespace rules shared by both encodings, at a \s char:
 * \s*[\r\n]+ | \s+(?!\S) | \s+ */
static inline size_t space_piece(const unsigned char *s, size_t n, size_t i)
{
  size_t j = i, last_start = i, after_crlf = 0, l;
  while (j < n) {
    unsigned c = cls_at(s, j, &l);
    if (!(c & UC_WS)) break;
    if (c & C_CRLF) after_crlf = j + 1;
    last_start = j;
    j += l;
  }
  if (after_crlf) return after_crlf;
  if (j == n) return j;
  if (last_start > i) return last_start; /* leave the last space to the next piece */
  return j;
}

/* the piece of cl100k_base starting at i (< n):
 * '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|
 *  ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s */
static size_t piece_cl100k(const unsigned char *s, size_t n, size_t i)
{
  size_t l0, l1, e;
  if ((e = contraction(s, n, i))) return e;
  unsigned c0 = cls_at(s, i, &l0);
  if (c0 & UC_L) return run_of(s, n, i + l0, UC_L);
  if (IS_PREFIX(c0) && i + l0 < n && (cls_at(s, i + l0, &l1) & UC_L))
    return run_of(s, n, i + l0 + l1, UC_L);
  if (c0 & UC_N) {
    e = i + l0;
    for (int k = 1; k < 3 && e < n && (cls_at(s, e, &l1) & UC_N); k++) e += l1;
    return e;
  }
  if (s[i] == ' ' && i + 1 < n && IS_OTHER(cls_at(s, i + 1, &l1))) return punct_piece(s, n, i + 1, 0);
  if (IS_OTHER(c0)) return punct_piece(s, n, i, 0);
  return space_piece(s, n, i);
}

/* o200k's letter alternatives from s0:
 * A: [UP]*[LO]+ contraction?   B: [UP]+[LO]* contraction?   (0 = no match) */
static inline size_t o200k_a(const unsigned char *s, size_t n, size_t s0)
{
  size_t j = s0, last_lo = 0, l;
  while (j < n) {
    unsigned c = cls_at(s, j, &l);
    if (!(c & UC_UP)) break;
    if (c & UC_LO) last_lo = j + l;
    j += l;
  }
  size_t e;
  if (j < n && (cls_at(s, j, &l) & UC_LO)) e = run_of(s, n, j + l, UC_LO);
  else if (last_lo) e = last_lo; /* backtrack: the last LO char of the UP run ends [LO]+ */
  else return 0;
  size_t c = contraction(s, n, e);
  return c ? c : e;
}

static inline size_t o200k_b(const unsigned char *s, size_t n, size_t s0)
{
  size_t j = run_of(s, n, s0, UC_UP);
  if (j == s0) return 0;
  size_t e = run_of(s, n, j, UC_LO);
  size_t c = contraction(s, n, e);
  return c ? c : e;
}

/* the piece of o200k_base starting at i (< n); see o200k_a/o200k_b, then
 * \p{N}{1,3} | ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+ */
static size_t piece_o200k(const unsigned char *s, size_t n, size_t i)
{
  size_t l0, l1, e;
  unsigned c0 = cls_at(s, i, &l0);
  int pre = IS_PREFIX(c0) && i + l0 < n;
  if (pre && (e = o200k_a(s, n, i + l0))) return e;
  if ((c0 & (UC_UP | UC_LO)) && (e = o200k_a(s, n, i))) return e;
  if (pre && (e = o200k_b(s, n, i + l0))) return e;
  if ((c0 & UC_UP) && (e = o200k_b(s, n, i))) return e;
  if (c0 & UC_N) {
    e = i + l0;
    for (int k = 1; k < 3 && e < n && (cls_at(s, e, &l1) & UC_N); k++) e += l1;
    return e;
  }
  if (s[i] == ' ' && i + 1 < n && IS_OTHER(cls_at(s, i + 1, &l1))) return punct_piece(s, n, i + 1, 1);
  if (IS_OTHER(c0)) return punct_piece(s, n, i, 1);
  return space_piece(s, n, i);
}

/* ---------------------------------------------------------- BPE merging */

struct sink {
  int collect; /* 0: count only */
  int oom;
  uint32_t *ids;
  size_t n, cap;
};

static inline void emit(struct sink *k, uint32_t id)
{
  if (k->collect) {
    if (k->n == k->cap) {
      size_t nc = k->cap ? k->cap * 2 : 64;
      uint32_t *p = realloc(k->ids, nc * sizeof *p);
      if (!p) {
        k->oom = 1;
        return;
      }
      k->ids = p;
      k->cap = nc;
    }
    k->ids[k->n] = id;
  }
  k->n++;
}

#define SMALL_PIECE 256

/* tiktoken's O(n*m) merge for short pieces: parts[] are start offsets,
 * ranks[i] the rank of the pair starting at part i */
static size_t bpe_small(const tok_encoding *e, const unsigned char *p, size_t n, uint32_t *out)
{
  uint32_t start[SMALL_PIECE + 1], rank[SMALL_PIECE], token[SMALL_PIECE];
  size_t m = n; /* number of parts */
  for (size_t i = 0; i <= n; i++) start[i] = (uint32_t)i;
  for (size_t i = 0; i + 1 < n; i++) rank[i] = e->pair_rank[p[i] << 8 | p[i + 1]];
  for (size_t i = 0; i < n; i++) token[i] = e->byte_rank[p[i]];
  rank[n - 1] = NO_RANK;
  for (;;) {
    uint32_t best = NO_RANK;
    size_t bi = 0;
    for (size_t i = 0; i + 1 < m; i++)
      if (rank[i] < best) best = rank[i], bi = i;
    if (best == NO_RANK) break;
    /* merge part bi with bi+1: the merged part is the token `best` */
    memmove(start + bi + 1, start + bi + 2, (m - bi - 1) * sizeof *start);
    memmove(rank + bi + 1, rank + bi + 2, (m - bi - 2) * sizeof *rank);
    memmove(token + bi + 1, token + bi + 2, (m - bi - 2) * sizeof *token);
    token[bi] = best;
    m--;
    rank[bi] = bi + 1 < m ? rank_of(e, p + start[bi], start[bi + 2] - start[bi]) : NO_RANK;
    if (bi > 0) rank[bi - 1] = rank_of(e, p + start[bi - 1], start[bi + 1] - start[bi - 1]);
  }
  memcpy(out, token, m * sizeof *out);
  return m;
}

/* the same merge order for long pieces in O(n log n): a linked list of parts
 * and a min-heap of (rank, start) with stale entries skipped */
struct hent {
  uint32_t rank, pos;
};

static inline int hless(struct hent a, struct hent b)
{
  return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(struct hent *h, size_t *hn, struct hent x)
{
  size_t i = (*hn)++;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (!hless(x, h[up])) break;
    h[i] = h[up];
    i = up;
  }
  h[i] = x;
}

static struct hent heap_pop(struct hent *h, size_t *hn)
{
  struct hent top = h[0], x = h[--*hn];
  size_t i = 0, n = *hn;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && hless(h[c + 1], h[c])) c++;
    if (!hless(h[c], x)) break;
    h[i] = h[c];
    i = c;
  }
  if (n) h[i] = x;
  return top;
}

static int bpe_large(const tok_encoding *e, const unsigned char *p, size_t n, struct sink *k)
{
  /* next[i]/prev[i]: neighbouring part starts (n = end, NO_RANK = none);
   * rank[i]: rank of the pair at part i, NO_RANK when none or dead */
  uint32_t *next = malloc((n + 1) * sizeof *next), *prev = malloc(n * sizeof *prev);
  uint32_t *rank = malloc(n * sizeof *rank);
  struct hent *h = malloc(2 * n * sizeof *h); /* at most n + 2 per merge, minus pops */
  size_t hn = 0, hcap = 2 * n;
  if (!next || !prev || !rank || !h) goto oom;
  for (size_t i = 0; i < n; i++) {
    next[i] = (uint32_t)(i + 1);
    prev[i] = i ? (uint32_t)(i - 1) : NO_RANK;
    rank[i] = i + 1 < n ? rank_of(e, p + i, 2) : NO_RANK;
    if (rank[i] != NO_RANK) heap_push(h, &hn, (struct hent){rank[i], (uint32_t)i});
  }
  while (hn) {
    struct hent t = heap_pop(h, &hn);
    uint32_t i = t.pos;
    if (rank[i] != t.rank) continue; /* stale */
    uint32_t j = next[i];            /* merge part j into part i */
    uint32_t jn = next[j];
    next[i] = jn;
    if (jn < n) prev[jn] = i;
    rank[j] = NO_RANK;
    if (hn + 2 > hcap) {
      hcap *= 2;
      struct hent *nh = realloc(h, hcap * sizeof *h);
      if (!nh) goto oom;
      h = nh;
    }
    rank[i] = jn < n ? rank_of(e, p + i, next[jn] - i) : NO_RANK;
    if (rank[i] != NO_RANK) heap_push(h, &hn, (struct hent){rank[i], i});
    uint32_t pi = prev[i];
    if (pi != NO_RANK) {
      rank[pi] = rank_of(e, p + pi, jn - pi);
      if (rank[pi] != NO_RANK) heap_push(h, &hn, (struct hent){rank[pi], pi});
    }
  }
  for (uint32_t i = 0; i < n; i = next[i]) emit(k, rank_of(e, p + i, next[i] - i));
  free(next);
  free(prev);
  free(rank);
  free(h);
  return 0;
oom:
  free(next);
  free(prev);
  free(rank);
  free(h);
  return -1;
}

/* A per-thread cache of the tokens of recent short pieces (pieces repeat:
 * " the", "ing", code identifiers), so most pieces cost one hash and one
 * cache line instead of lookups in the large tables. */
#define CACHE_SLOTS 2048
#define CACHE_BYTES 20
#define CACHE_TOKS 8

struct centry {
  uint64_t h;
  uint8_t len, ntok; /* len 0: empty */
  uint8_t bytes[CACHE_BYTES];
  uint32_t tok[CACHE_TOKS];
};

struct tcache {
  struct centry slot[N_ENCODINGS][CACHE_SLOTS];
};

static pthread_key_t cache_key;
static int cache_key_ok;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static _Thread_local struct tcache *tls_cache;

static void cache_key_init(void) { cache_key_ok = pthread_key_create(&cache_key, free) == 0; }

/* this thread's cache for encoding e, or NULL (no memory: go uncached) */
static struct centry *thread_cache(const tok_encoding *e)
{
  if (!tls_cache) {
    pthread_once(&cache_once, cache_key_init);
    if (!cache_key_ok) return NULL;
    struct tcache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (pthread_setspecific(cache_key, c) != 0) { /* freed at thread exit */
      free(c);
      return NULL;
    }
    tls_cache = c;
  }
  return tls_cache->slot[e - encodings];
}

static int encode_piece(const tok_encoding *e, const unsigned char *p, size_t n, struct sink *k,
                        struct centry *cache)
{
  uint32_t out[SMALL_PIECE];
  if (n <= 2) {
    uint32_t r = rank_of(e, p, n);
    if (r != NO_RANK) {
      emit(k, r);
      return 0;
    }
  } else if (n <= CACHE_BYTES && cache) {
    uint64_t h = hash_bytes(p, n);
    struct centry *c = &cache[(h ^ h >> 29) & (CACHE_SLOTS - 1)];
    if (c->h == h && c->len == n && same_bytes(c->bytes, p, n)) {
      for (unsigned i = 0; i < c->ntok; i++) emit(k, c->tok[i]);
      return 0;
    }
    uint32_t r = rank_of_hashed(e, p, n, h);
    size_t m = 1;
    if (r != NO_RANK) out[0] = r;
    else m = bpe_small(e, p, n, out);
    for (size_t i = 0; i < m; i++) emit(k, out[i]);
    if (m <= CACHE_TOKS) {
      c->h = h;
      c->len = (uint8_t)n;
      c->ntok = (uint8_t)m;
      memcpy(c->bytes, p, n);
      memcpy(c->tok, out, m * sizeof *out);
    }
    return 0;
  } else {
    uint32_t r = rank_of(e, p, n);
    if (r != NO_RANK) {
      emit(k, r);
      return 0;
    }
  }
  if (n <= SMALL_PIECE) {
    size_t m = bpe_small(e, p, n, out);
    for (size_t i = 0; i < m; i++) emit(k, out[i]);
    return 0;
  }
  if (n >= UINT32_MAX / 2) return -1; /* positions are 32-bit: a 2 GiB run of letters */
  return bpe_large(e, p, n, k);
}

typedef size_t (*piece_fn)(const unsigned char *, size_t, size_t);

static int encode_all(const tok_encoding *e, const char *text, size_t len, struct sink *k)
{
  pthread_once(&ascii_once, ascii_init);
  size_t clean_len = 0;
  char *clean = tok_utf8_sanitize(text, len, &clean_len);
  if (!clean && clean_len == (size_t)-1) return -1;
  const unsigned char *s = (const unsigned char *)(clean ? clean : text);
  size_t n = clean ? clean_len : len;
  piece_fn next = e->scanner == SCAN_CL100K ? piece_cl100k : piece_o200k;
  struct centry *cache = thread_cache(e);
  int rc = 0;
  for (size_t i = 0; i < n;) {
    size_t j = next(s, n, i);
    if (encode_piece(e, s + i, j - i, k, cache) || k->oom) {
      rc = -1;
      break;
    }
    i = j;
  }
  free(clean);
  return rc;
}

int tok_encode(const tok_encoding *e, const char *text, size_t len, uint32_t **ids, size_t *n)
{
  struct sink k = {1, 0, NULL, 0, 0};
  int rc = encode_all(e, text, len, &k);
  if (rc) {
    free(k.ids);
    *ids = NULL;
    *n = 0;
    return -1;
  }
  *ids = k.ids;
  *n = k.n;
  return 0;
}

size_t tok_count(const tok_encoding *e, const char *text, size_t len)
{
  struct sink k = {0, 0, NULL, 0, 0};
  if (encode_all(e, text, len, &k)) return (size_t)-1;
  return k.n;
}

int tok_decode(const tok_encoding *e, const uint32_t *ids, size_t n, char **out, size_t *outlen,
               size_t *bad)
{
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t id = ids[i];
    if (id < e->n_ranks) {
      total += e->off[id + 1] - e->off[id];
      continue;
    }
    const struct special *sp = e->specials;
    while (sp->text && sp->id != id) sp++;
    if (!sp->text) {
      *bad = i;
      return -2;
    }
    total += strlen(sp->text);
  }
  char *buf = malloc(total + 1);
  if (!buf) return -1;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t id = ids[i];
    if (id < e->n_ranks) {
      size_t l = e->off[id + 1] - e->off[id];
      memcpy(buf + o, e->pool + e->off[id], l);
      o += l;
      continue;
    }
    const struct special *sp = e->specials;
    while (sp->id != id) sp++;
    size_t l = strlen(sp->text);
    memcpy(buf + o, sp->text, l);
    o += l;
  }
  buf[o] = '\0';
  *out = buf;
  *outlen = o;
  return 0;
}

size_t tok_split(const tok_encoding *e, const char *text, size_t len,
                 void (*fn)(size_t start, size_t end, void *ud), void *ud)
{
  pthread_once(&ascii_once, ascii_init);
  const unsigned char *s = (const unsigned char *)text;
  size_t sub;
  for (size_t i = 0; i < len;) { /* the scanner reads whole sequences */
    size_t k = utf8_seq(s, len, i, &sub);
    if (!k) return (size_t)-1;
    i += k;
  }
  piece_fn next = e->scanner == SCAN_CL100K ? piece_cl100k : piece_o200k;
  size_t count = 0;
  for (size_t i = 0; i < len; count++) {
    size_t j = next(s, len, i);
    if (fn) fn(i, j, ud);
    i = j;
  }
  return count;
}
