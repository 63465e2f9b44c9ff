#!/usr/bin/env python3
"""gen_splits.py: writes splits.tsv, the pre-tokenizer pieces of random
strings as split by the encodings' own regexes (tiktoken_ext/openai_public.py)
with the `regex` module (pip `regex` or Debian python3-regex), whose
leftmost-first backtracking and Unicode White_Space \\s match the Rust
fancy-regex engine of tiktoken. The alphabet avoids code points assigned
after Unicode 14, so the module's Unicode version does not matter.
Lines: ENCODING <tab> HEX(UTF-8) <tab> comma-separated piece lengths in bytes."""
import random
import sys

import regex

PATTERNS = {
    "cl100k_base": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "o200k_base": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]),
}

# one or a few of each class the scanners distinguish
ALPHABET = (
    list("aAbBsStTdDmMlLrReEvVxX") + ["'"] * 6 + list("019") + list(" " * 6) + ["\t", "\n", "\r"]
    + list(".,!?/-_()<>") + ["\x85", "\xa0", "\u1680", "\u2003", "\u2028", "\u3000", "\ufeff", "\u200b",
    "\u200d", "\u017f", "\u212a", "\u0301", "\u0308", "\u20dd", "\u0903", "\ufe0f", "\u094d", "\u0e31",
    "\u00e9", "\u00df", "\u03a3", "\u03c2", "\u01c5", "\u1f88", "\u02b0", "\u1d43", "\u3005", "\u4e2d",
    "\u3042", "\ud55c", "\ufb01", "\u0130", "\u0915", "\u0e01", "\u0639", "\u0663", "\u216b", "\u00bd",
    "\u00b2", "\u0967", "\U0001f44d", "\U0001f3fd", "\U0001d400", "\U0001d41a", "\ue000", "\ufffd",
    "\u2014", "\u201c", "\u00a1", "\u00aa", "\u02c6", "\u0345", "\u1e9e", "\u2160", "\u2170"]
)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "splits.tsv"
    rnd = random.Random(20240602)
    lines = ["# pre-tokenizer pieces (byte lengths) from the regex module; see gen_splits.py"]
    for enc, pat in PATTERNS.items():
        rx = regex.compile(pat)
        for k in range(6000):
            n = rnd.randint(1, 40 if k % 10 == 9 else 10)
            s = "".join(rnd.choice(ALPHABET) for _ in range(n))
            pieces = rx.findall(s)
            assert "".join(pieces) == s
            lens = [len(p.encode("utf-8")) for p in pieces]
            lines.append(f"{enc}\t{s.encode('utf-8').hex()}\t{','.join(map(str, lens))}")
    with open(out_path, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{out_path}: {len(lines) - 1} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
