/* roberta.c: config.json, model.safetensors (mmap) and the forward pass of
 * RobertaForSequenceClassification (see roberta.h). */
#define _GNU_SOURCE /* memmem */
#include "roberta.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe_gpt2.h"
#include "file.h"
#include "roberta_json.h"
#include "sha256.h"

/* Token rows per forward pass (a batch stops growing past it): bounds the
 * work buffers, 7,680 floats a row at roberta-base size (120 MB here). */
#define ROBERTA_BATCH_ROWS 4096
#define HUGE_ALIGN ((size_t)2 << 20)

typedef struct {
  const float *qkv_w; /* [3H, H]: query, key, value rows (owned copy) */
  const float *qkv_b; /* [3H] (owned copy) */
  const float *ao_w, *ao_b, *ln1_g, *ln1_b;
  const float *in_w, *in_b, *out_w, *out_b, *ln2_g, *ln2_b;
} layer_w;

struct roberta_model {
  roberta_config c;
  bpe_tokenizer *tok;
  char *path;           /* model.safetensors */
  unsigned char *map;   /* the mmap of model.safetensors */
  size_t map_len;
  const unsigned char *data; /* start of the tensor bytes */
  size_t data_len;
  rj_value header;
  float **owned;
  size_t nowned, capowned;
  const float *word, *pos, *type, *emb_g, *emb_b;
  layer_w *L;
  const float *cls_w, *cls_b, *out_w, *out_b;
  char sha[65];
};

/* ---- loading ---- */

