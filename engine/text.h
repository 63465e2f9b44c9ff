/* text.h: evalua.text's pure C core: textstat-exact readability (with a
 * pyphen-exact syllable counter over the embedded en_US patterns), ROUGE as
 * Google's rouge_score computes it (with NLTK's Porter stemmer), and small
 * helpers. No Lua here; engine/ltext.c binds it.
 *
 * Strings are UTF-8 byte ranges (not NUL-terminated). Invalid UTF-8 never
 * crashes: each byte that does not start a valid sequence reads as U+FFFD. */
#ifndef EVALUA_TEXT_H
#define EVALUA_TEXT_H
#include <stddef.h>

/* ---- hyphenation (pyphen's algorithm, hyph_en_US.dic, left = right = 2) ---- */

/* Loads the embedded patterns once (thread-safe). Returns 0, or -1 with a
 * message in err (cap bytes) when the embedded dictionary is missing or bad.
 * Every other hyph_ and text_ readability function calls it itself. */
int hyph_init(char *err, size_t cap);

/* Scratch memory for the functions below; one per thread. text_work_new
 * returns NULL when out of memory; text_work_free(NULL) is a no-op. */
struct text_work;
struct text_work *text_work_new(void);
void text_work_free(struct text_work *w);

/* Hyphenation points of one word as pyphen's Pyphen(lang="en_US")
 * .positions(word) gives them: code-point offsets (ascending) stored in
 * pos[0..cap) and the total count returned (it may exceed cap), or -1 when
 * out of memory or the patterns cannot be loaded. */
int hyph_positions(struct text_work *w, const char *word, size_t n, int *pos, int cap);

/* Byte offset of code point number index (0-based) in s[0..n), reading
 * invalid bytes as one code point each; n when index is past the end. */
size_t text_utf8_offset(const char *s, size_t n, size_t index);

/* ---- readability (textstat 0.7.3 / 0.7.4) ---- */

struct text_counts {
  long chars;      /* char_count: code points that are not whitespace */
  long words;      /* lexicon_count: str.split() of the punctuation-free text */
  long sentences;  /* sentence_count: >= 1 */
  long syllables;  /* syllable_count: pyphen points + 1 per word */
};

/* Fills *c for text s[0..n). Returns 0, or -1 when out of memory or when the
 * patterns cannot be loaded. */
int text_counts(struct text_work *w, const char *s, size_t n, struct text_counts *c);

/* text_counts, leaving out the syllables (c->syllables = -1) when syllables
 * is 0: ARI needs none. */
int text_counts_ex(struct text_work *w, const char *s, size_t n, struct text_counts *c,
                   int syllables);

/* textstat's _legacy_round: floor(x * 10^p + copysign(0.5, x)) / 10^p. */
double text_legacy_round(double x, int points);

/* flesch_kincaid_grade and automated_readability_index from the counts;
 * rounding = 1 is textstat's default, 0 its set_rounding(False). */
double text_fk_grade(const struct text_counts *c, int rounding);
double text_ari(const struct text_counts *c, int rounding);

/* ---- Porter stemmer (NLTK's PorterStemmer, NLTK_EXTENSIONS mode) ---- */

/* Stems the lower-case ASCII word w[0..n) into out (room for n + 1 bytes);
 * returns the stem's length (<= n), NUL-terminated. */
size_t porter_stem(const char *w, size_t n, char *out);

/* ---- ROUGE (rouge_score 0.1.2) ---- */

enum { ROUGE_N = 1, ROUGE_L = 2, ROUGE_LSUM = 3 };

struct rouge_spec {
  int kind;        /* ROUGE_N, ROUGE_L or ROUGE_LSUM */
  int n;           /* for ROUGE_N: 1..9 */
  int use_stemmer; /* Porter-stem tokens longer than 3 characters */
};

struct rouge_score {
  double precision, recall, fmeasure;
};

/* Parses "rouge1".."rouge9", "rougeL", "rougeLsum" into spec->kind and
 * spec->n. Returns 0, or -1 for any other name (as rouge_score's ValueError). */
int rouge_parse_type(const char *name, struct rouge_spec *spec);

/* Scratch memory for rouge_compute; one per thread. NULL when out of memory. */
struct rouge_work;
struct rouge_work *rouge_work_new(void);
void rouge_work_free(struct rouge_work *w);

/* Scores prediction pred[0..pn) against target tgt[0..tn) as
 * RougeScorer([type], use_stemmer).score(target, prediction) does. Returns 0,
 * or -1 with a message in err (cap bytes): out of memory, or a rougeL text
 * pair or rougeLsum line pair needing more than 2^28 LCS cells. */
int rouge_compute(struct rouge_work *w, const struct rouge_spec *spec, const char *tgt,
                  size_t tn, const char *pred, size_t pn, struct rouge_score *out, char *err,
                  size_t cap);

/* The tokens rouge_score's tokenizer makes of s[0..n), written to out
 * separated by single spaces (cap bytes, NUL-terminated, truncated if
 * needed). Returns the number of tokens, or -1 when out of memory. */
long rouge_tokens(struct rouge_work *w, const char *s, size_t n, int use_stemmer, char *out,
                  size_t cap);

#endif
