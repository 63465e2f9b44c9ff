#!/usr/bin/python3
"""Differential check of evalua.text against the Python originals on random
adversarial inputs (not a benchmark; a correctness tool kept next to it):
  - hyphenation points: pyphen (Debian python3-pyphen) on random words with
    apostrophes, ligatures, U+0130, Greek sigma, combining marks;
  - Porter stems: nltk's PorterStemmer on random tokens built from the
    suffixes the algorithm rewrites;
  - textstat counts, FK and ARI: textstat 0.7.3 (TEXTSTAT_SRC=checkout) on
    random strings over the characters its rules treat specially;
  - ROUGE: rouge_score's algorithm restated below over Python's own
    str.lower() and re (the parts where C and Python could disagree), with
    nltk's stemmer, on random multi-line pairs with non-ASCII letters.
Prints the number of differences per check (0 expected) and the first few.
  EVALUA_BIN=build/evalua contrib/bench/text/diffcheck.py [COUNT] [SEED]"""
import json
import os
import random
import subprocess
import sys
import tempfile

count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
here = os.path.dirname(os.path.abspath(__file__))
binary = os.environ.get("EVALUA_BIN", os.path.join(here, "../../../build/evalua"))

LUA = r'''
local cjson, text = require "cjson", require "evalua.text"
local kind, path = arg[1], arg[2]
local f = io.open(path); local items = cjson.decode(f:read("a")); f:close()
local out = {}
if kind == "hyph" then
  for i, w in ipairs(items) do local _, p = text.hyphenate(w); out[i] = p end
elseif kind == "porter" then
  for i, w in ipairs(items) do out[i] = text.porter(w) end
elseif kind == "rouge" then
  for i, it in ipairs(items) do
    local s = text.rouge_score(it[1], it[2], it[3], { use_stemmer = it[4] })
    out[i] = { s.precision, s.recall, s.fmeasure }
  end
else
  local col = { n = #items }
  for i, t in ipairs(items) do col[i] = t end
  local fk, ari = text.flesch_kincaid(col), text.ari(col)
  for i, t in ipairs(items) do
    local c = text.counts(t)
    out[i] = { c.chars, c.words, c.sentences, c.syllables, fk[i], ari[i] }
  end
end
io.write(cjson.encode(out))
'''


def evalua(kind, items):
    with tempfile.TemporaryDirectory() as d:
        with open(d + "/in.json", "w") as f:
            json.dump(items, f)
        with open(d + "/run.lua", "w") as f:
            f.write(LUA)
        r = subprocess.run([binary, d + "/run.lua", kind, d + "/in.json"], capture_output=True,
                           text=True, check=True)
        return json.loads(r.stdout)


def report(name, items, want, got):
    bad = [(i, w, g) for i, w, g in zip(items, want, got) if w != g]
    print("%-10s %7d inputs  %d differ" % (name, len(items), len(bad)))
    for b in bad[:5]:
        print("   %r: python %r, evalua %r" % b)
    return len(bad)


failures = 0
import pyphen  # noqa: E402
alpha = list("abcdefghijklmnopqrstuvwxyz") * 5 + list("aeiouy") * 5 + list("ABCDEZ") + \
    ["'", "\u2019", "-", "\u00e9", "\u00f6", "\u00df", "\ufb01", "\ufb02", "\u0130", "\u0131",
     "\u03a3", "\u03c2", "\u65e5", "0", "7", "_", "\u0301"]
words = sorted({"".join(rng.choice(alpha) for _ in range(rng.randint(1, 16))) for _ in range(count)})
py = pyphen.Pyphen(lang="en_US")
failures += report("pyphen", words, [py.positions(w) for w in words],
                   [p if p else [] for p in evalua("hyph", words)])

from nltk.stem.porter import PorterStemmer  # noqa: E402
letters = "aeiouyyssseeddiinnggllttbbzzcccrrmmppkkwxv0123"
suffixes = ["", "s", "es", "ies", "ied", "ed", "ing", "ings", "eed", "ational", "tional", "enci",
            "anci", "izer", "bli", "alli", "entli", "eli", "ousli", "ization", "ation", "ator",
            "alism", "iveness", "fulness", "ousness", "aliti", "iviti", "biliti", "fulli", "logi",
            "icate", "ative", "alize", "iciti", "ical", "ful", "ness", "al", "ance", "ence", "er",
            "ic", "able", "ible", "ant", "ement", "ment", "ent", "sion", "tion", "ou", "ism", "ate",
            "iti", "ous", "ive", "ize", "e", "ll", "y"]
toks = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(1, 9))) + rng.choice(suffixes)
               for _ in range(count)})
st = PorterStemmer()
failures += report("porter", toks, [st.stem(t) for t in toks], evalua("porter", toks))

