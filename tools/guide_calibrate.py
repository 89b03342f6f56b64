#!/usr/bin/env python3
"""Calibration of `hires check` on ../shared/datasets (see docs/QUALITY.md).

Makes degraded copies of the clean benchmark images (blur sigma 2, JPEG quality 10, noise sigma
15, 16-level quantisation, 150 px thumbnails) with the vips command, runs `hires check --json`
on originals and copies, and prints how often each finding fired where it should (hits) and where
it should not (false alarms). Usage: tools/guide_calibrate.py [build/hires] [../shared/datasets]
"""
import json
import os
import subprocess
import sys
import tempfile

HIRES = sys.argv[1] if len(sys.argv) > 1 else "build/hires"
DATA = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../shared/datasets")
SETS = ["bench/Set5", "bench/Set14", "bench/BSD68", "bench/Urban100"]

# degradation -> (finding kind that must fire, command making it)
CASES = {
    "blur": ("blur", lambda i, o: ["vips", "gaussblur", i, o, "2"]),
    "jpeg10": ("blocky", lambda i, o: ["vips", "copy", i, o + ".jpg[Q=10]"]),
    "noise15": ("noise", None),
    "quant16": ("banding", None),
    "small150": ("small", lambda i, o: ["vips", "thumbnail", i, o, "150"]),
}


def run(cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def make(kind, src, dst, tmp):
    if kind == "jpeg10":
        run(["vips", "copy", src, dst + ".jpg[Q=10]"])
        return dst + ".jpg"
    if kind == "noise15":
        hdr = subprocess.run(["vipsheader", "-f", "width", src], capture_output=True, text=True)
        w = hdr.stdout.strip()
        h = subprocess.run(["vipsheader", "-f", "height", src], capture_output=True,
                           text=True).stdout.strip()
        b = subprocess.run(["vipsheader", "-f", "bands", src], capture_output=True,
                           text=True).stdout.strip()
        noise = os.path.join(tmp, "n.v")
        run(["vips", "gaussnoise", noise, w, h, "--sigma", "15", "--mean", "0"])
        if b != "1":
            joined = os.path.join(tmp, "n3.v")
            run(["vips", "bandjoin", f"{noise} {noise} {noise}", joined])
            noise = joined
        s = os.path.join(tmp, "s.v")
        run(["vips", "add", src, noise, s])
        run(["vips", "cast", s, dst + ".png", "uchar"])
        return dst + ".png"
    if kind == "quant16":
        q = os.path.join(tmp, "q.v")
        run(["vips", "linear", src, q, str(1 / 17), "0.5"])
        q2 = os.path.join(tmp, "q2.v")
        run(["vips", "cast", q, q2, "uchar"])
        run(["vips", "linear", q2, dst + ".png", "17", "0", "--uchar"])
        return dst + ".png"
    CASES[kind][1](src, dst + ".png")
    run(CASES[kind][1](src, dst + ".png"))
    return dst + ".png"


def check(paths):
    out = subprocess.run([HIRES, "check", "--json"] + paths, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def flagged(result, kind):
    return any(f["kind"] == kind and f["severity"] != "info" for f in result["findings"])


def main():
    originals = []
    for s in SETS:
        d = os.path.join(DATA, s)
        if not os.path.isdir(d):
            print(f"skipping {d}: absent")
            continue
        originals += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    if not originals:
        print("no data: nothing calibrated")
        return 0
    kinds = ["small", "blur", "blocky", "banding", "noise", "dark", "bright", "halftone"]
    with tempfile.TemporaryDirectory() as tmp:
        base = check(originals)
        print(f"{len(originals)} clean images; false alarms (warn or bad) per finding:")
        for k in kinds:
            n = sum(flagged(r, k) for r in base)
            names = [os.path.basename(r["input"]) for r in base if flagged(r, k)]
            print(f"  {k:8} {n:3}/{len(base)}  {' '.join(names[:8])}")
        print("degraded copies: hits (the expected finding) and other findings that fired")
        for case, (kind, _) in CASES.items():
            paths = []
            for i, src in enumerate(originals):
                paths.append(make(case, src, os.path.join(tmp, f"{case}-{i}"), tmp))
            res = check(paths)
            hits = sum(flagged(r, kind) for r in res)
            values = sorted(f["value"] for r in res for f in r["findings"] if f["kind"] == kind)
            extra = {k: sum(flagged(r, k) and not flagged(b, k) for r, b in zip(res, base))
                     for k in kinds if k != kind}
            print(f"  {case:9} {kind:8} hits {hits:3}/{len(res)}  values min {values[0]:.2f} "
                  f"median {values[len(values) // 2]:.2f}  newly fired: "
                  + ", ".join(f"{k} {v}" for k, v in extra.items() if v))
            for p in paths:
                os.remove(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
