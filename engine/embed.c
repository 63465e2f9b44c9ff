/* embed.c: look-up in the generated table of embedded files. */
#include <string.h>

#include "embed.h"

const unsigned char *embed_find(const char *name, size_t *len)
{
  size_t lo = 0, hi = embed_table_len;
  while (lo < hi) { /* the table is sorted by name (CMake sorts the list) */
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, embed_table[mid].name);
    if (c == 0) {
      if (len) *len = (size_t)(embed_table[mid].end - embed_table[mid].start);
      return embed_table[mid].start;
    }
    if (c < 0) hi = mid; else lo = mid + 1;
  }
  return NULL;
}
