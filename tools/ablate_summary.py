#!/usr/bin/env python3
"""Summarises tools/ablate.sh's runs into docs/results.md and docs/results.svg (standard library only).

usage: tools/ablate_summary.py RUNS_DIR MARKDOWN_OUT SVG_OUT

The tables replace what lies between the markers <!-- ablate:begin --> and <!-- ablate:end --> in MARKDOWN_OUT
(text around them is kept); a file without the markers gets them appended.

RUNS_DIR holds <variant>_s<seed>/ folders with eval/results.json (pat_eval) and, for PAT, tokens/summary.json
(pat_tokenize --labels). Variants: pat, baseline, control.
"""
import json
import math
import os
import re
import sys

VARIANTS = [("pat", "PAT (pretrained tiny CLIP)"), ("baseline", "CAT-Seg baseline (model.pat.enabled=false)"),
            ("control", "PAT on a random CLIP (no pretraining)")]
METRICS = [("seen_mIoU", "seen mIoU"), ("unseen_mIoU", "unseen mIoU"), ("hIoU", "hIoU"), ("mIoU", "mIoU (all)")]
COLOURS = {"pat": "#1f77b4", "baseline": "#ff7f0e", "control": "#7f7f7f"}


def mean_std(values):
    if not values:
        return float("nan"), float("nan")
    m = sum(values) / len(values)
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return m, s


def load_runs(root):
    runs = {}
    for name in sorted(os.listdir(root)):
        match = re.fullmatch(r"(pat|baseline|control)_s(\d+)", name)
        path = os.path.join(root, name, "eval", "results.json")
        if not match or not os.path.exists(path):
            continue
        with open(path) as f:
            results = json.load(f)
        benchmark = next(iter(results.values()))
        run = {key: benchmark.get(key) for key, _ in METRICS}
        run["seed"] = int(match.group(2))
        tokens = os.path.join(root, name, "tokens", "summary.json")
        if os.path.exists(tokens):
            with open(tokens) as f:
                run["levels"] = json.load(f)["levels"]
        runs.setdefault(match.group(1), []).append(run)
    return runs


def svg_chart(summary, path):
    """Grouped bars (one group per metric, one bar per variant) with ±1 std whiskers, 0-100 scale."""
    width, height, left, bottom, top = 640, 320, 50, 40, 30
    plot_h = height - bottom - top
    groups = METRICS[:3]
    variants = [v for v, _ in VARIANTS if v in summary]
    group_w = (width - left - 20) / len(groups)
    bar_w = group_w / (len(variants) + 1)
    y = lambda v: top + plot_h * (1 - max(0.0, min(100.0, v)) / 100)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="12"><rect width="100%" height="100%" fill="white"/>']
    for tick in range(0, 101, 20):
        out.append(f'<line x1="{left}" x2="{width - 20}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}</text>')
    for g, (key, label) in enumerate(groups):
        x0 = left + g * group_w + bar_w / 2
        out.append(f'<text x="{x0 + bar_w * len(variants) / 2:.1f}" y="{height - bottom + 18}" '
                   f'text-anchor="middle">{label}</text>')
        for i, v in enumerate(variants):
            m, s = summary[v][key]
            if math.isnan(m):
                continue
            x = x0 + i * bar_w
            out.append(f'<rect x="{x:.1f}" y="{y(m):.1f}" width="{bar_w * 0.9:.1f}" height="{y(0) - y(m):.1f}" '
                       f'fill="{COLOURS[v]}"/>')
            cx = x + bar_w * 0.45
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(m - s):.1f}" y2="{y(m + s):.1f}" stroke="black"/>')
    for i, v in enumerate(variants):
        out.append(f'<rect x="{left + 10 + i * 200}" y="8" width="12" height="12" fill="{COLOURS[v]}"/>'
                   f'<text x="{left + 26 + i * 200}" y="18">{v}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    root, markdown, svg = sys.argv[1:]
    runs = load_runs(root)
    if not runs:
        sys.exit(f"error: no finished run (<variant>_s<seed>/eval/results.json) in {root}")
    summary = {v: {key: mean_std([r[key] for r in runs[v] if r[key] is not None]) for key, _ in METRICS}
               for v in runs}
    lines = ["| variant | seeds | " + " | ".join(label for _, label in METRICS) + " |",
             "|---|---|" + "---|" * len(METRICS)]
    for v, label in VARIANTS:
        if v not in runs:
            continue
        seeds = ", ".join(str(r["seed"]) for r in runs[v])
        cells = [f"{m:.2f} ± {s:.2f}" for m, s in (summary[v][key] for key, _ in METRICS)]
        lines.append(f"| {label} | {seeds} | " + " | ".join(cells) + " |")
    lines += ["", "Per run:", "", "| run | " + " | ".join(label for _, label in METRICS) + " |",
              "|---|" + "---|" * len(METRICS)]
    for v, _ in VARIANTS:
        for r in runs.get(v, []):
            cells = ["n/a" if r[key] is None else f"{r[key]:.2f}" for key, _ in METRICS]
            lines.append(f"| {v} seed {r['seed']} | " + " | ".join(cells) + " |")
    token_runs = [r for r in runs.get("pat", []) if "levels" in r]
    if token_runs:
        lines += ["", "PAT's codebooks against the ground-truth classes of the validation scenes (pat_tokenize "
                  "--labels), mean ± std over seeds:", "", "| level | NMI | purity | codes used |", "|---|---|---|---|"]
        for level in token_runs[0]["levels"]:
            nmi = mean_std([r["levels"][level]["nmi"] for r in token_runs])
            purity = mean_std([r["levels"][level]["purity"] for r in token_runs])
            used = mean_std([r["levels"][level]["codes_used"] for r in token_runs])
            lines.append(f"| {level} | {nmi[0]:.3f} ± {nmi[1]:.3f} | {purity[0]:.3f} ± {purity[1]:.3f} | "
                         f"{used[0]:.0f} ± {used[1]:.0f} |")
    begin, end = "<!-- ablate:begin -->", "<!-- ablate:end -->"
    text = open(markdown).read() if os.path.exists(markdown) else ""
    block = begin + "\n" + "\n".join(lines) + "\n" + end
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text + ("\n" if text else "") + block + "\n"
    with open(markdown + ".tmp", "w") as f:
        f.write(text)
    os.replace(markdown + ".tmp", markdown)
    svg_chart(summary, svg)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
