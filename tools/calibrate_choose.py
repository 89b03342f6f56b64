#!/usr/bin/env python3
"""Fits the restoration-strength ramps of src/pipeline/choose.cpp on tools/calibrate_choose.sh's
output: for each recipe, the PSNR gain over the photo model (strength 0) that a rule reaches,
against the oracle (the best strength per image). Standard library only."""
import itertools
import json
import statistics as st
import sys

OUT = sys.argv[1]
STRENGTHS = [0, 0.25, 0.5, 0.75, 1]
RECIPES = ["bicubic", "aliased", "light", "medium", "heavy"]


def load():
    rows = []
    for r in RECIPES:
        checks = [json.loads(l)["measures"] for l in open(f"{OUT}/check-{r}.jsonl")]
        ev = {s: [json.loads(l) for l in open(f"{OUT}/eval-{r}-{s:g}.jsonl") if '"image"' in l]
              for s in STRENGTHS}
        for i, m in enumerate(checks):
            rows.append({"r": r, "m": m, "ps": [ev[s][i]["psnr"] for s in STRENGTHS]})
    return rows


def interp(ps, s):
    k = min(int(s * 4), 3)
    t = s * 4 - k
    return ps[k] * (1 - t) + ps[k + 1] * t


def ramp(v, a, b):
    return min(max((v - a) / (b - a), 0.0), 1.0)


def strength(m, p):
    alias0, alias1, grid0, grid1, noise0, noise1, soft0, soft1, blur0, blur1 = p
    s = max(ramp(m["fine_detail"], alias0, alias1), ramp(m["jpeg_grid"], grid0, grid1),
            ramp(m["noise"], noise0, noise1), ramp(-m["fine_detail"], -soft0, -soft1),
            ramp(m["blur"], blur0, blur1))
    return 0.0 if s < 0.1 else round(s * 20) / 20


def gains(rows, p):
    return {r: st.mean(interp(x["ps"], strength(x["m"], p)) - x["ps"][0]
                       for x in rows if x["r"] == r) for r in RECIPES}


def main():
    rows = load()
    print("recipe   " + " ".join(f"s={s:<5g}" for s in STRENGTHS) + "  oracle (dB, mean PSNR-Y)")
    for r in RECIPES:
        rr = [x for x in rows if x["r"] == r]
        means = [st.mean(x["ps"][k] for x in rr) for k in range(5)]
        print(f"{r:<8} " + " ".join(f"{v:7.2f}" for v in means) +
              f"  {st.mean(max(x['ps']) for x in rr):.2f}")
    current = (1.22, 1.32, 1.25, 2.25, 2.5, 6.5, 0.95, 0.85, 0.40, 0.60)
    print("gain of the shipped ramps over the photo model:",
          {k: round(v, 3) for k, v in gains(rows, current).items()})
    best = None
    for a0, da, g0, dg, n0, s0, b0 in itertools.product(
            [1.22, 1.25, 1.3], [0.1, 0.2], [1.25, 1.3, 1.5], [1, 2], [2.5, 3, 5],
            [1.0, 0.95, 0.9], [0.35, 0.4, 9]):
        p = (a0, a0 + da, g0, g0 + dg, n0, n0 + 4, s0, s0 - 0.1, b0, b0 + 0.2)
        g = gains(rows, p)
        if g["bicubic"] < -0.10:  # clean inputs: lose at most 0.1 dB
            continue
        score = st.mean(g.values())
        if best is None or score > best[0]:
            best = (score, p, g)
    print("best ramps (alias, grid, noise, soft, blur):", best[1])
    print("their gains:", {k: round(v, 3) for k, v in best[2].items()})


if __name__ == "__main__":
    main()