static char *join(const char *dir, const char *name)
{
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static int cfg_int(const rj_value *cfg, const char *key, int *out, int required, const char *path,
                   char *err, size_t errlen)
{
  const rj_value *v = rj_get(cfg, key);
  if (!v || v->type == RJ_NULL) {
    if (!required) return 0;
    snprintf(err, errlen, "roberta: %s: missing \"%s\"", path, key);
    return -1;
  }
  if (v->type != RJ_NUM || v->num != floor(v->num) || v->num < 0 || v->num > 1e8) {
    snprintf(err, errlen, "roberta: %s: \"%s\" must be a non-negative integer", path, key);
    return -1;
  }
  *out = (int)v->num;
  return 0;
}

static int lower_eq(const char *a, const char *b)
{
  for (; *a && *b; a++, b++) {
    char x = *a >= 'A' && *a <= 'Z' ? *a + 32 : *a;
    if (x != *b) return 0;
  }
  return *a == 0 && *b == 0;
}

static int load_config(roberta_model *m, const char *dir, char *err, size_t errlen)
{
  char *path = join(dir, "config.json");
  size_t len;
  char *src = path ? file_read("roberta", path, &len, err, errlen) : NULL;
  if (!src) {
    if (!path) snprintf(err, errlen, "roberta: out of memory");
    free(path);
    return -1;
  }
  rj_value cfg;
  char jerr[200];
  int rc = -1;
  if (rj_parse(src, len, &cfg, jerr, sizeof jerr) != 0) {
    snprintf(err, errlen, "roberta: %s:%s", path, jerr);
    free(src);
    free(path);
    return -1;
  }
  roberta_config *c = &m->c;
  c->type_vocab = 1;
  c->pad_id = 1;
  c->bos_id = 0;
  c->eos_id = 2;
  c->eps = 1e-5;
  if (cfg.type != RJ_OBJ) {
    snprintf(err, errlen, "roberta: %s: expected an object", path);
    goto done;
  }
  if (cfg_int(&cfg, "num_hidden_layers", &c->layers, 1, path, err, errlen) ||
      cfg_int(&cfg, "hidden_size", &c->hidden, 1, path, err, errlen) ||
      cfg_int(&cfg, "num_attention_heads", &c->heads, 1, path, err, errlen) ||
      cfg_int(&cfg, "intermediate_size", &c->intermediate, 1, path, err, errlen) ||
      cfg_int(&cfg, "vocab_size", &c->vocab, 1, path, err, errlen) ||
      cfg_int(&cfg, "max_position_embeddings", &c->max_positions, 1, path, err, errlen) ||
      cfg_int(&cfg, "type_vocab_size", &c->type_vocab, 0, path, err, errlen) ||
      cfg_int(&cfg, "pad_token_id", &c->pad_id, 0, path, err, errlen) ||
      cfg_int(&cfg, "bos_token_id", &c->bos_id, 0, path, err, errlen) ||
      cfg_int(&cfg, "eos_token_id", &c->eos_id, 0, path, err, errlen))
    goto done;
  if (c->layers < 1 || c->hidden < 1 || c->heads < 1 || c->hidden % c->heads != 0 ||
      c->intermediate < 1 || c->vocab < 1 || c->type_vocab < 1) {
    snprintf(err, errlen, "roberta: %s: inconsistent sizes (hidden_size must be a multiple of "
             "num_attention_heads, all sizes positive)", path);
    goto done;
  }
  const rj_value *eps = rj_get(&cfg, "layer_norm_eps");
  if (eps && eps->type == RJ_NUM && eps->num > 0) c->eps = eps->num;
  const rj_value *act = rj_get(&cfg, "hidden_act");
  if (act && act->type == RJ_STR) {
    if (!strcmp(act->str, "gelu")) c->act = 0;
    else if (!strcmp(act->str, "gelu_new") || !strcmp(act->str, "gelu_pytorch_tanh")) c->act = 1;
    else if (!strcmp(act->str, "relu")) c->act = 2;
    else {
      snprintf(err, errlen, "roberta: %s: hidden_act \"%s\" is not supported (gelu, gelu_new, relu)",
               path, act->str);
      goto done;
    }
  }
  const rj_value *pet = rj_get(&cfg, "position_embedding_type");
  if (pet && pet->type == RJ_STR && strcmp(pet->str, "absolute") != 0) {
    snprintf(err, errlen, "roberta: %s: position_embedding_type \"%s\" is not supported (absolute)",
             path, pet->str);
    goto done;
  }
  /* labels: id2label {"0": "nothate", "1": "hate"} */
  const rj_value *id2 = rj_get(&cfg, "id2label");
  c->num_labels = 2;
  if (id2 && id2->type == RJ_OBJ && id2->n > 0) c->num_labels = (int)id2->n;
  if (cfg_int(&cfg, "num_labels", &c->num_labels, 0, path, err, errlen)) goto done;
  c->hate_label = -1;
  static const char *const wanted[] = {"hate", "toxic", "toxicity", "offensive"};
  for (size_t w = 0; w < sizeof wanted / sizeof wanted[0] && c->hate_label < 0; w++)
    for (size_t i = 0; id2 && id2->type == RJ_OBJ && i < id2->n; i++)
      if (id2->items[i].type == RJ_STR && lower_eq(id2->items[i].str, wanted[w])) {
        c->hate_label = atoi(id2->keys[i]);
        snprintf(c->hate_label_name, sizeof c->hate_label_name, "%s", id2->items[i].str);
        break;
      }
  if (c->hate_label < 0 && c->num_labels == 2) {
    c->hate_label = 1;
    snprintf(c->hate_label_name, sizeof c->hate_label_name, "LABEL_1");
  }
  if (c->hate_label < 0 || c->hate_label >= c->num_labels) {
    snprintf(err, errlen, "roberta: %s: no \"hate\" label in id2label", path);
    goto done;
  }
  c->max_tokens = c->max_positions - c->pad_id - 1;
  if (c->max_tokens > ROBERTA_MAX_TOKENS) c->max_tokens = ROBERTA_MAX_TOKENS;
  if (c->max_tokens < 3) {
    snprintf(err, errlen, "roberta: %s: max_position_embeddings too small", path);
    goto done;
  }
  rc = 0;
done:
  rj_free(&cfg);
  free(src);
  free(path);
  return rc;
}

static float *own(roberta_model *m, size_t n)
{
  if (m->nowned == m->capowned) {
    size_t c = m->capowned ? m->capowned * 2 : 64;
    float **o = realloc(m->owned, c * sizeof *o);
    if (!o) return NULL;
    m->owned = o;
    m->capowned = c;
  }
  float *p = NULL;
  size_t bytes = n * sizeof *p + 1;
  if (bytes >= HUGE_ALIGN) {
    /* weight matrices: 2 MB aligned and backed by transparent huge pages
     * where the kernel allows, so OpenBLAS's packing of them (every sgemm
     * call re-reads the whole matrix) does not miss the TLB on every row */
    void *q = NULL;
    bytes = (bytes + HUGE_ALIGN - 1) & ~(size_t)(HUGE_ALIGN - 1);
    if (posix_memalign(&q, HUGE_ALIGN, bytes) != 0) q = NULL;
#ifdef MADV_HUGEPAGE
    if (q) madvise(q, bytes, MADV_HUGEPAGE);
#endif
    p = q;
  } else {
    p = malloc(bytes);
  }
  if (p) m->owned[m->nowned++] = p;
  return p;
}

/* A 2-D F32 weight used by sgemm: copied out of the file mapping into
 * huge-page memory (see own); the mapped pages are then dropped. */
static const float *owned_matrix(roberta_model *m, const float *src, size_t count)
{
  if (!src) return NULL;
  int mapped = (const unsigned char *)src >= m->map && (const unsigned char *)src < m->map + m->map_len;
  if (!mapped) return src;   /* already converted from F16/BF16 into own memory */
  float *dst = own(m, count);
  if (!dst) return NULL;
  memcpy(dst, src, count * sizeof *dst);
  uintptr_t a = ((uintptr_t)src + 4095) & ~(uintptr_t)4095, e = ((uintptr_t)(src + count)) & ~(uintptr_t)4095;
  if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
  return dst;
}

static float half_to_float(uint16_t h)
{
  uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1F, f = h & 0x3FF, u;
  if (e == 0) {
    if (f == 0) u = s;
    else { /* subnormal */
      e = 113;
      while (!(f & 0x400)) { f <<= 1; e--; }
      f &= 0x3FF;
      u = s | (e << 23) | (f << 13);
    }
  } else if (e == 31) u = s | 0x7F800000u | (f << 13);
  else u = s | ((e + 112) << 23) | (f << 13);
  float x;
  memcpy(&x, &u, 4);
  return x;
}

/* A tensor of the given shape as float32 (mapped or converted). */
static const float *tensor(roberta_model *m, const char *name, int d0, int d1, char *err,
                           size_t errlen)
{
  const rj_value *t = rj_get(&m->header, name);
  if (!t) {
    snprintf(err, errlen, "roberta: %s: no tensor \"%s\"", m->path, name);
    return NULL;
  }
  const rj_value *dt = rj_get(t, "dtype"), *sh = rj_get(t, "shape"), *off = rj_get(t, "data_offsets");
  if (!dt || dt->type != RJ_STR || !sh || sh->type != RJ_ARR || !off || off->type != RJ_ARR ||
      off->n != 2 || off->items[0].type != RJ_NUM || off->items[1].type != RJ_NUM) {
    snprintf(err, errlen, "roberta: %s: tensor \"%s\" has a malformed header entry", m->path, name);
    return NULL;
  }
  int want_n = d1 > 0 ? 2 : 1;
  int ok = (int)sh->n == want_n && sh->items[0].type == RJ_NUM && sh->items[0].num == d0 &&
           (want_n == 1 || (sh->items[1].type == RJ_NUM && sh->items[1].num == d1));
  if (!ok) {
    char want[64];
    if (d1 > 0) snprintf(want, sizeof want, "[%d, %d]", d0, d1);
    else snprintf(want, sizeof want, "[%d]", d0);
    snprintf(err, errlen, "roberta: %s: tensor \"%s\" does not have shape %s (check config.json)",
             m->path, name, want);
    return NULL;
  }
  size_t count = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
  double b = off->items[0].num, e = off->items[1].num;
  int esize = !strcmp(dt->str, "F32") ? 4 : (!strcmp(dt->str, "F16") || !strcmp(dt->str, "BF16")) ? 2 : 0;
  if (!esize) {
    snprintf(err, errlen, "roberta: %s: tensor \"%s\" has dtype %s (F32, F16, BF16 supported)",
             m->path, name, dt->str);
    return NULL;
  }
  if (b < 0 || e < b || e > (double)m->data_len || (size_t)(e - b) != count * (size_t)esize) {
    snprintf(err, errlen, "roberta: %s: tensor \"%s\" has bad data_offsets", m->path, name);
    return NULL;
  }
  const unsigned char *src = m->data + (size_t)b;
  if (esize == 4 && ((uintptr_t)src & 3) == 0) return (const float *)(const void *)src;
  float *dst = own(m, count);
  if (!dst) {
    snprintf(err, errlen, "roberta: out of memory converting \"%s\"", name);
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    if (esize == 4) memcpy(&dst[i], src + 4 * i, 4);
    else {
      uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
      if (!strcmp(dt->str, "F16")) dst[i] = half_to_float(h);
      else {
        uint32_t u = (uint32_t)h << 16;
        memcpy(&dst[i], &u, 4);
      }
    }
  }
  return dst;
}

/* LayerNorm tensors are .weight/.bias, or .gamma/.beta in old checkpoints. */
static const float *ln_tensor(roberta_model *m, const char *prefix, int gamma, int H, char *err,
                              size_t errlen)
{
  char name[256];
  snprintf(name, sizeof name, "%s.%s", prefix, gamma ? "weight" : "bias");
  if (rj_get(&m->header, name)) return tensor(m, name, H, 0, err, errlen);
  snprintf(name, sizeof name, "%s.%s", prefix, gamma ? "gamma" : "beta");
  if (rj_get(&m->header, name)) return tensor(m, name, H, 0, err, errlen);
  snprintf(err, errlen, "roberta: %s: no tensor \"%s.weight\"", m->path, prefix);
  return NULL;
}

static int load_weights(roberta_model *m, char *err, size_t errlen)
{
  int fd = open(m->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "roberta: cannot open %s: %s%s", m->path, strerror(errno),
             errno == ENOENT ? " (convert pytorch_model.bin first, see docs/toxicity.md)" : "");
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < 8) {
    close(fd);
    snprintf(err, errlen, "roberta: %s: not a safetensors file (too short)", m->path);
    return -1;
  }
  m->map_len = (size_t)st.st_size;
  void *p = mmap(NULL, m->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    snprintf(err, errlen, "roberta: cannot map %s: %s", m->path, strerror(errno));
    return -1;
  }
  m->map = p;
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--) hl = hl << 8 | m->map[i];
  if (hl == 0 || hl > m->map_len - 8 || hl > (100u << 20)) {
    snprintf(err, errlen, "roberta: %s: not a safetensors file (bad header length)", m->path);
    return -1;
  }
  char jerr[200];
  if (rj_parse((const char *)m->map + 8, (size_t)hl, &m->header, jerr, sizeof jerr) != 0 ||
      m->header.type != RJ_OBJ) {
    snprintf(err, errlen, "roberta: %s: bad safetensors header: %s", m->path,
             m->header.type != RJ_OBJ && !jerr[0] ? "not an object" : jerr);
    return -1;
  }
  m->data = m->map + 8 + hl;
  m->data_len = m->map_len - 8 - (size_t)hl;

  const roberta_config *c = &m->c;
  int H = c->hidden, FF = c->intermediate;
  char name[256];
