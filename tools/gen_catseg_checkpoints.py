#!/usr/bin/env python3
"""CAT-Seg checkpoints in the official layout, for pat_convert's tests, with reference logits.

The files look like the published `model_base.pth` / `model_large.pth`: torch.save (zip) of a dict whose
"model" entry is `CATSeg.state_dict()` (an OrderedDict with `_metadata`), official key names
(`sem_seg_head.predictor.clip_model.*` with q/k/v_proj_weight split as CAT-Seg's model_vpt.py registers
them, `sem_seg_head.predictor.transformer.*`, `upsample1/2.*`, the shifted-window `attn_mask` buffers),
random weights. The module tree is rebuilt from the dotted names, so `state_dict()` pickles exactly as a
real model's does.

Reference logits come from an independent float64 functional forward of the official eval path
(shared/design/CATSEG.md §1.2-1.7): CLIP normalization on 0..255 RGB, the ViT with its positional grid
resized bicubically, block taps, the dense last block (value path, CLS residual), ln_post + proj on all
tokens, the prompt 'A photo of a {} in the scene' through the text tower (byte-level token ids, see
`byte_tokenize`), then the head of tools/gen_catseg_golden.py (its own float64 reference) at eval pooling.

Usage (Debian's python3 with python3-torch):
  python3 tools/gen_catseg_checkpoints.py                      # small fixtures -> tests/data/convert/
  python3 tools/gen_catseg_checkpoints.py --full vitb16 DIR    # ViT-B/16 @384, random, + reference logits
  python3 tools/gen_catseg_checkpoints.py --full vitl14_336 DIR  # ViT-L/14@336 shapes, random (no reference)
"""
import math
import os
import re
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_catseg_golden as golden  # noqa: E402  (the head's float64 reference)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SMALL_OUT = os.path.join(ROOT, "tests", "data", "convert")
D = torch.float64
CLIP_MEAN = [122.7709383, 116.7460125, 104.09373615]
CLIP_STD = [68.5005327, 66.6321579, 70.3231630]
CLASSES = ["cat", "sofa", "potted plant"]
HEAD_PREFIX = "sem_seg_head.predictor.transformer."
CLIP_PREFIX = "sem_seg_head.predictor.clip_model."

# Model sizes. `res`: the input side the model runs at; `native`: the positional grid's side x patch.
TINY = dict(width=64, layers=3, patch=8, native=32, res=32, embed=64, t_width=64, t_layers=1, context=32, vocab=514,
            taps=[0, 1], hidden=16, app_proj=16, text_proj=16, dec_dims=[16, 16], dec_guid=[32, 16], dec_proj=[8, 8],
            head_layers=2, window=2)
VITB16 = dict(width=768, layers=12, patch=16, native=224, res=384, embed=512, t_width=512, t_layers=12, context=77,
              vocab=49408, taps=[3, 7], hidden=128, app_proj=128, text_proj=128, dec_dims=[64, 32],
              dec_guid=[256, 128], dec_proj=[32, 16], head_layers=2, window=12)
VITL14_336 = dict(VITB16, width=1024, layers=24, patch=14, native=336, res=336, embed=768, t_width=768,
                  taps=[7, 15], dec_guid=[256, 128])


