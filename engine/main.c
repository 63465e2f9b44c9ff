/* main.c: the evalua host program, in the shape of lua.c: a protected main
 * that parses the command line, opens the libraries and runs a script, a -e
 * chunk or a subcommand (the Lua module evalua.cli.NAME), every call into
 * Lua under pcall with a traceback. Exit: 0 ok, 1 script error or failed
 * gate, 2 bad usage or a binding error (nothing was sent), 3 too many failed
 * rows (--max-failures). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "embed.h"
#include "http.h"
#include "linit.h"

#define PROG "evalua"

static const char usage_text[] =
  "usage: evalua [flags] SCRIPT.lua [args]   run an eval script\n"
  "       evalua run [flags] SCRIPT.lua [args]\n"
  "       evalua -e 'lua code'\n"
  "       evalua COMMAND [args]               (see commands below)\n"
  "       evalua --help | --version\n"
  "\n"
  "flags:\n"
  "  --concurrency N            requests in flight at most (default " HTTP_STR(HTTP_DEFAULT_CONCURRENCY) ")\n"
  "  --no-cache                 neither read nor write the response cache\n"
  "  --offline                  replay from the cache only; a miss is an error\n"
  "  --cache PATH               the response cache file (default ~/.cache/evalua/cache.db)\n"
  "  --store PATH               the run store (default ./evalua.db or $EVALUA_STORE)\n"
  "  --resume RUN_ID            continue a run, computing only its missing rows\n"
  "  --shard I/N                compute only the rows of shard I of N\n"
  "  --dry-run                  count requests and tokens, send nothing\n"
  "  --batch                    send model and judge calls through the providers' batch APIs\n"
  "  --quiet                    no progress on stderr\n"
  "  --fail-under METRIC=VALUE  exit 1 when a metric of the run is below VALUE\n"
  "  --fail-on-regression RUN   exit 1 on a significant regression against RUN\n"
  "  --min-effect X             smallest difference that counts as a regression\n"
  "  --max-failures RATE        exit 3 when more than RATE (0..1, default 0.05) of a\n"
  "                             metric's rows (or the predictions) failed; 1 accepts any\n"
  "  --dev                      load the Lua library from the source tree\n"
  "  -e CODE                    run CODE (several may be given)\n"
  "  -h, --help                 this help ('evalua COMMAND --help' for a command)\n"
  "\n"
  "examples:\n"
  "  evalua run --concurrency 8 scripts/translation.lua\n"
  "  evalua score --data answers.csv --predictions answer --model-type text\n"
  "  evalua report RUN_ID -o report.html\n";

static const char commands_text[] =
  "\n"
  "exit status: 0 ok, 1 script error or failed gate, 2 bad usage or a binding\n"
  "  error (nothing sent), 3 too many failed rows (see --max-failures)\n"
  "\n"
  "commands:\n";

/* error object raised by evalua.util.usage/fail: { msg = ..., code = N } */
static int is_exit_object(lua_State *L, int idx, int *code)
{
  if (!lua_istable(L, idx)) return 0;
  lua_getfield(L, idx, "code");
  int isnum = lua_isinteger(L, -1);
  if (isnum) *code = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return isnum;
}

static int subcommand_running = 0; /* errors of a subcommand: sub_msghandler first */

/* A subcommand's error: a message an API raised about its input ("read:
 * x.txt: unknown file type", "evaluate: unknown model_type 'qa'") is one line
 * and exit 2, with the "file.lua:N: " position dropped; a Lua runtime error
 * ("attempt to index a nil value", a stack overflow) is a bug and keeps its
 * traceback (msghandler). */
