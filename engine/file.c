/* file.c: file_read_all (file.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file.h"

int file_read_all(const char *path, char **out, size_t *len)
{
  *out = NULL;
  *len = 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return errno ? errno : EIO;
  struct stat st;
  size_t cap = 65536, n = 0;
  /* a regular file is read into a buffer of its size (and one more byte to see the end) */
  if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      (unsigned long long)st.st_size < (unsigned long long)(SIZE_MAX / 2))
    cap = (size_t)st.st_size + 2;
  char *p = malloc(cap);
  int rc = p ? 0 : ENOMEM;
  while (p) {
    if (cap - n < 2) {
      char *q = cap <= SIZE_MAX / 2 ? realloc(p, cap * 2) : NULL;
      if (!q) { rc = ENOMEM; break; }
      p = q;
      cap *= 2;
    }
    size_t k = fread(p + n, 1, cap - n - 1, fp);
    n += k;
    if (k == 0) {
      if (ferror(fp)) rc = errno ? errno : EIO;
      break;
    }
  }
  fclose(fp);
  if (rc) {
    free(p);
    return rc;
  }
  p[n] = '\0';
  *out = p;
  *len = n;
  return 0;
}

char *file_read(const char *api, const char *path, size_t *len, char *err, size_t errlen)
{
  char *p;
  int e = file_read_all(path, &p, len);
  if (e == ENOMEM) snprintf(err, errlen, "%s: out of memory reading %s", api, path);
  else if (e) snprintf(err, errlen, "%s: cannot open %s: %s", api, path, strerror(e));
  return p;
}
