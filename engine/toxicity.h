/* toxicity.h: the embedded toxicity classifier (pure C, no Lua).
 *
 * A logistic regression over hashed features of a normalised text, chosen
 * by feature flags stored in the file: word 1-, 2- and 3-grams, character
 * 3-5-grams of each word, words in a negation scope, words inside quotation
 * marks, words of a text that names an identity group, and word 2-/3-grams
 * with every identity term replaced by one class token. The weights
 * file (engine/data/toxicity.bin, made by contrib/train-toxicity) holds the
 * bucket weights, a bias and a Platt calibration; toxicity_prob() returns a
 * calibrated probability that the text is toxic (hateful or offensive).
 *
 * Weights file layout (little-endian):
 *   8 bytes  magic "EVTOXLR2"
 *   u32      nbits (2^nbits buckets)
 *   f32      bias, platt_a, platt_b
 *   u32      feature flags (TOXICITY_F_*)
 *   u32      length of the metadata text, then that many bytes
 *            ("key=value" lines: training data, command, quality numbers)
 *   f32 x 2^nbits  bucket weights
 */
#ifndef EVALUA_TOXICITY_H
#define EVALUA_TOXICITY_H
#include <stddef.h>
#include <stdint.h>

#define TOXICITY_MAGIC "EVTOXLR2"

/* feature families */
#define TOXICITY_F_WORD 1u     /* word unigrams */
#define TOXICITY_F_BIGRAM 2u   /* word bigrams within a clause */
#define TOXICITY_F_CHAR 4u     /* character 3-5-grams of "<word>" */
#define TOXICITY_F_NEG 8u      /* words after a negator, to the clause end */
#define TOXICITY_F_QUOTE 16u   /* words between double quotes */
#define TOXICITY_F_IDWORD 32u  /* words of a text naming an identity group (and negated) */
#define TOXICITY_F_IDGRAM 64u  /* 2-/3-grams with identity terms as one class */
#define TOXICITY_F_TRIGRAM 128u /* word trigrams within a clause */
#define TOXICITY_F_ALL 255u
#define TOXICITY_MIN_BITS 10
#define TOXICITY_MAX_BITS 24

typedef struct {
  unsigned nbits, flags;
  float bias, platt_a, platt_b;
  const char *meta;     /* metadata text (not NUL-terminated), meta_len bytes */
  size_t meta_len;
  const float *w;       /* 2^nbits weights; points into the loaded buffer or owned */
  float *owned;         /* non-NULL when toxicity_model_parse copied the weights */
  char sha256[65];      /* hex digest of the whole weights file */
} toxicity_model;

/* Called once per feature occurrence with the bucket index (< 2^nbits). */
typedef void (*toxicity_feature_fn)(uint32_t bucket, void *ud);

/* Normalises text[0..len) (any bytes: invalid UTF-8 is skipped, not an
 * error) and calls fn for every feature. Returns the number of features, or
 * (size_t)-1 when memory runs out. Allocates only for texts over 4 KiB and
 * frees before returning. */
size_t toxicity_features(const char *text, size_t len, unsigned nbits, unsigned flags,
                         toxicity_feature_fn fn, void *ud);

/* Writes the normalised form of text into out (capacity cap, always
 * NUL-terminated when cap > 0) and returns its full length (for tests and
 * for documentation of what the model sees). */
size_t toxicity_normalize(const char *text, size_t len, char *out, size_t cap);

/* Parses a weights file held in buf[0..len). The weights are copied when buf
 * is not 4-byte aligned, otherwise the model points into buf, which must
 * then outlive it. Returns 0, or -1 with a message in err. Release with
 * toxicity_model_free. */
int toxicity_model_parse(toxicity_model *m, const unsigned char *buf, size_t len,
                         char *err, size_t errlen);
/* Frees the copied weights (if any); the model must not be used after. */
void toxicity_model_free(toxicity_model *m);

/* The model built into the binary (engine/data/toxicity.bin), parsed on the
 * first call (thread-safe). Returns NULL with a message in err when the
 * embedded file is missing or broken. The caller owns nothing. */
const toxicity_model *toxicity_default(char *err, size_t errlen);

/* The uncalibrated logit: bias + sum of the feature weights / sqrt(count). */
double toxicity_logit(const toxicity_model *m, const char *text, size_t len);
/* The calibrated probability, in [0, 1]; 0 for a text with no features
 * (empty, only punctuation, URLs or invalid bytes); NaN only when memory
 * runs out. */
double toxicity_prob(const toxicity_model *m, const char *text, size_t len);
/* Platt calibration of a raw logit. */
double toxicity_calibrate(const toxicity_model *m, double logit);

#endif
