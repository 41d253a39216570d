#!/usr/bin/env python3
"""Golden fixtures for PAT's modules (tests/data/pat/).

An independent float64 reference written from shared/design/PAT.md and the module docs in
include/pat/model/pat/ (not from the C++ code): the pyramid tokenizer (1x1 projections, L2
normalization, bottom-up composition through strided convs, nearest code by cosine similarity, one EMA
codebook update), the pixel decoder (bilinear x2 upsampling, skip concatenation, GroupNorm residual
blocks, head conv), the semantic fusion (bilinear resampling of every level to each guidance size, 1x1
fusion conv + ReLU, per-resolution 1x1 projections; shared and per-level) and the auxiliary head
(scaled, shifted cosine with the text embeddings). Bilinear resampling and GroupNorm are written out by
hand; convolutions use F.conv2d in float64.

Weights and buffers use the C++ module names (PyramidPat: "tokenizer.*", "decoder.*", "fusion.*",
"aux_head.*"; extra modules "decoder_half.*" (full_resolution = false) and "fusion_per_level.*").

Run with Debian's python3 (torch 1.13): /usr/bin/python3 tools/gen_pat_golden.py
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_catseg_golden as golden_io  # noqa: E402  (its safetensors writer)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "pat")
D = torch.float64

# The tiny configuration (mirrored by tests/unit/pat/test_pat_golden.cpp).
CFG = dict(B=2, channels=[6, 8, 10], sizes=[[16, 12], [8, 6], [4, 3]], d=4, K=8, decay=0.9,
           stage_dims=[8, 8, 8, 4], groups=4, fused_dim=8, guidance_dims=[6, 4, 2], text_dim=5, T=3,
           logit_scale=4.0, logit_bias=-1.5)


# ----------------------------------------------------------------------------------------------- io
def rnd(gen, *shape, std=1.0, mean=0.0):
    """float64 values exactly representable in float32."""
    return (torch.randn(*shape, generator=gen, dtype=D) * std + mean).float().double()


# ------------------------------------------------------------------------------------- primitives
def normalize(x, dim):
    return x / x.norm(dim=dim, keepdim=True).clamp_min(1e-12)


def conv(x, w, b=None, stride=1, padding=0):
    return F.conv2d(x, w, b, stride=stride, padding=padding)


def resize_matrix(n_in, n_out):
    """[n_out, n_in]: 1-D linear interpolation, align_corners=False, source index clamped at 0."""
    m = torch.zeros(n_out, n_in, dtype=D)
    scale = n_in / n_out
    for o in range(n_out):
        src = max((o + 0.5) * scale - 0.5, 0.0)
        i0 = int(math.floor(src))
        i1 = i0 + 1 if i0 < n_in - 1 else i0
        l1 = src - i0
        m[o, i0] += 1.0 - l1
        m[o, i1] += l1
    return m


def bilinear(x, h, w):
    """[B, C, H, W] -> [B, C, h, w] (separable, as bilinear with align_corners=False)."""
    mh, mw = resize_matrix(x.shape[2], h), resize_matrix(x.shape[3], w)
    return torch.einsum("oh,bchw,pw->bcop", mh, x, mw)


def group_norm(x, groups, weight, bias, eps=1e-5):
    b, c, h, w = x.shape
    g = x.reshape(b, groups, -1)
    mean = g.mean(-1, keepdim=True)
    var = ((g - mean) ** 2).mean(-1, keepdim=True)
    y = ((g - mean) / torch.sqrt(var + eps)).reshape(b, c, h, w)
    return y * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)


# ----------------------------------------------------------------------------------------- weights
def make_weights(gen):
    c = CFG
    W = {}
    d, K = c["d"], c["K"]

    def conv_w(name, cin, cout, k, bias=True):
        W[name + ".weight"] = rnd(gen, cout, cin, k, k, std=1.0 / math.sqrt(cin * k * k))
        if bias:
            W[name + ".bias"] = rnd(gen, cout, std=0.1)

    for l, cin in enumerate(c["channels"]):
        conv_w(f"tokenizer.project_l{l}", cin, d, 1)
        if l > 0:
            conv_w(f"tokenizer.compose_l{l}", d, d, 3)
        sums = rnd(gen, K, d)
        W[f"tokenizer.quantize_l{l}.ema_sums"] = sums
        W[f"tokenizer.quantize_l{l}.codebook"] = normalize(sums, 1).float().double()
        W[f"tokenizer.quantize_l{l}.ema_counts"] = (torch.rand(K, generator=gen, dtype=D) * 3).float().double()
        W[f"tokenizer.quantize_l{l}.unused_steps"] = torch.tensor([0, 2, 0, 1, 0, 0, 3, 0], dtype=torch.int64)

    def block(name, cin, cout):
        conv_w(name + ".conv1", cin, cout, 3, bias=False)
        W[name + ".norm1.weight"] = rnd(gen, cout, std=0.1, mean=1.0)
        W[name + ".norm1.bias"] = rnd(gen, cout, std=0.1)
        conv_w(name + ".conv2", cout, cout, 3, bias=False)
        W[name + ".norm2.weight"] = rnd(gen, cout, std=0.1, mean=1.0)
        W[name + ".norm2.bias"] = rnd(gen, cout, std=0.1)
        if cin != cout:
            conv_w(name + ".shortcut", cin, cout, 1, bias=False)

    channels = d
    for s, out in enumerate(c["stage_dims"]):
        skip = d if s < 2 else 0  # stage 0 joins L1, stage 1 joins L0
        block(f"decoder.stages.{s}", channels + skip, out)
        channels = out
    conv_w("decoder.head", channels, 3, 3)
    for k in list(W):  # the half-resolution decoder: stages 0-2 as the full one, its own head
        if k.startswith("decoder.stages.") and int(k.split(".")[2]) < 3:
            W["decoder_half" + k[len("decoder"):]] = W[k].clone()
    conv_w("decoder_half.head", c["stage_dims"][2], 3, 3)

    n_in = d * 3
    conv_w("fusion.fuse.0", n_in, c["fused_dim"], 1)
    for r in range(3):
        conv_w(f"fusion_per_level.fuse.{r}", n_in, c["fused_dim"], 1)
    for prefix in ("fusion", "fusion_per_level"):
        for r, g in enumerate(c["guidance_dims"]):
            conv_w(f"{prefix}.project.{r}", c["fused_dim"], g, 1)

    conv_w("aux_head.project", c["fused_dim"], c["text_dim"], 1)
    W["aux_head.log_logit_scale"] = torch.tensor(math.log(c["logit_scale"]), dtype=D).float().double()
    W["aux_head.logit_bias"] = torch.tensor(c["logit_bias"], dtype=D)
    return W


# --------------------------------------------------------------------------------------- reference
def tokenizer(W, levels):
    """Bottom-up: z_l = n(n(P_l x_l) + C_l q_{l-1}); nearest code; one EMA step."""
    c = CFG
    out = {}
    previous = None
    margin = float("inf")
    commitment = 0.0
    for l, x in enumerate(levels):
        z = normalize(conv(x, W[f"tokenizer.project_l{l}.weight"], W[f"tokenizer.project_l{l}.bias"]), 1)
        if previous is not None:
            down = conv(previous, W[f"tokenizer.compose_l{l}.weight"], W[f"tokenizer.compose_l{l}.bias"], stride=2,
                        padding=1)
            z = normalize(z + down, 1)
        codes = W[f"tokenizer.quantize_l{l}.codebook"]
        rows = z.permute(0, 2, 3, 1).reshape(-1, c["d"])
        sims = rows @ codes.t()
        top = sims.topk(2, dim=1).values
        margin = min(margin, float((top[:, 0] - top[:, 1]).min()))
        ids = sims.argmax(1)
        selected = codes[ids]
        b, _, h, w = z.shape
        q = selected.reshape(b, h, w, c["d"]).permute(0, 3, 1, 2)
        counts = torch.bincount(ids, minlength=c["K"]).to(D)
        p = counts / counts.sum()
        nz = p[p > 0]
        sums = torch.zeros(c["K"], c["d"], dtype=D).index_add_(0, ids, rows)
        decay = c["decay"]
        ema_counts = decay * W[f"tokenizer.quantize_l{l}.ema_counts"] + (1 - decay) * counts
        ema_sums = decay * W[f"tokenizer.quantize_l{l}.ema_sums"] + (1 - decay) * sums
        unused = W[f"tokenizer.quantize_l{l}.unused_steps"]
        out.update({
            f"l{l}.projected": z, f"l{l}.quantized": q, f"l{l}.ids": ids.reshape(b, h, w),
            f"l{l}.commitment": ((rows - selected) ** 2).sum(1).mean(),
            f"l{l}.perplexity": torch.exp(-(nz * nz.log()).sum()),
            f"l{l}.usage": (counts > 0).to(D).mean(),
            f"l{l}.ema_counts": ema_counts, f"l{l}.ema_sums": ema_sums,
            f"l{l}.codebook_after": normalize(ema_sums, 1),
            # after end_step with restarts off: used codes reset to 0, unused ones age by one
            f"l{l}.unused_after": torch.where(counts > 0, torch.zeros_like(unused), unused + 1),
        })
        commitment += out[f"l{l}.commitment"]
        previous = q
    out["commitment"] = commitment
    return out, margin


def residual_block(W, name, x):
    y = conv(x, W[name + ".conv1.weight"], padding=1)
    y = torch.relu(group_norm(y, CFG["groups"], W[name + ".norm1.weight"], W[name + ".norm1.bias"]))
    y = conv(y, W[name + ".conv2.weight"], padding=1)
    y = group_norm(y, CFG["groups"], W[name + ".norm2.weight"], W[name + ".norm2.bias"])
    shortcut = conv(x, W[name + ".shortcut.weight"]) if name + ".shortcut.weight" in W else x
    return torch.relu(y + shortcut)


def decoder(W, prefix, q, stages):
    """From L2: x2 upsample, concat the level at that scale (L1, then L0), residual block; head conv."""
    x = q[2]
    for s in range(stages):
        x = bilinear(x, 2 * x.shape[2], 2 * x.shape[3])
        if s < 2:
            x = torch.cat([x, q[1 - s]], 1)
        x = residual_block(W, f"{prefix}.stages.{s}", x)
    return conv(x, W[f"{prefix}.head.weight"], W[f"{prefix}.head.bias"], padding=1)


def fusion(W, prefix, q, shared):
    """Guidance sizes coarse first (the L2, L1, L0 sizes); levels concatenated finest first."""
    fused, residuals = [], []
    for r, (h, w) in enumerate(reversed(CFG["sizes"])):
        cat = torch.cat([bilinear(m, h, w) for m in q], 1)
        k = 0 if shared else r
        f = torch.relu(conv(cat, W[f"{prefix}.fuse.{k}.weight"], W[f"{prefix}.fuse.{k}.bias"]))
        fused.append(f)
        residuals.append(conv(f, W[f"{prefix}.project.{r}.weight"], W[f"{prefix}.project.{r}.bias"]))
    return fused, residuals


def aux_head(W, fused, text):
    v = normalize(conv(fused, W["aux_head.project.weight"], W["aux_head.project.bias"]), 1)
    t = normalize(text, 2)
    cos = torch.einsum("bchw,btc->bthw", v, t)
    return torch.exp(W["aux_head.log_logit_scale"]) * cos + W["aux_head.logit_bias"]


def main():
    os.makedirs(OUT, exist_ok=True)
    c = CFG
    for seed in range(100, 200):
        gen = torch.Generator().manual_seed(seed)
        W = make_weights(gen)
        levels = [rnd(gen, c["B"], ch, h, w) for ch, (h, w) in zip(c["channels"], c["sizes"])]
        text = rnd(gen, c["B"], c["T"], c["text_dim"])
        tok, margin = tokenizer(W, levels)
        if margin > 2e-3:  # no assignment near a tie: float32 picks the same codes
            break
    else:
        raise SystemExit("no seed with a safe nearest-code margin")
    q = [tok[f"l{l}.quantized"] for l in range(3)]
    io = {f"input.l{l}": levels[l] for l in range(3)}
    io["input.text"] = text
    io.update(tok)
    io["reconstruction"] = decoder(W, "decoder", q, 4)
    io["reconstruction_half"] = decoder(W, "decoder_half", q, 3)
    for prefix, shared in (("fusion", True), ("fusion_per_level", False)):
        fused, residuals = fusion(W, prefix, q, shared)
        for r in range(3):
            io[f"{prefix}.fused.{r}"] = fused[r]
            io[f"{prefix}.residual.{r}"] = residuals[r]
    io["aux_logits"] = aux_head(W, io["fusion.fused.0"], text)
    for name in ("reconstruction", "aux_logits", "commitment", "l0.perplexity", "l2.usage"):
        v = io[name]
        print(f"{name}: {tuple(v.shape)} sum {float(v.sum()):.6f}")
    print(f"seed {seed}, nearest-code margin {margin:.4f}")

    def f32(t):
        return t if t.dtype == torch.int64 else t.float()

    meta = {"config": json.dumps(CFG), "generator": "tools/gen_pat_golden.py"}
    golden_io.write_safetensors(os.path.join(OUT, "tiny_weights.safetensors"), {k: f32(v) for k, v in W.items()}, meta)
    golden_io.write_safetensors(os.path.join(OUT, "tiny_io.safetensors"), {k: f32(v) for k, v in io.items()}, meta)


if __name__ == "__main__":
    main()