src = os.environ.get("TEXTSTAT_SRC")
if src:
    sys.path.insert(0, src)
    from textstat.textstat import textstatistics
    ts = textstatistics()
    chars = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") * 4 + \
        list("0123456789_") + list(".!?.!?,;:'\"-\u2014()") * 2 + [" "] * 30 + \
        ["\n", "\t", "\u00a0", "\u2003", "\u3000", "\x1c", "\x85", "\u200b", "\ufeff"] + \
        list("\u00e1\u00e9\u00f1\u00fc\u00df\u00f8\u0153") + ["\u0301", "\u0308"] + \
        list("\u0130\u0131\u03a3\u03c3\u03c2") + list("\ufb01\ufb02") + list("\u65e5\u672c") + \
        ["\U0001f600", "\u00bd", "\u216b", "\u2019", "\u00a1", "\u00bf"]
    texts = ["".join(rng.choice(chars) for _ in range(rng.randint(0, 80))) for _ in range(count)]
    want = [[ts.char_count(t), ts.lexicon_count(t), ts.sentence_count(t), ts.syllable_count(t),
             ts.flesch_kincaid_grade(t), ts.automated_readability_index(t)] for t in texts]
    failures += report("textstat", texts, want, evalua("textstat", texts))
else:
    print("textstat   skipped (set TEXTSTAT_SRC to a textstat 0.7.3 checkout)")
# ---- ROUGE (rouge_score 0.1.2's rouge_scorer.py / tokenize.py, restated) ----
import collections  # noqa: E402
import re  # noqa: E402


def tokenize(text, stem):
    toks = re.split(r"\s+", re.sub(r"[^a-z0-9]+", " ", text.lower()))
    if stem:
        toks = [st.stem(x) if len(x) > 3 else x for x in toks]
    return [x for x in toks if re.match(r"^[a-z0-9]+$", x)]


def fm(p, r):
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def table(a, b):
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    return t


def lcs_ind(r, c):
    t, i, j, out = table(r, c), len(r), len(c), []
    while i > 0 and j > 0:
        if r[i - 1] == c[j - 1]:
            out.insert(0, i - 1)
            i, j = i - 1, j - 1
        elif t[i][j - 1] > t[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return out


def rouge(target, pred, kind, stem):
    if kind == "rougeLsum":
        refs = [tokenize(x, stem) for x in target.split("\n") if len(x)]
        cans = [tokenize(x, stem) for x in pred.split("\n") if len(x)]
        m, n = sum(map(len, refs)), sum(map(len, cans))
        if not refs or not cans or not m or not n:
            return [0, 0, 0]
        cr, cc = collections.Counter(), collections.Counter()
        for x in refs:
            cr.update(x)
        for x in cans:
            cc.update(x)
        hits = 0
        for r in refs:
            for tok in [r[i] for i in sorted(set().union(*[lcs_ind(r, c) for c in cans]))]:
                if cc[tok] > 0 and cr[tok] > 0:
                    hits, cc[tok], cr[tok] = hits + 1, cc[tok] - 1, cr[tok] - 1
        return [hits / n, hits / m, fm(hits / n, hits / m)]
    a, b = tokenize(target, stem), tokenize(pred, stem)
    if kind == "rougeL":
        if not a or not b:
            return [0, 0, 0]
        l = table(a, b)[-1][-1]
        return [l / len(b), l / len(a), fm(l / len(b), l / len(a))]
    k = int(kind[5:])
    ta = collections.Counter(tuple(a[i:i + k]) for i in range(len(a) - k + 1))
    pa = collections.Counter(tuple(b[i:i + k]) for i in range(len(b) - k + 1))
    inter = sum(min(c, pa[g]) for g, c in ta.items())
    p, r = inter / max(sum(pa.values()), 1), inter / max(sum(ta.values()), 1)
    return [p, r, fm(p, r)]


vocab = ["the", "cat", "cats", "running", "runs", "ran", "generalization", "general", "happy",
         "happiness", "news", "skies", "sky", "Más", "vale", "tarde", "\u0130stanbul", "\u212aelvin",
         "KELVIN", "caf\u00e9", "na\u00efve", "\u65e5\u672c", "don't", "it's", "a1b2", "42", "x_y",
         "stra\u00dfe", "\u00c9T\u00c9", "\u0391\u03b8\u03ae\u03bd\u03b1", "ﬁnance", "co\u00f6p", "\U0001f600"]
seps = [" ", " ", " ", ", ", ". ", "\n", "\n\n", " - ", "\t", "\u00a0"]


def rtext():
    return "".join(rng.choice(vocab) + rng.choice(seps) for _ in range(rng.randint(0, 25)))


pairs = []
for _ in range(max(1, count // 4)):
    t = rtext()
    p = rtext() if rng.random() < 0.5 else " ".join(w for w in t.split(" ") if rng.random() < 0.8)
    pairs.append([t, p, rng.choice(["rouge1", "rouge2", "rouge3", "rougeL", "rougeLsum"]),
                  rng.random() < 0.5])
want = [rouge(t, p, k, s) for t, p, k, s in pairs]
got = evalua("rouge", pairs)
failures += report("rouge", [tuple(x) for x in pairs],  # equal to 12 decimals
                   [[round(x, 12) for x in w] for w in want], [[round(x, 12) for x in g] for g in got])
sys.exit(1 if failures else 0)
