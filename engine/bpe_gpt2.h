/* bpe_gpt2.h: GPT-2 / RoBERTa byte-level BPE (vocab.json + merges.txt).
 *
 * Pre-tokenizer: GPT-2's pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * implemented by hand (\s = Unicode White_Space; \p{L}, \p{N} from
 * bpe_unicode.c). Bytes that are not valid UTF-8 count as one "other"
 * character each. Each piece is mapped byte by byte to GPT-2's printable
 * characters and merged by rank as GPT-2's encoder does. */
#ifndef EVALUA_BPE_GPT2_H
#define EVALUA_BPE_GPT2_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t lo, hi;
} bpe_urange;

extern const char bpe_unicode_version[];
extern const bpe_urange bpe_letters[];
extern const unsigned bpe_letters_len;
extern const bpe_urange bpe_numbers[];
extern const unsigned bpe_numbers_len;

enum { BPE_OTHER, BPE_LETTER, BPE_NUMBER, BPE_SPACE };

/* The class of a code point for the pre-tokenizer. */
int bpe_uclass(uint32_t cp);

/* Calls fn(piece, n, ud) for every pre-token of text[0..len), in order; stops
 * early when fn returns non-zero. Returns the number of pieces visited. */
size_t bpe_pretokenize(const char *text, size_t len,
                       int (*fn)(const char *piece, size_t n, void *ud), void *ud);

typedef struct bpe_tokenizer bpe_tokenizer;

/* Builds a tokenizer from the text of vocab.json (an object token -> id)
 * and merges.txt (lines "a b"; a first line starting with "#version" and
 * empty lines are skipped). Merges whose parts or result are not in the
 * vocabulary are ignored. Returns NULL with a message naming the file (the
 * names given) and the line:col on error. Free with bpe_free. */
bpe_tokenizer *bpe_new(const char *vocab_json, size_t vocab_len, const char *vocab_name,
                       const char *merges, size_t merges_len, const char *merges_name,
                       char *err, size_t errlen);
/* Reads both files and calls bpe_new. */
bpe_tokenizer *bpe_load(const char *vocab_path, const char *merges_path, char *err,
                        size_t errlen);
/* Frees the tokenizer; NULL is a no-op. */
void bpe_free(bpe_tokenizer *t);

/* The id of a vocabulary entry (its byte-level string), or -1. */
int32_t bpe_token_id(const bpe_tokenizer *t, const char *tok, size_t n);
/* The number of vocabulary entries and the largest id. */
size_t bpe_vocab_size(const bpe_tokenizer *t);
int32_t bpe_max_id(const bpe_tokenizer *t);

/* Tokenizes text (no special tokens added) into out[0..cap): stops once cap
 * ids are written. Bytes missing from the vocabulary become unk_id. Returns
 * the number of ids written, or -1 when memory runs out. */
long bpe_encode(const bpe_tokenizer *t, const char *text, size_t len, int32_t unk_id,
                int32_t *out, size_t cap);

#endif
