/* stats.h: statistics for comparing runs: a seeded splitmix64 generator
 * (the same stream on every platform) and the paired bootstrap of a mean
 * difference with a percentile interval. No lua.h here. */
#ifndef EVALUA_STATS_H
#define EVALUA_STATS_H
#include <stddef.h>
#include <stdint.h>

/* Advances *state and returns the next splitmix64 output. */
uint64_t stats_splitmix64(uint64_t *state);

struct stats_interval {
  double mean; /* the observed mean of the differences */
  double lo, hi; /* percentile interval of the resampled means */
};

/* Paired bootstrap of the mean of diff[0..n-1] (one difference per paired
 * row): B resamples of n rows drawn with replacement (index = next() % n
 * from a splitmix64 stream seeded with seed), the interval is the
 * ((1-level)/2, 1-(1-level)/2) quantiles of the B resampled means with
 * linear interpolation between order statistics. Writes out and returns 0;
 * returns -1 when n == 0, B < 1, level is not in (0,1) or memory runs out. */
int stats_paired_bootstrap(const double *diff, size_t n, int B, uint64_t seed, double level,
                           struct stats_interval *out);

/* Linear-interpolation quantile (numpy's default) of sorted x[0..n-1], p in
 * [0,1]; n must be > 0. */
double stats_quantile_sorted(const double *x, size_t n, double p);

#endif
