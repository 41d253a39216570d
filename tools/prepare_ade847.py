#!/usr/bin/env python3
"""Prepare ADE20K-847 (ADE20K_2021_17_01 "full") validation data the way CAT-Seg evaluates it
(CATSEG.md §3).

Reads ADE20K_2021_17_01/index_ade20k.pkl and processes the files whose name has "val" as its second
"_" field (ADE_val_*). For each:
  * class id per pixel from <name>_seg.png: int(R / 10) * 256 + G (0 = unannotated);
  * when the short side exceeds 512, image and label are resized so that it becomes 512 (long side
    round(long / short * 512)); cv2 INTER_LINEAR for the image, INTER_NEAREST for the label;
  * class ids map to the 847 frequency-ordered train ids (ade847.json order), everything else to
    65535 (the ignore value);
  * the image is saved as JPEG with Pillow's defaults to images_detectron2/validation/<name>.jpg and
    the label as a uint16 TIFF to annotations_detectron2/validation/<name>.tif.

The id -> train id table: with --categories, a JSON list of {"name", "id", "trainId"} (detectron2's
ADE20K_SEM_SEG_FULL_CATEGORIES, exported to JSON). Otherwise it is derived from the class list
(--class-file, default <data-root>/ade847.json, 847 names in train-id order): each name is looked up
in index_ade20k.pkl's "objectnames" and its class-mask value is position + 1 (the ADE20K toolkit's
convention: mask value = objectnames index + 1). Every name must be found exactly once.

Requires numpy, Pillow and OpenCV (cv2). Finished files are skipped (resume); files are written to a
temporary name and renamed.
"""
import argparse
import json
import os
import pickle
import sys
from concurrent.futures import ThreadPoolExecutor

IGNORE = 65535
SHORT_SIDE = 512


