#!/usr/bin/env python3
"""Prepare PASCAL-Context-59 validation labels the way CAT-Seg evaluates them (CATSEG.md §3).

Reads VOCdevkit/VOC2010/trainval_merged.json, keeps the images whose phase is "val", paints every
RLE mask of `annos_segmentation` with its category_id (PC-459 ids, in file order; unannotated pixels
stay 0), then maps the 60 sorted ids [0, 2, 9, ...] to index - 1 as uint8 (0 -> 255, the 59 others
-> 0..58 in pc59.json order) and every other id to 255. Writes
VOCdevkit/VOC2010/annotations_detectron2/pc59_val/<name>.png (PNG uint8) and, when the JSON carries
category names and <data-root>/pc59.json does not exist, that class list.

pycocotools is not needed: the COCO RLE decoder is implemented here. Requires numpy and Pillow.
Finished files are skipped (resume); each file is written to a temporary name and renamed.
"""
import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

PC59_IDS = [0, 2, 9, 18, 19, 22, 23, 25, 31, 33, 34, 44, 45, 46, 59, 65, 68, 72, 80, 85, 98, 104, 105, 113, 115,
            144, 158, 159, 162, 187, 189, 207, 220, 232, 258, 259, 260, 284, 295, 296, 308, 324, 326, 347, 349,
            354, 355, 360, 366, 368, 397, 415, 416, 420, 424, 427, 440, 445, 454, 458]


def rle_counts_from_string(s):
    """Decodes COCO's compressed RLE string (6-bit chars, 5 data bits, sign-extended, delta after 2)."""
    counts = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_decode(segmentation):
    """A COCO RLE dict {"size": [h, w], "counts": str|bytes|list} -> uint8 array [h, w]."""
    import numpy as np
    h, w = segmentation["size"]
    counts = segmentation["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    if isinstance(counts, str):
        counts = rle_counts_from_string(counts)
    flat = np.zeros(h * w, dtype=np.uint8)
    pos, val = 0, 0
    for c in counts:
        if val:
            flat[pos:pos + c] = 1
        pos += c
        val ^= 1
    if pos != h * w:
        raise ValueError("RLE counts sum to %d, expected %d" % (pos, h * w))
    return flat.reshape((w, h)).T  # column-major


def pc59_lut():
    """PC-459 id -> PC-59 train id (uint8), 255 for everything else."""
    import numpy as np
    lut = np.full(65536, 255, dtype=np.uint8)
    for index, cid in enumerate(sorted(PC59_IDS)):
        lut[cid] = (index - 1) & 0xFF  # id 0 -> 255
    return lut


def atomic_save(image, path, fmt):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    image.save(tmp, fmt)
    os.replace(tmp, path)


def self_test():
    import numpy as np

    def encode(mask):  # independent reference encoder (uncompressed + compressed string)
        flat = mask.T.reshape(-1)
        counts, val, run = [], 0, 0
        for v in flat:
            if v != val:
                counts.append(run)
                val, run = v, 0
            run += 1
        counts.append(run)
        out = []
        for i, c in enumerate(counts):
            x = c - counts[i - 2] if i > 2 else c
            more = True
            while more:
                ch = x & 0x1F
                x >>= 5
                more = not ((ch & 0x10) == 0 and x == 0 or (ch & 0x10) != 0 and x == -1)
                if more:
                    ch |= 0x20
                out.append(chr(ch + 48))
        return counts, "".join(out)

    rng = np.random.default_rng(0)
    for trial in range(50):
        h, w = rng.integers(1, 40, size=2)
        mask = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        counts, s = encode(mask)
        assert (rle_decode({"size": [h, w], "counts": counts}) == mask).all()
        assert (rle_decode({"size": [h, w], "counts": s}) == mask).all()
        assert (rle_decode({"size": [h, w], "counts": s.encode()}) == mask).all()
    lut = pc59_lut()
    assert lut[0] == 255 and lut[2] == 0 and lut[458] == 58 and lut[1] == 255 and lut[459] == 255
    assert sorted(int(v) for v in lut[PC59_IDS[1:]]) == list(range(59))
    print("prepare_pc59 self-test passed")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("PAT_DATASETS", os.environ.get("DETECTRON2_DATASETS", "datasets")),
                        help="data root holding VOCdevkit/VOC2010 (default: $PAT_DATASETS, $DETECTRON2_DATASETS, ./datasets)")
    parser.add_argument("--json", help="trainval_merged.json (default: <data-root>/VOCdevkit/VOC2010/trainval_merged.json)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="worker threads")
    parser.add_argument("--overwrite", action="store_true", help="redo existing outputs")
    parser.add_argument("--self-test", action="store_true", help="check the RLE decoder and id table, then exit")
    args = parser.parse_args()
    if args.self_test:
        self_test()
        return 0
    import numpy as np
    from PIL import Image

    voc = os.path.join(args.data_root, "VOCdevkit", "VOC2010")
    json_path = args.json or os.path.join(voc, "trainval_merged.json")
    if not os.path.exists(json_path):
        sys.exit("error: %s not found" % json_path)
    out_dir = os.path.join(voc, "annotations_detectron2", "pc59_val")
    os.makedirs(out_dir, exist_ok=True)
    with open(json_path) as f:
        data = json.load(f)
    images = {d["image_id"]: d for d in data["images"] if d["phase"] == "val"}
    annos = {}
    for ann in data["annos_segmentation"]:
        if ann["image_id"] in images:
            annos.setdefault(ann["image_id"], []).append(ann)
    lut = pc59_lut()

    def convert(image_id):
        info = images[image_id]
        out = os.path.join(out_dir, os.path.splitext(info["file_name"])[0] + ".png")
        if os.path.exists(out) and not args.overwrite:
            return 0
        mask = np.zeros((info["height"], info["width"]), dtype=np.int64)
        for ann in annos.get(image_id, []):
            mask[rle_decode(ann["segmentation"]) != 0] = ann["category_id"]
        atomic_save(Image.fromarray(lut[mask]), out, "PNG")
        return 1

    ids = sorted(images)
    written = 0
    with ThreadPoolExecutor(max(1, args.threads)) as pool:
        for i, n in enumerate(pool.map(convert, ids)):
            written += n
            if (i + 1) % 200 == 0 or i + 1 == len(ids):
                print("\rpc59: %d/%d" % (i + 1, len(ids)), end="", file=sys.stderr)
    print(file=sys.stderr)
    names_path = os.path.join(args.data_root, "pc59.json")
    categories = {c.get("category_id", c.get("id")): c.get("name") for c in data.get("categories", [])}
    if not os.path.exists(names_path) and all(categories.get(i) for i in PC59_IDS[1:]):
        with open(names_path + ".tmp", "w") as f:
            json.dump([categories[i] for i in sorted(PC59_IDS)[1:]], f, indent=1)
        os.replace(names_path + ".tmp", names_path)
        print("wrote", names_path)
    print("pc59: %d label maps written to %s (%d images)" % (written, out_dir, len(ids)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
