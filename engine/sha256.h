/* sha256.h: SHA-256 (FIPS 180-4) for cache keys, script and data hashes. */
#ifndef EVALUA_SHA256_H
#define EVALUA_SHA256_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t h[8];
  uint64_t len;      /* bytes hashed so far */
  unsigned char buf[64];
  size_t nbuf;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/* Writes the 32-byte digest to out; the context must be re-initialised to reuse. */
void sha256_final(sha256_ctx *c, unsigned char out[32]);
/* One-shot: writes the lower-case hex digest (64 chars + NUL) to hex. */
void sha256_hex(const void *data, size_t n, char hex[65]);

#endif
