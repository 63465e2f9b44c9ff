/* lplot.c: evalua.plot.pl, the PLplot primitives a chart needs, as a plot
 * handle. The charts themselves are Lua (lua/evalua/plot/).
 *
 *   local p <close> = pl.open{ file = "out/x.png", width = 800, height = 400 }
 *   p:vpor(0.1, 0.9, 0.1, 0.9) p:wind(0, 1, 0, 1) p:box("bcnst", 0, 0, "bcnst", 0, 0)
 *
 * PLplot keeps global state with one "current stream"; every handle owns a
 * stream of its own (plmkstrm) and every method selects it first (plsstrm).
 * PLplot reports errors two ways: plabort (the operation is skipped; we route
 * the text into the handle with plsError and raise it as a Lua error) and
 * plexit (which would exit the process; our exit handler longjmps back into
 * the method, which marks the handle broken and raises). Methods are thin:
 * they check arguments, copy number lists into buffers owned by Lua, call
 * PLplot. The device (pngcairo, svgcairo, pdfcairo) follows the file
 * extension; the file is written when the handle is closed. A plot is one
 * page, started by open: there is no pladv/plenv (a second page would be
 * dropped by the file devices with a warning on stderr). */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <plplot.h>

#include "lauxlib.h"
#include "lua.h"

#include "linit.h"

#define PLOT_MT "evalua.plot"
#define PLOT_TEXT_PX 12.0 /* height of text at scale 1, in pixels (SVG: points) */

typedef struct {
  PLINT strm;          /* PLplot stream index; -1 once closed */
  int broken;          /* plexit fired inside this stream */
  PLINT errcode;       /* set by plabort through plsError */
  char errmsg[4096];   /* plabort writes here (sprintf, no bound: keep it big) */
} Plot;

/* PLplot has PL_NSTREAMS (100) streams and keeps 0 as its default one */
#define PLOT_MAX_OPEN 99
static int open_plots;

/* the method running now; plexit longjmps here instead of exiting */
static jmp_buf *active_jmp;
static char exit_msg[512];

static int on_plexit(PLCHAR_VECTOR msg)
{
  snprintf(exit_msg, sizeof exit_msg, "%s", msg ? msg : "");
  if (active_jmp) longjmp(*active_jmp, 1);
  return 1; /* outside a guarded call: PLplot exits as it always did */
}

/* Runs the statements after selecting h's stream; a plexit inside lands in
 * the else branch. Buffers used inside are filled before, so nothing is
 * modified between setjmp and longjmp. */
#define PLGUARD(h, ...)                                 \
  do {                                                  \
    jmp_buf jb_;                                        \
    plsstrm((h)->strm);                                 \
    (h)->errcode = 0;                                   \
    (h)->errmsg[0] = '\0';                              \
    exit_msg[0] = '\0';                                 \
    if (setjmp(jb_) == 0) {                             \
      active_jmp = &jb_;                                \
      __VA_ARGS__;                                      \
      active_jmp = NULL;                                \
    } else {                                            \
      active_jmp = NULL;                                \
      (h)->broken = 1;                                  \
    }                                                   \
  } while (0)

/* Raises "plot.NAME: message" when the guarded call aborted or exited. */
static void check_errors(lua_State *L, Plot *h, const char *api)
{
  if (h->broken && exit_msg[0]) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", exit_msg);
    exit_msg[0] = '\0';
    luaL_error(L, "plot.%s: %s", api, msg);
  }
  if (h->broken) luaL_error(L, "plot.%s: plplot failed", api);
  if (h->errcode || h->errmsg[0]) {
    char *m = h->errmsg;
    while (*m == '\n' || *m == ' ') m++;
    char *tail = strstr(m, ", aborting operation");
    if (tail) *tail = '\0';
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' ')) m[--n] = '\0';
    h->errcode = 0;
    lua_pushfstring(L, "plot.%s: %s", api, n ? m : "plplot aborted the operation");
    h->errmsg[0] = '\0';
    lua_error(L);
  }
}

static Plot *checkplot(lua_State *L)
{
  Plot *h = (Plot *)luaL_checkudata(L, 1, PLOT_MT);
  if (h->strm < 0) luaL_error(L, "attempt to use a closed plot");
  if (h->broken) luaL_error(L, "attempt to use a failed plot");
  return h;
}