#define T(var, nm, a, b)                                   \
  do {                                                     \
    if (!((var) = tensor(m, nm, a, b, err, errlen))) return -1; \
  } while (0)
  T(m->word, "roberta.embeddings.word_embeddings.weight", c->vocab, H);
  T(m->pos, "roberta.embeddings.position_embeddings.weight", c->max_positions, H);
  T(m->type, "roberta.embeddings.token_type_embeddings.weight", c->type_vocab, H);
  if (!(m->emb_g = ln_tensor(m, "roberta.embeddings.LayerNorm", 1, H, err, errlen))) return -1;
  if (!(m->emb_b = ln_tensor(m, "roberta.embeddings.LayerNorm", 0, H, err, errlen))) return -1;
  m->L = calloc((size_t)c->layers, sizeof *m->L);
  if (!m->L) {
    snprintf(err, errlen, "roberta: out of memory");
    return -1;
  }
  for (int l = 0; l < c->layers; l++) {
    layer_w *w = &m->L[l];
    const float *q, *k, *v, *qb, *kb, *vb;
#define LN(nm) (snprintf(name, sizeof name, "roberta.encoder.layer.%d.%s", l, nm), name)
    T(q, LN("attention.self.query.weight"), H, H);
    T(qb, LN("attention.self.query.bias"), H, 0);
    T(k, LN("attention.self.key.weight"), H, H);
    T(kb, LN("attention.self.key.bias"), H, 0);
    T(v, LN("attention.self.value.weight"), H, H);
    T(vb, LN("attention.self.value.bias"), H, 0);
    float *qkv = own(m, (size_t)3 * H * H), *qkvb = own(m, (size_t)3 * H);
    if (!qkv || !qkvb) {
      snprintf(err, errlen, "roberta: out of memory");
      return -1;
    }
    memcpy(qkv, q, sizeof *qkv * (size_t)H * H);
    memcpy(qkv + (size_t)H * H, k, sizeof *qkv * (size_t)H * H);
    memcpy(qkv + (size_t)2 * H * H, v, sizeof *qkv * (size_t)H * H);
    memcpy(qkvb, qb, sizeof *qkvb * (size_t)H);
    memcpy(qkvb + H, kb, sizeof *qkvb * (size_t)H);
    memcpy(qkvb + 2 * H, vb, sizeof *qkvb * (size_t)H);
    w->qkv_w = qkv;
    w->qkv_b = qkvb;
    T(w->ao_w, LN("attention.output.dense.weight"), H, H);
    w->ao_w = owned_matrix(m, w->ao_w, (size_t)H * H);
    T(w->ao_b, LN("attention.output.dense.bias"), H, 0);
    LN("attention.output.LayerNorm");
    char pre[256];
    snprintf(pre, sizeof pre, "%s", name);
    if (!(w->ln1_g = ln_tensor(m, pre, 1, H, err, errlen))) return -1;
    if (!(w->ln1_b = ln_tensor(m, pre, 0, H, err, errlen))) return -1;
    T(w->in_w, LN("intermediate.dense.weight"), FF, H);
    w->in_w = owned_matrix(m, w->in_w, (size_t)FF * H);
    T(w->in_b, LN("intermediate.dense.bias"), FF, 0);
    T(w->out_w, LN("output.dense.weight"), H, FF);
    w->out_w = owned_matrix(m, w->out_w, (size_t)H * FF);
    if (!w->ao_w || !w->in_w || !w->out_w) {
      snprintf(err, errlen, "roberta: out of memory");
      return -1;
    }
    T(w->out_b, LN("output.dense.bias"), H, 0);
    LN("output.LayerNorm");
    snprintf(pre, sizeof pre, "%s", name);
    if (!(w->ln2_g = ln_tensor(m, pre, 1, H, err, errlen))) return -1;
    if (!(w->ln2_b = ln_tensor(m, pre, 0, H, err, errlen))) return -1;
#undef LN
  }
  T(m->cls_w, "classifier.dense.weight", H, H);
  T(m->cls_b, "classifier.dense.bias", H, 0);
  T(m->out_w, "classifier.out_proj.weight", c->num_labels, H);
  T(m->out_b, "classifier.out_proj.bias", c->num_labels, 0);
