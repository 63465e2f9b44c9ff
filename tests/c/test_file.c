/* test_file.c: file_read_all / file_read (engine/file.c), the one whole-file read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "file.h"

static char *tmp_with(const char *bytes, size_t n)
{
  static char path[64];
  snprintf(path, sizeof path, "/tmp/evalua-test-file-XXXXXX");
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK(write(fd, bytes, n) == (ssize_t)n);
  close(fd);
  return path;
}

int main(void)
{
  char *p;
  size_t len;
  /* a regular file, with a NUL inside and one after the end */
  const char *path = tmp_with("ab\0cd", 5);
  CHECK(file_read_all(path, &p, &len) == 0);
  CHECK(len == 5 && memcmp(p, "ab\0cd", 5) == 0 && p[5] == '\0');
  free(p);
  unlink(path);
  /* empty */
  path = tmp_with("", 0);
  CHECK(file_read_all(path, &p, &len) == 0 && len == 0 && p && p[0] == '\0');
  free(p);
  unlink(path);
  /* larger than the first guess of a file whose size stat does not tell */
  CHECK(file_read_all("/proc/self/maps", &p, &len) == 0 && len > 0 && strlen(p) == len);
  free(p);
  /* bigger than 64 KiB */
  size_t big = 300000;
  char *data = malloc(big);
  CHECK(data);
  for (size_t i = 0; i < big; i++) data[i] = (char)('a' + i % 26);
  path = tmp_with(data, big);
  CHECK(file_read_all(path, &p, &len) == 0 && len == big && memcmp(p, data, big) == 0);
  free(p);
  unlink(path);
  free(data);
  /* missing: errno, nothing allocated; the worded form */
  CHECK(file_read_all("/nonexistent/x", &p, &len) == ENOENT && p == NULL);
  char err[200];
  CHECK(file_read("roberta", "/nonexistent/x", &len, err, sizeof err) == NULL);
  CHECK(strcmp(err, "roberta: cannot open /nonexistent/x: No such file or directory") == 0);
  CHECK(file_read_all("/", &p, &len) == EISDIR && p == NULL);
  return check_done();
}