/* Ends the stream (writes the file). __gc and __close: idempotent. */
static int plot_release(lua_State *L)
{
  Plot *h = (Plot *)luaL_checkudata(L, 1, PLOT_MT);
  if (h->strm < 0) return 0;
  PLGUARD(h, plend1());
  h->strm = -1;
  open_plots--;
  plsstrm(0);
  return 0;
}

/* p:close(): ends the plot and writes the file; errors are raised */
static int plot_close(lua_State *L)
{
  Plot *h = (Plot *)luaL_checkudata(L, 1, PLOT_MT);
  if (h->strm < 0) return 0;
  int was_broken = h->broken;
  PLGUARD(h, plend1());
  h->strm = -1;
  open_plots--;
  plsstrm(0);
  if (h->broken && !was_broken) {
    lua_pushfstring(L, "plot.close: %s", exit_msg[0] ? exit_msg : "plplot failed");
    exit_msg[0] = '\0';
    return lua_error(L);
  }
  return 0;
}

static int plot_tostring(lua_State *L)
{
  Plot *h = (Plot *)luaL_checkudata(L, 1, PLOT_MT);
  if (h->strm < 0) lua_pushliteral(L, "plot (closed)");
  else lua_pushfstring(L, "plot (stream %d)", (int)h->strm);
  return 1;
}

static const char *device_for(const char *file)
{
  const char *dot = strrchr(file, '.');
  if (!dot) return NULL;
  if (strcmp(dot, ".png") == 0 || strcmp(dot, ".PNG") == 0) return "pngcairo";
  if (strcmp(dot, ".svg") == 0 || strcmp(dot, ".SVG") == 0) return "svgcairo";
  if (strcmp(dot, ".pdf") == 0 || strcmp(dot, ".PDF") == 0) return "pdfcairo";
  return NULL;
}