#undef T
  return 0;
}

roberta_model *roberta_open(const char *dir, int threads, char *err, size_t errlen)
{
  roberta_model *m = calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, errlen, "roberta: out of memory");
    return NULL;
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "roberta: %s: not a model directory (%s)", dir,
             stat(dir, &st) != 0 ? strerror(errno) : "not a directory");
    free(m);
    return NULL;
  }
  if (load_config(m, dir, err, errlen) != 0) goto fail;
  char *vp = join(dir, "vocab.json"), *mp = join(dir, "merges.txt");
  if (vp && mp) m->tok = bpe_load(vp, mp, err, errlen);
  else snprintf(err, errlen, "roberta: out of memory");
  free(vp);
  free(mp);
  if (!m->tok) goto fail;
  int32_t id;
  if ((id = bpe_token_id(m->tok, "<s>", 3)) >= 0) m->c.bos_id = id;
  if ((id = bpe_token_id(m->tok, "</s>", 4)) >= 0) m->c.eos_id = id;
  if ((id = bpe_token_id(m->tok, "<pad>", 5)) >= 0) m->c.pad_id = id;
  m->c.unk_id = (id = bpe_token_id(m->tok, "<unk>", 5)) >= 0 ? id : 3;
  if (bpe_max_id(m->tok) >= m->c.vocab || m->c.bos_id >= m->c.vocab || m->c.eos_id >= m->c.vocab ||
      m->c.unk_id >= m->c.vocab) {
    snprintf(err, errlen, "roberta: %s/vocab.json: ids up to %d but vocab_size is %d", dir,
             (int)bpe_max_id(m->tok), m->c.vocab);
    goto fail;
  }
  m->c.max_tokens = m->c.max_positions - m->c.pad_id - 1;
  if (m->c.max_tokens > ROBERTA_MAX_TOKENS) m->c.max_tokens = ROBERTA_MAX_TOKENS;
  if (m->c.max_tokens < 3) {
    snprintf(err, errlen, "roberta: %s/config.json: max_position_embeddings too small", dir);
    goto fail;
  }
  m->path = join(dir, "model.safetensors");
  if (!m->path) {
    snprintf(err, errlen, "roberta: out of memory");
    goto fail;
  }
  if (load_weights(m, err, errlen) != 0) goto fail;
  if (threads > 0) openblas_set_num_threads(threads);
  return m;
