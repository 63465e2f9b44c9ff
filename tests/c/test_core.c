/* Unit tests for the small core services: SHA-256 and the embedded files. */
#include <string.h>

#include "check.h"
#include "embed.h"
#include "sha256.h"

int main(void)
{
  static const struct { const char *in; const char *hex; } vec[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  char hex[65];
  for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
    sha256_hex(vec[i].in, strlen(vec[i].in), hex);
    CHECK_STR(hex, vec[i].hex);
  }
  /* a million 'a's fed in odd-sized pieces */
  sha256_ctx c;
  unsigned char d[32], buf[997];
  memset(buf, 'a', sizeof buf);
  sha256_init(&c);
  size_t left = 1000000;
  while (left) {
    size_t k = left < sizeof buf ? left : sizeof buf;
    sha256_update(&c, buf, k);
    left -= k;
  }
  sha256_final(&c, d);
  CHECK(d[0] == 0xcd && d[1] == 0xc7 && d[31] == 0xd0);

  size_t len = 0;
  const unsigned char *p = embed_find("lua/evalua/init.lua", &len);
  CHECK(p != NULL && len > 0 && p[len] == '\0');
  CHECK(embed_find("lua/evalua/nonexistent.lua", NULL) == NULL);
  for (size_t i = 1; i < embed_table_len; i++)
    CHECK(strcmp(embed_table[i - 1].name, embed_table[i].name) < 0);
  return check_done();
}