# ------------------------------------------------------------------------------------------ names/shapes
def official_shapes(m):
    """OrderedDict official name -> shape of every persistent tensor of CATSeg (eval-relevant ones)."""
    s = OrderedDict()
    W, E, T = m["width"], m["embed"], m["t_width"]
    g = m["native"] // m["patch"]

    def block(p, d):
        for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
            s[p + "attn." + n] = (d, d)
        s[p + "attn.in_proj_bias"] = (3 * d,)
        s[p + "attn.out_proj.weight"] = (d, d)
        s[p + "attn.out_proj.bias"] = (d,)
        s[p + "ln_1.weight"] = s[p + "ln_1.bias"] = (d,)
        s[p + "mlp.c_fc.weight"] = (4 * d, d)
        s[p + "mlp.c_fc.bias"] = (4 * d,)
        s[p + "mlp.c_proj.weight"] = (d, 4 * d)
        s[p + "mlp.c_proj.bias"] = (d,)
        s[p + "ln_2.weight"] = s[p + "ln_2.bias"] = (d,)

    c = CLIP_PREFIX
    s[c + "visual.class_embedding"] = (W,)
    s[c + "visual.positional_embedding"] = (g * g + 1, W)
    s[c + "visual.proj"] = (W, E)
    s[c + "visual.conv1.weight"] = (W, 3, m["patch"], m["patch"])
    s[c + "visual.ln_pre.weight"] = s[c + "visual.ln_pre.bias"] = (W,)
    for i in range(m["layers"]):
        block(f"{c}visual.transformer.resblocks.{i}.", W)
    s[c + "visual.ln_post.weight"] = s[c + "visual.ln_post.bias"] = (W,)
    for i in range(m["t_layers"]):
        block(f"{c}transformer.resblocks.{i}.", T)
    s[c + "ln_final.weight"] = s[c + "ln_final.bias"] = (T,)
    s[c + "positional_embedding"] = (m["context"], T)
    s[c + "text_projection"] = (T, E)
    s[c + "logit_scale"] = ()
    s[c + "token_embedding.weight"] = (m["vocab"], T)
    # The head (official Aggregator) with the names of gen_catseg_golden.make_weights.
    cfg = head_cfg(m)
    names = golden.make_weights(cfg, torch.Generator().manual_seed(0))
    grid = m["res"] // m["patch"]
    for name, t in names.items():
        if name.startswith("head."):
            s[HEAD_PREFIX + name[5:]] = tuple(t.shape)
    for i in range(m["head_layers"]):
        nw = (grid // m["window"]) ** 2
        s[f"{HEAD_PREFIX}layers.{i}.swin_block.block_2.attn_mask"] = (nw, m["window"] ** 2, m["window"] ** 2)
    s["upsample1.weight"] = (W, m["dec_guid"][0], 2, 2)
    s["upsample1.bias"] = (m["dec_guid"][0],)
    s["upsample2.weight"] = (W, m["dec_guid"][1], 4, 4)
    s["upsample2.bias"] = (m["dec_guid"][1],)
    return s


def head_cfg(m):
    grid = m["res"] // m["patch"]
    return dict(E=m["embed"], width=m["width"], hidden=m["hidden"], heads=4, app_proj=m["app_proj"],
                text_proj=m["text_proj"], dec_dims=m["dec_dims"], dec_guid=m["dec_guid"], dec_proj=m["dec_proj"],
                layers=m["head_layers"], res=[grid, grid], window=m["window"], pad_len=256, pool_train=2,
                pool_eval=1, P=1)


def swin_attn_mask(size, ws, shift):
    """Swin's shifted-window mask as the official SwinTransformerBlock registers it: [nW, ws*ws, ws*ws], 0/-100."""
    img = torch.zeros(1, size, size, 1)
    region = 0
    for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
        for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            img[:, hs, wsl, :] = region
            region += 1
    win = img.view(1, size // ws, ws, size // ws, ws, 1).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws)
    diff = win.unsqueeze(1) - win.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


def random_weights(m, seed, dtype):
    """Official name -> tensor: values of the given dtype, scaled so that activations stay O(1)."""
    gen = torch.Generator().manual_seed(seed)
    out = OrderedDict()
    grid = m["res"] // m["patch"]
    for name, shape in official_shapes(m).items():
        if name.endswith("attn_mask"):
            out[name] = swin_attn_mask(grid, m["window"], m["window"] // 2)
            continue
        leaf = name.rsplit(".", 1)[-1]
        if name.endswith("logit_scale"):
            t = torch.tensor(math.log(1 / 0.07))
        elif leaf in ("class_embedding", "positional_embedding", "padding_tokens", "padding_guidance") or \
                name.endswith("token_embedding.weight"):
            t = 0.5 * torch.randn(shape, generator=gen)
        elif re.search(r"(ln_\w+|norm\d?|double_conv\.[14])\.weight$", name):
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif len(shape) <= 1 or leaf in ("bias", "in_proj_bias"):
            t = 0.05 * torch.randn(shape, generator=gen)
        else:
            if name.startswith("upsample") or name.endswith(".up.weight"):  # ConvTranspose: [in, out, k, k]
                fan_in = shape[0]
            elif leaf in ("proj", "text_projection"):  # x @ proj: [in, out]
                fan_in = shape[0]
            else:
                fan_in = int(np.prod(shape[1:]))
            t = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
        out[name] = t.to(dtype)
    return out


def state_dict_of(tensors):
    """A module tree with these dotted parameter/buffer names, and its real `state_dict()` (OrderedDict with
    `_metadata`, as CATSeg.state_dict() pickles)."""
    root = nn.Module()
    for name, value in tensors.items():
        parts = name.split(".")
        mod = root
        for p in parts[:-1]:
            if p not in mod._modules:
                mod.add_module(p, nn.Module())
            mod = mod._modules[p]
        if parts[-1] in ("attn_mask", "pixel_mean", "input_resolution"):
            mod.register_buffer(parts[-1], value)
        else:
            mod.register_parameter(parts[-1], nn.Parameter(value, requires_grad=False))
    sd = root.state_dict()
    assert isinstance(sd, OrderedDict) and hasattr(sd, "_metadata")
    assert sorted(sd.keys()) == sorted(tensors.keys())
    return sd


# ------------------------------------------------------------------------------------------ reference
def byte_tokenize(text, context):
    """PAT's byte-level tokenizer for lower-case ASCII prompts: CLIP's pre-tokenization (letter runs, single
    digits, other runs), one id per byte in CLIP's byte order (0..255, the word's last byte +256), start 512,
    end 513, zero padding."""
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    order = printable + [b for b in range(256) if b not in printable]
    byte_id = {b: i for i, b in enumerate(order)}
    ids = [512]
    for word in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+", " ".join(text.lower().split())):
        raw = word.encode()
        ids += [byte_id[b] for b in raw[:-1]] + [256 + byte_id[raw[-1]]]
    ids.append(513)
    assert len(ids) <= context
    return ids + [0] * (context - len(ids))


def ln(x, w, p):
    return F.layer_norm(x, (x.shape[-1],), w[p + ".weight"], w[p + ".bias"], 1e-5)


def mha(x, w, p, heads, mask=None):
    """x [N, L, D]; q/k/v from the split weights and the packed bias (model_vpt's Attention)."""
    n, l, d = x.shape
    hd = d // heads
    bq, bk, bv = w[p + "attn.in_proj_bias"].chunk(3)
    split = lambda t: t.reshape(n, l, heads, hd).transpose(1, 2)
    q = split(x @ w[p + "attn.q_proj_weight"].T + bq)
    k = split(x @ w[p + "attn.k_proj_weight"].T + bk)
    v = split(x @ w[p + "attn.v_proj_weight"].T + bv)
    a = (q * hd ** -0.5) @ k.transpose(-1, -2)
    if mask is not None:
        a = a + mask
    o = (a.softmax(-1) @ v).transpose(1, 2).reshape(n, l, d)
    return o @ w[p + "attn.out_proj.weight"].T + w[p + "attn.out_proj.bias"]


def mlp(x, w, p):
    h = x @ w[p + "mlp.c_fc.weight"].T + w[p + "mlp.c_fc.bias"]
    return (h * torch.sigmoid(1.702 * h)) @ w[p + "mlp.c_proj.weight"].T + w[p + "mlp.c_proj.bias"]


def clip_dense(images, w, m):
    """Official encode_image(dense=True) + the forward hooks: dense [B, E, g, g], taps [B, W, g, g]."""
    c = CLIP_PREFIX + "visual."
    x = F.conv2d(images, w[c + "conv1.weight"], stride=m["patch"])
    b, width, gh, gw = x.shape
    x = x.reshape(b, width, gh * gw).transpose(1, 2)
    x = torch.cat([w[c + "class_embedding"].expand(b, 1, width), x], 1)
    pos = w[c + "positional_embedding"]
    g0 = m["native"] // m["patch"]
    if gh != g0:
        grid = pos[1:].reshape(1, g0, g0, width).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        pos = torch.cat([pos[:1], grid[0].reshape(width, -1).T], 0)
    x = ln(x + pos, w, c + "ln_pre")
    taps = {}
    heads = width // 64
    for i in range(m["layers"]):
        p = f"{c}transformer.resblocks.{i}."
        if i < m["layers"] - 1:
            x = x + mha(ln(x, w, p + "ln_1"), w, p, heads)
            x = x + mlp(ln(x, w, p + "ln_2"), w, p)
        else:  # forward_dense: value path of every token, residual from the CLS token
            y = ln(x, w, p + "ln_1")
            v = y @ w[p + "attn.v_proj_weight"].T + w[p + "attn.in_proj_bias"].chunk(3)[2]
            v = v @ w[p + "attn.out_proj.weight"].T + w[p + "attn.out_proj.bias"] + x[:, :1]
            x = v + mlp(ln(v, w, p + "ln_2"), w, p)
        taps[i] = x
    to_map = lambda t: t[:, 1:].transpose(1, 2).reshape(b, t.shape[2], gh, gw)
    dense = to_map(ln(x, w, c + "ln_post") @ w[c + "proj"])
    return dense, [to_map(taps[t]) for t in m["taps"]]


def encode_text(ids, w, m):
    c = CLIP_PREFIX
    l = ids.shape[1]
    x = w[c + "token_embedding.weight"][ids] + w[c + "positional_embedding"][:l]
    mask = torch.full((l, l), float("-inf"), dtype=D).triu(1)
    heads = m["t_width"] // 64
    for i in range(m["t_layers"]):
        p = f"{c}transformer.resblocks.{i}."
        x = x + mha(ln(x, w, p + "ln_1"), w, p, heads, mask)
        x = x + mlp(ln(x, w, p + "ln_2"), w, p)
    x = ln(x, w, c + "ln_final")
    return x[torch.arange(ids.shape[0]), ids.argmax(-1)] @ w[c + "text_projection"]


def reference_logits(w64, m, images, classes):
    """The official eval forward (non-sliding, 384 input for ViT-B): logits [B, T, 4g, 4g] float64."""
    mean = torch.tensor(CLIP_MEAN, dtype=D).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=D).view(1, 3, 1, 1)
    dense, (tap1, tap2) = clip_dense((images - mean) / std, w64, m)
    ids = torch.tensor([byte_tokenize("A photo of a {} in the scene".format(c), m["context"]) for c in classes])
    text = encode_text(ids, w64, m)
    text = text / text.norm(dim=-1, keepdim=True)
    b = images.shape[0]
    text = text[None, :, None, :].expand(b, len(classes), 1, text.shape[-1])
    ours = {}
    for name, t in w64.items():  # the head reference takes the C++ module names
        if name.startswith(HEAD_PREFIX):
            ours["head." + name[len(HEAD_PREFIX):]] = t
        elif name.startswith("upsample"):
            ours["upsamplers." + name] = t
    logits, _ = golden.reference(head_cfg(m), ours, dense, tap1, tap2, text, training=False)
    return logits, ids


# ------------------------------------------------------------------------------------------ writers
def detectron2_checkpoint(sd, extras):
    ckpt = {"model": sd}
    if extras:
        first = next(iter(sd.values()))
        ckpt["optimizer"] = {"state": {0: {"step": torch.tensor(10.0), "exp_avg": torch.zeros_like(first)}},
                             "param_groups": [{"lr": 2e-4, "params": [0]}]}
        ckpt["scheduler"] = {"base_lrs": [2e-4], "last_epoch": np.int64(79999), "_last_lr": [np.float64(1e-9)]}
        ckpt["iteration"] = 79999
    return ckpt


def write_safetensors(path, tensors):
    golden.write_safetensors(path, tensors, {"generator": "tools/gen_catseg_checkpoints.py"})


def small():
    os.makedirs(SMALL_OUT, exist_ok=True)
    m = TINY
    w = random_weights(m, 2024, torch.float32)
    torch.save(detectron2_checkpoint(state_dict_of(w), extras=True), os.path.join(SMALL_OUT, "tiny_detectron2.pth"))
    # A bare state dict in float16 with the attention projections packed (in_proj_weight), as OpenAI names them.
    packed = OrderedDict()
    for name, t in w.items():
        if name.endswith("attn.q_proj_weight"):
            base = name[: -len("q_proj_weight")]
            packed[base + "in_proj_weight"] = torch.cat([w[base + n] for n in
                                                         ("q_proj_weight", "k_proj_weight", "v_proj_weight")])
        elif not name.endswith(("k_proj_weight", "v_proj_weight")):
            packed[name] = t
    half = OrderedDict((k, v.half() if not k.endswith("attn_mask") else v) for k, v in packed.items())
    # Keys an export may carry that PAT has no use for (ignored, with the reason, unless --strict).
    half["pixel_mean"] = torch.tensor(CLIP_MEAN).view(-1, 1, 1)
    half[CLIP_PREFIX + "input_resolution"] = torch.tensor(m["res"])
    torch.save(state_dict_of(half), os.path.join(SMALL_OUT, "tiny_packed_fp16.pth"))
    torch.save({"model": OrderedDict(a=torch.ones(2))}, os.path.join(SMALL_OUT, "tiny_legacy.pth"),
               _use_new_zipfile_serialization=False)

    gen = torch.Generator().manual_seed(5)
    images = (torch.rand(2, 3, m["res"], m["res"], generator=gen) * 255).round().double()
    w64 = {k: v.double() for k, v in w.items()}
    with torch.no_grad():
        logits, ids = reference_logits(w64, m, images, CLASSES)
    write_safetensors(os.path.join(SMALL_OUT, "tiny_reference.safetensors"),
                      {"images": images.float(), "logits": logits.float(), "token_ids": ids.long()})
    print(f"tiny: logits {tuple(logits.shape)} range [{logits.min():.3f}, {logits.max():.3f}]")
    total = sum(os.path.getsize(os.path.join(SMALL_OUT, f)) for f in os.listdir(SMALL_OUT))
    print(f"wrote {len(os.listdir(SMALL_OUT))} files, {total} bytes, to {os.path.normpath(SMALL_OUT)}")


def full(which, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    m = {"vitb16": VITB16, "vitl14_336": VITL14_336}[which]
    start = time.time()
    w = random_weights(m, 77, torch.float32)
    path = os.path.join(out_dir, f"catseg_{which}.pth")
    torch.save(detectron2_checkpoint(state_dict_of(w), extras=True), path + ".tmp")
    os.replace(path + ".tmp", path)
    n = sum(t.numel() for k, t in w.items() if not k.endswith("attn_mask"))
    print(f"{which}: {len(w)} tensors, {n} values -> {path} ({time.time() - start:.1f} s)")
    if which == "vitb16":
        gen = torch.Generator().manual_seed(11)
        images = (torch.rand(1, 3, m["res"], m["res"], generator=gen) * 255).round().double()
        with torch.no_grad():
            logits, ids = reference_logits({k: v.double() for k, v in w.items()}, m, images, CLASSES)
        write_safetensors(os.path.join(out_dir, f"catseg_{which}_reference.safetensors"),
                          {"images": images.float(), "logits": logits.float(), "token_ids": ids.long()})
        print(f"{which}: reference logits {tuple(logits.shape)} range [{logits.min():.3f}, {logits.max():.3f}] "
              f"({time.time() - start:.1f} s)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--full":
        full(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 1:
        small()
    else:
        sys.exit(__doc__)