fail:
  roberta_close(m);
  return NULL;
}

void roberta_close(roberta_model *m)
{
  if (!m) return;
  bpe_free(m->tok);
  if (m->map) munmap(m->map, m->map_len);
  rj_free(&m->header);
  for (size_t i = 0; i < m->nowned; i++) free(m->owned[i]);
  free(m->owned);
  free(m->L);
  free(m->path);
  free(m);
}

const roberta_config *roberta_get_config(const roberta_model *m) { return &m->c; }

const char *roberta_weights_sha256(roberta_model *m)
{
  if (!m->sha[0]) sha256_hex(m->map, m->map_len, m->sha);
  return m->sha;
}

/* The next special token written literally in text[from..len) (as the
 * transformers tokenizer splits them out first): its offset, length and id;
 * for <mask> (lstrip) the match starts at the whitespace before it. */
static int next_special(const roberta_model *m, const char *text, size_t from, size_t len,
                        size_t *at, size_t *mlen, int32_t *id)
{
  static const char *const names[] = {"<s>", "</s>", "<unk>", "<pad>", "<mask>"};
  int found = 0;
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    int32_t tid = bpe_token_id(m->tok, names[k], strlen(names[k]));
    if (tid < 0) continue;
    const char *p = memmem(text + from, len - from, names[k], strlen(names[k]));
    if (!p) continue;
    size_t off = (size_t)(p - text);
    if (!found || off < *at) {
      *at = off;
      *mlen = strlen(names[k]);
      *id = tid;
      found = 1;
    }
  }
  if (found && *mlen == 6 && !memcmp(text + *at, "<mask>", 6)) {
    while (*at > from && strchr(" \t\n\r\v\f", text[*at - 1])) {
      (*at)--;
      (*mlen)++;
    }
  }
  return found;
}

