#!/usr/bin/env python3
"""The PyTorch side of contrib/bench/toxicity/roberta_vs_torch.sh: scores the
same token ids (written by roberta_speed.lua) with the same random weights
(model.safetensors of a RobertaForSequenceClassification directory) using
Debian's python3-torch, the way transformers' RoBERTa computes it in eager
mode: embeddings + LayerNorm, per layer fused-by-torch linear projections,
scaled_dot_product_attention with a padding mask, GELU feed-forward,
post-LayerNorm, classification head. Batches are padded to their longest
text (all texts have the same length here, so no padding is wasted).

usage: roberta_torch.py MODEL_DIR IDS_JSON THREADS BATCHES(e.g. 1,8,32)
Bench only: not a test, not a dependency of evalua.
"""
import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", "bench expects F32 weights"
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data, dtype=np.float32, count=(b - a) // 4,
                                                offset=a).reshape(v["shape"]).copy())
    return out


class Roberta:
    def __init__(self, d):
        cfg = json.load(open(d + "/config.json"))
        self.cfg = cfg
        self.W = load_safetensors(d + "/model.safetensors")
        self.H = cfg["hidden_size"]
        self.NH = cfg["num_attention_heads"]
        self.L = cfg["num_hidden_layers"]
        self.eps = cfg["layer_norm_eps"]
        self.pad = cfg["pad_token_id"]

    def w(self, k):
        return self.W[k]

    @torch.inference_mode()
    def forward(self, ids, mask):
        W, H, NH = self.w, self.H, self.NH
        B, T = ids.shape
        D = H // NH
        pos = (torch.cumsum(mask, 1) * mask + self.pad).long()
        x = (F.embedding(ids, W("roberta.embeddings.word_embeddings.weight"))
             + F.embedding(pos, W("roberta.embeddings.position_embeddings.weight"))
             + W("roberta.embeddings.token_type_embeddings.weight")[0])
        x = F.layer_norm(x, (H,), W("roberta.embeddings.LayerNorm.weight"),
                         W("roberta.embeddings.LayerNorm.bias"), self.eps)
        amask = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for l in range(self.L):
            p = f"roberta.encoder.layer.{l}."
            q = F.linear(x, W(p + "attention.self.query.weight"), W(p + "attention.self.query.bias"))
            k = F.linear(x, W(p + "attention.self.key.weight"), W(p + "attention.self.key.bias"))
            v = F.linear(x, W(p + "attention.self.value.weight"), W(p + "attention.self.value.bias"))
            q, k, v = (t.view(B, T, NH, D).transpose(1, 2) for t in (q, k, v))
            if hasattr(F, "scaled_dot_product_attention"):
                ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=amask)
            else:   # torch < 2.0: what transformers' eager attention does
                s = torch.matmul(q, k.transpose(-1, -2)) / (D ** 0.5) + amask
                ctx = torch.matmul(torch.softmax(s, -1), v)
            ctx = ctx.transpose(1, 2).reshape(B, T, H)
            a = F.linear(ctx, W(p + "attention.output.dense.weight"), W(p + "attention.output.dense.bias"))
            x = F.layer_norm(a + x, (H,), W(p + "attention.output.LayerNorm.weight"),
                             W(p + "attention.output.LayerNorm.bias"), self.eps)
            h = F.gelu(F.linear(x, W(p + "intermediate.dense.weight"), W(p + "intermediate.dense.bias")))
            o = F.linear(h, W(p + "output.dense.weight"), W(p + "output.dense.bias"))
            x = F.layer_norm(o + x, (H,), W(p + "output.LayerNorm.weight"),
                             W(p + "output.LayerNorm.bias"), self.eps)
        c = torch.tanh(F.linear(x[:, 0], W("classifier.dense.weight"), W("classifier.dense.bias")))
        z = F.linear(c, W("classifier.out_proj.weight"), W("classifier.out_proj.bias"))
        return torch.softmax(z, -1)


def main():
    d, idfile, threads, batches = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    torch.set_num_threads(threads)
    m = Roberta(d)
    texts = json.load(open(idfile))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))   # batches by length
    ntok = len(texts[0])

    def run(bs):
        probs = [0.0] * len(texts)
        for s in range(0, len(order), bs):
            idx = order[s:s + bs]
            T = max(len(texts[i]) for i in idx)
            ids = torch.full((len(idx), T), m.pad, dtype=torch.long)
            mask = torch.zeros((len(idx), T), dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, :len(texts[i])] = torch.tensor(texts[i])
                mask[r, :len(texts[i])] = 1
            p = m.forward(ids, mask)
            for r, i in enumerate(idx):
                probs[i] = float(p[r, 1])
        return probs

    m.forward(torch.tensor(texts[:1]), torch.ones((1, len(texts[0])), dtype=torch.long))   # warm up
    for bs in (int(b) for b in batches.split(",")):
        t0, c0 = time.perf_counter(), time.process_time()
        probs = run(bs)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        print(f"torch   threads={threads} tokens={ntok} batch={bs} texts={len(texts)}: "
              f"{len(texts) / dt:8.2f} texts/s wall, {len(texts) / dc:8.2f} per CPU-second  "
              f"(p[1]={probs[0]:.6f})", flush=True)


if __name__ == "__main__":
    main()
