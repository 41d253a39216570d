#!/usr/bin/python3
"""Golden fixtures for the segmentation metrics (tests/data/eval/metrics_*).

An independent NumPy implementation of the detectron2 SemSegEvaluator definitions as CATSEG.md §2
states them: confusion counts over non-ignored pixels; IoU/accuracy per class with GT pixels;
mIoU = mean over GT-present classes (new) or sum over GT-present classes divided by the number of
classes present in GT or prediction (detectron2 v0.6); fwIoU weighted by GT share; pACC; mACC.
Written from the definitions, not from detectron2's code.

Run: /usr/bin/python3 tools/gen_metrics_golden.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "eval")


def metrics(preds, gts, num_classes, ignore):
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)  # [gt, pred] here
    for p, g in zip(preds, gts):
        keep = g != ignore
        for gv, pv in zip(g[keep].tolist(), p[keep].tolist()):
            counts[gv, pv] += 1
    gt_pixels = counts.sum(axis=1)
    pred_pixels = counts.sum(axis=0)
    hits = np.diag(counts)
    iou, acc = [], []
    for k in range(num_classes):
        if gt_pixels[k] == 0:
            iou.append(None)
            acc.append(None)
        else:
            acc.append(100.0 * hits[k] / gt_pixels[k])
            iou.append(100.0 * hits[k] / (gt_pixels[k] + pred_pixels[k] - hits[k]))
    present = [k for k in range(num_classes) if gt_pixels[k] > 0]
    any_present = [k for k in range(num_classes) if gt_pixels[k] + pred_pixels[k] > 0]
    total = gt_pixels.sum()
    return {
        "num_classes": num_classes,
        "ignore_label": ignore,
        "mIoU": sum(iou[k] for k in present) / len(present),
        "mIoU_v06": sum(iou[k] for k in present) / len(any_present),
        "fwIoU": sum(iou[k] * gt_pixels[k] / total for k in present),
        "pACC": 100.0 * hits.sum() / total,
        "mACC": sum(acc[k] for k in present) / len(present),
        "num_pixels": int(total),
        "IoU": iou,
        "ACC": acc,
        # detectron2 layout: rows = prediction, columns = ground truth
        "matrix": counts.T.tolist(),
    }


def case(name, rng, num_classes, ignore, sizes, gt_classes, pred_classes, dtype):
    preds, gts = [], []
    for i, (h, w) in enumerate(sizes):
        gt = rng.choice(gt_classes, size=(h, w)).astype(np.int64)
        gt[rng.random((h, w)) < 0.1] = ignore
        pred = rng.choice(pred_classes, size=(h, w)).astype(np.int64)
        # Make predictions agree with the GT on about half the pixels so IoUs are not tiny.
        agree = (rng.random((h, w)) < 0.5) & (gt != ignore)
        pred[agree] = gt[agree]
        np.save(os.path.join(OUT, f"metrics_{name}_pred{i}.npy"), pred.astype(np.int32))
        np.save(os.path.join(OUT, f"metrics_{name}_gt{i}.npy"), gt.astype(dtype))
        preds.append(pred)
        gts.append(gt)
    result = metrics(preds, gts, num_classes, ignore)
    result["images"] = len(sizes)
    if num_classes > 20:
        del result["matrix"]  # keep the fixture small; the small case checks the matrix
    with open(os.path.join(OUT, f"metrics_{name}.json"), "w") as f:
        json.dump(result, f, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240607)
    # 7 classes: class 5 absent everywhere; class 6 only predicted (old vs new mIoU differ).
    case("small", rng, 7, 255, [(13, 17), (20, 11), (9, 9)], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 6], np.uint8)
    # 300 classes (uint16-style ignore 65535): many classes absent from GT, some only predicted.
    case("many", rng, 300, 65535, [(30, 40), (25, 33)], list(range(0, 300, 3)), list(range(0, 300, 2)), np.int32)


if __name__ == "__main__":
    main()