int roberta_tokenize(const roberta_model *m, const char *text, size_t len, int32_t *ids, int cap)
{
  if (cap < 2) return 0;
  int room = m->c.max_tokens < cap ? m->c.max_tokens : cap;
  size_t n = 1, limit = (size_t)room - 1, i = 0;
  ids[0] = m->c.bos_id;
  while (i < len && n < limit) {
    size_t at = len, mlen = 0;
    int32_t sid = -1;
    int sp = memchr(text + i, '<', len - i) && next_special(m, text, i, len, &at, &mlen, &sid);
    size_t end = sp ? at : len;
    long k = bpe_encode(m->tok, text + i, end - i, m->c.unk_id, ids + n, limit - n);
    if (k < 0) return -1;
    n += (size_t)k;
    if (!sp) break;
    if (n < limit) ids[n++] = sid;
    i = at + mlen;
  }
  ids[n++] = m->c.eos_id;
  return (int)n;
}

/* ---- forward ---- */

static void layer_norm(float *x, size_t rows, int H, const float *g, const float *b, double eps)
{
  for (size_t r = 0; r < rows; r++) {
    float *v = x + r * (size_t)H;
    double mean = 0, var = 0;
    for (int i = 0; i < H; i++) mean += v[i];
    mean /= H;
    for (int i = 0; i < H; i++) var += (v[i] - mean) * (v[i] - mean);
    var /= H;
    double inv = 1.0 / sqrt(var + eps);
    for (int i = 0; i < H; i++) v[i] = (float)((v[i] - mean) * inv) * g[i] + b[i];
  }
}

/* y[rows, out] = x[rows, in] * W[out, in]^T (the bias is added by the
 * caller's next pass over y, fused with what that pass does anyway) */
static void matmul_t(const float *x, size_t rows, int in, const float *W, int out, float *y)
{
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, out, in, 1.0f, x, in, W, in,
              0.0f, y, out);
}

/* y[rows, out] = x[rows, in] * W[out, in]^T + b */
static void linear(const float *x, size_t rows, int in, const float *W, const float *b, int out,
                   float *y)
{
  matmul_t(x, rows, in, W, out, y);
  for (size_t r = 0; r < rows; r++) {
    float *yr = y + r * (size_t)out;
    for (int k = 0; k < out; k++) yr[k] += b[k];
  }
}

/* x += y + b, row by row (the residual of a sublayer and its output bias) */
static void add_bias_residual(float *x, const float *y, const float *b, size_t rows, int H)
{
  for (size_t r = 0; r < rows; r++) {
    float *xr = x + r * (size_t)H;
    const float *yr = y + r * (size_t)H;
    for (int k = 0; k < H; k++) xr[k] += yr[k] + b[k];
  }
}

static float act_fn(int act, float x)
{
  if (act == 0) return 0.5f * x * (1.0f + erff(x * 0.70710678f));
  if (act == 1) {
    double u = 0.7978845608028654 * (x + 0.044715 * (double)x * x * x);
    return (float)(0.5 * x * (1.0 + tanh(u)));
  }
  return x > 0 ? x : 0;
}

/* y = act(y + b) over rows x n, the feed-forward's first bias and activation in one pass */
static void bias_act(float *y, const float *b, size_t rows, int n, int act)
{
  for (size_t r = 0; r < rows; r++) {
    float *yr = y + r * (size_t)n;
    for (int k = 0; k < n; k++) yr[k] = act_fn(act, yr[k] + b[k]);
  }
}

