/* table.h: evalua's columnar table, the dataset and the results table.
 *
 * A table is a list of named columns of equal length. Every cell has its own
 * type (nil, string, integer, float, boolean or nested JSON), so a column may
 * mix types; the readers make columns uniform where the data is. Storage is
 * per column: one type byte and one 8-byte value per row, and one arena of
 * string bytes, so a cell costs no allocation of its own.
 *
 * Rows and columns are 0-based here (the Lua binding adds 1). Functions that
 * take a row or column index expect it in range: an index out of range is a
 * caller bug and is answered with TBL_NIL / NULL / -1, never a crash.
 *
 * Errors: functions that can fail on input return NULL or -1 and, when given
 * a tbl_err, fill it with one line naming the API and the offending thing,
 * for example "read_csv: data.csv:12:3: unclosed quote". */
#ifndef EVALUA_TABLE_H
#define EVALUA_TABLE_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tbl tbl;

typedef enum {
  TBL_NIL = 0, /* missing value */
  TBL_STR,     /* UTF-8 text (not checked when set from C or Lua) */
  TBL_INT,     /* int64 */
  TBL_FLOAT,   /* double; NaN allowed */
  TBL_BOOL,
  TBL_JSON     /* a nested list or object, kept as compact JSON text */
} tbl_type;

typedef struct {
  char msg[512];
} tbl_err;

/* ---- life cycle and shape ---- */

/* Returns a new empty table (0 rows, 0 columns) that the caller owns and
 * releases with tbl_free, or NULL when memory runs out. */
tbl *tbl_new(void);
/* Releases t and everything in it; tbl_free(NULL) is a no-op. */
void tbl_free(tbl *t);
/* Returns a deep copy the caller owns, or NULL on out of memory. */
tbl *tbl_copy(const tbl *t);

size_t tbl_nrows(const tbl *t);
size_t tbl_ncols(const tbl *t);

/* Sets the number of rows: new rows are nil, dropped rows are gone. Returns
 * 0, or -1 on out of memory (t unchanged). */
int tbl_resize(tbl *t, size_t nrows);

/* Adds a column of nils at the end. The name (len bytes, may be any bytes)
 * is copied. Returns its index, or -1 when the name is taken or memory runs
 * out (the err says which, when err is not NULL). */
long tbl_add_col(tbl *t, const char *name, size_t len, tbl_err *err);
/* Removes column col; later columns move left. Returns 0 or -1. */
int tbl_drop_col(tbl *t, size_t col);
/* Renames column col (the name is copied). Returns 0, or -1 when another
 * column has that name or memory runs out. */
int tbl_rename(tbl *t, size_t col, const char *name, size_t len, tbl_err *err);
/* Returns the index of the column named name[0..len), or -1. */
long tbl_colindex(const tbl *t, const char *name, size_t len);
/* Returns column col's name (owned by t, valid until the column is renamed
 * or dropped, NUL-terminated) and stores its length in *len when len is not
 * NULL; NULL when col is out of range. */
const char *tbl_colname(const tbl *t, size_t col, size_t *len);

/* ---- cells ---- */

/* The setters overwrite cell (row, col) and return 0, or -1 when the index
 * is out of range or memory runs out (then the cell is unchanged). String and
 * JSON bytes are copied. tbl_set_json expects compact JSON text of an array
 * or object as json_write produces (not checked). */
int tbl_set_nil(tbl *t, size_t row, size_t col);
int tbl_set_str(tbl *t, size_t row, size_t col, const char *s, size_t len);
int tbl_set_int(tbl *t, size_t row, size_t col, int64_t v);
int tbl_set_float(tbl *t, size_t row, size_t col, double v);
int tbl_set_bool(tbl *t, size_t row, size_t col, int v);
int tbl_set_json(tbl *t, size_t row, size_t col, const char *json, size_t len);

