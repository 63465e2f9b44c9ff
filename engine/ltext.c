/* ltext.c: evalua.text, the Lua binding of engine/text.c, rouge.c and
 * porter.c. Column functions take a column list (values at 1..n, field n)
 * and return one, scoring a non-string cell nil and listing its row in a
 * second result, so a metric can report it. One C call per column. */
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#include "ltable.h"

#include "linit.h"
#include "text.h"
#include "text_unicode.h"

#define WORK_MT "evalua.text.work"

struct work {
  struct text_work *tw;
  struct rouge_work *rw;
};

static int work_gc(lua_State *L)
{
  struct work *w = luaL_checkudata(L, 1, WORK_MT);
  text_work_free(w->tw);
  rouge_work_free(w->rw);
  w->tw = NULL;
  w->rw = NULL;
  return 0;
}

static struct work *getwork(lua_State *L)
{
  return lua_touserdata(L, lua_upvalueindex(1));
}

static int opt_bool(lua_State *L, int idx, const char *field, int dflt)
{
  if (!lua_isnoneornil(L, idx)) luaL_checktype(L, idx, LUA_TTABLE);
  if (lua_type(L, idx) != LUA_TTABLE) return dflt;
  lua_getfield(L, idx, field);
  int v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static void load_patterns(lua_State *L, const char *api)
{
  char err[200];
  if (hyph_init(err, sizeof err)) luaL_error(L, "%s: %s", api, err);
}

enum { R_FK, R_ARI };

/* [scores, skipped] for a readability column */
static int readability(lua_State *L, int which, const char *api)
{
  struct work *w = getwork(L);
  lua_Integer n = ltable_list_len(L, 1, api);
  int rounding = opt_bool(L, 2, "rounding", 1);
  load_patterns(L, api);
  lua_createtable(L, (int)(n < 1 << 24 ? n : 0), 1); /* scores */
  lua_newtable(L);                                     /* skipped rows */
  lua_Integer nskip = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_geti(L, 1, i) != LUA_TSTRING) {
      lua_pop(L, 1);
      lua_pushinteger(L, i);
      lua_rawseti(L, -2, ++nskip);
      continue;
    }
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    struct text_counts c;
    if (text_counts_ex(w->tw, s, len, &c, which == R_FK))
      return luaL_error(L, "%s: out of memory", api);
    lua_pop(L, 1);
    lua_pushnumber(L, which == R_FK ? text_fk_grade(&c, rounding) : text_ari(&c, rounding));
    lua_rawseti(L, -3, i);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -3, "n");
  return 2;
}

/* text.flesch_kincaid(column[, {rounding = true}]) -> scores, skipped_rows */
static int l_flesch_kincaid(lua_State *L)
{
  return readability(L, R_FK, "text.flesch_kincaid");
}

/* text.ari(column[, {rounding = true}]) -> scores, skipped_rows */
static int l_ari(lua_State *L)
{
  return readability(L, R_ARI, "text.ari");
}

/* text.counts(s) -> {chars=, words=, sentences=, syllables=} (textstat's) */
static int l_counts(lua_State *L)
{
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  load_patterns(L, "text.counts");
  struct text_counts c;
  if (text_counts(getwork(L)->tw, s, len, &c)) return luaL_error(L, "text.counts: out of memory");
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, c.chars);
  lua_setfield(L, -2, "chars");
  lua_pushinteger(L, c.words);
  lua_setfield(L, -2, "words");
  lua_pushinteger(L, c.sentences);
  lua_setfield(L, -2, "sentences");
  lua_pushinteger(L, c.syllables);
  lua_setfield(L, -2, "syllables");
  return 1;
}