typedef struct {
  float *X, *QKV, *CTX, *T, *FFB, *S;
  size_t rows, srows;
} bufs;

static void bufs_free(bufs *b)
{
  free(b->X), free(b->QKV), free(b->CTX), free(b->T), free(b->FFB), free(b->S);
  memset(b, 0, sizeof *b);
}

static int bufs_need(bufs *b, size_t rows, const roberta_config *c)
{
  if (rows <= b->rows) return 0;
  bufs_free(b);
  size_t H = (size_t)c->hidden;
  b->X = malloc(rows * H * sizeof(float));
  b->QKV = malloc(rows * 3 * H * sizeof(float));
  b->CTX = malloc(rows * H * sizeof(float));
  b->T = malloc(rows * H * sizeof(float));
  b->FFB = malloc(rows * (size_t)c->intermediate * sizeof(float));
  b->S = malloc((size_t)ROBERTA_MAX_TOKENS * (ROBERTA_MAX_TOKENS + 1) * sizeof(float));
  if (!b->X || !b->QKV || !b->CTX || !b->T || !b->FFB || !b->S) {
    bufs_free(b);
    return -1;
  }
  b->rows = rows;
  return 0;
}

/* Runs the encoder on nt texts packed in ids (lens[t] tokens each, starting
 * at start[t]) and writes num_labels logits per text. */
static void forward(const roberta_model *m, const int32_t *ids, const int *start, const int *lens,
                    int nt, size_t rows, bufs *b, double *logits)
{
  const roberta_config *c = &m->c;
  int H = c->hidden, NH = c->heads, D = H / NH, FF = c->intermediate;
  /* embeddings: word + position (pad_id + 1 + index) + token type 0 */
  for (int t = 0; t < nt; t++)
    for (int i = 0; i < lens[t]; i++) {
      float *x = b->X + (size_t)(start[t] + i) * H;
      const float *we = m->word + (size_t)ids[start[t] + i] * H;
      const float *pe = m->pos + (size_t)(c->pad_id + 1 + i) * H;
      for (int k = 0; k < H; k++) x[k] = we[k] + pe[k] + m->type[k];
    }
  layer_norm(b->X, rows, H, m->emb_g, m->emb_b, c->eps);
  float scale = (float)(1.0 / sqrt((double)D));
  for (int l = 0; l < c->layers; l++) {
    const layer_w *w = &m->L[l];
    linear(b->X, rows, H, w->qkv_w, w->qkv_b, 3 * H, b->QKV);
    for (int t = 0; t < nt; t++) {
      int n = lens[t];
      const float *base = b->QKV + (size_t)start[t] * 3 * H;
      for (int h = 0; h < NH; h++) {
        const float *Q = base + h * D, *K = base + H + h * D, *V = base + 2 * H + h * D;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, D, scale, Q, 3 * H, K, 3 * H,
                    0.0f, b->S, n);
        /* softmax fused with the value product: exp(s - max) in place and
         * the row sums; the 1/sum scaling is applied to the D outputs of a
         * row instead of its n probabilities */
        float *inv = b->S + (size_t)n * n;
        for (int i = 0; i < n; i++) {
          float *srow = b->S + (size_t)i * n, mx = srow[0];
          for (int j = 1; j < n; j++) if (srow[j] > mx) mx = srow[j];
          float sum = 0;
          for (int j = 0; j < n; j++) {
            srow[j] = expf(srow[j] - mx);
            sum += srow[j];
          }
          inv[i] = 1.0f / sum;
        }
        float *out = b->CTX + (size_t)start[t] * H + h * D;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, D, n, 1.0f, b->S, n, V, 3 * H,
                    0.0f, out, H);
        for (int i = 0; i < n; i++)
          for (int d = 0; d < D; d++) out[(size_t)i * H + d] *= inv[i];
      }
    }
    matmul_t(b->CTX, rows, H, w->ao_w, H, b->T);
    add_bias_residual(b->X, b->T, w->ao_b, rows, H);
    layer_norm(b->X, rows, H, w->ln1_g, w->ln1_b, c->eps);
    matmul_t(b->X, rows, H, w->in_w, FF, b->FFB);
    bias_act(b->FFB, w->in_b, rows, FF, c->act);
    matmul_t(b->FFB, rows, FF, w->out_w, H, b->T);
    add_bias_residual(b->X, b->T, w->out_b, rows, H);
    layer_norm(b->X, rows, H, w->ln2_g, w->ln2_b, c->eps);
  }
  /* head on <s>: dense + tanh, out_proj */
  float *hrow = b->T, *cls = b->CTX;
  for (int t = 0; t < nt; t++) {
    memcpy(cls, b->X + (size_t)start[t] * H, sizeof *cls * (size_t)H);
    linear(cls, 1, H, m->cls_w, m->cls_b, H, hrow);
    for (int k = 0; k < H; k++) hrow[k] = tanhf(hrow[k]);
    for (int j = 0; j < c->num_labels; j++) {
      double s = m->out_b[j];
      const float *wr = m->out_w + (size_t)j * H;
      for (int k = 0; k < H; k++) s += (double)wr[k] * hrow[k];
      logits[(size_t)t * c->num_labels + j] = s;
    }
  }
}

