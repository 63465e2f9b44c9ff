#!/usr/bin/env python3
"""Reference for tests/c/test_roberta.c: writes a tiny random
RobertaForSequenceClassification (2 layers, hidden 32, 4 heads, intermediate
64) as a Hugging Face directory and the expected token ids, logits and
hate probabilities computed by an independent forward pass in numpy
(float64), with its own GPT-2 tokenizer (the `regex` module for the
pre-tokenizer pattern).

usage: roberta_ref.py OUTDIR [--big]
  OUTDIR/f32/   config.json, model.safetensors (F32), vocab.json, merges.txt
  OUTDIR/half/  the same weights stored as F16 and BF16 tensors
  OUTDIR/expected.json
  --big: only write OUTDIR/f32 with roberta-base sizes (12 layers, hidden
  768, intermediate 3072, vocab 50265) and random weights, for the benchmark.
"""
import json
import os
import struct
import sys

import numpy as np
import regex

PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


B2U = bytes_to_unicode()

TRAIN = """The quick brown fox jumps over the lazy dog. She went to the library and
read a book about the history of the city. He is a stupid idiot and I hate him.
You are wonderful, thank you for the help! It's raining; we'll stay home and
they'd rather play games. Numbers like 12345 and 2024 appear in the report.
Le café est très bon. Привет мир. 東京は大きい都市です。 Emoji 😀 are fun.
I'm sure you're right, and we've done this before. The the the and and and.
"""


def learn_merges(text, count):
    words = {}
    for piece in PAT.findall(text):
        w = tuple(B2U[b] for b in piece.encode("utf-8"))
        words[w] = words.get(w, 0) + 1
    merges = []
    for _ in range(count):
        pairs = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        nw = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    return merges


def bpe(word, ranks):
    """GPT-2's encoder.bpe: merge the lowest-ranked pair everywhere, repeat."""
    word = list(word)
    while len(word) > 1:
        pairs = [(ranks.get((a, b), 1 << 30), (a, b)) for a, b in zip(word, word[1:])]
        r, best = min(pairs)
        if r == 1 << 30:
            break
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        word = out
    return word


SPECIAL = regex.compile(r"(<s>|</s>|<unk>|<pad>|[ \t\n\r\v\f]*<mask>)")


def tokenize(text, vocab, ranks, max_tokens):
    """Special tokens written in the text are split out first (<mask> takes
    the whitespace before it), then each part is pre-tokenized and merged."""
    ids = []
    for part in SPECIAL.split(text):
        if SPECIAL.fullmatch(part):
            ids.append(vocab[part.lstrip(" \t\n\r\v\f")])
            continue
        for piece in PAT.findall(part):
            for tok in bpe([B2U[b] for b in piece.encode("utf-8")], ranks):
                ids.append(vocab.get(tok, vocab["<unk>"]))
    ids = ids[: max_tokens - 2]
    return [vocab["<s>"]] + ids + [vocab["</s>"]]


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x):
    from math import erf, sqrt

    return 0.5 * x * (1.0 + np.vectorize(lambda v: erf(v / sqrt(2.0)))(x))


def forward(W, cfg, ids):
    H, NH = cfg["hidden_size"], cfg["num_attention_heads"]
    D = H // NH
    pad = cfg["pad_token_id"]
    n = len(ids)
    pos = np.arange(n) + pad + 1
    x = W["roberta.embeddings.word_embeddings.weight"][ids] + W["roberta.embeddings.position_embeddings.weight"][pos] \
        + W["roberta.embeddings.token_type_embeddings.weight"][0]
    eps = cfg["layer_norm_eps"]
    x = layer_norm(x, W["roberta.embeddings.LayerNorm.weight"], W["roberta.embeddings.LayerNorm.bias"], eps)
    for l in range(cfg["num_hidden_layers"]):
        p = "roberta.encoder.layer.%d." % l
        lin = lambda v, name: v @ W[p + name + ".weight"].T + W[p + name + ".bias"]
        q, k, v = lin(x, "attention.self.query"), lin(x, "attention.self.key"), lin(x, "attention.self.value")
        ctx = np.zeros_like(x)
        for h in range(NH):
            s = slice(h * D, (h + 1) * D)
            sc = q[:, s] @ k[:, s].T / np.sqrt(D)
            sc = np.exp(sc - sc.max(-1, keepdims=True))
            sc /= sc.sum(-1, keepdims=True)
            ctx[:, s] = sc @ v[:, s]
        x = layer_norm(lin(ctx, "attention.output.dense") + x, W[p + "attention.output.LayerNorm.weight"],
                       W[p + "attention.output.LayerNorm.bias"], eps)
        inter = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(lin(inter, "output.dense") + x, W[p + "output.LayerNorm.weight"],
                       W[p + "output.LayerNorm.bias"], eps)
    h = np.tanh(x[0] @ W["classifier.dense.weight"].T + W["classifier.dense.bias"])
    z = h @ W["classifier.out_proj.weight"].T + W["classifier.out_proj.bias"]
    e = np.exp(z - z.max())
    return z, e / e.sum()


