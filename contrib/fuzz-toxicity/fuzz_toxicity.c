/* fuzz_toxicity.c: libFuzzer target (see CMakeLists.txt). Any input must
 * give a probability in [0, 1], pre-tokenizer pieces that tile the input
 * exactly, BPE ids from the vocabulary, and a JSON parse or a clean error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe_gpt2.h"
#include "embed.h"
#include "roberta_json.h"
#include "toxicity.h"

/* the fuzzer has no embedded files */
const unsigned char *embed_find(const char *name, size_t *len)
{
  (void)name;
  (void)len;
  return NULL;
}

static toxicity_model model;
static bpe_tokenizer *tok;

static void setup(void)
{
  static unsigned char buf[32 + 4096];
  memcpy(buf, TOXICITY_MAGIC, 8);
  buf[8] = 10;
  float hdr[3] = {0.1f, 1.5f, -0.2f};
  memcpy(buf + 12, hdr, 12);
  buf[24] = TOXICITY_F_ALL;   /* every feature family */
  for (size_t i = 0; i < 1024; i++) {
    float w = (float)((int)(i * 2654435761u % 2001) - 1000) / 100.0f;
    memcpy(buf + 32 + 4 * i, &w, 4);
  }
  char err[256];
  if (toxicity_model_parse(&model, buf, 32 + 4096, err, sizeof err) != 0) abort();
  tok = bpe_load(EVALUA_SOURCE_DIR "/tests/data/toxicity/gpt2/vocab.json",
                 EVALUA_SOURCE_DIR "/tests/data/toxicity/gpt2/merges.txt", err, sizeof err);
  if (!tok) {
    fprintf(stderr, "%s\n", err);
    abort();
  }
}

typedef struct {
  const uint8_t *data;
  size_t size, at;
} tiling;

static int check_piece(const char *p, size_t n, void *ud)
{
  tiling *t = ud;
  if (n == 0 || (const uint8_t *)p != t->data + t->at || t->at + n > t->size) abort();
  t->at += n;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!tok) setup();
  double p = toxicity_prob(&model, (const char *)data, size);
  if (!(p >= 0 && p <= 1)) abort();
  char out[64];
  toxicity_normalize((const char *)data, size, out, sizeof out);
  tiling t = {data, size, 0};
  bpe_pretokenize((const char *)data, size, check_piece, &t);
  if (t.at != size) abort();
  int32_t ids[256];
  long n = bpe_encode(tok, (const char *)data, size, -1, ids, 256);
  for (long i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] > bpe_max_id(tok)) abort();
  rj_value v;
  char err[200];
  if (rj_parse((const char *)data, size, &v, err, sizeof err) == 0) rj_free(&v);
  return 0;
}