/* text.hyphenate(word[, hyphen = "-"]) -> hyphenated word, {positions} */
static int l_hyphenate(lua_State *L)
{
  size_t len, hlen;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *hy = luaL_optlstring(L, 2, "-", &hlen);
  load_patterns(L, "text.hyphenate");
  int stackpos[64];
  int np = hyph_positions(getwork(L)->tw, s, len, stackpos, 64);
  if (np < 0) return luaL_error(L, "text.hyphenate: out of memory");
  int *pos = stackpos;
  if (np > 64) {
    pos = lua_newuserdatauv(L, (size_t)np * sizeof *pos, 0);
    hyph_positions(getwork(L)->tw, s, len, pos, np);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t at = 0;
  for (int k = 0; k < np; k++) {
    size_t off = text_utf8_offset(s, len, (size_t)pos[k]);
    luaL_addlstring(&b, s + at, off - at);
    luaL_addlstring(&b, hy, hlen);
    at = off;
  }
  luaL_addlstring(&b, s + at, len - at);
  luaL_pushresult(&b);
  lua_createtable(L, np, 0);
  for (int k = 0; k < np; k++) {
    lua_pushinteger(L, pos[k]);
    lua_rawseti(L, -2, k + 1);
  }
  return 2;
}

static void check_rouge_type(lua_State *L, int idx, struct rouge_spec *spec, const char *api)
{
  const char *t = luaL_checkstring(L, idx);
  if (rouge_parse_type(t, spec))
    luaL_error(L, "%s: invalid rouge type '%s' (rouge1..rouge9, rougeL, rougeLsum)", api, t);
}

/* text.rouge(predictions, targets, rouge_type[, {use_stemmer = false,
 * measure = "fmeasure"}]) -> scores, skipped_rows, errors: a row that
 * cannot be scored (texts too long for the LCS cap) is nil in scores and
 * errors[row] says why; errors is nil when there are none. */
static int l_rouge(lua_State *L)
{
  const char *api = "text.rouge";
  struct work *w = getwork(L);
  lua_Integer n = ltable_list_len(L, 1, api);
  lua_Integer nt = ltable_list_len(L, 2, api);
  if (n != nt)
    return luaL_error(L, "%s: predictions has %d rows, targets has %d", api, (int)n, (int)nt);
  struct rouge_spec spec;
  check_rouge_type(L, 3, &spec, api);
  spec.use_stemmer = opt_bool(L, 4, "use_stemmer", 0);
  int measure = 2;
  if (lua_type(L, 4) == LUA_TTABLE) {
    lua_getfield(L, 4, "measure");
    if (!lua_isnil(L, -1)) {
      const char *m = lua_tostring(L, -1);
      if (m && strcmp(m, "precision") == 0) measure = 0;
      else if (m && strcmp(m, "recall") == 0) measure = 1;
      else if (m && strcmp(m, "fmeasure") == 0) measure = 2;
      else return luaL_error(L, "%s: measure must be precision, recall or fmeasure", api);
    }
    lua_pop(L, 1);
  }
  lua_createtable(L, (int)(n < 1 << 24 ? n : 0), 1); /* scores */
  lua_newtable(L);                                     /* skipped */
  lua_pushnil(L);                                      /* errors, made on demand */
  lua_Integer nskip = 0;
  char err[200];
  for (lua_Integer i = 1; i <= n; i++) {
    int tp = lua_geti(L, 1, i), tt = lua_geti(L, 2, i);
    if (tp != LUA_TSTRING || tt != LUA_TSTRING) {
      lua_pop(L, 2);
      lua_pushinteger(L, i);
      lua_rawseti(L, -3, ++nskip);
      continue;
    }
    size_t pl, tl;
    const char *p = lua_tolstring(L, -2, &pl), *t = lua_tolstring(L, -1, &tl);
    struct rouge_score sc;
    int rc = rouge_compute(w->rw, &spec, t, tl, p, pl, &sc, err, sizeof err);
    lua_pop(L, 2); /* [scores, skipped, errors] */
    if (rc) {
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
      }
      lua_pushstring(L, err);
      lua_rawseti(L, -2, i);
      continue;
    }
    lua_pushnumber(L, measure == 0 ? sc.precision : measure == 1 ? sc.recall : sc.fmeasure);
    lua_rawseti(L, -4, i);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -4, "n");
  return 3;
}

