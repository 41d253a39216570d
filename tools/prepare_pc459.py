#!/usr/bin/env python3
"""Prepare PASCAL-Context-459 validation labels the way CAT-Seg evaluates them (CATSEG.md §3).

For every id in VOCdevkit/VOC2010/pascalcontext_val.txt (5104 ids) that has trainval/<id>.mat,
saves `LabelMap - 1` as a uint16 TIFF in VOCdevkit/VOC2010/annotations_detectron2/pc459_val/<id>.tif
(labels 0..458; the ignore value 459 does not occur). The class order is labels.txt's
("<idx>: <name>", 1-based); when <data-root>/pc459.json does not exist it is written from labels.txt.

Requires numpy, scipy (scipy.io.loadmat) and Pillow. Finished files are skipped (resume); each file
is written to a temporary name and renamed.
"""
import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor


def read_labels_txt(path):
    """labels.txt lines "<idx>: <name>" -> names in index order (indices must be 1..N)."""
    entries = {}
    with open(path) as f:
        for line in f:
            if ":" not in line:
                continue
            idx, name = line.split(":", 1)
            entries[int(idx.strip())] = name.strip()
    n = len(entries)
    if sorted(entries) != list(range(1, n + 1)):
        raise ValueError("%s: indices are not 1..%d" % (path, n))
    return [entries[i] for i in range(1, n + 1)]


def convert_label_map(label_map):
    """LabelMap (1-based, uint16 .mat) -> 0-based uint16 array; a 0 in the input is an error."""
    import numpy as np
    label_map = np.asarray(label_map)
    if label_map.min() < 1:
        raise ValueError("LabelMap contains %d; expected 1-based labels" % label_map.min())
    return (label_map.astype(np.int64) - 1).astype(np.uint16)


def self_test():
    import numpy as np
    import tempfile
    m = np.array([[1, 2], [459, 7]], dtype=np.uint16)
    out = convert_label_map(m)
    assert out.dtype == np.uint16 and out.tolist() == [[0, 1], [458, 6]]
    try:
        convert_label_map(np.zeros((1, 1), dtype=np.uint16))
        raise AssertionError("0 accepted")
    except ValueError:
        pass
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("1: accordion\n2: aeroplane\n3: air conditioner\n")
    assert read_labels_txt(f.name) == ["accordion", "aeroplane", "air conditioner"]
    os.unlink(f.name)
    print("prepare_pc459 self-test passed")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("PAT_DATASETS", os.environ.get("DETECTRON2_DATASETS", "datasets")),
                        help="data root holding VOCdevkit/VOC2010 (default: $PAT_DATASETS, $DETECTRON2_DATASETS, ./datasets)")
    parser.add_argument("--val-list", help="id list (default: <VOC2010>/pascalcontext_val.txt)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="worker threads")
    parser.add_argument("--overwrite", action="store_true", help="redo existing outputs")
    parser.add_argument("--self-test", action="store_true", help="check the conversion helpers, then exit")
    args = parser.parse_args()
    if args.self_test:
        self_test()
        return 0
    import scipy.io
    from PIL import Image

    voc = os.path.join(args.data_root, "VOCdevkit", "VOC2010")
    val_list = args.val_list or os.path.join(voc, "pascalcontext_val.txt")
    for p in (val_list, os.path.join(voc, "trainval")):
        if not os.path.exists(p):
            sys.exit("error: %s not found" % p)
    out_dir = os.path.join(voc, "annotations_detectron2", "pc459_val")
    os.makedirs(out_dir, exist_ok=True)
    with open(val_list) as f:
        ids = [line.strip() for line in f if line.strip()]

    def convert(file_id):
        src = os.path.join(voc, "trainval", file_id + ".mat")
        dst = os.path.join(out_dir, file_id + ".tif")
        if not os.path.exists(src):
            return "missing"
        if os.path.exists(dst) and not args.overwrite:
            return "existing"
        labels = convert_label_map(scipy.io.loadmat(src)["LabelMap"])
        tmp = "%s.tmp.%d" % (dst, os.getpid())
        Image.fromarray(labels).save(tmp, "TIFF")
        os.replace(tmp, dst)
        return "written"

    counts = {"written": 0, "existing": 0, "missing": 0}
    with ThreadPoolExecutor(max(1, args.threads)) as pool:
        for i, outcome in enumerate(pool.map(convert, ids)):
            counts[outcome] += 1
            if (i + 1) % 200 == 0 or i + 1 == len(ids):
                print("\rpc459: %d/%d" % (i + 1, len(ids)), end="", file=sys.stderr)
    print(file=sys.stderr)
    labels_txt = os.path.join(voc, "labels.txt")
    names_path = os.path.join(args.data_root, "pc459.json")
    if os.path.exists(labels_txt) and not os.path.exists(names_path):
        names = read_labels_txt(labels_txt)
        with open(names_path + ".tmp", "w") as f:
            json.dump(names, f, indent=1)
        os.replace(names_path + ".tmp", names_path)
        print("wrote", names_path, "(%d classes)" % len(names))
    print("pc459: %(written)d written, %(existing)d already present, %(missing)d ids without a .mat" % counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
