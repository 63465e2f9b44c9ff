#!/usr/bin/python3
"""Generates the reference vectors of evalua.text's tests, offline, from the
Python packages whose behaviour evalua reproduces. Not run by ctest; the
outputs are committed.

Needs Debian bookworm's python3-pyphen (0.13.2, reads
/usr/share/hyphen/hyph_en_US.dic) and python3-nltk (3.8), and a checkout of
textstat at tag 0.7.3 (https://github.com/textstat/textstat):

  /usr/bin/python3 tests/data/text/gen_vectors.py /path/to/textstat-0.7.3

Writes, next to this script:
  hyph_en_US.tsv   word <TAB> pyphen en_US positions (comma separated)
  porter.tsv       word <TAB> nltk PorterStemmer().stem(word)
  textstat.jsonl   {"text", "chars", "words", "sentences", "syllables",
                    "fk", "ari", "fk_raw", "ari_raw"} per text, textstat 0.7.3
                    with default rounding (fk, ari) and set_rounding(False)
                    (fk_raw, ari_raw)
  textstat_fuzz.jsonl  the same for random strings over an alphabet of the
                    characters textstat's rules treat specially (spaces of
                    every kind, combining marks, apostrophes, terminators,
                    U+0130, ligatures, CJK, emoji, digits, '_')
The corpus is the English prose Debian installs under /usr/share/common-licenses
and /usr/share/doc/*/copyright, plus hand-written edge cases below.
"""
import glob
import json
import os
import random
import re
import sys

import pyphen
from nltk.stem.porter import PorterStemmer

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, sys.argv[1])
from textstat.textstat import textstatistics  # noqa: E402

rng = random.Random(20261128)

# ---- corpus ----
paths = sorted(glob.glob("/usr/share/common-licenses/*")) + \
    sorted(glob.glob("/usr/share/doc/*/copyright"))[:300]
lines = []
for p in paths:
    if os.path.isdir(p):
        continue
    try:
        with open(p, encoding="utf-8") as f:
            lines.extend(l.rstrip("\n") for l in f)
    except (UnicodeDecodeError, OSError):
        pass
lines = [l for l in lines if l.strip()]

# ---- words for hyphenation and stemming ----
words = set()
for l in lines:
    for w in re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", l.lower()):
        if 1 <= len(w) <= 30:
            words.add(w)
extra = ["résumé", "coöperate", "naïve", "déjà-vu", "ﬁnance", "ﬂuﬀy", "İstanbul",
         "straße", "hyphenation", "supercalifragilisticexpialidocious", "abbott's",
         "able-bodied", "don't", "rock'n'roll", "o’clock", "estoy", "feliz", "noticia",
         "revela", "secreto", "morder", "morderse", "bala", "más", "vale", "tarde",
         "nunca", "a", "ab", "abc", "x", "æsthetic", "encyclopædia", "ΣΟΦΙΑ", "σοφία",
         "москва", "日本語", "ＡＢＣＤＥＦ", "mcdonald", "programming", "programmer"]
words = sorted(words)
words = rng.sample(words, min(6000, len(words))) + extra
py = pyphen.Pyphen(lang="en_US")
with open(os.path.join(here, "hyph_en_US.tsv"), "w", encoding="utf-8") as f:
    for w in words:
        f.write("%s\t%s\n" % (w, ",".join(str(p) for p in py.positions(w))))

# Porter: the tokens rouge_score would stem (ASCII a-z0-9, longer than 3)
stemmer = PorterStemmer()
toks = set()
for l in lines:
    for t in re.sub(r"[^a-z0-9]+", " ", l.lower()).split():
        toks.add(t)
toks = sorted(toks)
toks = rng.sample(toks, min(8000, len(toks)))
toks += ["sky", "skies", "dying", "lying", "tying", "news", "innings", "inning", "outings",
         "outing", "cannings", "canning", "howe", "proceed", "exceed", "succeed", "flies",
         "dies", "spied", "died", "generalization", "hopefulness", "controlling", "yyyy",
         "syzygy", "happy", "enjoy", "oed", "analogousli", "conformabli", "radicalli",
         "archaeology", "geology", "theology", "ponies", "caresses", "agreed", "feed",
         "disabled", "matting", "mating", "meeting", "milling", "messing", "meetings",
         "1234", "a1b2c3d4", "aaaa", "ies", "ied", "eed", "ing", "ings", "sses"]
with open(os.path.join(here, "porter.tsv"), "w", encoding="utf-8") as f:
    for t in toks:
        f.write("%s\t%s\n" % (t, stemmer.stem(t)))

