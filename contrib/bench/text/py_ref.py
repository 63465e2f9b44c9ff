#!/usr/bin/python3
"""Python side of the text benchmark: the same metrics the way MLflow's
Python stack computes them, timed on the first N texts.

- readability: textstat 0.7.3 itself when TEXTSTAT_SRC points at a checkout
  of its tag 0.7.3, else the same rules written out below (textstat's
  regexes, Pyphen("en_US") from Debian's python3-pyphen, legacy rounding);
- ROUGE: rouge_score's algorithm in pure Python (as the upstream package is),
  Porter stemming from nltk;
- retrieval: MLflow's per-row definitions; ndcg through sklearn's ndcg_score
  when python3-sklearn is installed.
Prints: name, texts/s, sum of scores (run.sh compares the sums).
  py_ref.py DIR N"""
import collections
import json
import math
import os
import re
import sys
import time

d, limit = sys.argv[1], int(sys.argv[2])


def read(path, js=False):
    out = []
    with open(path, encoding="utf-8") as f:
        for i, l in enumerate(f):
            if i >= limit:
                break
            l = l.rstrip("\n")
            out.append(json.loads(l) if js else re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), l))
    return out


preds, targets = read(d + "/preds.txt"), read(d + "/targets.txt")
retrieved, relevant = read(d + "/retrieved.jsonl", True), read(d + "/relevant.jsonl", True)

src = os.environ.get("TEXTSTAT_SRC")
if src:
    sys.path.insert(0, src)
    from textstat.textstat import textstatistics
    ts = textstatistics()
    fk_fn, ari_fn, ts_label = ts.flesch_kincaid_grade, ts.automated_readability_index, "textstat 0.7.3"
else:
    import pyphen
    dic = pyphen.Pyphen(lang="en_US")

    def legacy_round(x, p):
        q = 10 ** p
        return float(math.floor(x * q + math.copysign(0.5, x))) / q

    def remove_punct(t):
        return re.sub(r"[^\w\s]", "", t)

    def lexicon(t):
        return len(remove_punct(t).split())

    def sentences(t):
        s = re.findall(r"\b[^.!?]+[.!?]*", t)
        return max(1, len(s) - sum(1 for x in s if lexicon(x) <= 2))

    def syllables(t):
        t = remove_punct(t.lower())
        return sum(len(dic.positions(w)) + 1 for w in t.split())

    def fk_fn(t):
        w = lexicon(t)
        asl = legacy_round(w / sentences(t), 1)
        asw = legacy_round(syllables(t) / w, 1) if w else 0.0
        return legacy_round(0.39 * asl + 11.8 * asw - 15.59, 1)

    def ari_fn(t):
        w = lexicon(t)
        if not w:
            return 0.0
        c = len(re.sub(r"\s", "", t))
        return legacy_round(4.71 * legacy_round(c / w, 2) + 0.5 * legacy_round(w / sentences(t), 2) - 21.43, 1)
    ts_label = "textstat rules + pyphen"

stemmer = None


def tokenize(t, stem):
    toks = re.split(r"\s+", re.sub(r"[^a-z0-9]+", " ", t.lower()))
    if stem:
        toks = [stemmer.stem(x) if len(x) > 3 else x for x in toks]
    return [x for x in toks if re.match(r"^[a-z0-9]+$", x)]


def fmeasure(p, r):
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def ngrams(toks, n):
    return collections.Counter(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))


def rouge_n(t, p, n):
    tg, pg = ngrams(tokenize(t, False), n), ngrams(tokenize(p, False), n)
    inter = sum(min(c, pg[g]) for g, c in tg.items())
    return fmeasure(inter / max(sum(pg.values()), 1), inter / max(sum(tg.values()), 1))


def lcs_table(a, b):
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    return t


def rouge_l(t, p, stem=False):
    a, b = tokenize(t, stem), tokenize(p, stem)
    if not a or not b:
        return 0.0
    l = lcs_table(a, b)[-1][-1]
    return fmeasure(l / len(b), l / len(a))


