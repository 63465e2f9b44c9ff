/* tokenize.h: tiktoken-exact byte-level BPE (cl100k_base, o200k_base).
 * The rank tables are embedded (engine/data/<name>.tiktoken) and parsed on
 * first use of each encoding; after that every function here is thread-safe
 * and allocation-light. Text is UTF-8; invalid sequences are replaced by
 * U+FFFD first (Python's "replace" rule: one U+FFFD per maximal subpart).
 * Special-token text such as "<|endoftext|>" is encoded as ordinary text. */
#ifndef EVALUA_TOKENIZE_H
#define EVALUA_TOKENIZE_H
#include <stddef.h>
#include <stdint.h>

typedef struct tok_encoding tok_encoding;

/* Returns the encoding called `name` ("cl100k_base", "o200k_base"), building
 * its rank table on first use. Returns NULL when the name is unknown or the
 * table cannot be built; then *err (when err is not NULL) points at a static
 * message such as "unknown encoding 'x' (known: cl100k_base, o200k_base)". */
const tok_encoding *tok_get(const char *name, const char **err);

/* "cl100k_base, o200k_base": the known names, for messages. Static. */
const char *tok_known(void);

/* Name and vocabulary size (largest id + 1, special tokens included). */
const char *tok_name(const tok_encoding *e);
uint32_t tok_n_vocab(const tok_encoding *e);

/* The id of the single token whose bytes are p[0..n), or -1 when those
 * bytes are not one ordinary token (tiktoken's encode_single_token). */
long tok_rank(const tok_encoding *e, const void *p, size_t n);

/* Encodes text[0..len) and stores a malloc'd array of ids in *ids (caller
 * frees; NULL for an empty result) and its length in *n. Returns 0, or -1
 * when out of memory or when one piece (a run of letters, digits are cut in
 * threes) exceeds 2 GiB; nothing to free then. */
int tok_encode(const tok_encoding *e, const char *text, size_t len, uint32_t **ids,
               size_t *n);

/* Number of tokens of text[0..len); (size_t)-1 on the failures of
 * tok_encode. */
size_t tok_count(const tok_encoding *e, const char *text, size_t len);

/* Decodes ids into a malloc'd byte string stored in *out (NUL-terminated,
 * caller frees) with its length in *outlen. The bytes are the tokens' raw
 * bytes (they need not be valid UTF-8); special ids give their text.
 * Returns 0; -1 when out of memory; -2 when an id is not a token, with its
 * index in *bad (nothing to free then). */
int tok_decode(const tok_encoding *e, const uint32_t *ids, size_t n, char **out,
               size_t *outlen, size_t *bad);

/* Calls fn(start, end, ud) for each pre-tokenizer piece of text, offsets in
 * bytes; for tests. Returns the piece count, or (size_t)-1 without calling
 * fn when text is not valid UTF-8 (sanitize it first). */
size_t tok_split(const tok_encoding *e, const char *text, size_t len,
                 void (*fn)(size_t start, size_t end, void *ud), void *ud);

/* Replaces invalid UTF-8 as Python's bytes.decode("utf-8", "replace") does.
 * Returns NULL when text is already valid (nothing to free); else a malloc'd
 * NUL-terminated copy with its length in *outlen (caller frees). On out of
 * memory returns NULL and sets *outlen to (size_t)-1. */
char *tok_utf8_sanitize(const char *text, size_t len, size_t *outlen);

#endif
