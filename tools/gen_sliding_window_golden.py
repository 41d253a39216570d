#!/usr/bin/python3
"""Golden fixtures for the inference protocols (tests/data/eval/sliding_*, whole_*).

An independent PyTorch implementation of CATSEG.md §2 with nn.Unfold / nn.Fold (the C++ code slices
tiles and adds them instead), on small sizes: kernel 48, overlap 0.333 (stride 32), out_res 80,
so the 2×2 tiling pattern is the same as 384/640. The model is replaced by fixed random logits.

Run: /usr/bin/python3 tools/gen_sliding_window_golden.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "eval")
CLIP_MEAN = [122.7709383, 116.7460125, 104.09373615]


def bilinear(x, size):
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def sliding(image, logits, kernel, overlap, out_res, out_size):
    stride = int(kernel * (1 - overlap))
    unfold = torch.nn.Unfold(kernel_size=kernel, stride=stride)
    fold = torch.nn.Fold((out_res, out_res), kernel_size=kernel, stride=stride)
    warped = bilinear(image[None], (out_res, out_res))  # [1, 3, R, R]
    cols = unfold(warped)[0]  # [3*K*K, L]
    tiles = cols.T.reshape(-1, 3, kernel, kernel)  # [L, 3, K, K], row-major tiles
    views = torch.cat([tiles, bilinear(image[None], (kernel, kernel))], 0)
    probs = bilinear(logits, (kernel, kernel)).sigmoid()
    count = fold(unfold(torch.ones(1, 1, out_res, out_res)))
    tiles_p = probs[:-1]
    folded = fold(tiles_p.flatten(1).T[None]) / count  # [1, T, R, R]
    glob = bilinear(probs[-1:], (out_res, out_res))
    final = (folded + glob) / 2
    return views, count[0, 0], bilinear(final, out_size)[0]


def whole(image, logits, size, divisibility, out_size):
    _, h, w = image.shape
    hp = (h + divisibility - 1) // divisibility * divisibility
    wp = (w + divisibility - 1) // divisibility * divisibility
    padded = torch.tensor(CLIP_MEAN).view(3, 1, 1).expand(3, hp, wp).clone()
    padded[:, :h, :w] = image
    view = bilinear(padded[None], (size, size))
    probs = logits.sigmoid()[0][:, :h, :w]
    return view, bilinear(probs[None], out_size)[0]


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    image = torch.randint(0, 256, (3, 50, 70), generator=g).to(torch.uint8)
    logits = (torch.randn(5, 3, 12, 12, generator=g) * 3).float()
    views, count, probs = sliding(image.float(), logits, 48, 0.333, 80, (45, 66))
    np.save(os.path.join(OUT, "sliding_image.npy"), image.numpy())
    np.save(os.path.join(OUT, "sliding_logits.npy"), logits.numpy())
    np.save(os.path.join(OUT, "sliding_views.npy"), views.numpy())
    np.save(os.path.join(OUT, "sliding_count.npy"), count.numpy())
    np.save(os.path.join(OUT, "sliding_probs.npy"), probs.numpy())

    whole_logits = (torch.randn(1, 3, 12, 12, generator=g) * 3).float()
    view, whole_probs = whole(image.float(), whole_logits, 48, 32, (50, 70))
    np.save(os.path.join(OUT, "whole_logits.npy"), whole_logits.numpy())
    np.save(os.path.join(OUT, "whole_view.npy"), view.numpy())
    np.save(os.path.join(OUT, "whole_probs.npy"), whole_probs.numpy())


if __name__ == "__main__":
    main()
