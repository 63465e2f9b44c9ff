/* roberta.h: Hugging Face RobertaForSequenceClassification in C.
 *
 * A model directory holds config.json, model.safetensors (F32, F16 or
 * BF16 tensors), vocab.json and merges.txt. Texts are tokenized with GPT-2's
 * byte-level BPE (bpe_gpt2.h), wrapped as <s> ... </s> and truncated to
 * ROBERTA_MAX_TOKENS ids (specials included), as the transformers pipeline
 * does with truncation=True. The encoder (embeddings with RoBERTa's position
 * offset, L x (self-attention, GELU feed-forward, post-LayerNorm)), the
 * classification head (dense + tanh on <s>, out_proj) and the softmax run in
 * float32 with cblas_sgemm (OpenBLAS). Texts are tokenized a window at a
 * time and batched by length; the texts of a batch are packed one after
 * another (no padding rows): each attends only to its own tokens, which is
 * what padding plus an attention mask computes. Weight matrices are copied
 * into 2 MB-aligned memory marked for transparent huge pages. */
#ifndef EVALUA_ROBERTA_H
#define EVALUA_ROBERTA_H
#include <stddef.h>
#include <stdint.h>

#define ROBERTA_MAX_TOKENS 512

typedef struct {
  int layers, hidden, heads, intermediate, vocab, max_positions, type_vocab;
  int pad_id, bos_id, eos_id, unk_id;
  int num_labels, hate_label;
  char hate_label_name[64];
  double eps;
  int act;        /* 0 gelu (erf), 1 gelu_new (tanh), 2 relu */
  int max_tokens; /* specials included: min(512, max_positions - pad_id - 1) */
} roberta_config;

typedef struct roberta_model roberta_model;

/* Opens the model in directory dir; threads > 0 sets OpenBLAS's thread
 * count (process-wide). Returns NULL with a message naming the file and the
 * problem ("roberta: DIR/config.json: ...") in err. The caller closes it. */
roberta_model *roberta_open(const char *dir, int threads, char *err, size_t errlen);
/* Unmaps and frees everything the model owns; NULL is a no-op. */
void roberta_close(roberta_model *m);

/* The sizes and token ids read at open; owned by the model. */
const roberta_config *roberta_get_config(const roberta_model *m);
/* The hex sha256 of model.safetensors, computed on the first call. */
const char *roberta_weights_sha256(roberta_model *m);

/* Token ids of text as the model sees them: <s>, at most max_tokens - 2 ids,
 * </s>. Special tokens written literally in the text (<s>, </s>, <unk>,
 * <pad>, <mask>; <mask> also takes the ASCII whitespace before it) become
 * their ids and the text between them is BPE-encoded piece by piece, as the
 * transformers tokenizer does. Writes at most cap ids; returns the count, or -1 when memory
 * runs out. */
int roberta_tokenize(const roberta_model *m, const char *text, size_t len, int32_t *ids,
                     int cap);

/* Scores n texts (batch texts per forward pass): probs[i] = softmax
 * probability of the hate label. Also fills logits (n x num_labels) when
 * not NULL. Returns 0, or -1 with a message in err (out of memory). */
int roberta_score_logits(roberta_model *m, const char *const *texts, const size_t *lens,
                         size_t n, int batch, double *probs, double *logits, char *err,
                         size_t errlen);
int roberta_score(roberta_model *m, const char *const *texts, const size_t *lens, size_t n,
                  int batch, double *probs, char *err, size_t errlen);

#endif
