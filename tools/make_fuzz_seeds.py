#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/): small valid inputs of every format each
target reads, taken from the test fixtures and made with the `vips` program, in the framing the
targets expect. Usage: tools/make_fuzz_seeds.py OUT_DIR  (OUT_DIR/<target>/ per target)"""
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LIMIT = 65536  # the targets' -max_len


def files(folder, ext):
    path = os.path.join(ROOT, folder)
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if name.endswith(ext) and os.path.getsize(full) < LIMIT:
            yield full


def put(out, target, name, data):
    folder = os.path.join(out, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def models(out):
    # fuzz_models: first byte 0 = .safetensors, 1 = .pth, 2 = ncnn (2 bytes .param length,
    # the .param, then the .bin).
    for path in list(files("tests/golden", ".safetensors")) + list(files("tests/zoo", ".safetensors")):
        put(out, "models", "st-" + os.path.basename(path), b"\0" + open(path, "rb").read())
    for path in files("tests/zoo", ".pth"):
        put(out, "models", "pth-" + os.path.basename(path), b"\1" + open(path, "rb").read())
    # The community architectures' fixtures that fit the targets' -max_len (SPAN, PLKSR,
    # RealPLKSR, SwinIR, SRFormer, MoSR, RCAN; the larger transformer ones would be cut short).
    for ext, tag, head in ((".pth", "pth-", b"\1"), (".safetensors", "st-", b"\0")):
        for path in files("tests/archs", ext):
            if not path.endswith(".io.safetensors") and os.path.getsize(path) < LIMIT:
                put(out, "models", tag + os.path.basename(path), head + open(path, "rb").read())
    for path in files("tests/zoo", ".param"):
        param = open(path, "rb").read()
        binary = path[: -len(".param")] + ".bin"
        weights = open(binary, "rb").read() if os.path.exists(binary) else b""
        if len(param) < 65536 and len(param) + len(weights) < LIMIT:
            put(out, "models", "ncnn-" + os.path.basename(path),
                b"\2" + struct.pack(">H", len(param)) + param + weights)


def images(out):
    sample = os.path.join(ROOT, "samples", "sample.png")
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "small.v")
        subprocess.run(["vips", "resize", sample, small, "0.2"], check=True)
        for ext, opts in [(".png", ""), (".jpg", "[Q=60]"), (".webp", "[Q=50]"), (".tif", ""),
                          (".gif", ""), (".png", "[bitdepth=16]")]:
            target = os.path.join(tmp, "seed" + ext)
            try:
                subprocess.run(["vips", "copy", small, target + opts], check=True,
                               stderr=subprocess.DEVNULL)
            except subprocess.CalledProcessError:
                continue  # this libvips cannot write that format
            put(out, "image", "seed" + ext + opts.replace("[", "-").replace("]", "").replace("=", ""),
                open(target, "rb").read())


def options(out):
    for i, text in enumerate([
        "4", "2.5", "0.5", "1e308", "nan", "-1", "1920", "1920x1080", "8x10in@300",
        "20x30cm@300", "150K", "2M", "1.5G", "white", "#ff8800", "255,128,0", "lanczos",
        "nearest", "photo-x4", "png", "jpg", "webp", "auto", "cpu", "reference", "",
    ]):
        put(out, "options", f"seed-{i:02d}", text.encode())


def requests(out):
    # Bodies as the page sends them to /api/plan and /api/run, and one odd client file name.
    for i, body in enumerate([
        '{"options": {"width": 2400, "format": "jpg", "quality": 85}}',
        '{"options": {"method": "lanczos", "scale": 2, "sharpen": 0.5}}',
        '{"options": {"method": "photo-x4", "restore": 0.5, "strip": true}}',
        '{"options": {"print": "8x10in@300", "color_fix": true, "background": "#ffffff"}}',
        '{"options": {"max_bytes": "150K", "min_quality": 60, "fit": "1920x1080"}}',
        '{"options": {"scale": 2, "width": 10}}',
        '{"options": []}',
        '../../etc/passwd\u0000.png',
    ]):
        put(out, "request", f"seed-{i:02d}", body.encode())


def videos(out):
    # Tiny clips made by build/bench/bench_make_clip (H.264 in MP4 and Matroska, 3 frames),
    # committed in fuzz/seeds/video/ so that the seeds need no video encoder here.
    seeds = os.path.join(os.path.dirname(__file__), "..", "fuzz", "seeds", "video")
    for name in sorted(os.listdir(seeds)):
        put(out, "video", name, open(os.path.join(seeds, name), "rb").read())


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "corpus"
    models(out)
    images(out)
    options(out)
    requests(out)
    videos(out)


if __name__ == "__main__":
    main()