def class_mask_from_seg(seg):
    """ADE *_seg.png RGB array -> int32 class-mask values int(R / 10) * 256 + G."""
    import numpy as np
    r = seg[:, :, 0].astype(np.int32)
    g = seg[:, :, 1].astype(np.int32)
    return (r // 10) * 256 + g


def resized_shape(h, w, short_side=SHORT_SIDE):
    """(new_h, new_w), or None when the short side is already <= short_side."""
    if w >= h > short_side:
        return short_side, int(round(w / float(h) * short_side))
    if h >= w > short_side:
        return int(round(h / float(w) * short_side)), short_side
    return None


def table_from_names(names, objectnames):
    """{class-mask value: train id} from train-id-ordered names looked up in objectnames."""
    position = {}
    for i, name in enumerate(objectnames):
        position.setdefault(name, []).append(i)
    table, missing, ambiguous = {}, [], []
    for train_id, name in enumerate(names):
        hits = position.get(name, [])
        if not hits:
            missing.append(name)
        elif len(hits) > 1:
            ambiguous.append(name)
        else:
            table[hits[0] + 1] = train_id
    if missing or ambiguous:
        raise ValueError("class names not found once in objectnames: missing %s, ambiguous %s; pass --categories"
                         % (missing[:5], ambiguous[:5]))
    return table


def lut_from_table(table):
    import numpy as np
    lut = np.full(max(table) + 1, IGNORE, dtype=np.uint16)
    for cid, train_id in table.items():
        lut[cid] = train_id
    return lut


def map_ids(class_mask, lut):
    import numpy as np
    out = np.full(class_mask.shape, IGNORE, dtype=np.uint16)
    inside = (class_mask >= 0) & (class_mask < len(lut))
    out[inside] = lut[class_mask[inside]]
    return out


def self_test():
    import numpy as np
    seg = np.zeros((2, 2, 3), dtype=np.uint8)
    seg[0, 0] = (10, 5, 0)     # 1 * 256 + 5
    seg[0, 1] = (29, 255, 0)   # int(2.9) = 2 -> 767
    seg[1, 1] = (0, 7, 9)      # 7
    assert class_mask_from_seg(seg).tolist() == [[261, 767], [0, 7]]
    assert resized_shape(683, 1024) == (512, 768)
    assert resized_shape(1024, 683) == (768, 512)
    assert resized_shape(512, 2000) is None and resized_shape(400, 800) is None
    assert resized_shape(600, 600) == (512, 512)
    table = table_from_names(["wall", "sky"], ["person", "sky", "wall"])
    assert table == {3: 0, 2: 1}
    out = map_ids(np.array([[3, 2], [1, 0], [99, 3]]), lut_from_table(table))
    assert out.dtype == np.uint16 and out.tolist() == [[0, 1], [IGNORE, IGNORE], [IGNORE, 0]]
    try:
        table_from_names(["tree"], ["sky"])
        raise AssertionError("missing name accepted")
    except ValueError:
        pass
    print("prepare_ade847 self-test passed")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("PAT_DATASETS", os.environ.get("DETECTRON2_DATASETS", "datasets")),
                        help="output data root (default: $PAT_DATASETS, $DETECTRON2_DATASETS, ./datasets)")
    parser.add_argument("--source", help="folder containing ADE20K_2021_17_01/ (default: the data root)")
    parser.add_argument("--class-file", help="ade847.json (default: <data-root>/ade847.json)")
    parser.add_argument("--categories", help="JSON list of {name, id, trainId} to use instead of name lookup")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="worker threads")
    parser.add_argument("--overwrite", action="store_true", help="redo existing outputs")
    parser.add_argument("--self-test", action="store_true", help="check the conversion helpers, then exit")
    args = parser.parse_args()
    if args.self_test:
        self_test()
        return 0
    import cv2
    import numpy as np
    from PIL import Image

    source = args.source or args.data_root
    index_path = os.path.join(source, "ADE20K_2021_17_01", "index_ade20k.pkl")
    if not os.path.exists(index_path):
        sys.exit("error: %s not found" % index_path)
    with open(index_path, "rb") as f:
        index = pickle.load(f)
    if args.categories:
        with open(args.categories) as f:
            table = {int(c["id"]): int(c["trainId"]) for c in json.load(f)}
    else:
        class_file = args.class_file or os.path.join(args.data_root, "ade847.json")
        if not os.path.exists(class_file):
            sys.exit("error: %s not found (give --class-file or --categories)" % class_file)
        with open(class_file) as f:
            names = json.load(f)
        try:
            table = table_from_names(names, list(index["objectnames"]))
        except ValueError as e:
            sys.exit("error: %s" % e)
    if sorted(table.values()) != list(range(847)):
        sys.exit("error: the class table must map onto train ids 0..846 exactly once")
    lut = lut_from_table(table)

    out_root = os.path.join(args.data_root, "ADE20K_2021_17_01")
    img_dir = os.path.join(out_root, "images_detectron2", "validation")
    lab_dir = os.path.join(out_root, "annotations_detectron2", "validation")
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(lab_dir, exist_ok=True)
    jobs = [(folder, name) for folder, name in zip(index["folder"], index["filename"])
            if len(name.split("_")) > 1 and name.split("_")[1] == "val"]

    def locate(folder, name):
        for base in (source, os.path.dirname(os.path.abspath(source))):
            p = os.path.join(base, folder, name)
            if os.path.exists(p):
                return p
        raise FileNotFoundError(os.path.join(source, folder, name))

    def save(image, path, fmt):
        tmp = "%s.tmp.%d%s" % (path, os.getpid(), os.path.splitext(path)[1])
        image.save(tmp, fmt)
        os.replace(tmp, path)

    def convert(job):
        folder, name = job
        stem = os.path.splitext(name)[0]
        out_img = os.path.join(img_dir, name)
        out_lab = os.path.join(lab_dir, stem + ".tif")
        if os.path.exists(out_img) and os.path.exists(out_lab) and not args.overwrite:
            return 0
        path = locate(folder, name)
        img = np.asarray(Image.open(path))
        with Image.open(path[: -len(".jpg")] + "_seg.png") as seg:
            lab = class_mask_from_seg(np.asarray(seg.convert("RGB")))
        shape = resized_shape(img.shape[0], img.shape[1])
        if shape is not None:
            img = cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
            lab = cv2.resize(lab, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
        save(Image.fromarray(img), out_img, "JPEG")
        save(Image.fromarray(map_ids(lab, lut)), out_lab, "TIFF")
        return 1

    written = 0
    with ThreadPoolExecutor(max(1, args.threads)) as pool:
        for i, n in enumerate(pool.map(convert, jobs)):
            written += n
            if (i + 1) % 100 == 0 or i + 1 == len(jobs):
                print("\rade847: %d/%d" % (i + 1, len(jobs)), end="", file=sys.stderr)
    print(file=sys.stderr)
    print("ade847: %d of %d validation images converted into %s" % (written, len(jobs), out_root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