# ---- textstat ----
ts = textstatistics()
ts_raw = textstatistics()
ts_raw.set_rounding(False)
texts = ["", " ", ".", "!!!", "Hello", "Hello.", "Hello world.", "One two three.",
         "¡Estoy feliz por la noticia!", "Revela el secreto.", "Morder la bala.",
         "Más vale tarde que nunca.", "Morderse la bala.",
         "Don't stop. It's fine... Really?! Yes!!",
         "The cat sat on the mat. The dog ate my homework! Did it?",
         "e.g. i.e. etc. Mr. Smith went to Washington D.C. yesterday.",
         "state-of-the-art well-known self-driving cars",
         "cafe\u0301 nai\u0308ve re\u0301sume\u0301 with combining marks",
         "café naïve résumé precomposed",
         "snake_case_word another_one here",
         "½ Ⅻ ² 3.14 1,000,000 dollars and 42 cents.",
         "tab\tseparated\twords\nand new\nlines\r\nwith CRLF",
         "nbsp\u00a0joined\u2003em\u3000ideographic\x1cfile\x85nel words",
         "Ελληνικά κείμενα εδώ. Σοφία!", "Русский текст здесь. Москва!",
         "日本語のテキストです。中文文本。", "emoji 😀 text 👍🏽 here ❤️.",
         "İstanbul'da KELVIN K işaret.", "ﬁnance ﬂuﬀy oﬃce",
         "A. B. C. D.", "a b. c d. e f g. h i j k.", "Wait... what?!... ok.",
         "?Why start with a question mark", "...leading dots then words here",
         "— dash — separated — words —", "quotes “curly” and ‘single’ and \"straight\"",
         "UPPER CASE SHOUTING TEXT HERE.", "x" * 300, ("word " * 200).strip() + ".",
         "Supercalifragilisticexpialidocious antidisestablishmentarianism.",
         "I.", "Go!", "No way!", "Short. Tiny. Wee.", "one\n\ntwo three four\n\nfive six seven eight."]
pool = [l.strip() for l in lines if l.strip()]
for _ in range(800):
    i = rng.randrange(len(pool))
    n = rng.choice([1, 1, 2, 3, 5, 8])
    texts.append("\n".join(pool[i:i + n]) if rng.random() < 0.5 else " ".join(pool[i:i + n]))
with open(os.path.join(here, "textstat.jsonl"), "w", encoding="utf-8") as f:
    for t in texts:
        rec = {"text": t, "chars": ts.char_count(t), "words": ts.lexicon_count(t),
               "sentences": ts.sentence_count(t), "syllables": ts.syllable_count(t),
               "fk": ts.flesch_kincaid_grade(t), "ari": ts.automated_readability_index(t),
               "fk_raw": ts_raw.flesch_kincaid_grade(t),
               "ari_raw": ts_raw.automated_readability_index(t)}
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
alpha = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") * 4 + \
    list("0123456789_") + list(".!?.!?,;:'\"-\u2014\u2013()[]") * 2 + [" "] * 30 + \
    ["\n", "\t", "\r", "\u00a0", "\u2003", "\u3000", "\x1c", "\x85", "\u200b", "\ufeff"] + \
    list("\u00e1\u00e9\u00ed\u00f3\u00fa\u00f1\u00fc\u00e7\u00e0\u00e8\u00df\u00f8\u00e6\u0153") + \
    ["\u0301", "\u0308", "\u0327"] + list("\u0130\u0131\u03a3\u03c3\u03c2\u0391\u0392\u0393") + \
    list("\ufb01\ufb02\ufb00") + list("\u65e5\u672c\u8a9e\ud55c\uad6d") + \
    ["\U0001f600", "\U0001f44d\U0001f3fd", "\u2764\ufe0f"] + list("\u00bd\u00b2\u216b\u0663") + \
    ["\u2019", "\u2018", "\u201c", "\u201d", "\u00a1", "\u00bf"]
with open(os.path.join(here, "textstat_fuzz.jsonl"), "w", encoding="utf-8") as f:
    for _ in range(600):
        t = "".join(rng.choice(alpha) for _ in range(rng.randint(0, 80)))
        rec = {"text": t, "chars": ts.char_count(t), "words": ts.lexicon_count(t),
               "sentences": ts.sentence_count(t), "syllables": ts.syllable_count(t),
               "fk": ts.flesch_kincaid_grade(t), "ari": ts.automated_readability_index(t),
               "fk_raw": ts_raw.flesch_kincaid_grade(t),
               "ari_raw": ts_raw.automated_readability_index(t)}
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print("words", len(words), "stems", len(toks), "texts", len(texts))
