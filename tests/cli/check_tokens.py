#!/usr/bin/env python3
"""Checks pat_tokenize's outputs (standard library only, so that the CLI tests need no numpy or PIL).

Usage: check_tokens.py OUTPUT_DIR K LEVEL=HxW [LEVEL=HxW ...]   e.g. check_tokens.py out 16 0=16x16 1=8x8 2=4x4
Checks, for every image of summary.json and every level: the .npy and the 16-bit PNG hold the same
[h, w] ids, all in [0, K); the colour picture shows one colour per code, the same in every image and
different for different codes; the reconstruction panel and, when present, atlases are PNGs; the
summary's measures are in range. Exits 1 with a message on the first failure."""
import json
import math
import os
import struct
import sys
import zlib


def fail(message):
    print("check_tokens: " + message, file=sys.stderr)
    sys.exit(1)


def read_png(path):
    """(width, height, channels, bit depth, rows of samples) of a non-interlaced grey/RGB/RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(path + ": not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 6: 4}.get(color)
    if channels is None or interlace:
        fail(path + ": unexpected PNG colour type %d / interlace %d" % (color, interlace))
    bpp = channels * depth // 8
    stride = width * bpp
    raw = zlib.decompress(idat)
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    if depth == 16:
        samples = [list(struct.unpack(">%dH" % (stride // 2), bytes(r))) for r in rows]
    else:
        samples = [list(r) for r in rows]
    return width, height, channels, depth, samples


def read_npy(path):
    data = open(path, "rb").read()
    if data[:6] != b"\x93NUMPY":
        fail(path + ": not an .npy file")
    header_len = struct.unpack("<H", data[8:10])[0]
    header = eval(data[10:10 + header_len].decode("latin1"))  # a Python dict literal by the format's definition
    if header["descr"] != "<i4" or header["fortran_order"]:
        fail(path + ": expected C-order int32, got " + str(header))
    shape = header["shape"]
    count = shape[0] * shape[1]
    values = struct.unpack("<%di" % count, data[10 + header_len:10 + header_len + 4 * count])
    return shape, [list(values[r * shape[1]:(r + 1) * shape[1]]) for r in range(shape[0])]


def main():
    out, k = sys.argv[1], int(sys.argv[2])
    levels = {}
    for spec in sys.argv[3:]:
        level, size = spec.split("=")
        h, w = size.split("x")
        levels[int(level)] = (int(h), int(w))
    summary = json.load(open(os.path.join(out, "summary.json")))
    if summary["codebook_size"] != k:
        fail("summary codebook_size %s, expected %d" % (summary["codebook_size"], k))
    if sorted(summary["levels"]) != sorted("l%d" % l for l in levels):
        fail("summary levels %s" % sorted(summary["levels"]))
    for name, s in summary["levels"].items():
        if not 1 <= s["codes_used"] <= k or not 1 <= s["perplexity"] <= k + 1e-6:
            fail("summary %s: codes_used / perplexity out of range: %s" % (name, s))
        for key in ("nmi", "purity"):
            if key in s and not 0 <= s[key] <= 1:
                fail("summary %s: %s = %s" % (name, key, s[key]))
    rec = summary["reconstruction"]
    if rec is None or not (math.isfinite(rec["l1"]) and math.isfinite(rec["psnr"]) and rec["l1"] >= 0):
        fail("summary reconstruction: %s" % rec)
    colours = {}  # (level, code) -> RGB, over all images
    for image in summary["per_image"]:
        stem = os.path.splitext(os.path.basename(image["image"]))[0]
        for level, (h, w) in levels.items():
            base = os.path.join(out, "%s_l%d" % (stem, level))
            shape, ids = read_npy(base + ".npy")
            if tuple(shape) != (h, w):
                fail("%s.npy: shape %s, expected %s" % (base, shape, (h, w)))
            flat = [v for row in ids for v in row]
            if min(flat) < 0 or max(flat) >= k:
                fail("%s.npy: ids %d..%d outside [0, %d)" % (base, min(flat), max(flat), k))
            pw, ph, channels, depth, png = read_png(base + ".png")
            if (pw, ph, channels, depth) != (w, h, 1, 16) or png != ids:
                fail("%s.png: %dx%d, %d channel(s), %d-bit, same ids as the .npy: %s" %
                     (base, pw, ph, channels, depth, png == ids))
            cw, ch, channels, _, picture = read_png(base + "_color.png")
            if channels != 3 or max(cw, ch) < 256:
                fail("%s_color.png: %dx%d with %d channels" % (base, cw, ch, channels))
            for y in range(ch):
                for x in range(cw):
                    code = ids[y * h // ch][x * w // cw]
                    bgr = tuple(picture[y][3 * x:3 * x + 3])
                    if colours.setdefault((level, code), bgr) != bgr:
                        fail("%s_color.png: code %d drawn in two colours" % (base, code))
        read_png(os.path.join(out, stem + "_reconstruction.png"))
        if not os.path.exists(os.path.join(out, stem + ".json")):
            fail(stem + ".json missing")
    for level in levels:
        drawn = [c for (l, _), c in colours.items() if l == level]
        if len(set(drawn)) != len(drawn):
            fail("level %d: two codes share a colour" % level)
    print("ok: %d images, %d levels, %d codes drawn" % (len(summary["per_image"]), len(levels), len(colours)))


main()