/* text.rouge_score(target, prediction, rouge_type[, {use_stemmer}]) ->
 * {precision=, recall=, fmeasure=}: RougeScorer([type]).score(target, prediction) */
static int l_rouge_score(lua_State *L)
{
  const char *api = "text.rouge_score";
  size_t tl, pl;
  const char *t = luaL_checklstring(L, 1, &tl);
  const char *p = luaL_checklstring(L, 2, &pl);
  struct rouge_spec spec;
  check_rouge_type(L, 3, &spec, api);
  spec.use_stemmer = opt_bool(L, 4, "use_stemmer", 0);
  struct rouge_score sc;
  char err[200];
  if (rouge_compute(getwork(L)->rw, &spec, t, tl, p, pl, &sc, err, sizeof err))
    return luaL_error(L, "%s: %s", api, err);
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, sc.precision);
  lua_setfield(L, -2, "precision");
  lua_pushnumber(L, sc.recall);
  lua_setfield(L, -2, "recall");
  lua_pushnumber(L, sc.fmeasure);
  lua_setfield(L, -2, "fmeasure");
  return 1;
}

/* text.rouge_tokens(s[, use_stemmer]) -> {tokens} (rouge_score's tokenizer) */
static int l_rouge_tokens(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  int stem = lua_toboolean(L, 2);
  /* the joined tokens are never longer than the text */
  char *out = lua_newuserdatauv(L, n + 1, 0);
  long nt = rouge_tokens(getwork(L)->rw, s, n, stem, out, n + 1);
  if (nt < 0) return luaL_error(L, "text.rouge_tokens: out of memory");
  lua_createtable(L, (int)nt, 0);
  lua_Integer k = 0;
  for (char *p = out; *p;) {
    char *e = strchr(p, ' ');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    lua_pushlstring(L, p, len);
    lua_rawseti(L, -2, ++k);
    p += len + (e ? 1 : 0);
  }
  return 1;
}

/* text.porter(word) -> NLTK PorterStemmer().stem(word) for lower-case ASCII */
static int l_porter(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
      return luaL_error(L, "text.porter: word must be lower-case ASCII letters and digits");
  char *out = lua_newuserdatauv(L, n + 1, 0);
  size_t k = porter_stem(s, n, out);
  lua_pushlstring(L, out, k);
  return 1;
}

/* text.legacy_round(x, points) -> textstat's _legacy_round */
static int l_legacy_round(lua_State *L)
{
  lua_pushnumber(L, text_legacy_round(luaL_checknumber(L, 1), (int)luaL_checkinteger(L, 2)));
  return 1;
}

static const luaL_Reg funcs[] = {
  {"flesch_kincaid", l_flesch_kincaid},
  {"ari", l_ari},
  {"counts", l_counts},
  {"hyphenate", l_hyphenate},
  {"rouge", l_rouge},
  {"rouge_score", l_rouge_score},
  {"rouge_tokens", l_rouge_tokens},
  {"porter", l_porter},
  {"legacy_round", l_legacy_round},
  {NULL, NULL},
};

int luaopen_evalua_text(lua_State *L)
{
  lua_newtable(L);
  struct work *w = lua_newuserdatauv(L, sizeof *w, 0);
  w->tw = NULL;
  w->rw = NULL;
  if (luaL_newmetatable(L, WORK_MT)) {
    lua_pushcfunction(L, work_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, work_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  w->tw = text_work_new();
  w->rw = rouge_work_new();
  if (!w->tw || !w->rw) return luaL_error(L, "evalua.text: out of memory");
  luaL_setfuncs(L, funcs, 1);
  lua_pushstring(L, text_unicode_version);
  lua_setfield(L, -2, "unicode_version");
  return 1;
}
