#!/usr/bin/python3
"""Generates tests/data/text/retrieval.json: precision/recall/ndcg at k for
random retrieval rows, computed the way MLflow's retriever metrics do
(mlflow/metrics/metric_definitions.py: _precision_at_k_eval_fn,
_recall_at_k_eval_fn, _ndcg_at_k_eval_fn with sklearn.metrics.ndcg_score).
Offline; needs Debian's python3-sklearn. Not run by ctest.

  /usr/bin/python3 tests/data/text/gen_retrieval.py
"""
import json
import os
import random

import numpy as np
from sklearn.metrics import ndcg_score

rng = random.Random(7)


def precision(pred, tgt, k):
    gt = set(tgt)
    ret = pred[:k]
    rel = sum(1 for d in ret if d in gt)
    return rel / len(ret) if len(ret) > 0 else 0


def recall(pred, tgt, k):
    gt = set(tgt)
    ret = set(pred[:k])
    rel = len(gt & ret)
    if len(gt) > 0:
        return rel / len(gt)
    return 1 if len(ret) == 0 else 0


def ndcg(pred, tgt, k):
    if len(pred) == 0 and len(tgt) == 0:
        return 1
    if len(pred) == 0 or len(tgt) == 0:
        return 0
    pred = pred[:k]
    targets = set(tgt)
    counter, expanded = {}, []
    for d in pred:  # duplicates become fresh ids, relevant when the original is
        if d not in counter:
            counter[d] = 1
            expanded.append(d)
        else:
            counter[d] += 1
            nd = "%s_dup_%d" % (d, counter[d])
            expanded.append(nd)
            if d in targets:
                targets.add(nd)
    docs = {d: i for i, d in enumerate(targets.union(expanded))}
    n = max(len(docs), 2)
    y_true = np.zeros((1, n), dtype=np.float32)
    y_score = np.zeros((1, n), dtype=np.float32)
    for i, d in enumerate(expanded):
        y_score[0, docs[d]] = 1 - i * 1e-6
    for d in targets:
        y_true[0, docs[d]] = 1
    return float(ndcg_score(y_true, y_score, k=len(expanded), ignore_ties=True))


ids = ["a", "b", "c", "d", "e", "f", 1, 2, 3]
rows = [([], [], 3), ([], ["a"], 3), (["a"], [], 3), (["a", "a", "b"], ["a"], 3),
        (["x", "a"], ["a", "b", "c"], 3), (["a", "b", "c", "d"], ["d"], 3),
        (["a", "b", "c", "d"], ["d"], 4), ([1, "1"], ["1"], 2), (["a"] * 5, ["a"], 5)]
for _ in range(400):
    pred = [rng.choice(ids) for _ in range(rng.randrange(0, 8))]
    tgt = [rng.choice(ids) for _ in range(rng.randrange(0, 5))]
    rows.append((pred, tgt, rng.randrange(1, 7)))
out = [{"pred": p, "tgt": t, "k": k, "precision": precision(p, t, k),
        "recall": recall(p, t, k), "ndcg": ndcg(p, t, k)} for p, t, k in rows]
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "retrieval.json"), "w") as f:
    f.write("[\n" + ",\n".join(json.dumps(r) for r in out) + "\n]\n")
print(len(out), "rows")
