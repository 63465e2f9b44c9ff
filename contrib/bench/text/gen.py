#!/usr/bin/env python3
"""Writes N prediction/target text pairs and N retrieval rows for the text
benchmark. Texts are random English-like sentences drawn from the licence
texts Debian installs, 1-4 sentences each (a third of them one sentence per
line, for rougeLsum); a target is its prediction with words dropped, replaced
and moved. One text per line, newlines escaped as \\n.
  gen.py N OUTDIR"""
import glob
import json
import random
import re
import sys

n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(42)
words = []
for p in sorted(glob.glob("/usr/share/common-licenses/*")):
    try:
        with open(p, encoding="utf-8") as f:
            words += re.findall(r"[A-Za-z][A-Za-z'-]*", f.read())
    except (OSError, UnicodeDecodeError, IsADirectoryError):
        pass
if len(words) < 1000:
    words = ("the quick brown fox jumps over a lazy dog while evaluation metrics "
             "measure readability and summary overlap").split() * 100


def sentence():
    w = [rng.choice(words) for _ in range(rng.randint(6, 24))]
    w[0] = w[0].capitalize()
    for i in range(1, len(w) - 1):
        if rng.random() < 0.08:
            w[i] += ","
    return " ".join(w) + rng.choice([".", ".", ".", "!", "?"])


def perturb(text):
    out = []
    for w in text.split(" "):
        r = rng.random()
        if r < 0.15:
            continue
        if r < 0.3:
            w = rng.choice(words)
        out.append(w)
        if rng.random() < 0.05:
            out.append(rng.choice(words))
    return " ".join(out)


def esc(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n")


with open(out + "/preds.txt", "w") as fp, open(out + "/targets.txt", "w") as ft, \
        open(out + "/retrieved.jsonl", "w") as fr, open(out + "/relevant.jsonl", "w") as fg:
    for _ in range(n):
        sents = [sentence() for _ in range(rng.randint(1, 4))]
        sep = "\n" if rng.random() < 0.33 else " "
        pred = sep.join(sents)
        tgt = "\n".join(perturb(s) for s in sents) if sep == "\n" else perturb(pred)
        fp.write(esc(pred) + "\n")
        ft.write(esc(tgt) + "\n")
        docs = ["doc%d" % rng.randint(1, 40) for _ in range(rng.randint(0, 8))]
        rel = ["doc%d" % rng.randint(1, 40) for _ in range(rng.randint(0, 4))]
        fr.write(json.dumps(docs) + "\n")
        fg.write(json.dumps(rel) + "\n")
