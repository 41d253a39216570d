#!/usr/bin/env python3
"""Writes the CLIP golden fixtures in tests/data/clip.

A tiny random CLIP (vision 64 wide x 2 blocks, patch 8, 32 px, 4 heads; text 32 wide x 2 blocks, 2 heads,
context 48, vocabulary 520 (room for the byte-level tokenizer's 514 ids); embed 32; head_dim 16) is built with a module laid out like OpenAI's model.py,
traced with torch.jit.trace_module and saved with torch.jit.save, with the weights converted to float16 as
OpenAI's convert_weights() does (shared/design/CLIP.md section 1) and the three integer buffers the
released archives carry. The same weights go to a safetensors file (same names and dtypes).

Reference outputs come from a separate float64 functional implementation written from the design notes
(CLIP.md section 2, CATSEG.md section 1.2); the traced module is only checked against it here.

Run with Debian's python3 (torch 1.13): /usr/bin/python3 tools/gen_clip_fixtures.py
"""
import json
import math
import os
import struct
import zlib
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "clip")

EMBED, RES, PATCH = 32, 32, 8
V_WIDTH, V_LAYERS, V_HEADS = 64, 2, 4
T_WIDTH, T_LAYERS, T_HEADS = 32, 2, 2
CONTEXT, VOCAB = 48, 520


# ---------------------------------------------------------------------------------------------------------
# The archive model: same module tree and parameter names as OpenAI's ViT CLIP.

