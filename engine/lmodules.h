/* lmodules.h: one line per C module engine/l<part>.c -> require "evalua.<part>".
 * Included by linit.c/linit.h with EVALUA_MODULE defined. Add yours here. */
EVALUA_MODULE(cachedb)
EVALUA_MODULE(plot_pl) /* engine/lplot.c: require "evalua.plot_pl" (= evalua.plot.pl) */
EVALUA_MODULE(store)
EVALUA_MODULE(json)     /* engine/ljson.c: the JSON codec (encode, canonical, decode) */
EVALUA_MODULE(toxicity)
EVALUA_MODULE(text)     /* engine/ltext.c: readability, ROUGE, stemmer */
EVALUA_MODULE(table)    /* engine/ltable.c: columnar tables */
EVALUA_MODULE(http)     /* engine/lhttp.c: requests from tasks, retries, rate limits, stats */
EVALUA_MODULE(sched_core) /* engine/lsched.c: tasks and the loop (= evalua.sched's primitives) */
EVALUA_MODULE(tokenize) /* engine/ltokenize.c: tiktoken-exact token counts */
EVALUA_MODULE(hfhub)    /* engine/lhfhub.c: Hugging Face hub downloads (evalua models pull) */
EVALUA_MODULE(limits)   /* engine/llimits.c: the memory cap for untrusted metric packs */