/* Copies cell (srow, scol) of src into cell (drow, dcol) of dst (dst and
 * src may be the same table). Returns 0, or -1 on a bad index or out of
 * memory (then the destination is unchanged). */
int tbl_copy_cell(tbl *dst, size_t drow, size_t dcol, const tbl *src, size_t srow, size_t scol);

tbl_type tbl_get_type(const tbl *t, size_t row, size_t col);
/* The bytes of a TBL_STR or TBL_JSON cell, NUL-terminated, owned by t and
 * valid until the cell or its column changes; length in *len (may be NULL).
 * NULL for any other type. */
const char *tbl_get_str(const tbl *t, size_t row, size_t col, size_t *len);
/* The value of a TBL_INT cell (a TBL_FLOAT is truncated, a TBL_BOOL is 0/1);
 * 0 for other types. */
int64_t tbl_get_int(const tbl *t, size_t row, size_t col);
/* The value of a TBL_FLOAT or TBL_INT cell; NaN for other types. */
double tbl_get_float(const tbl *t, size_t row, size_t col);
/* 1 for a true TBL_BOOL cell, else 0. */
int tbl_get_bool(const tbl *t, size_t row, size_t col);

/* Gives back the arena bytes of overwritten string cells of column col
 * (setters also do it on their own once half an arena is garbage); string
 * pointers from tbl_get_str for that column become invalid. Returns 0 or -1
 * on out of memory (nothing lost). */
int tbl_compact(tbl *t, size_t col);

/* The type name of a column: "integer", "float", "string", "boolean",
 * "json" when every non-nil cell has that type, "nil" when all cells are
 * nil (or there are no rows), "mixed" otherwise. A static string. */
const char *tbl_col_typename(const tbl *t, size_t col);
/* The type name of a cell type ("nil", "string", ...); a static string. */
const char *tbl_typename(tbl_type ty);

/* ---- new tables from old ---- */

/* A new table with columns cols[0..n) of t in that order (indices may
 * repeat only if err reports the duplicate: they may not). Returns a table
 * the caller owns, or NULL (out of memory, bad index, duplicate). */
tbl *tbl_select(const tbl *t, const size_t *cols, size_t n);
/* A new table with rows first..first+count-1 of t (clamped to the table).
 * Returns a table the caller owns, or NULL on out of memory. */
tbl *tbl_slice(const tbl *t, size_t first, size_t count);

/* ---- reading ---- */

typedef struct {
  char sep;     /* field separator; ',' when 0 */
  int noinfer;  /* 1: keep every cell a string (empty unquoted cells stay nil) */
  size_t chunk; /* tbl_read_csv_file: bytes read at a time; 0 = 1 MiB */
} tbl_csv_opts;

/* Reads CSV (RFC 4180 with a header row; CRLF or LF; a UTF-8 BOM is
 * skipped; blank lines are skipped). Cells: an empty unquoted field is nil;
 * unless noinfer, a column whose non-nil cells all read as integers becomes
 * integers, all numbers floats, all True/False (any case of those words:
 * True, TRUE, true) booleans; otherwise strings. Empty header names become
 * "Unnamed: K" (K the 0-based column) as pandas does; a duplicate name is an
 * error. `name` is the file name errors mention. Returns a table the caller
 * owns, or NULL with err filled ("read_csv: NAME:LINE:COL: unclosed
 * quote", "read_csv: NAME: invalid UTF-8 at byte N (line L)", "read_csv:
 * NAME:LINE: expected 3 fields, got 4"). opts may be NULL. */
tbl *tbl_read_csv_mem(const char *data, size_t len, const char *name,
                      const tbl_csv_opts *opts, tbl_err *err);
/* The same for the file at path (errors name path). The file is read in
 * chunks, so memory holds the table and one chunk, not the whole file. */
tbl *tbl_read_csv(const char *path, const tbl_csv_opts *opts, tbl_err *err);
/* The same from an open stream (the caller keeps and closes fp); errors
 * name `name`, and a read error is "read_csv: NAME: <strerror>". */