static int sub_msghandler(lua_State *L)
{
  if (lua_type(L, 1) != LUA_TSTRING) return 0;
  const char *msg = lua_tostring(L, 1);
  for (;;) { /* skip "chunk.lua:N: " prefixes */
    const char *colon = strchr(msg, ':');
    if (!colon || colon - msg < 4 || strncmp(colon - 4, ".lua", 4) != 0 || strchr(msg, ' ') < colon) break;
    const char *d = colon + 1;
    while (*d >= '0' && *d <= '9') d++;
    if (d == colon + 1 || d[0] != ':' || d[1] != ' ') break;
    msg = d + 2;
  }
  if (strncmp(msg, "attempt to ", 11) == 0 || strstr(msg, "stack overflow") ||
      strstr(msg, "not enough memory"))
    return 0; /* a bug: msghandler adds the traceback */
  const char *nl = strchr(msg, '\n');
  lua_createtable(L, 0, 2);
  lua_pushlstring(L, msg, nl ? (size_t)(nl - msg) : strlen(msg));
  lua_setfield(L, -2, "msg");
  lua_pushinteger(L, 2);
  lua_setfield(L, -2, "code");
  return 1;
}

static int msghandler(lua_State *L)
{
  int code;
  if (is_exit_object(L, 1, &code)) return 1; /* no traceback for usage errors */
  if (subcommand_running && sub_msghandler(L)) return 1;
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Calls the function below nargs arguments; on error prints it and stores
 * the exit code it asks for (1 unless it is an exit object). */
static int docall(lua_State *L, int narg, int nres, int *code)
{
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  if (status != LUA_OK) {
    int c = 1;
    if (is_exit_object(L, -1, &c)) {
      lua_getfield(L, -1, "msg");
      const char *m = lua_tostring(L, -1);
      if (m && *m) fprintf(stderr, "%s: %s\n", PROG, m);
      lua_pop(L, 1);
    } else {
      fprintf(stderr, "%s: %s\n", PROG, lua_tostring(L, -1));
    }
    fflush(stderr);
    lua_pop(L, 1);
    *code = c;
  }
  return status;
}

static int usage_error(const char *fmt, const char *what)
{
  fprintf(stderr, "%s: ", PROG);
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\n(run 'evalua --help' for usage)\n");
  return 2;
}

/* evalua.cli.NAME exists, embedded or in the EVALUA_LUA_PATH tree */
static int is_subcommand(const char *name)
{
  char rel[256];
  if (strlen(name) > 100 || strchr(name, '/') || strchr(name, '.')) return 0;
  snprintf(rel, sizeof rel, "lua/evalua/cli/%s.lua", name);
  if (embed_find(rel, NULL)) return 1;
  const char *dir = getenv("EVALUA_LUA_PATH");
  if (dir && *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/evalua/cli/%s.lua", dir, name);
    FILE *f = fopen(path, "rb");
    if (f) { fclose(f); return 1; }
  }
  return 0;
}

static void print_help(lua_State *L)
{
  fputs(usage_text, stdout);
  fputs(commands_text, stdout);
  for (size_t i = 0; i < embed_table_len; i++) {
    const char *n = embed_table[i].name;
    const char *pre = "lua/evalua/cli/";
    size_t pl = strlen(pre), nl = strlen(n);
    if (strncmp(n, pre, pl) != 0 || nl < pl + 5 || strchr(n + pl, '/')) continue;
    char mod[160];
    snprintf(mod, sizeof mod, "evalua.cli.%.*s", (int)(nl - pl - 4), n + pl);
    const char *summary = "";
    lua_getglobal(L, "require");
    lua_pushstring(L, mod);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
      lua_getfield(L, -1, "summary");
      if (lua_isstring(L, -1)) summary = lua_tostring(L, -1);
      printf("  %-26s %s\n", mod + 11, summary);
      lua_pop(L, 2);
    } else {
      printf("  %-26s (fails to load: %s)\n", mod + 11, lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
}

struct cli {
  int argc;
  char **argv;
  int script;      /* index of the script or subcommand, 0 if none */
  int subcommand;  /* argv[script] names a subcommand */
  int nexec;       /* number of -e chunks */
  int *chunks;     /* argv indexes of the -e chunks (argc entries at most) */
  int help, version;
};

/* flags that take a value, and the config field they set */
static const char *const valued[][2] = {
  {"--concurrency", "concurrency"}, {"--cache", "cache_path"}, {"--store", "store_path"},
  {"--resume", "resume"}, {"--shard", "shard"}, {"--fail-under", "fail_under"},
  {"--fail-on-regression", "fail_on_regression"}, {"--min-effect", "min_effect"},
  {"--max-failures", "max_failures"},
  {NULL, NULL}};

static const char *valued_field(const char *flag)
{
  for (int i = 0; valued[i][0]; i++)
    if (strcmp(flag, valued[i][0]) == 0) return valued[i][1];
  return NULL;
}

/* Fills the config table (on top of the stack) from argv; returns 0 or an
 * exit code for a usage error (already printed). */
static int parse_args(lua_State *L, struct cli *c)
{
  int i = 1, seen_run = 0;
  lua_newtable(L); /* [cfg, fail_under] */
  int fu = lua_gettop(L);
  for (; i < c->argc; i++) {
    const char *a = c->argv[i];
    if (strcmp(a, "run") == 0 && !seen_run && c->nexec == 0) { seen_run = 1; continue; }
    if (a[0] != '-' || strcmp(a, "-") == 0) break;
    if (strcmp(a, "--") == 0) { i++; break; }
    const char *field = valued_field(a);
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) c->help = seen_run ? 2 : 1;
    else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) c->version = 1;
    else if (strcmp(a, "--no-cache") == 0) { lua_pushboolean(L, 0); lua_setfield(L, fu - 1, "cache"); }
    else if (strcmp(a, "--offline") == 0) { lua_pushboolean(L, 1); lua_setfield(L, fu - 1, "offline"); }
    else if (strcmp(a, "--dry-run") == 0) { lua_pushboolean(L, 1); lua_setfield(L, fu - 1, "dry_run"); }
    else if (strcmp(a, "--batch") == 0) { lua_pushboolean(L, 1); lua_setfield(L, fu - 1, "batch"); }
    else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) { lua_pushboolean(L, 1); lua_setfield(L, fu - 1, "quiet"); }
    else if (strcmp(a, "--dev") == 0) {
      lua_pushboolean(L, 1); lua_setfield(L, fu - 1, "dev");
      if (!getenv("EVALUA_LUA_PATH") || !*getenv("EVALUA_LUA_PATH"))
        setenv("EVALUA_LUA_PATH", EVALUA_SOURCE_DIR "/lua", 1);
    }
    else if (strcmp(a, "-e") == 0) {
      if (i + 1 >= c->argc) return usage_error("'%s' needs an argument", a);
      c->chunks[c->nexec++] = ++i;
    }
    else if (field) {
      if (i + 1 >= c->argc) return usage_error("'%s' needs an argument", a);
      const char *v = c->argv[++i];
      if (strcmp(field, "concurrency") == 0) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 100000) return usage_error("--concurrency needs a positive integer, got '%s'", v);
        lua_pushinteger(L, n);
        lua_setfield(L, fu - 1, field);
      } else if (strcmp(field, "min_effect") == 0) {
        char *end;
        double x = strtod(v, &end);
        if (*end || end == v) return usage_error("--min-effect needs a number, got '%s'", v);
        lua_pushnumber(L, x);
        lua_setfield(L, fu - 1, field);
      } else if (strcmp(field, "max_failures") == 0) {
        char *end;
        double x = strtod(v, &end);
        if (*end || end == v || !(x >= 0 && x <= 1))
          return usage_error("--max-failures needs a rate between 0 and 1, got '%s'", v);
        lua_pushnumber(L, x);
        lua_setfield(L, fu - 1, field);
      } else if (strcmp(field, "shard") == 0) {
        int si, sn;
        char extra;
        if (sscanf(v, "%d/%d%c", &si, &sn, &extra) != 2 || sn < 1 || si < 1 || si > sn)
          return usage_error("--shard needs I/N with 1 <= I <= N, got '%s'", v);
        lua_createtable(L, 2, 0);
        lua_pushinteger(L, si); lua_rawseti(L, -2, 1);
        lua_pushinteger(L, sn); lua_rawseti(L, -2, 2);
        lua_setfield(L, fu - 1, field);
      } else if (strcmp(field, "fail_under") == 0) {
        const char *eq = strrchr(v, '=');
        char *end;
        double x = eq ? strtod(eq + 1, &end) : 0;
        if (!eq || eq == v || end == eq + 1 || *end)
          return usage_error("--fail-under needs METRIC=VALUE, got '%s'", v);
        lua_createtable(L, 2, 0);
        lua_pushlstring(L, v, (size_t)(eq - v)); lua_rawseti(L, -2, 1);
        lua_pushnumber(L, x); lua_rawseti(L, -2, 2);
        lua_rawseti(L, fu, (lua_Integer)lua_rawlen(L, fu) + 1);
      } else {
        lua_pushstring(L, v);
        lua_setfield(L, fu - 1, field);
      }
    }
    else return usage_error("unknown option '%s'", a);
  }
  lua_setfield(L, fu - 1, "fail_under"); /* [cfg] */
  if (i < c->argc) {
    c->script = i;
    c->subcommand = !seen_run && is_subcommand(c->argv[i]);
  } else if (seen_run && !c->help) {
    return usage_error("%s", "'run' needs a script");
  }
  return 0;
}

