/* hfhub.h: blocking downloads from a Hugging Face hub (pure C, libcurl),
 * for `evalua models pull`: one URL into memory (the metadata API) or into a
 * file, resumed with a Range request from the bytes a partial file already
 * holds, with a progress callback, and a streaming sha256 of a file.
 *
 * A bearer token goes to the first host only (libcurl drops it when a
 * redirect leads to another host, e.g. the hub's LFS CDN). */
#ifndef EVALUA_HFHUB_H
#define EVALUA_HFHUB_H
#include <stddef.h>
#include <stdint.h>

/* have = bytes of the file so far (including resumed ones), total = the
 * whole file's size when known, else 0. Return non-zero to abort. */
typedef int (*hfhub_progress_fn)(void *ud, uint64_t have, uint64_t total);

typedef struct {
  const char *url;
  const char *token;          /* bearer token, or NULL */
  const char *path;           /* write here; NULL: into memory (result body) */
  int resume;                 /* path exists with N bytes: ask for bytes N- */
  long connect_timeout_s;     /* 0: 30 s */
  long stall_timeout_s;       /* abort below 1 byte/s for this long; 0: 60 s */
  hfhub_progress_fn progress; /* NULL: none */
  void *ud;
} hfhub_request;

typedef struct {
  long status;           /* HTTP status of the last response, 0 if none */
  char *body;            /* memory mode: the body; file mode: an error body (<= 4 KB) */
  size_t len;
  uint64_t resumed_from; /* bytes kept from the partial file (206), else 0 */
  uint64_t written;      /* bytes written to the file by this call */
  uint64_t total;        /* the whole file's size when the server told it, else 0 */
} hfhub_result;

/* Performs the request. Returns 0 when the transfer completed with a 2xx
 * status (a 416 to a resume request whose file is already whole counts as
 * complete); else -1 with a message in err (the status and error body, if
 * any, in res). A transfer cut short leaves the partial file in place, so
 * another call with resume = 1 continues it. Free res with hfhub_result_free. */
int hfhub_fetch(const hfhub_request *req, hfhub_result *res, char *err, size_t errlen);
void hfhub_result_free(hfhub_result *res);

/* Lower-case hex sha256 of a file, read in 1 MB chunks. 0 or -1 with err. */
int hfhub_sha256_file(const char *path, char hex[65], uint64_t *size, char *err, size_t errlen);

/* The git blob id (sha1 of "blob <size>\0" + content) of a file: what the
 * hub lists as the oid of files that are not in LFS. 0 or -1 with err. */
int hfhub_git_oid_file(const char *path, char hex[41], char *err, size_t errlen);

#endif
