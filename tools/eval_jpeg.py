#!/usr/bin/python3
"""Robustness to old compressed pictures, the case the seeds promise hires cleans up.

Each HR image of a bench set is cropped to a multiple of 4 and downscaled 4x (bicubic with
antialiasing, in gamma space as the SR protocol does), saved as JPEG at quality Q (libvips),
upscaled 4x by each METHOD with build/hires, and scored by PSNR-Y (BT.601, border of 4 cropped)
against HR. Prints one line per method.

Usage: tools/eval_jpeg.py DIR Q METHOD...
  e.g. tools/eval_jpeg.py ../shared/datasets/bench/Set14 40 bicubic photo-x4
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HIRES = os.path.join(ROOT, "build", "hires")


def load(path, tmp):
    ppm = os.path.join(tmp, "load.ppm")
    subprocess.run(["vips", "copy", path, ppm], check=True)
    data = open(ppm, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval; skipping comments
        line_end = data.index(b"\n", pos)
        line = data[pos:line_end].split(b"#")[0]
        fields += line.split()
        pos = line_end + 1
    w, h = int(fields[1]), int(fields[2])
    pixels = data[pos:]
    img = np.frombuffer(pixels, np.uint8).reshape(h, w, -1)
    return img[..., :3] if img.shape[2] >= 3 else np.repeat(img, 3, axis=2)


def save_ppm(img, path):
    h, w, _ = img.shape
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(np.ascontiguousarray(img, np.uint8).tobytes())


def y_channel(img):
    img = img.astype(np.float64)
    return 16 + (65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255


def main():
    folder, q, methods = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    scores = {m: [] for m in methods}
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(os.path.join(folder, "*"))):
            hr = load(path, tmp)
            h, w = hr.shape[0] // 4 * 4, hr.shape[1] // 4 * 4
            hr = hr[:h, :w]
            t = torch.from_numpy(hr.astype(np.float32)).permute(2, 0, 1)[None]
            lr = F.interpolate(t, size=(h // 4, w // 4), mode="bicubic", antialias=True,
                               align_corners=False)
            lr = lr.round().clamp(0, 255)[0].permute(1, 2, 0).numpy().astype(np.uint8)
            save_ppm(lr, os.path.join(tmp, "lr.ppm"))
            jpeg = os.path.join(tmp, "lr.jpg")
            subprocess.run(["vips", "copy", os.path.join(tmp, "lr.ppm"), f"{jpeg}[Q={q},strip]"],
                           check=True)
            for m in methods:
                out = os.path.join(tmp, "out.png")
                subprocess.run([HIRES, jpeg, "-o", out, "-s", "4", "-m", m, "--quiet",
                                "--overwrite"], check=True)
                sr = load(out, tmp)
                a = y_channel(hr)[4:-4, 4:-4]
                b = y_channel(sr)[4:-4, 4:-4]
                scores[m].append(10 * np.log10(255.0**2 / np.mean((a - b) ** 2)))
    for m in methods:
        print(f"{m}: LR as JPEG q{q}, x4, {len(scores[m])} images: "
              f"mean PSNR-Y {np.mean(scores[m]):.3f} dB")


if __name__ == "__main__":
    main()