typedef struct {
  int len;
  size_t idx;   /* position in the window */
} by_len;

static int cmp_len(const void *a, const void *b)
{
  const by_len *x = a, *y = b;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int roberta_score_logits(roberta_model *m, const char *const *texts, const size_t *lens,
                         size_t n, int batch, double *probs, double *logits, char *err,
                         size_t errlen)
{
  const roberta_config *c = &m->c;
  if (batch < 1) batch = 1;
  if (batch > 256) batch = 256;
  int cap = c->max_tokens;
  /* texts are tokenized a window at a time and batched by length within it:
   * similar lengths fill the token budget of a batch evenly */
  size_t win = (size_t)batch * 16 < 256 ? 256 : (size_t)batch * 16;
  int32_t *wids = malloc(sizeof *wids * (size_t)cap * win);
  by_len *order = malloc(sizeof *order * win);
  int32_t *ids = malloc(sizeof *ids * (size_t)cap * (size_t)batch);
  int *start = malloc(sizeof *start * (size_t)batch), *tl = malloc(sizeof *tl * (size_t)batch);
  size_t *who = malloc(sizeof *who * (size_t)batch);
  double *lg = malloc(sizeof *lg * (size_t)batch * (size_t)c->num_labels);
  bufs b = {0};
  int rc = -1;
  if (!wids || !order || !ids || !start || !tl || !who || !lg) goto oom;
  for (size_t w0 = 0; w0 < n; w0 += win) {
    size_t wn = n - w0 < win ? n - w0 : win;
    for (size_t i = 0; i < wn; i++) {
      int k = roberta_tokenize(m, texts[w0 + i], lens[w0 + i], wids + i * (size_t)cap, cap);
      if (k < 0) goto oom;
      order[i].len = k;
      order[i].idx = i;
    }
    qsort(order, wn, sizeof *order, cmp_len);
    size_t i0 = 0;
    while (i0 < wn) {
      /* up to `batch` texts, and no more than ROBERTA_BATCH_ROWS tokens unless
       * a single text is longer: the work buffers grow with the token count */
      int nt = 0;
      size_t rows = 0;
      while (i0 + (size_t)nt < wn && nt < batch) {
        const by_len *o = &order[i0 + (size_t)nt];
        if (nt > 0 && rows + (size_t)o->len > ROBERTA_BATCH_ROWS) break;
        memcpy(ids + rows, wids + o->idx * (size_t)cap, sizeof *ids * (size_t)o->len);
        start[nt] = (int)rows;
        tl[nt] = o->len;
        who[nt] = w0 + o->idx;
        rows += (size_t)o->len;
        nt++;
      }
      if (bufs_need(&b, rows, c)) goto oom;
      forward(m, ids, start, tl, nt, rows, &b, lg);
      for (int t = 0; t < nt; t++) {
        const double *z = lg + (size_t)t * c->num_labels;
        double mx = z[0], sum = 0;
        for (int j = 1; j < c->num_labels; j++) if (z[j] > mx) mx = z[j];
        for (int j = 0; j < c->num_labels; j++) sum += exp(z[j] - mx);
        probs[who[t]] = exp(z[c->hate_label] - mx) / sum;
        if (logits)
          memcpy(logits + who[t] * (size_t)c->num_labels, z, sizeof *z * (size_t)c->num_labels);
      }
      i0 += (size_t)nt;
    }
  }
  rc = 0;
  goto done;
oom:
  snprintf(err, errlen, "roberta: out of memory scoring %zu texts", n);
done:
  bufs_free(&b);
  free(wids), free(order), free(ids), free(start), free(tl), free(who), free(lg);
  return rc;
}

int roberta_score(roberta_model *m, const char *const *texts, const size_t *lens, size_t n,
                  int batch, double *probs, char *err, size_t errlen)
{
  return roberta_score_logits(m, texts, lens, n, batch, probs, NULL, err, errlen);
}
