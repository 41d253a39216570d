#!/usr/bin/env python3
"""Checks the seen/unseen split of one benchmark in pat_eval's results.json (standard library only).

Usage: check_split.py RESULTS_JSON BENCHMARK SEEN UNSEEN   e.g. check_split.py results.json val "sky,red circle" "grass"
Checks: seen_classes / unseen_classes are the given comma-separated lists (in order); seen_mIoU and
unseen_mIoU are the means of the per-class IoU over each group's classes with ground truth (null when none
has any); hIoU = 2SU/(S+U) (0 when S+U = 0, null when either is null). Exits 1 with a message on failure."""
import json
import sys


def fail(message):
    print("check_split: " + message, file=sys.stderr)
    sys.exit(1)


def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def main():
    path, benchmark, seen_text, unseen_text = sys.argv[1:5]
    with open(path) as f:
        results = json.load(f)
    if benchmark not in results:
        fail(f"{path}: no benchmark {benchmark!r} (has {list(results)})")
    r = results[benchmark]
    for key in ("seen_mIoU", "unseen_mIoU", "hIoU", "seen_classes", "unseen_classes"):
        if key not in r:
            fail(f"{benchmark}: no key {key!r}")
    expected = {"seen": seen_text.split(","), "unseen": unseen_text.split(",")}
    means = {}
    for group, names in expected.items():
        if r[group + "_classes"] != names:
            fail(f"{benchmark}: {group}_classes {r[group + '_classes']} != {names}")
        present = [r["IoU"][n] for n in names if r["IoU"][n] is not None]
        mean = sum(present) / len(present) if present else None
        got = r[group + "_mIoU"]
        if (mean is None) != (got is None) or (mean is not None and not close(got, mean)):
            fail(f"{benchmark}: {group}_mIoU {got} != mean IoU of {names} with ground truth ({mean})")
        means[group] = mean
    s, u = means["seen"], means["unseen"]
    hiou = None if s is None or u is None else (0.0 if s + u == 0 else 2 * s * u / (s + u))
    got = r["hIoU"]
    if (hiou is None) != (got is None) or (hiou is not None and not close(got, hiou)):
        fail(f"{benchmark}: hIoU {got} != 2SU/(S+U) = {hiou}")
    print(f"check_split: {benchmark} seen {s} unseen {u} hIoU {hiou}")


main()