class LayerNorm(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.float()).to(x.dtype)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(width, 4 * width)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(4 * width, width))]))
        self.ln_2 = LayerNorm(width)
        self.attn_mask = attn_mask  # plain attribute: not saved, a constant of the traced graph

    def forward(self, x):  # x: [L, N, D]
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, attn_mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, V_WIDTH, PATCH, stride=PATCH, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(V_WIDTH))
        self.positional_embedding = nn.Parameter(torch.randn((RES // PATCH) ** 2 + 1, V_WIDTH))
        self.ln_pre = LayerNorm(V_WIDTH)
        self.transformer = Transformer(V_WIDTH, V_LAYERS, V_HEADS)
        self.ln_post = LayerNorm(V_WIDTH)
        self.proj = nn.Parameter(torch.randn(V_WIDTH, EMBED))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = VisionTransformer()
        mask = torch.empty(CONTEXT, CONTEXT).fill_(float("-inf")).triu_(1)
        self.transformer = Transformer(T_WIDTH, T_LAYERS, T_HEADS, mask)
        self.token_embedding = nn.Embedding(VOCAB, T_WIDTH)
        self.positional_embedding = nn.Parameter(torch.randn(CONTEXT, T_WIDTH))
        self.ln_final = LayerNorm(T_WIDTH)
        self.text_projection = nn.Parameter(torch.randn(T_WIDTH, EMBED))
        self.logit_scale = nn.Parameter(torch.ones([]))
        self.register_buffer("input_resolution", torch.tensor(RES))
        self.register_buffer("context_length", torch.tensor(CONTEXT))
        self.register_buffer("vocab_size", torch.tensor(VOCAB))

    def encode_image(self, image):
        return self.visual(image)

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

    def forward(self, image, text):
        img = self.encode_image(image)
        txt = self.encode_text(text)
        img = img / img.norm(dim=1, keepdim=True)
        txt = txt / txt.norm(dim=1, keepdim=True)
        logits = self.logit_scale.exp() * img @ txt.t()
        return logits, logits.t()


def stored_half(name):
    """Tensors convert_weights() turns into float16."""
    if name in ("visual.proj", "text_projection", "visual.conv1.weight"):
        return True
    return any(k in name for k in (".attn.in_proj_", ".attn.out_proj.", ".mlp.c_fc.", ".mlp.c_proj."))


def randomize(model):
    """Non-trivial values everywhere (biases and LayerNorm affines included), rounded to float16 where the
    archive stores float16, so float32 loading in C++ sees exactly these values."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.fill_(math.log(1 / 0.07) + 0.25)
            elif name.endswith(("ln_1.weight", "ln_2.weight", "ln_pre.weight", "ln_post.weight", "ln_final.weight")):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[-1] if p.dim() == 2 else p[0].numel()
                std = 1.0 / math.sqrt(fan_in)
                if name.endswith("embedding") or name == "token_embedding.weight":
                    std = 0.5
                p.copy_(std * torch.randn(p.shape, generator=g))
            if stored_half(name):
                p.copy_(p.half().float())


# ---------------------------------------------------------------------------------------------------------
# Independent float64 reference, functional, batch-first, written from the design notes.

def ln(x, sd, prefix):
    return F.layer_norm(x, (x.shape[-1],), sd[prefix + ".weight"], sd[prefix + ".bias"], 1e-5)


def attention(x, sd, p, heads, mask=None):
    b, l, d = x.shape
    hd = d // heads
    wq, wk, wv = sd[p + "in_proj_weight"].chunk(3)
    bq, bk, bv = sd[p + "in_proj_bias"].chunk(3)
    split = lambda t: t.reshape(b, l, heads, hd).permute(0, 2, 1, 3)
    q, k, v = split(x @ wq.T + bq), split(x @ wk.T + bk), split(x @ wv.T + bv)
    s = (q / math.sqrt(hd)) @ k.transpose(-1, -2)
    if mask is not None:
        s = s + mask
    o = torch.softmax(s, dim=-1) @ v
    o = o.permute(0, 2, 1, 3).reshape(b, l, d)
    return o @ sd[p + "out_proj.weight"].T + sd[p + "out_proj.bias"]


def mlp(x, sd, p):
    h = x @ sd[p + "mlp.c_fc.weight"].T + sd[p + "mlp.c_fc.bias"]
    h = h * torch.sigmoid(1.702 * h)
    return h @ sd[p + "mlp.c_proj.weight"].T + sd[p + "mlp.c_proj.bias"]


def block(x, sd, p, heads, mask=None):
    x = x + attention(ln(x, sd, p + "ln_1"), sd, p + "attn.", heads, mask)
    return x + mlp(ln(x, sd, p + "ln_2"), sd, p)


def block_dense(x, sd, p):
    """CAT-Seg's last block: value path only, residual from the CLS token, then the MLP."""
    y = ln(x, sd, p + "ln_1")
    wv = sd[p + "attn.in_proj_weight"].chunk(3)[2]
    bv = sd[p + "attn.in_proj_bias"].chunk(3)[2]
    v = (y @ wv.T + bv) @ sd[p + "attn.out_proj.weight"].T + sd[p + "attn.out_proj.bias"]
    v = v + x[:, :1]
    return v + mlp(ln(v, sd, p + "ln_2"), sd, p)


def pos_grid(sd, gh, gw):
    pos = sd["visual.positional_embedding"]
    g = RES // PATCH
    if gh == g and gw == g:
        return pos
    grid = pos[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
    return torch.cat([pos[:1], grid[0].reshape(pos.shape[1], -1).T], dim=0)


def vision_tokens(image, sd):
    w = sd["visual.conv1.weight"]
    x = F.conv2d(image, w, stride=PATCH)
    b, c, gh, gw = x.shape
    x = x.reshape(b, c, gh * gw).transpose(1, 2)
    x = torch.cat([sd["visual.class_embedding"].expand(b, 1, c), x], dim=1) + pos_grid(sd, gh, gw)
    return ln(x, sd, "visual.ln_pre"), gh, gw


def ref_encode_image(image, sd):
    x, _, _ = vision_tokens(image, sd)
    for i in range(V_LAYERS):
        x = block(x, sd, "visual.transformer.resblocks.%d." % i, V_HEADS)
    return ln(x[:, 0], sd, "visual.ln_post") @ sd["visual.proj"]


def ref_dense(image, sd, taps):
    x, gh, gw = vision_tokens(image, sd)
    b = x.shape[0]
    to_map = lambda t: t[:, 1:].transpose(1, 2).reshape(b, t.shape[2], gh, gw)
    outs = []
    for i in range(V_LAYERS):
        p = "visual.transformer.resblocks.%d." % i
        x = block_dense(x, sd, p) if i == V_LAYERS - 1 else block(x, sd, p, V_HEADS)
        outs.append(x)
    dense = to_map(ln(x, sd, "visual.ln_post") @ sd["visual.proj"])
    return dense, [to_map(outs[t]) for t in taps]


def ref_encode_text(ids, sd):
    l = ids.shape[1]
    x = sd["token_embedding.weight"][ids] + sd["positional_embedding"][:l]
    mask = torch.full((l, l), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(T_LAYERS):
        x = block(x, sd, "transformer.resblocks.%d." % i, T_HEADS, mask)
    x = ln(x, sd, "ln_final")
    return x[torch.arange(ids.shape[0]), ids.argmax(dim=-1)] @ sd["text_projection"]


# ---------------------------------------------------------------------------------------------------------
# Writers.

def save_npy(name, t):
    a = t.detach().numpy()
    a = a.astype(np.float32) if a.dtype in (np.float64, np.float32) else a
    np.save(os.path.join(OUT, name), a)


def write_safetensors(path, tensors):
    codes = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"source": "gen_clip_fixtures.py"}
    blob = json.dumps(header).encode()
    blob += b" " * ((8 - len(blob) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob + b"".join(blobs))


def write_png(path, rgb):
    """8-bit RGB PNG (no dependencies)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    chunk = lambda tag, data: struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model = CLIP().eval()
    randomize(model)
    sd64 = {k: v.detach().double() for k, v in model.state_dict().items() if v.is_floating_point()}

    g = torch.Generator().manual_seed(7)
    image32 = torch.randn(2, 3, 32, 32, generator=g)
    image48 = torch.randn(1, 3, 48, 48, generator=g)
    ids = torch.zeros(3, CONTEXT, dtype=torch.long)
    for row, n in enumerate([4, 11, CONTEXT - 2]):  # body lengths; the last one fills every position
        ids[row, 0] = VOCAB - 2
        ids[row, 1:1 + n] = torch.randint(1, VOCAB - 2, (n,), generator=g)
        ids[row, 1 + n] = VOCAB - 1

    with torch.no_grad():
        img_emb = ref_encode_image(image32.double(), sd64)
        txt_emb = ref_encode_text(ids, sd64)
        scale = sd64["logit_scale"].exp()
        logits = scale * (img_emb / img_emb.norm(dim=1, keepdim=True)) @ (txt_emb / txt_emb.norm(dim=1, keepdim=True)).T
        # The traced-layout module must agree with the functional reference.
        got_img, got_txt = model.encode_image(image32), model.encode_text(ids)
        assert torch.allclose(got_img.double(), img_emb, rtol=1e-4, atol=1e-5), (got_img - img_emb).abs().max()
        assert torch.allclose(got_txt.double(), txt_emb, rtol=1e-4, atol=1e-5), (got_txt - txt_emb).abs().max()
        assert torch.allclose(model(image32, ids)[0].double(), logits, rtol=1e-4, atol=1e-4)

        dense32, taps32 = ref_dense(image32.double(), sd64, [0, 1])
        dense48, taps48 = ref_dense(image48.double(), sd64, [0, 1])
        image48x40 = image48[:1, :, :, :40]
        dense48x40, taps48x40 = ref_dense(image48x40.double(), sd64, [0])
        enc48 = ref_encode_image(image48.double(), sd64)
        # Sanity: at the native grid the interpolation is skipped; bicubic at scale 1 is the identity anyway.
        assert torch.allclose(pos_grid(sd64, 4, 4), sd64["visual.positional_embedding"])

    save_npy("image32.npy", image32)
    save_npy("image48.npy", image48)
    np.save(os.path.join(OUT, "text_ids.npy"), ids.numpy())
    save_npy("encode_image.npy", img_emb)
    save_npy("encode_text.npy", txt_emb)
    save_npy("logits.npy", logits)
    save_npy("dense32.npy", dense32)
    save_npy("dense48.npy", dense48)
    save_npy("tap48_0.npy", taps48[0])
    save_npy("tap48_1.npy", taps48[1])
    save_npy("tap32_0.npy", taps32[0])
    save_npy("dense48x40.npy", dense48x40)
    save_npy("tap48x40_0.npy", taps48x40[0])
    save_npy("encode_image48.npy", enc48)
    save_npy("pos48.npy", pos_grid(sd64, 6, 6))
    save_npy("pos48x40.npy", pos_grid(sd64, 6, 5))

    # Archive: trace in float32, then store the converted tensors as float16 (CPU half kernels are missing
    # in torch 1.13, so tracing a half model is not possible here; the parameter dtypes are what matters).
    traced = torch.jit.trace_module(model, {"forward": (image32, ids), "encode_image": (image32,),
                                            "encode_text": (ids,)})
    with torch.no_grad():
        for name, p in traced.named_parameters():
            if stored_half(name):
                p.data = p.data.half()
    archive = os.path.join(OUT, "tiny_clip.pt")
    torch.jit.save(traced, archive)

    loaded = torch.jit.load(archive, map_location="cpu")
    state = loaded.state_dict()
    names = [n for n, _ in loaded.named_parameters()]
    assert len(names) == len(list(model.parameters())), len(names)
    assert all((state[n].dtype == torch.float16) == stored_half(n) for n in names)
    for b in ("input_resolution", "context_length", "vocab_size"):
        assert state[b].dim() == 0 and not state[b].is_floating_point()
    write_safetensors(os.path.join(OUT, "tiny_clip.safetensors"), OrderedDict(state))

    # A small photo-like test image for the command-line smoke tests (40 x 56, RGB).
    yy, xx = np.mgrid[0:40, 0:56]
    rgb = np.stack([(xx * 4) % 256, (yy * 6) % 256, ((xx + yy) * 3) % 256], axis=-1).astype(np.uint8)
    write_png(os.path.join(OUT, "gradient.png"), rgb)

    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("wrote %d files, %d bytes, to %s" % (len(os.listdir(OUT)), total, os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