tbl *tbl_read_csv_file(FILE *fp, const char *name, const tbl_csv_opts *opts, tbl_err *err);

/* Reads JSON Lines: one object per non-blank line; columns in order of first
 * appearance; a key missing from a row is nil; JSON null is nil; nested
 * arrays and objects become TBL_JSON cells. Errors as
 * "read_jsonl: NAME:LINE:COL: unexpected ',' ...". Result owned by the
 * caller, or NULL. */
tbl *tbl_read_jsonl_mem(const char *data, size_t len, const char *name, tbl_err *err);
/* The file at path, read in chunks of whole lines (memory holds the table
 * and one chunk). */
tbl *tbl_read_jsonl(const char *path, tbl_err *err);
/* The same from an open stream the caller keeps; chunk is the bytes read at
 * a time (0 = 1 MiB). */
tbl *tbl_read_jsonl_file(FILE *fp, const char *name, size_t chunk, tbl_err *err);

/* Reads a JSON document: a list of records ([{...}, ...]), pandas "split"
 * ({"columns": [...], "data": [[...], ...]}, "index" ignored) or pandas
 * "columns" ({col: {index: value}}) orientation. Result owned by the caller,
 * or NULL with err filled ("read_json: NAME:LINE:COL: ..."). */
tbl *tbl_read_json_mem(const char *data, size_t len, const char *name, tbl_err *err);
tbl *tbl_read_json(const char *path, tbl_err *err);

/* Reads a whole file into memory: returns bytes the caller frees (with a NUL
 * after them) and their length in *len, or NULL with err filled as
 * "API: PATH: <strerror>". */
char *tbl_slurp(const char *api, const char *path, size_t *len, tbl_err *err);

/* ---- writing ---- */

typedef enum {
  TBL_FMT_CSV,          /* RFC 4180, header row, LF line ends */
  TBL_FMT_JSONL,        /* one object per row, nil as null */
  TBL_FMT_JSON_SPLIT,   /* {"columns":[...],"data":[[...],...]} (MLflow's table) */
  TBL_FMT_JSON_RECORDS  /* [{...},...] */
} tbl_format;

/* Flags for the JSON formats: bits of json.h's JSON_ASCII and JSON_PANDAS.
 * CSV cells: nil is an empty field, "" is written as "", booleans as
 * True/False, floats in the shortest exact form ("0.1", "2.0"), NaN empty,
 * JSON cells as their JSON text; fields are quoted only when needed. */

/* Receives output bytes; returns 0, or -1 to stop the writer. */
typedef int (*tbl_sink)(void *ud, const char *p, size_t n);

/* Writes t in format f to sink (in chunks of about 64 KiB). Returns 0, or -1
 * when the sink failed or memory ran out. */
int tbl_write(const tbl *t, tbl_format f, int flags, tbl_sink sink, void *ud);
/* Writes t to the file at path. A regular file is written to a temporary
 * file beside it and renamed over it at the end, so the old file or the
 * whole new one is there, never half a table; a device, pipe or symlink is
 * written directly. Returns 0, or -1 with err filled as
 * "API: PATH: <strerror>" where API is the name given. */
int tbl_write_path(const tbl *t, const char *path, tbl_format f, int flags, const char *api,
                   tbl_err *err);
/* Returns the whole output as a NUL-terminated string the caller frees,
 * length in *len; NULL on out of memory. */
char *tbl_write_string(const tbl *t, tbl_format f, int flags, size_t *len);

/* A pandas-like text preview: a 1-based row index column, right-aligned
 * column headers and cells, cells cut to maxwidth characters with "...",
 * at most maxrows rows (first and last halves around a "..." line) and a
 * "[N rows x M columns]" footer. Returns a string the caller frees, or
 * NULL on out of memory. */
char *tbl_preview(const tbl *t, size_t maxrows, size_t maxwidth);

#endif