def lcs_ind(r, c):
    t = lcs_table(r, c)
    i, j, out = len(r), len(c), []
    while i > 0 and j > 0:
        if r[i - 1] == c[j - 1]:
            out.insert(0, i - 1)
            i -= 1
            j -= 1
        elif t[i][j - 1] > t[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return out


def rouge_lsum(t, p):
    refs = [tokenize(s, False) for s in t.split("\n") if len(s)]
    cans = [tokenize(s, False) for s in p.split("\n") if len(s)]
    m, n = sum(map(len, refs)), sum(map(len, cans))
    if not refs or not cans or not m or not n:
        return 0.0
    cr, cc = collections.Counter(), collections.Counter()
    for s in refs:
        cr.update(s)
    for s in cans:
        cc.update(s)
    hits = 0
    for r in refs:
        for tok in [r[i] for i in sorted(set().union(*[lcs_ind(r, c) for c in cans]))]:
            if cc[tok] > 0 and cr[tok] > 0:
                hits += 1
                cc[tok] -= 1
                cr[tok] -= 1
    return fmeasure(hits / n, hits / m)


def precision(p, t, k=3):
    gt, ret = set(t), p[:k]
    return sum(1 for x in ret if x in gt) / len(ret) if ret else 0


def recall(p, t, k=3):
    gt, ret = set(t), set(p[:k])
    return len(gt & ret) / len(gt) if gt else (1 if not ret else 0)


try:
    import numpy as np
    from sklearn.metrics import ndcg_score
except ImportError:
    ndcg_score = None


def ndcg(p, t, k=3):
    if not p and not t:
        return 1
    if not p or not t:
        return 0
    p, targets, seen, exp = p[:k], set(t), {}, []
    for x in p:
        seen[x] = seen.get(x, 0) + 1
        y = x if seen[x] == 1 else "%s_dup_%d" % (x, seen[x])
        if seen[x] > 1 and x in targets:
            targets.add(y)
        exp.append(y)
    ids = {x: i for i, x in enumerate(targets.union(exp))}
    yt = np.zeros((1, max(len(ids), 2)), dtype=np.float32)
    ys = np.zeros((1, max(len(ids), 2)), dtype=np.float32)
    for i, x in enumerate(exp):
        ys[0, ids[x]] = 1 - i * 1e-6
    for x in targets:
        yt[0, ids[x]] = 1
    return float(ndcg_score(yt, ys, k=len(exp), ignore_ties=True))


def run(label, fn, n):
    t0 = time.perf_counter()
    total = fn()
    dt = time.perf_counter() - t0
    print("%s %.0f %.10g" % (label, n / dt, total))


n = len(preds)
run("flesch_kincaid_grade_level", lambda: sum(fk_fn(x) for x in preds), n)
run("ari_grade_level", lambda: sum(ari_fn(x) for x in preds), n)
run("rouge1", lambda: sum(rouge_n(t, p, 1) for t, p in zip(targets, preds)), n)
run("rouge2", lambda: sum(rouge_n(t, p, 2) for t, p in zip(targets, preds)), n)
run("rougeL", lambda: sum(rouge_l(t, p) for t, p in zip(targets, preds)), n)
run("rougeLsum", lambda: sum(rouge_lsum(t, p) for t, p in zip(targets, preds)), n)
try:
    from nltk.stem import porter
    stemmer = porter.PorterStemmer()
    run("rougeL+stemmer", lambda: sum(rouge_l(t, p, True) for t, p in zip(targets, preds)), n)
except ImportError:
    pass
run("exact_match", lambda: sum(1 for t, p in zip(targets, preds) if t == p) / n, n)
run("precision_at_3", lambda: sum(precision(p, t) for p, t in zip(retrieved, relevant)), n)
run("recall_at_3", lambda: sum(recall(p, t) for p, t in zip(retrieved, relevant)), n)
if ndcg_score:
    run("ndcg_at_3", lambda: sum(ndcg(p, t) for p, t in zip(retrieved, relevant)), n)
print("label", ts_label)
