/* stats.c: splitmix64 and the paired bootstrap (see stats.h). */
#include <stdlib.h>

#include "stats.h"

uint64_t stats_splitmix64(uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double stats_quantile_sorted(const double *x, size_t n, double p)
{
  double pos = p * (double)(n - 1);
  size_t k = (size_t)pos;
  if (k >= n - 1) return x[n - 1];
  double frac = pos - (double)k;
  if (frac == 0) return x[k];
  return x[k] + (x[k + 1] - x[k]) * frac;
}

int stats_paired_bootstrap(const double *diff, size_t n, int B, uint64_t seed, double level,
                           struct stats_interval *out)
{
  if (n == 0 || B < 1 || !(level > 0 && level < 1)) return -1;
  double *means = malloc((size_t)B * sizeof *means);
  if (!means) return -1;
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += diff[i];
  out->mean = sum / (double)n;
  uint64_t state = seed;
  for (int b = 0; b < B; b++) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += diff[stats_splitmix64(&state) % n];
    means[b] = s / (double)n;
  }
  qsort(means, (size_t)B, sizeof *means, cmp_double);
  double a = (1 - level) / 2;
  out->lo = stats_quantile_sorted(means, (size_t)B, a);
  out->hi = stats_quantile_sorted(means, (size_t)B, 1 - a);
  free(means);
  return 0;
}
