#!/usr/bin/python3
"""Differential check of evalua.text against the Python originals on random
adversarial inputs (not a benchmark; a correctness tool kept next to it):
  - hyphenation points: pyphen (Debian python3-pyphen) on random words with
    apostrophes, ligatures, U+0130, Greek sigma, combining marks;
  - Porter stems: nltk's PorterStemmer on random tokens built from the
    suffixes the algorithm rewrites;
  - textstat counts, FK and ARI: textstat 0.7.3 (TEXTSTAT_SRC=checkout) on
    random strings over the characters its rules treat specially.
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
sys.exit(1 if failures else 0)
