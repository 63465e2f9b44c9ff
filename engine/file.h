/* file.h: the one whole-file read of the pure C parts (tables, tokenizer
 * vocabularies, model configs). Streaming readers (csv.c, table_json.c's
 * JSON Lines) read in chunks instead. */
#ifndef EVALUA_FILE_H
#define EVALUA_FILE_H
#include <stddef.h>

/* Reads the whole file at path (a regular file in one go, a pipe or FIFO to
 * its end) into a new buffer with a NUL after the last byte, which the caller
 * frees; *len is the byte count (the NUL not counted). Returns 0, or an errno
 * value (ENOMEM when memory runs out) with *out NULL: the caller words the
 * error, e.g. "read_json: data.json: No such file or directory". */
int file_read_all(const char *path, char **out, size_t *len);

/* file_read_all with the error worded into err (errlen bytes):
 * "<api>: cannot open <path>: <reason>" or "<api>: out of memory reading
 * <path>". Returns the buffer (the caller frees it) or NULL. */
char *file_read(const char *api, const char *path, size_t *len, char *err, size_t errlen);

#endif
