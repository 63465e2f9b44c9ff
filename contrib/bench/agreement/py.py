# py.py N B: the same statistics with sklearn/scipy, bootstrapped the way a
# Python user would (a loop over resamples calling the library functions).
import random, sys, time
import numpy as np
from scipy.stats import kendalltau, pearsonr, spearmanr
from sklearn.metrics import cohen_kappa_score
n, B = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(7)
h = rng.integers(1, 6, n)
j = np.clip(h + rng.integers(-1, 2, n), 1, 5)
labels = [1, 2, 3, 4, 5]
def stats(x, y):
    return (cohen_kappa_score(x, y, labels=labels), cohen_kappa_score(x, y, labels=labels, weights="quadratic"),
            spearmanr(x, y)[0], kendalltau(x, y)[0], pearsonr(x, y)[0], np.mean(x == y), np.mean(abs(x - y) <= 1))
t0 = time.perf_counter()
stats(j, h)
for _ in range(B):
    idx = rng.integers(0, n, n)
    stats(j[idx], h[idx])
dt = time.perf_counter() - t0
print("%.3f s  %.0f resamples/s" % (dt, B / dt))