static void set_defaults(lua_State *L)
{
  lua_pushinteger(L, HTTP_DEFAULT_CONCURRENCY); lua_setfield(L, -2, "concurrency");
  lua_pushboolean(L, 1); lua_setfield(L, -2, "cache");
  lua_pushboolean(L, 0); lua_setfield(L, -2, "offline");
  lua_pushboolean(L, 0); lua_setfield(L, -2, "dry_run");
  lua_pushboolean(L, 0); lua_setfield(L, -2, "quiet");
  lua_pushboolean(L, 0); lua_setfield(L, -2, "dev");
  lua_pushnumber(L, 0); lua_setfield(L, -2, "min_effect");
  lua_pushnumber(L, 0.05); lua_setfield(L, -2, "max_failures");
}

/* arg table as lua.c makes it: arg[0] = script, negative = interpreter+flags */
static void create_arg(lua_State *L, struct cli *c, int script)
{
  int narg = c->argc - (script + 1);
  lua_createtable(L, narg, script + 1);
  for (int i = 0; i < c->argc; i++) {
    lua_pushstring(L, c->argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int run_chunks(lua_State *L, struct cli *c, int *code)
{
  for (int k = 0; k < c->nexec; k++) {
    const char *chunk = c->argv[c->chunks[k]];
    if (luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)") != LUA_OK) {
      fprintf(stderr, "%s: %s\n", PROG, lua_tostring(L, -1));
      *code = 1;
      return 0;
    }
    if (docall(L, 0, 0, code) != LUA_OK) return 0;
  }
  return 1;
}

static int run_script(lua_State *L, struct cli *c, int *code)
{
  const char *fname = c->argv[c->script];
  FILE *f = strcmp(fname, "-") == 0 ? stdin : fopen(fname, "rb");
  if (!f) {
    *code = usage_error("cannot open '%s'", fname);
    return 0;
  }
  if (f != stdin) fclose(f);
  lua_getglobal(L, "require");
  lua_pushstring(L, "evalua.config");
  lua_call(L, 1, 1);
  lua_pushstring(L, fname);
  lua_setfield(L, -2, "script");
  lua_pop(L, 1);
  create_arg(L, c, c->script);
  if (luaL_loadfile(L, strcmp(fname, "-") == 0 ? NULL : fname) != LUA_OK) {
    fprintf(stderr, "%s: %s\n", PROG, lua_tostring(L, -1));
    lua_pop(L, 1);
    *code = 1;
    return 0;
  }
  int n = c->argc - c->script - 1;
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = c->script + 1; i < c->argc; i++) lua_pushstring(L, c->argv[i]);
  return docall(L, n, 0, code) == LUA_OK;
}

static int run_subcommand(lua_State *L, struct cli *c, int *code)
{
  const char *name = c->argv[c->script];
  create_arg(L, c, c->script);
  lua_getglobal(L, "require");
  lua_pushfstring(L, "evalua.cli.%s", name);
  if (docall(L, 1, 1, code) != LUA_OK) return 0;
  lua_getfield(L, -1, "main"); /* [mod, main] */
  if (!lua_isfunction(L, -1)) {
    fprintf(stderr, "%s: command '%s' has no main function\n", PROG, name);
    *code = 1;
    return 0;
  }
  lua_createtable(L, c->argc - c->script - 1, 0);
  for (int i = c->script + 1; i < c->argc; i++) {
    lua_pushstring(L, c->argv[i]);
    lua_rawseti(L, -2, i - c->script);
  }
  subcommand_running = 1;
  int st = docall(L, 1, 1, code);
  subcommand_running = 0;
  if (st != LUA_OK) return 0;
  if (lua_isnumber(L, -1)) {
    lua_Number d = lua_tonumber(L, -1); /* an exit status: 0..255, anything else is a failure */
    *code = d >= 0 && d <= 255 ? (int)d : 1;
  }
  else if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) *code = 1;
  lua_pop(L, 2);
  return *code == 0;
}

