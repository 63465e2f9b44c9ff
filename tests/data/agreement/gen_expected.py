#!/usr/bin/env python3
"""Writes tests/data/agreement/expected.json: inputs and the scipy/sklearn
values evalua.stats.agreement must reproduce to 1e-9. Run once (needs
Debian's python3-scipy and python3-sklearn: contrib/install-deps.sh --regen);
the tests read the committed JSON and never need scipy.

    python3 tests/data/agreement/gen_expected.py > tests/data/agreement/expected.json
"""
import json
import math
import random

import numpy as np
import scipy
import sklearn
from scipy.stats import kendalltau, pearsonr, spearmanr
from sklearn.metrics import cohen_kappa_score

rng = random.Random(20261204)


def noisy(human, lo, hi, spread):
    out = []
    for h in human:
        v = h + rng.choice(spread)
        out.append(min(hi, max(lo, v)))
    return out


cases = []


def case(name, judge, human, scale=None):
    cases.append({"name": name, "judge": judge, "human": human, "scale": scale})


# hand-sized cases
case("perfect", [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 5])
case("ties_small", [1, 2, 2, 3, 3, 3, 4, 5, 5, 1], [1, 1, 2, 3, 4, 3, 4, 4, 5, 2], [1, 5])
case("reversed", [5, 4, 3, 2, 1, 1], [1, 2, 3, 4, 5, 5], [1, 5])
case("unobserved_levels", [1, 1, 5, 5, 1, 5, 1], [1, 5, 5, 5, 1, 1, 1], [1, 5])
case("binary", [0, 1, 1, 0, 1, 1, 0, 0, 1, 1], [0, 1, 0, 0, 1, 1, 1, 0, 1, 1], [0, 1])
case("with_nils", [1, None, 3, 4, 5, 2, None, 4], [2, 2, None, 4, 4, 2, 1, 5], [1, 5])
case("n3", [1, 3, 2], [1, 2, 3], [1, 5])
case("constant_judge", [4] * 8, [1, 2, 3, 4, 5, 4, 4, 3], [1, 5])
case("ten_point", [7, 8, 3, 10, 6, 6, 2, 9, 5, 8, 7, 4], [6, 8, 4, 9, 6, 7, 1, 10, 5, 7, 7, 3], [1, 10])
# generated: a judge that is close to people, one that is lenient, one that is noise
for n in (25, 120, 500):
    human = [rng.randint(1, 5) for _ in range(n)]
    case("close_%d" % n, noisy(human, 1, 5, [-1, 0, 0, 0, 1]), human, [1, 5])
    case("lenient_%d" % n, noisy(human, 1, 5, [0, 1, 1, 2]), human, [1, 5])
    case("noise_%d" % n, [rng.randint(1, 5) for _ in range(n)], human, [1, 5])
# continuous judge scores (jury means, logprob-weighted): correlations only
human = [rng.randint(1, 5) for _ in range(60)]
case("continuous", [round(h + rng.gauss(0, 0.8), 6) for h in human], human, None)
case("continuous_both", [round(rng.gauss(0, 1), 6) for _ in range(40)],
     [round(rng.gauss(0, 1), 6) for _ in range(40)], None)


def finite(x):
    x = float(x)
    return None if math.isnan(x) else x


out = []
for c in cases:
    pairs = [(j, h) for j, h in zip(c["judge"], c["human"]) if j is not None and h is not None]
    x = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=float)
    e = {"n": len(pairs)}
    e["pearson"] = finite(pearsonr(x, y)[0])
    e["spearman"] = finite(spearmanr(x, y)[0])
    e["kendall"] = finite(kendalltau(x, y, variant="b")[0])
    e["bias"] = float(x.mean() - y.mean())
    integral = all(float(v).is_integer() for v in list(x) + list(y))
    if integral:
        xi = [int(v) for v in x]
        yi = [int(v) for v in y]
        labels = None
        if c["scale"]:
            labels = list(range(c["scale"][0], c["scale"][1] + 1))
        e["exact"] = float(np.mean(x == y))
        e["within_one"] = float(np.mean(np.abs(x - y) <= 1))
        e["kappa"] = finite(cohen_kappa_score(xi, yi, labels=labels))
        e["weighted_kappa"] = finite(cohen_kappa_score(xi, yi, labels=labels, weights="quadratic"))
    c["expected"] = e
    out.append(c)

# one case per line: diffs of a regeneration stay readable
head = json.dumps({"generator": "tests/data/agreement/gen_expected.py", "scipy": scipy.__version__,
                   "sklearn": sklearn.__version__, "numpy": np.__version__})
print(head[:-1] + ', "cases": [')
print(",\n".join(json.dumps(c) for c in out))
print("]}")
