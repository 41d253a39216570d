#!/usr/bin/env python3
"""Golden fixtures for the CAT-Seg head (tests/data/catseg/).

An independent float64 reference written from shared/design/CATSEG.md §1.5-1.7 (not from the official
code): shifted-window attention is computed as full attention over the grid with a window/region bias
(no roll, no window partition), and linear attention by its direct formula sum_s A v / (sum_s A + eps).
Weights use the parameter names of the C++ modules (prefixed "head." and "upsamplers.").

Run with Debian's python3 (torch 1.13): /usr/bin/python3 tools/gen_catseg_golden.py
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "catseg")
D = torch.float64


# ----------------------------------------------------------------------------------------------- io
def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    codes = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        code, npdt = codes[t.dtype]
        data = t.numpy().astype(npdt).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


# ----------------------------------------------------------------------------------------- weights
class Weights:
    """Name -> float64 tensor whose values are exactly representable in float32."""

    def __init__(self, gen):
        self.gen, self.w = gen, {}

    def _rand(self, shape, std, mean=0.0):
        t = torch.randn(*shape, generator=self.gen, dtype=D) * std + mean
        return t.float().double()

    def linear(self, name, fin, fout, bias=True):
        self.w[name + ".weight"] = self._rand((fout, fin), 1.0 / math.sqrt(fin))
        if bias:
            self.w[name + ".bias"] = self._rand((fout,), 0.1)

    def conv(self, name, cin, cout, k, bias=True):
        self.w[name + ".weight"] = self._rand((cout, cin, k, k), 1.0 / math.sqrt(cin * k * k))
        if bias:
            self.w[name + ".bias"] = self._rand((cout,), 0.1)

    def convt(self, name, cin, cout, k):
        # ConvTranspose2d weight layout: [in, out, k, k]
        self.w[name + ".weight"] = self._rand((cin, cout, k, k), 1.0 / math.sqrt(cin))
        self.w[name + ".bias"] = self._rand((cout,), 0.1)

    def norm(self, name, d):
        self.w[name + ".weight"] = self._rand((d,), 0.1, 1.0)
        self.w[name + ".bias"] = self._rand((d,), 0.1)

    def tensor(self, name, shape, std):
        self.w[name] = self._rand(shape, std)


def make_weights(cfg, gen):
    """All parameters of upsamplers + head for `cfg`, named as the C++ modules name them."""
    W = Weights(gen)
    E, C, Ca, Ct = cfg["E"], cfg["hidden"], cfg["app_proj"], cfg["text_proj"]
    W.convt("upsamplers.upsample1", cfg["width"], cfg["dec_guid"][0], 2)
    W.convt("upsamplers.upsample2", cfg["width"], cfg["dec_guid"][1], 4)
    for i in range(cfg["layers"]):
        sw = f"head.layers.{i}.swin_block"
        for blk in ("block_1", "block_2"):
            p = f"{sw}.{blk}"
            W.norm(p + ".norm1", C)
            W.linear(p + ".attn.q", C + Ca, C)
            W.linear(p + ".attn.k", C + Ca, C)
            W.linear(p + ".attn.v", C, C)
            W.linear(p + ".attn.proj", C, C)
            W.norm(p + ".norm2", C)
            W.linear(p + ".mlp.fc1", C, 4 * C)
            W.linear(p + ".mlp.fc2", 4 * C, C)
        W.norm(sw + ".guidance_norm", Ca)
        ca = f"head.layers.{i}.attention"
        W.linear(ca + ".attention.q", C + Ct, C)
        W.linear(ca + ".attention.k", C + Ct, C)
        W.linear(ca + ".attention.v", C, C)
        W.linear(ca + ".MLP.0", C, 4 * C)
        W.linear(ca + ".MLP.2", 4 * C, C)
        W.norm(ca + ".norm1", C)
        W.norm(ca + ".norm2", C)
        if cfg["pad_len"] > 0:
            W.tensor(ca + ".padding_tokens", (1, 1, C), 0.5)
            W.tensor(ca + ".padding_guidance", (1, 1, Ct), 0.5)
    W.conv("head.conv1", cfg["P"], C, 7)
    W.conv("head.guidance_projection.0", E, Ca, 3)
    W.linear("head.text_guidance_projection.0", E, Ct)
    for i in range(2):
        W.conv(f"head.decoder_guidance_projection.{i}.0", cfg["dec_guid"][i], cfg["dec_proj"][i], 3)
    ins = [C, cfg["dec_dims"][0]]
    for i in range(2):
        p = f"head.decoder{i + 1}"
        cin, cout, cg = ins[i], cfg["dec_dims"][i], cfg["dec_proj"][i]
        W.convt(p + ".up", cin, cin - cg, 2)
        W.conv(p + ".conv.double_conv.0", cin, cout, 3, bias=False)
        W.norm(p + ".conv.double_conv.1", cout)
        W.conv(p + ".conv.double_conv.3", cout, cout, 3, bias=False)
        W.norm(p + ".conv.double_conv.4", cout)
    W.conv("head.head", cfg["dec_dims"][1], 1, 3)
    return W.w


# --------------------------------------------------------------------------------------- reference
def lin(x, w, name):
    return F.linear(x, w[name + ".weight"], w.get(name + ".bias"))


def ln(x, w, name):
    return F.layer_norm(x, (x.shape[-1],), w[name + ".weight"], w[name + ".bias"], 1e-5)


def window_bias(H, Wd, ws, shift):
    """[HW, HW] additive bias: -inf across (shifted) windows, -100 across regions inside a window."""
    if min(H, Wd) <= ws:
        ws, shift = min(H, Wd), 0

    def axis(size):
        r = (torch.arange(size) - shift) % size          # coordinate in the cyclically shifted map
        win = r // ws
        if shift > 0:
            reg = (r >= size - ws).long() + (r >= size - shift).long()
        else:
            reg = torch.zeros(size, dtype=torch.long)
        return win, reg

    wy, ry = axis(H)
    wx, rx = axis(Wd)
    win = (wy[:, None] * 1000 + wx[None, :]).reshape(-1)
    reg = (ry[:, None] * 3 + rx[None, :]).reshape(-1)
    bias = torch.zeros(H * Wd, H * Wd, dtype=D)
    bias[reg[:, None] != reg[None, :]] = -100.0
    bias[win[:, None] != win[None, :]] = -math.inf
    return bias


def swin_block(x, g, w, p, H, Wd, ws, shift, heads):
    """x [N, HW, C], g [N, HW, Cg] (normalized guidance)."""
    N, L, C = x.shape
    d = C // heads
    y = ln(x, w, p + ".norm1")
    yc = torch.cat([y, g], -1)
    q = lin(yc, w, p + ".attn.q").view(N, L, heads, d).transpose(1, 2)
    k = lin(yc, w, p + ".attn.k").view(N, L, heads, d).transpose(1, 2)
    v = lin(y, w, p + ".attn.v").view(N, L, heads, d).transpose(1, 2)
    logits = q @ k.transpose(-1, -2) / math.sqrt(d) + window_bias(H, Wd, ws, shift)
    o = (torch.softmax(logits, -1) @ v).transpose(1, 2).reshape(N, L, C)
    x = x + lin(o, w, p + ".attn.proj")
    return x + lin(F.gelu(lin(ln(x, w, p + ".norm2"), w, p + ".mlp.fc1")), w, p + ".mlp.fc2")


def spatial(x, app, w, p, cfg):
    """x [B, C, T, H, W]; app [B, Ca, H, W]."""
    B, C, T, H, Wd = x.shape
    tok = x.permute(0, 2, 3, 4, 1).reshape(B * T, H * Wd, C)
    g = app.permute(0, 2, 3, 1).reshape(B, 1, H * Wd, -1).expand(B, T, H * Wd, app.shape[1])
    g = ln(g.reshape(B * T, H * Wd, -1), w, p + ".guidance_norm")
    ws = cfg["window"]
    tok = swin_block(tok, g, w, p + ".block_1", H, Wd, ws, 0, cfg["heads"])
    tok = swin_block(tok, g, w, p + ".block_2", H, Wd, ws, ws // 2, cfg["heads"])
    return tok.reshape(B, T, H, Wd, C).permute(0, 4, 1, 2, 3)


def linear_attention_direct(q, k, v, eps=1e-6):
    """q [N, L, h, d], k [N, S, h, d], v [N, S, h, dv]: sum_s A v / (sum_s A + eps), A = phi(q).phi(k)."""
    phq, phk = F.elu(q) + 1, F.elu(k) + 1
    A = torch.einsum("nlhd,nshd->nhls", phq, phk)
    num = torch.einsum("nhls,nshv->nlhv", A, v)
    den = A.sum(-1).permute(0, 2, 1).unsqueeze(-1) + eps
    return num / den


def class_layer(x, tg, w, p, cfg, training):
    """x [B, C, T, H, W]; tg [B, T, Ct]."""
    B, C, T, H, Wd = x.shape
    pool = cfg["pool_train"] if training else cfg["pool_eval"]
    xp = F.avg_pool2d(x.transpose(1, 2).reshape(B * T, C, H, Wd), pool)
    h, wd = xp.shape[-2:]
    xp = xp.reshape(B, T, C, h, wd)                                           # class-major here
    if cfg["pad_len"] > 0 and T < cfg["pad_len"]:
        extra = cfg["pad_len"] - T
        xp = torch.cat([xp, w[p + ".padding_tokens"].reshape(1, 1, C, 1, 1).expand(B, extra, C, h, wd)], 1)
        tg = torch.cat([tg, w[p + ".padding_guidance"].expand(B, extra, tg.shape[-1])], 1)
    S = xp.shape[1]
    seq = xp.permute(0, 3, 4, 1, 2).reshape(B * h * wd, S, C)
    g = tg[:, None].expand(B, h * wd, S, tg.shape[-1]).reshape(B * h * wd, S, -1)
    heads = cfg["heads"]
    y = ln(seq, w, p + ".norm1")
    yc = torch.cat([y, g], -1)
    q = lin(yc, w, p + ".attention.q").view(B * h * wd, S, heads, -1)
    k = lin(yc, w, p + ".attention.k").view(B * h * wd, S, heads, -1)
    v = lin(y, w, p + ".attention.v").view(B * h * wd, S, heads, -1)
    seq = seq + linear_attention_direct(q, k, v).reshape(B * h * wd, S, C)
    seq = seq + lin(F.relu(lin(ln(seq, w, p + ".norm2"), w, p + ".MLP.0")), w, p + ".MLP.2")
    maps = seq.reshape(B, h, wd, S, C).permute(0, 3, 4, 1, 2).reshape(B * S, C, h, wd)
    maps = F.interpolate(maps, size=(H, Wd), mode="bilinear", align_corners=True)
    maps = maps.reshape(B, S, C, H, Wd)[:, :T].transpose(1, 2)
    return x + maps


def conv(x, w, name, pad):
    return F.conv2d(x, w[name + ".weight"], w.get(name + ".bias"), padding=pad)


def decoder_stage(x, g, w, p, T):
    y = F.conv_transpose2d(x, w[p + ".up.weight"], w[p + ".up.bias"], stride=2)
    y = torch.cat([y, g.repeat_interleave(T, 0)], 1)
    for a, n in ((0, 1), (3, 4)):
        y = F.conv2d(y, w[f"{p}.conv.double_conv.{a}.weight"], None, padding=1)
        groups = y.shape[1] // 16
        y = F.relu(F.group_norm(y, groups, w[f"{p}.conv.double_conv.{n}.weight"],
                                w[f"{p}.conv.double_conv.{n}.bias"], 1e-5))
    return y


def reference(cfg, w, dense, tap1, tap2, text, training, residuals=None):
    """Full CAT-Seg head (with upsamplers). Returns logits [B, T, 4h, 4w] and selected classes or None."""
    B, T = text.shape[:2]
    g1 = F.conv_transpose2d(tap1, w["upsamplers.upsample1.weight"], w["upsamplers.upsample1.bias"], stride=2)
    g2 = F.conv_transpose2d(tap2, w["upsamplers.upsample2.weight"], w["upsamplers.upsample2.bias"], stride=4)
    img_n = dense / dense.norm(dim=1, keepdim=True)
    txt_n = text / text.norm(dim=-1, keepdim=True)
    corr = torch.einsum("behw,btpe->bpthw", img_n, txt_n)
    selected = None
    txt_for_guidance = text
    K = cfg["pad_len"]
    if K > 0 and T > K:
        score = corr.amax(dim=(1, 3, 4))                                       # [B, T]
        srt = score.sort(dim=1, descending=True)
        gap = (srt.values[:, K - 1] - srt.values[:, K]).min().item()
        assert gap > 1e-4, f"top-k boundary too close ({gap}); pick another seed"
        selected = srt.indices[:, :K]                                          # sorted by score
        txt_for_guidance = torch.stack([txt_n[b, selected[b]] for b in range(B)])
        corr = torch.einsum("behw,btpe->bpthw", img_n, txt_for_guidance)
    Bc, P, Tk, h, wd = corr.shape
    x = conv(corr.transpose(1, 2).reshape(B * Tk, P, h, wd), w, "head.conv1", 3)
    x = x.reshape(B, Tk, -1, h, wd).transpose(1, 2)
    app = F.relu(conv(dense, w, "head.guidance_projection.0", 1))
    d1 = F.relu(conv(g1, w, "head.decoder_guidance_projection.0.0", 1))
    d2 = F.relu(conv(g2, w, "head.decoder_guidance_projection.1.0", 1))
    if residuals is not None:
        app, d1, d2 = app + residuals[0], d1 + residuals[1], d2 + residuals[2]
    tm = txt_for_guidance.mean(2)
    tg = F.relu(lin(tm / tm.norm(dim=-1, keepdim=True), w, "head.text_guidance_projection.0"))
    for i in range(cfg["layers"]):
        x = spatial(x, app, w, f"head.layers.{i}.swin_block", cfg)
        x = class_layer(x, tg, w, f"head.layers.{i}.attention", cfg, training)
    y = x.transpose(1, 2).reshape(B * Tk, x.shape[1], h, wd)
    y = decoder_stage(y, d1, w, "head.decoder1", Tk)
    y = decoder_stage(y, d2, w, "head.decoder2", Tk)
    logits = conv(y, w, "head.head", 1).reshape(B, Tk, y.shape[-2], y.shape[-1])
    if selected is not None:
        full = torch.full((B, T) + logits.shape[2:], -100.0, dtype=D)
        for b in range(B):
            full[b, selected[b]] = logits[b]
        logits = full
    return logits, selected


# ----------------------------------------------------------------------------------------- configs
CFG24 = dict(E=16, width=8, hidden=16, heads=4, app_proj=8, text_proj=8, dec_dims=[16, 16], dec_guid=[16, 8],
             dec_proj=[8, 8], layers=2, res=[24, 24], window=12, pad_len=8, pool_train=2, pool_eval=1, P=1, B=2,
             T=13)
CFG8x12 = dict(E=16, width=8, hidden=16, heads=2, app_proj=8, text_proj=8, dec_dims=[16, 16], dec_guid=[16, 8],
               dec_proj=[8, 8], layers=1, res=[8, 12], window=4, pad_len=0, pool_train=2, pool_eval=1, P=2, B=2,
               T=6)
VITB = dict(E=512, width=768, hidden=128, heads=4, app_proj=128, text_proj=128, dec_dims=[64, 32],
            dec_guid=[256, 128], dec_proj=[32, 16], layers=2, res=[24, 24], window=12, pad_len=256, P=1)


def f32(t):
    return t.float()


def rnd(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=D).float().double()


def build(name, cfg, seed, cases, subsample):
    gen = torch.Generator().manual_seed(seed)
    w = make_weights(cfg, gen)
    B, E, (h, wd) = cfg["B"], cfg["E"], cfg["res"]
    dense = rnd(gen, B, E, h, wd)
    tap1 = rnd(gen, B, cfg["width"], h, wd)
    tap2 = rnd(gen, B, cfg["width"], h, wd)
    text = rnd(gen, B, cfg["T"], cfg["P"], E)
    res_low = [rnd(gen, B, cfg["app_proj"], h, wd) * 0.5, rnd(gen, B, cfg["dec_proj"][0], h, wd) * 0.5,
               rnd(gen, B, cfg["dec_proj"][1], h, wd) * 0.5]
    # Full-size residuals are nearest x1 / x2 / x4 copies of the stored low-resolution ones.
    residuals = [res_low[0], res_low[1].repeat_interleave(2, 2).repeat_interleave(2, 3),
                 res_low[2].repeat_interleave(4, 2).repeat_interleave(4, 3)]
    io = {"dense": f32(dense), "tap1": f32(tap1), "tap2": f32(tap2), "text": f32(text),
          "residual_appearance": f32(res_low[0]), "residual_decoder1_low": f32(res_low[1]),
          "residual_decoder2_low": f32(res_low[2])}
    for case, (t, training, with_res) in cases.items():
        logits, selected = reference(cfg, w, dense, tap1, tap2, text[:, :t], training,
                                     residuals if with_res else None)
        io[case + ".sum"] = f32(logits.sum((2, 3)))
        io[case + ".abs_sum"] = f32(logits.abs().sum((2, 3)))
        io[case + ".logits"] = f32(logits[:, :, 1::4, 2::4] if subsample else logits)
        if selected is not None:
            io[case + ".selected"] = selected.sort(1).values.long()
        print(f"{name}/{case}: logits {tuple(logits.shape)} range [{logits.min():.3f}, {logits.max():.3f}]"
              + (f" selected {selected.sort(1).values.tolist()}" if selected is not None else ""))
    meta = {"config": json.dumps(cfg), "generator": "tools/gen_catseg_golden.py"}
    write_safetensors(os.path.join(OUT, f"{name}_weights.safetensors"), {k: f32(v) for k, v in w.items()}, meta)
    write_safetensors(os.path.join(OUT, f"{name}_io.safetensors"), io, meta)


def main():
    os.makedirs(OUT, exist_ok=True)
    # Parameter counts of the real ViT-B configuration from the same naming scheme (CATSEG.md §1.8).
    names = make_weights(dict(VITB, pad_len=256), torch.Generator().manual_seed(0))
    head = sum(v.numel() for k, v in names.items() if k.startswith("head."))
    ups = sum(v.numel() for k, v in names.items() if k.startswith("upsamplers."))
    assert head == 2308961 and ups == 2359680, (head, ups)
    print(f"ViT-B parameter counts: head {head}, upsamplers {ups}")
    torch.set_num_threads(2)
    build("g24", CFG24, 1234, {"eval_t5": (5, False, False), "train_t5": (5, True, False),
                               "train_t13": (13, True, False), "eval_t13_res": (13, False, True)}, subsample=True)
    build("g8x12", CFG8x12, 99, {"eval_t6": (6, False, False), "train_t6": (6, True, False),
                                 "eval_t6_res": (6, False, True)}, subsample=False)


if __name__ == "__main__":
    main()