def write_safetensors(path, tensors, dtypes):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        a = tensors[name]
        dt = dtypes.get(name, "F32")
        if dt == "F32":
            raw = a.astype("<f4").tobytes()
        elif dt == "F16":
            raw = a.astype("<f2").tobytes()
        else:  # BF16: the upper half of the float32 bits (truncation)
            raw = (a.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def stored_values(a, dt):
    """What a reader gets back from a tensor stored with dtype dt."""
    if dt == "F32":
        return a.astype(np.float32).astype(np.float64)
    if dt == "F16":
        return a.astype(np.float16).astype(np.float64)
    u = (a.astype("<f4").view("<u4") >> 16) << 16
    return u.astype("<u4").view("<f4").astype(np.float64)


def make_weights(cfg, rng, scale):
    H, FF, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    P, C = cfg["max_position_embeddings"], len(cfg["id2label"])
    W = {}

    def rnd(*shape):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    W["roberta.embeddings.word_embeddings.weight"] = rnd(V, H)
    W["roberta.embeddings.position_embeddings.weight"] = rnd(P, H)
    W["roberta.embeddings.token_type_embeddings.weight"] = rnd(cfg["type_vocab_size"], H)
    W["roberta.embeddings.LayerNorm.weight"] = (1 + rnd(H)).astype(np.float32)
    W["roberta.embeddings.LayerNorm.bias"] = rnd(H)
    for l in range(cfg["num_hidden_layers"]):
        p = "roberta.encoder.layer.%d." % l
        for n in ("query", "key", "value"):
            W[p + "attention.self.%s.weight" % n] = rnd(H, H)
            W[p + "attention.self.%s.bias" % n] = rnd(H)
        W[p + "attention.output.dense.weight"] = rnd(H, H)
        W[p + "attention.output.dense.bias"] = rnd(H)
        W[p + "attention.output.LayerNorm.weight"] = (1 + rnd(H)).astype(np.float32)
        W[p + "attention.output.LayerNorm.bias"] = rnd(H)
        W[p + "intermediate.dense.weight"] = rnd(FF, H)
        W[p + "intermediate.dense.bias"] = rnd(FF)
        W[p + "output.dense.weight"] = rnd(H, FF)
        W[p + "output.dense.bias"] = rnd(H)
        W[p + "output.LayerNorm.weight"] = (1 + rnd(H)).astype(np.float32)
        W[p + "output.LayerNorm.bias"] = rnd(H)
    W["roberta.pooler.dense.weight"] = rnd(H, H)  # present in real checkpoints, unused
    W["roberta.pooler.dense.bias"] = rnd(H)
    W["classifier.dense.weight"] = rnd(H, H)
    W["classifier.dense.bias"] = rnd(H)
    W["classifier.out_proj.weight"] = rnd(C, H)
    W["classifier.out_proj.bias"] = rnd(C)
    return W


def write_dir(d, cfg, vocab, merges, W, dtypes):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=True)  # \uXXXX escapes, as the hub's files
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write("%s %s\n" % (a, b))
    write_safetensors(os.path.join(d, "model.safetensors"), W, dtypes)


def config(vocab_size, layers, hidden, heads, inter):
    return {
        "architectures": ["RobertaForSequenceClassification"], "model_type": "roberta",
        "num_hidden_layers": layers, "hidden_size": hidden, "num_attention_heads": heads,
        "intermediate_size": inter, "hidden_act": "gelu", "vocab_size": vocab_size,
        "max_position_embeddings": 514, "type_vocab_size": 1, "layer_norm_eps": 1e-05,
        "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
        "position_embedding_type": "absolute",
        "id2label": {"0": "nothate", "1": "hate"}, "label2id": {"nothate": 0, "hate": 1},
    }


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20240601)
    if "--big" in sys.argv:
        merges = learn_merges(TRAIN, 200)
        vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
        for b in range(256):
            vocab.setdefault(B2U[b], len(vocab))
        for a, b in merges:
            vocab.setdefault(a + b, len(vocab))
        vocab["<mask>"] = 50264
        cfg = config(50265, 12, 768, 12, 3072)
        W = make_weights(cfg, rng, 0.02)
        write_dir(os.path.join(out, "f32"), cfg, vocab, merges, W, {})
        return
    merges = learn_merges(TRAIN, 160)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for b in range(256):
        vocab.setdefault(B2U[b], len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<mask>"] = len(vocab)
    cfg = config(len(vocab), 2, 32, 4, 64)
    W = make_weights(cfg, rng, 0.5)
    ranks = {m: i for i, m in enumerate(merges)}
    texts = [
        "", "a", "Hello world", "The quick brown fox jumps over the lazy dog.",
        "You are a stupid idiot and I hate you!", "she went to the library",
        "I'm sure you're right; we've done it, they'd say. IT'S", "  spaces   everywhere  \n\n new line\t",
        "Le café est très bon. Привет мир. 東京は大きい都市です。", "Emoji 😀👍🏽 fun ❤️",
        "numbers 12345 3.14 and 2024", "the " * 700,
        "literal <s>specials</s> here <mask> and  <mask>x <unk><pad> <notspecial>",
        "x" * 3000,
    ]
    W64 = {k: stored_values(v, "F32") for k, v in W.items()}
    cases = []
    for t in texts:
        ids = tokenize(t, vocab, ranks, 512)
        z, p = forward(W64, cfg, ids)
        cases.append({"text": t, "ids": ids, "logits": [float(v) for v in z], "prob": float(p[1])})
    write_dir(os.path.join(out, "f32"), cfg, vocab, merges, W, {})
    # the same model stored in half precision: F16, and BF16 for the embeddings and the head
    dtypes = {k: ("BF16" if k.startswith("roberta.embeddings") or k.startswith("classifier") else "F16") for k in W}
    Wh = {k: stored_values(v, dtypes[k]) for k, v in W.items()}
    half = []
    for c in cases[:6]:
        z, p = forward(Wh, cfg, c["ids"])
        half.append({"text": c["text"], "ids": c["ids"], "logits": [float(v) for v in z], "prob": float(p[1])})
    write_dir(os.path.join(out, "half"), cfg, vocab, merges, W, dtypes)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"f32": cases, "half": half}, f)


if __name__ == "__main__":
    main()