/* runtime.finish(ok, err) closes runs and checks gates; returns an exit code */
static void finish(lua_State *L, int ok, int *code)
{
  lua_getglobal(L, "require");
  lua_pushstring(L, "evalua.runtime");
  int c = 0;
  if (docall(L, 1, 1, &c) != LUA_OK) { if (*code == 0) *code = c; return; }
  lua_getfield(L, -1, "finish");
  lua_pushboolean(L, ok);
  lua_pushinteger(L, *code);
  if (docall(L, 2, 1, &c) != LUA_OK) { if (*code == 0) *code = c; lua_pop(L, 1); return; }
  /* the hooks may raise the status (3: too many failed rows), never lower it */
  if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > *code) *code = (int)lua_tointeger(L, -1);
  lua_pop(L, 2);
}

static int pmain(lua_State *L)
{
  struct cli *c = (struct cli *)lua_touserdata(L, 1);
  int *code = (int *)lua_touserdata(L, 2);
  luaL_checkversion(L);
  evalua_openlibs(L);
  lua_getglobal(L, "require");
  lua_pushstring(L, "evalua.config");
  lua_call(L, 1, 1); /* [cfg] */
  set_defaults(L);
  *code = parse_args(L, c);
  lua_pop(L, 1);
  if (*code) return 0;
  if (c->version) {
    printf("evalua %s (%s)\n", EVALUA_VERSION, LUA_RELEASE);
    return 0;
  }
  if (c->help) {
    /* evalua --help [COMMAND]; evalua run --help (the flags and examples of a
     * run). A --help after a command's name is the command's own. */
    if (c->help == 2 || (c->script && !c->subcommand)) fputs(usage_text, stdout);
    else print_help(L);
    return 0;
  }
  if (c->script == 0 && c->nexec == 0) {
    fputs(usage_text, stderr);
    fprintf(stderr, "  (run 'evalua --help' for the list)\n");
    *code = 2;
    return 0;
  }
  int ok = run_chunks(L, c, code);
  if (ok && c->script) ok = c->subcommand ? run_subcommand(L, c, code) : run_script(L, c, code);
  if (*code == 2 && !ok) return 0; /* usage errors skip the run's finish */
  finish(L, ok, code);
  if (!ok && *code == 0) *code = 1;
  return 0;
}

int main(int argc, char **argv)
{
  struct cli c = {argc, argv, 0, 0, 0, NULL, 0, 0};
  int code = 0;
  c.chunks = calloc((size_t)argc + 1, sizeof *c.chunks);
  if (c.chunks == NULL) {
    fprintf(stderr, "%s: not enough memory\n", PROG);
    return 1;
  }
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", PROG);
    free(c.chunks);
    return 1;
  }
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &c);
  lua_pushlightuserdata(L, &code);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    fprintf(stderr, "%s: %s\n", PROG, lua_tostring(L, -1));
    code = 1;
  }
  lua_close(L);
  free(c.chunks);
  return code;
}
