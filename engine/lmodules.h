/* lmodules.h: one line per C module engine/l<part>.c -> require "evalua.<part>".
 * Included by linit.c/linit.h with EVALUA_MODULE defined. Add yours here. */
EVALUA_MODULE(cachedb)
