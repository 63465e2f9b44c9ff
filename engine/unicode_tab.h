/* unicode_tab.h: code point classes for the tokenizer's pre-tokenizer, from
 * Unicode 16.0 (generated into unicode_tab.c by contrib/unicode/gen.sh). */
#ifndef EVALUA_UNICODE_TAB_H
#define EVALUA_UNICODE_TAB_H
#include <stdint.h>

enum {
  UC_L = 1,   /* \p{L}: Lu Ll Lt Lm Lo */
  UC_N = 2,   /* \p{N}: Nd Nl No */
  UC_WS = 4,  /* \s: the White_Space property */
  UC_UP = 8,  /* o200k's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] */
  UC_LO = 16, /* o200k's [\p{Ll}\p{Lm}\p{Lo}\p{M}] */
  UC_M = 32   /* \p{M}: Mn Mc Me */
};

extern const unsigned char uc_stage1[0x1100];
extern const unsigned char uc_stage2[][256];

/* The UC_* bits of code point cp (0 for cp > 0x10FFFF and surrogates). */
static inline unsigned uc_class(uint32_t cp)
{
  if (cp > 0x10FFFF) return 0;
  return uc_stage2[uc_stage1[cp >> 8]][cp & 0xFF];
}
#endif
