#!/usr/bin/env python3
"""Reference for bench_clip: the same CLIP image tower (OpenAI ViT layout, random weights) in Python PyTorch,
timed the same way (batch, warm-up, iterations, thread count).

/usr/bin/python3 tools/bench_clip_ref.py --threads 2 --batch 2 --iters 3
"""
import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

PRESETS = {"ViT-B-16": (16, 768, 12, 12, 512, 224), "ViT-B-32": (32, 768, 12, 12, 512, 224),
           "ViT-L-14": (14, 1024, 24, 16, 768, 224), "ViT-L-14-336": (14, 1024, 24, 16, 768, 336)}


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads)
        self.c_fc, self.c_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):  # [L, N, D], as OpenAI's model
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        h = self.c_fc(self.ln_2(x))
        return x + self.c_proj(h * torch.sigmoid(1.702 * h))


class Visual(nn.Module):
    def __init__(self, patch, width, layers, heads, embed, res):
        super().__init__()
        self.patch, self.grid = patch, res // patch
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.cls = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.pos = nn.Parameter(torch.randn(self.grid ** 2 + 1, width) * width ** -0.5)
        self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
        self.blocks = nn.Sequential(*[Block(width, heads) for _ in range(layers)])
        self.proj = nn.Parameter(torch.randn(width, embed) * width ** -0.5)

    def pos_for(self, gh, gw):
        if (gh, gw) == (self.grid, self.grid):
            return self.pos
        g = self.pos[1:].reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        g = F.interpolate(g, size=(gh, gw), mode="bicubic", align_corners=False)
        return torch.cat([self.pos[:1], g[0].flatten(1).T])

    def forward(self, x):
        x = self.conv1(x)
        n, c, gh, gw = x.shape
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(n, 1, c), x], 1) + self.pos_for(gh, gw)
        x = self.blocks(self.ln_pre(x).permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0]) @ self.proj


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--arch", default="ViT-B-16", choices=sorted(PRESETS))
    ap.add_argument("--sizes", default="224,384")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Visual(*PRESETS[args.arch]).eval()
    print("bench_clip_ref: %s encode_image, batch %d, %d threads, PyTorch %s, cpu"
          % (args.arch, args.batch, torch.get_num_threads(), torch.__version__))
    with torch.no_grad():
        for size in (int(s) for s in args.sizes.split(",")):
            images = torch.randn(args.batch, 3, size, size)
            for _ in range(args.warmup):
                model(images)
            start = time.perf_counter()
            for _ in range(args.iters):
                model(images)
            seconds = time.perf_counter() - start
            print("  %4d px: %8.2f images/s  (%.1f ms per batch)"
                  % (size, args.batch * args.iters / seconds, 1000 * seconds / args.iters))


if __name__ == "__main__":
    main()