static lua_Integer opt_int_field(lua_State *L, int t, const char *k, lua_Integer def)
{
  lua_Integer v = def;
  int ty = lua_getfield(L, t, k);
  if (ty != LUA_TNIL) {
    int isint;
    v = lua_tointegerx(L, -1, &isint);
    if (!isint) luaL_error(L, "plot.open: field '%s' must be an integer, got %s", k, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

/* Whether PLplot has the device (a missing driver would make plinit ask
 * for one on stdin). */
static int have_device(const char *dev)
{
  PLCHAR_VECTOR menu[128], names[128];
  PLCHAR_VECTOR *pm = menu, *pn = names;
  int n = 128;
  plgDevs(&pm, &pn, &n);
  for (int i = 0; i < n; i++)
    if (names[i] && strcmp(names[i], dev) == 0) return 1;
  return 0;
}

/* Sets up and starts h's stream; kept apart from pl_open so that no local
 * of pl_open lives across the setjmp. */
static void start_stream(Plot *h, const char *dev, const char *file, PLINT w, PLINT ht)
{
  PLFLT x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  PLGUARD(h, plsError(&h->errcode, h->errmsg); plsetopt("np", ""); plsdev(dev); plsfnam(file);
          plspage(0.0, 0.0, w, ht, 0, 0); plscolbg(255, 255, 255);
          plsfont(PL_FCI_SANS, PL_FCI_UPRIGHT, PL_FCI_MEDIUM); plinit(); pladv(0);
          plgspa(&x0, &x1, &y0, &y1));
  if (h->broken || !(x1 > x0)) return;
  /* PLplot sizes text and ticks by the page; we want the same pixel sizes
   * on every page: 12 px text, 6 px major and 3 px minor ticks */
  PLFLT mm_per_px = (x1 - x0) / (PLFLT)w;
  PLGUARD(h, plschr(PLOT_TEXT_PX * mm_per_px, 1.0); plsmaj(6.0 * mm_per_px, 1.0);
          plsmin(3.0 * mm_per_px, 1.0));
}

/* pl.open{ file =, width = 800, height = 600, device = nil } -> plot */
static int pl_open(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_getfield(L, 1, "file") != LUA_TSTRING)
    return luaL_error(L, "plot.open: field 'file' must be a string, got %s", luaL_typename(L, -1));
  const char *file = lua_tostring(L, -1);
  lua_Integer w = opt_int_field(L, 1, "width", 800);
  lua_Integer ht = opt_int_field(L, 1, "height", 600);
  if (w < 16 || w > 16384 || ht < 16 || ht > 16384)
    return luaL_error(L, "plot.open: size %dx%d out of range (16..16384)", (int)w, (int)ht);
  const char *dev;
  if (lua_getfield(L, 1, "device") == LUA_TSTRING) dev = lua_tostring(L, -1);
  else if (!lua_isnil(L, -1))
    return luaL_error(L, "plot.open: field 'device' must be a string, got %s", luaL_typename(L, -1));
  else dev = device_for(file);
  if (!dev) return luaL_error(L, "plot.open: '%s': unknown file type (use .png, .svg or .pdf)", file);
  if (strcmp(dev, "pngcairo") != 0 && strcmp(dev, "svgcairo") != 0 && strcmp(dev, "pdfcairo") != 0)
    return luaL_error(L, "plot.open: unknown device '%s' (pngcairo, svgcairo or pdfcairo)", dev);
  if (!have_device(dev))
    return luaL_error(L, "plot.open: PLplot has no '%s' device (install plplot-driver-cairo)", dev);
  /* PLplot prompts on stdin or exits when it cannot open the file: check first */
  FILE *f = fopen(file, "wb");
  if (!f) return luaL_error(L, "plot.open: cannot open '%s': %s", file, strerror(errno));
  fclose(f);

  Plot *h = (Plot *)lua_newuserdatauv(L, sizeof *h, 0);
  h->strm = -1; /* inert until the stream exists */
  h->broken = 0;
  h->errcode = 0;
  h->errmsg[0] = '\0';
  luaL_setmetatable(L, PLOT_MT);
  plsexit(on_plexit);
  /* checked here: PLplot would print a warning of its own */
  if (open_plots >= PLOT_MAX_OPEN)
    return luaL_error(L, "plot.open: too many plots open at once (%d)", PLOT_MAX_OPEN);
  PLINT s = -1;
  plmkstrm(&s);
  if (s < 0) return luaL_error(L, "plot.open: too many plots open at once");
  h->strm = s;
  open_plots++;
  start_stream(h, dev, file, (PLINT)w, (PLINT)ht);
  check_errors(L, h, "open");
  return 1;
}

/* Reads argument i, a list of numbers, into a buffer owned by Lua (left on
 * the stack); *n gets its length. */
static PLFLT *checkvec(lua_State *L, int i, PLINT *n)
{
  luaL_checktype(L, i, LUA_TTABLE);
  lua_Integer len = luaL_len(L, i);
  if (len > 100000000) luaL_argerror(L, i, "list too long");
  PLFLT *v = (PLFLT *)lua_newuserdatauv(L, (size_t)(len ? len : 1) * sizeof *v, 0);
  for (lua_Integer k = 1; k <= len; k++) {
    int isnum;
    lua_rawgeti(L, i, k);
    v[k - 1] = (PLFLT)lua_tonumberx(L, -1, &isnum);
    if (!isnum) {
      const char *got = luaL_typename(L, -1);
      const char *msg = lua_pushfstring(L, "number expected at index %d, got %s", (int)k, got);
      luaL_argerror(L, i, msg);
    }
    lua_pop(L, 1);
  }
  *n = (PLINT)len;
  return v;
}

/* two lists of the same length at arguments i and i+1 */
static PLINT checkpair(lua_State *L, int i, PLFLT **x, PLFLT **y)
{
  PLINT nx, ny;
  *x = checkvec(L, i, &nx);
  *y = checkvec(L, i + 1, &ny);
  if (nx != ny) luaL_argerror(L, i + 1, lua_pushfstring(L, "length %d, expected %d", (int)ny, (int)nx));
  return nx;
}

#define NUM(i) ((PLFLT)luaL_checknumber(L, (i)))
#define INT(i) ((PLINT)luaL_checkinteger(L, (i)))

static PLINT checkbyte(lua_State *L, int i)
{
  lua_Integer v = luaL_checkinteger(L, i);
  luaL_argcheck(L, v >= 0 && v <= 255, i, "colour component out of range 0..255");
  return (PLINT)v;
}

static int m_vpor(lua_State *L) { Plot *h = checkplot(L); PLFLT a = NUM(2), b = NUM(3), c = NUM(4), d = NUM(5); PLGUARD(h, plvpor(a, b, c, d)); check_errors(L, h, "vpor"); return 0; }
static int m_svpa(lua_State *L) { Plot *h = checkplot(L); PLFLT a = NUM(2), b = NUM(3), c = NUM(4), d = NUM(5); PLGUARD(h, plsvpa(a, b, c, d)); check_errors(L, h, "svpa"); return 0; }
static int m_vpas(lua_State *L) { Plot *h = checkplot(L); PLFLT a = NUM(2), b = NUM(3), c = NUM(4), d = NUM(5), e = NUM(6); PLGUARD(h, plvpas(a, b, c, d, e)); check_errors(L, h, "vpas"); return 0; }
static int m_vsta(lua_State *L) { Plot *h = checkplot(L); PLGUARD(h, plvsta()); check_errors(L, h, "vsta"); return 0; }
static int m_wind(lua_State *L) { Plot *h = checkplot(L); PLFLT a = NUM(2), b = NUM(3), c = NUM(4), d = NUM(5); PLGUARD(h, plwind(a, b, c, d)); check_errors(L, h, "wind"); return 0; }
/* p:env(xmin, xmax, ymin, ymax): standard viewport, window and a boxed,
 * labelled frame; unlike plenv it stays on the page (a plot has one page) */
static int m_env(lua_State *L) { Plot *h = checkplot(L); PLFLT a = NUM(2), b = NUM(3), c = NUM(4), d = NUM(5); PLGUARD(h, plvsta(); plwind(a, b, c, d); plbox("bcnst", 0, 0, "bcnstv", 0, 0)); check_errors(L, h, "env"); return 0; }
static int m_scmap0n(lua_State *L) { Plot *h = checkplot(L); PLINT n = INT(2); luaL_argcheck(L, n >= 1 && n <= 256, 2, "out of range 1..256"); PLGUARD(h, plscmap0n(n)); check_errors(L, h, "scmap0n"); return 0; }
static int m_col0(lua_State *L) { Plot *h = checkplot(L); PLINT i = INT(2); PLGUARD(h, plcol0(i)); check_errors(L, h, "col0"); return 0; }
static int m_width(lua_State *L) { Plot *h = checkplot(L); PLFLT w = NUM(2); PLGUARD(h, plwidth(w)); check_errors(L, h, "width"); return 0; }
static int m_lsty(lua_State *L) { Plot *h = checkplot(L); PLINT s = INT(2); luaL_argcheck(L, s >= 1 && s <= 8, 2, "line style out of range 1..8"); PLGUARD(h, pllsty(s)); check_errors(L, h, "lsty"); return 0; }
static int m_schr(lua_State *L) { Plot *h = checkplot(L); PLFLT d = NUM(2), s = (PLFLT)luaL_optnumber(L, 3, 1.0); PLGUARD(h, plschr(d, s)); check_errors(L, h, "schr"); return 0; }
static int m_join(lua_State *L) { Plot *h = checkplot(L); PLFLT a = NUM(2), b = NUM(3), c = NUM(4), d = NUM(5); PLGUARD(h, pljoin(a, b, c, d)); check_errors(L, h, "join"); return 0; }

/* p:scol0(i, r, g, b [, alpha]) sets colour i of map 0 */
static int m_scol0(lua_State *L)
{
  Plot *h = checkplot(L);
  PLINT i = INT(2), r = checkbyte(L, 3), g = checkbyte(L, 4), b = checkbyte(L, 5);
  PLFLT a = (PLFLT)luaL_optnumber(L, 6, 1.0);
  luaL_argcheck(L, a >= 0 && a <= 1, 6, "alpha out of range 0..1");
  PLGUARD(h, plscol0a(i, r, g, b, a));
  check_errors(L, h, "scol0");
  return 0;
}

/* p:rgb(r, g, b [, alpha]): draw in this colour from now on (uses map 0
 * slot 15, which the charts keep as the scratch colour) */
static int m_rgb(lua_State *L)
{
  Plot *h = checkplot(L);
  PLINT r = checkbyte(L, 2), g = checkbyte(L, 3), b = checkbyte(L, 4);
  PLFLT a = (PLFLT)luaL_optnumber(L, 5, 1.0);
  luaL_argcheck(L, a >= 0 && a <= 1, 5, "alpha out of range 0..1");
  PLGUARD(h, plscol0a(15, r, g, b, a); plcol0(15));
  check_errors(L, h, "rgb");
  return 0;
}

static int m_line(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT *x, *y;
  PLINT n = checkpair(L, 2, &x, &y);
  if (n >= 2) PLGUARD(h, plline(n, x, y));
  check_errors(L, h, "line");
  return 0;
}

static int m_fill(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT *x, *y;
  PLINT n = checkpair(L, 2, &x, &y);
  luaL_argcheck(L, n >= 3, 2, "a fill needs at least 3 points");
  PLGUARD(h, plfill(n, x, y));
  check_errors(L, h, "fill");
  return 0;
}

/* p:poin(xs, ys, code): a glyph at each point */
static int m_poin(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT *x, *y;
  PLINT n = checkpair(L, 2, &x, &y);
  PLINT code = INT(4);
  PLGUARD(h, plpoin(n, x, y, code));
  check_errors(L, h, "poin");
  return 0;
}

/* p:erry(xs, ymins, ymaxs): vertical error bars */
static int m_erry(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT *x, *lo, *hi;
  PLINT n = checkpair(L, 2, &x, &lo), n2;
  hi = checkvec(L, 4, &n2);
  luaL_argcheck(L, n2 == n, 4, "length differs from the x list");
  PLGUARD(h, plerry(n, x, lo, hi));
  check_errors(L, h, "erry");
  return 0;
}

/* p:arc(x, y, a, b, angle1, angle2 [, rotate [, fill]]) in degrees */
static int m_arc(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT x = NUM(2), y = NUM(3), a = NUM(4), b = NUM(5), a1 = NUM(6), a2 = NUM(7);
  PLFLT rot = (PLFLT)luaL_optnumber(L, 8, 0.0);
  PLBOOL fill = lua_toboolean(L, 9);
  PLGUARD(h, plarc(x, y, a, b, a1, a2, rot, fill));
  check_errors(L, h, "arc");
  return 0;
}

/* p:ptex(x, y, dx, dy, just, text): text at a world point along (dx, dy) */
static int m_ptex(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT x = NUM(2), y = NUM(3), dx = NUM(4), dy = NUM(5), j = NUM(6);
  const char *s = luaL_checkstring(L, 7);
  PLGUARD(h, plptex(x, y, dx, dy, j, s));
  check_errors(L, h, "ptex");
  return 0;
}

/* p:mtex(side, disp, pos, just, text): text relative to the viewport */
static int m_mtex(lua_State *L)
{
  Plot *h = checkplot(L);
  const char *side = luaL_checkstring(L, 2);
  PLFLT disp = NUM(3), pos = NUM(4), j = NUM(5);
  const char *s = luaL_checkstring(L, 6);
  PLGUARD(h, plmtex(side, disp, pos, j, s));
  check_errors(L, h, "mtex");
  return 0;
}

/* p:box(xopt, xtick, nxsub, yopt, ytick, nysub) */
static int m_box(lua_State *L)
{
  Plot *h = checkplot(L);
  const char *xo = luaL_checkstring(L, 2);
  PLFLT xt = NUM(3);
  PLINT xs = INT(4);
  const char *yo = luaL_checkstring(L, 5);
  PLFLT yt = NUM(6);
  PLINT ys = INT(7);
  PLGUARD(h, plbox(xo, xt, xs, yo, yt, ys));
  check_errors(L, h, "box");
  return 0;
}

/* p:lab(xlabel, ylabel, title) */
static int m_lab(lua_State *L)
{
  Plot *h = checkplot(L);
  const char *x = luaL_checkstring(L, 2), *y = luaL_checkstring(L, 3), *t = luaL_checkstring(L, 4);
  PLGUARD(h, pllab(x, y, t));
  check_errors(L, h, "lab");
  return 0;
}

/* p:bin(xs, counts [, opt]): a histogram of precomputed bins */
static int m_bin(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT *x, *y;
  PLINT n = checkpair(L, 2, &x, &y);
  PLINT opt = (PLINT)luaL_optinteger(L, 4, PL_BIN_DEFAULT);
  luaL_argcheck(L, n >= 1, 2, "no bins");
  PLGUARD(h, plbin(n, x, y, opt));
  check_errors(L, h, "bin");
  return 0;
}

/* p:hist(data, min, max, nbin [, opt]): bins the data and draws it in the
 * current window (set it first: PL_HIST_NOSCALING is always on) */
static int m_hist(lua_State *L)
{
  Plot *h = checkplot(L);
  PLINT n;
  PLFLT *d = checkvec(L, 2, &n);
  PLFLT lo = NUM(3), hi = NUM(4);
  PLINT nbin = INT(5), opt = (PLINT)luaL_optinteger(L, 6, PL_HIST_DEFAULT);
  luaL_argcheck(L, nbin >= 1 && nbin <= 100000, 5, "bin count out of range 1..100000");
  luaL_argcheck(L, hi > lo, 4, "max must be greater than min");
  /* without NOSCALING plhist calls plenv, which would start a second page */
  PLGUARD(h, plhist(n, d, lo, hi, nbin, opt | PL_HIST_NOSCALING));
  check_errors(L, h, "hist");
  return 0;
}

/* p:font(family, style, weight): "sans"|"serif"|"mono", "upright"|"italic",
 * "medium"|"bold" */
static int m_font(lua_State *L)
{
  static const char *const fams[] = {"sans", "serif", "mono", "script", "symbol", NULL};
  static const PLINT famv[] = {PL_FCI_SANS, PL_FCI_SERIF, PL_FCI_MONO, PL_FCI_SCRIPT, PL_FCI_SYMBOL};
  static const char *const styles[] = {"upright", "italic", "oblique", NULL};
  static const PLINT stylev[] = {PL_FCI_UPRIGHT, PL_FCI_ITALIC, PL_FCI_OBLIQUE};
  static const char *const weights[] = {"medium", "bold", NULL};
  static const PLINT weightv[] = {PL_FCI_MEDIUM, PL_FCI_BOLD};
  Plot *h = checkplot(L);
  PLINT f = famv[luaL_checkoption(L, 2, "sans", fams)];
  PLINT s = stylev[luaL_checkoption(L, 3, "upright", styles)];
  PLINT w = weightv[luaL_checkoption(L, 4, "medium", weights)];
  PLGUARD(h, plsfont(f, s, w));
  check_errors(L, h, "font");
  return 0;
}

/* p:gchr() -> default and current character height in mm */
static int m_gchr(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT d = 0, c = 0;
  PLGUARD(h, plgchr(&d, &c));
  check_errors(L, h, "gchr");
  lua_pushnumber(L, d);
  lua_pushnumber(L, c);
  return 2;
}

/* p:gspa() -> page in mm: xmin, xmax, ymin, ymax */
static int m_gspa(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT a = 0, b = 0, c = 0, d = 0;
  PLGUARD(h, plgspa(&a, &b, &c, &d));
  check_errors(L, h, "gspa");
  lua_pushnumber(L, a); lua_pushnumber(L, b); lua_pushnumber(L, c); lua_pushnumber(L, d);
  return 4;
}

/* p:gvpd() -> the viewport in normalized page coordinates */
static int m_gvpd(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT a = 0, b = 0, c = 0, d = 0;
  PLGUARD(h, plgvpd(&a, &b, &c, &d));
  check_errors(L, h, "gvpd");
  lua_pushnumber(L, a); lua_pushnumber(L, b); lua_pushnumber(L, c); lua_pushnumber(L, d);
  return 4;
}

/* p:gvpw() -> the window in world coordinates */
static int m_gvpw(lua_State *L)
{
  Plot *h = checkplot(L);
  PLFLT a = 0, b = 0, c = 0, d = 0;
  PLGUARD(h, plgvpw(&a, &b, &c, &d));
  check_errors(L, h, "gvpw");
  lua_pushnumber(L, a); lua_pushnumber(L, b); lua_pushnumber(L, c); lua_pushnumber(L, d);
  return 4;
}

/* plexit and plabort are exported by libplplot but declared only in its
 * private header */
void plexit(PLCHAR_VECTOR errormsg);
void plabort(PLCHAR_VECTOR errormsg);

/* p:_fail(kind, msg): raises PLplot's own error of that kind ("exit": the
 * fatal one, "abort": the skipped operation) through the real paths, so the
 * tests can check that the process survives and the message arrives */
static int m_fail(lua_State *L)
{
  static const char *const kinds[] = {"abort", "exit", NULL};
  Plot *h = checkplot(L);
  int kind = luaL_checkoption(L, 2, NULL, kinds);
  const char *msg = luaL_checkstring(L, 3);
  if (kind == 0) PLGUARD(h, plabort(msg));
  else PLGUARD(h, plexit(msg));
  check_errors(L, h, "_fail");
  return 0;
}

/* pl.version() -> PLplot's version string */
static int pl_version(lua_State *L)
{
  char v[80];
  plgver(v);
  lua_pushstring(L, v);
  return 1;
}

/* Read by LeakSanitizer in sanitizer builds (a weak hook; unused otherwise):
 * fontconfig, which cairo uses for text, keeps its font caches until exit
 * by design, and they are reported as leaks. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
  return "leak:libfontconfig.so\n";
}

/* ... and without a "Suppressions used" table on stderr at every exit */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
  return "print_suppressions=0";
}

static const luaL_Reg methods[] = {
  {"vpor", m_vpor}, {"svpa", m_svpa}, {"vpas", m_vpas}, {"vsta", m_vsta},
  {"wind", m_wind}, {"env", m_env}, {"scmap0n", m_scmap0n}, {"scol0", m_scol0},
  {"col0", m_col0}, {"rgb", m_rgb}, {"width", m_width}, {"lsty", m_lsty}, {"schr", m_schr},
  {"line", m_line}, {"join", m_join}, {"fill", m_fill}, {"poin", m_poin}, {"erry", m_erry},
  {"arc", m_arc}, {"ptex", m_ptex}, {"mtex", m_mtex}, {"box", m_box}, {"lab", m_lab},
  {"bin", m_bin}, {"hist", m_hist}, {"font", m_font}, {"gchr", m_gchr}, {"gspa", m_gspa},
  {"gvpd", m_gvpd}, {"gvpw", m_gvpw}, {"close", plot_close}, {"_fail", m_fail}, {NULL, NULL}};

static const luaL_Reg metamethods[] = {
  {"__gc", plot_release}, {"__close", plot_release}, {"__tostring", plot_tostring},
  {"__index", NULL}, {NULL, NULL}};

static const luaL_Reg funcs[] = {{"open", pl_open}, {"version", pl_version}, {NULL, NULL}};

int luaopen_evalua_plot_pl(lua_State *L)
{
  luaL_newmetatable(L, PLOT_MT);
  luaL_setfuncs(L, metamethods, 0);
  luaL_newlibtable(L, methods);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_pushinteger(L, PL_BIN_CENTRED); lua_setfield(L, -2, "BIN_CENTRED");
  lua_pushinteger(L, PL_BIN_NOEXPAND); lua_setfield(L, -2, "BIN_NOEXPAND");
  lua_pushinteger(L, PL_BIN_NOEMPTY); lua_setfield(L, -2, "BIN_NOEMPTY");
  lua_pushinteger(L, PL_HIST_NOSCALING); lua_setfield(L, -2, "HIST_NOSCALING");
  lua_pushinteger(L, PL_HIST_IGNORE_OUTLIERS); lua_setfield(L, -2, "HIST_IGNORE_OUTLIERS");
  lua_pushinteger(L, PL_HIST_NOEXPAND); lua_setfield(L, -2, "HIST_NOEXPAND");
  lua_pushinteger(L, PL_HIST_NOEMPTY); lua_setfield(L, -2, "HIST_NOEMPTY");
  return 1;
}
