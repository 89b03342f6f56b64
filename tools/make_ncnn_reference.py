#!/usr/bin/python3
"""Writes PyTorch reference outputs of real Real-ESRGAN compact models for tests/golden/.

For each model (the ncnn .param/.bin files in ../shared/models) this script

  1. parses the .param text and the .bin weights itself (independently of the C++ reader in
     src/models/formats/ncnn/, so the fixtures cross-check that reader),
  2. checks that the layer list is exactly an SRVGGNetCompact (Input, Split, Conv + PReLU,
     num_conv x (Conv + PReLU), Conv to 3*4*4 channels, PixelShuffle 4, nearest Interp x4 of the
     input, BinaryOp add) and loads the weights into its own PyTorch SRVGGNetCompact,
  3. cuts 32x32 RGB crops at fixed positions out of images in ../shared/datasets/edge (decoded
     with the `vips` command-line tool, as Debian's Python has no PIL),
  4. runs the network in float64 on each crop (the fp32-rounded input, so the C++ side sees the
     same input), and writes tests/golden/<stem>_ref.safetensors holding "<crop>.input"
     [1,3,32,32] and "<crop>.output" [1,3,128,128] as F32.

Run with Debian's Python (python3-torch, python3-numpy) from the repository root or anywhere:

    /usr/bin/python3 tools/make_ncnn_reference.py [--shared DIR]

DIR defaults to ../shared beside the checkout. The output is deterministic for given model and
image files (the sha256 of every input file is recorded in the fixture's __metadata__).

The fixtures are derived from the Real-ESRGAN weights (BSD-3-Clause) and the Real-ESRGAN
`inputs` images in datasets/edge (BSD-3-Clause); they are our own computed outputs, not copies.
"""

import argparse
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden")

NCNN_MAGIC = 7767517
TAG_FP16 = 0x01306B47
TAG_FP32 = 0

# name in the fixture, image file in datasets/edge, left, top (all crops 32x32)
CROPS = [
    ("0014_eyes", "0014.jpg", 64, 56),
    ("ost009_windows", "OST_009.png", 224, 200),
    ("ade114_cliff", "ADE_val_00000114.jpg", 16, 72),
]
CROP = 32

MODELS = [
    # fixture stem, folder in shared/models, .param/.bin stem, expected num_conv
    ("realesr_general_x4v3_ref", "realesr-general-x4v3-ncnn", "realesr-general-x4v3", 32),
    ("realesr_animevideov3_ref", "realesr-animevideov3", "realesr-animevideov3-x4", 16),
]


# ---------------------------------------------------------------------------------------------
# ncnn parsing


class Layer:
    def __init__(self, type_, name, bottoms, tops, params):
        self.type = type_
        self.name = name
        self.bottoms = bottoms
        self.tops = tops
        self.params = params  # int key -> str value

    def pint(self, key, default):
        return int(self.params[key]) if key in self.params else default

    def pfloat(self, key, default):
        return float(self.params[key]) if key in self.params else default


def parse_param(path):
    with open(path, "r", encoding="ascii") as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    if int(lines[0]) != NCNN_MAGIC:
        raise ValueError("%s: bad magic %s" % (path, lines[0]))
    layer_count, blob_count = (int(v) for v in lines[1].split())
    layers = []
    for ln in lines[2:]:
        parts = ln.split()
        type_, name = parts[0], parts[1]
        nb, nt = int(parts[2]), int(parts[3])
        bottoms = parts[4 : 4 + nb]
        tops = parts[4 + nb : 4 + nb + nt]
        params = {}
        for kv in parts[4 + nb + nt :]:
            k, v = kv.split("=", 1)
            if k.startswith("-"):
                raise ValueError("%s: array parameter %s not expected here" % (path, kv))
            params[int(k)] = v
        layers.append(Layer(type_, name, bottoms, tops, params))
    if len(layers) != layer_count:
        raise ValueError("%s: %d layers declared, %d found" % (path, layer_count, len(layers)))
    blobs = set()
    for layer in layers:
        blobs.update(layer.tops)
    if len(blobs) != blob_count:
        raise ValueError("%s: %d blobs declared, %d found" % (path, blob_count, len(blobs)))
    return layers


class BinReader:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        self.pos = 0
        self.path = path

    def _take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("%s: truncated at byte %d" % (self.path, self.pos))
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def tagged(self, count):
        """A weight blob: 4-byte tag, then fp16 (padded to 4 bytes) or fp32 data."""
        (tag,) = struct.unpack("<I", self._take(4))
        if tag == TAG_FP16:
            raw = self._take(count * 2)
            self._take((4 - (count * 2) % 4) % 4)
            return np.frombuffer(raw, dtype="<f2").astype(np.float64), "fp16"
        if tag == TAG_FP32:
            return np.frombuffer(self._take(count * 4), dtype="<f4").astype(np.float64), "fp32"
        raise ValueError("%s: unsupported weight tag 0x%08x at byte %d" % (self.path, tag, self.pos - 4))

    def raw_fp32(self, count):
        return np.frombuffer(self._take(count * 4), dtype="<f4").astype(np.float64)

    def done(self):
        if self.pos != len(self.data):
            raise ValueError("%s: %d bytes left over" % (self.path, len(self.data) - self.pos))


def expect(cond, what):
    if not cond:
        raise ValueError("not an SRVGGNetCompact ncnn model: " + what)


def read_srvgg_ncnn(param_path, bin_path):
    """Returns (num_feat, num_conv, upscale, state_dict of float64 tensors, weight dtype)."""
    layers = parse_param(param_path)
    binr = BinReader(bin_path)
    it = iter(layers)

    inp = next(it)
    expect(inp.type == "Input" and len(inp.tops) == 1, "first layer is not Input")
    split = next(it)
    expect(
        split.type == "Split" and split.bottoms == inp.tops and len(split.tops) == 2,
        "second layer is not a 2-way Split of the input",
    )

    convs = []  # (weight [o,i,k,k], bias [o])
    slopes = []
    dtypes = set()
    cur = None  # the blob the conv chain continues from
    in_ch = 3
    layer = next(it)
    while layer.type == "Convolution":
        num_output = layer.pint(0, 0)
        k = layer.pint(1, 1)
        expect(layer.pint(11, k) == k, layer.name + ": non-square kernel")
        expect(layer.pint(2, 1) == 1 and layer.pint(12, 1) == 1, layer.name + ": dilation")
        expect(layer.pint(3, 1) == 1 and layer.pint(13, 1) == 1, layer.name + ": stride")
        pad = layer.pint(4, 0)
        expect(layer.pint(14, pad) == pad and pad == k // 2, layer.name + ": padding")
        expect(layer.pint(15, pad) == pad and layer.pint(16, pad) == pad, layer.name + ": padding")
        expect(layer.pint(18, 0) == 0, layer.name + ": pad value")
        expect(layer.pint(9, 0) == 0, layer.name + ": fused activation")
        expect(layer.pint(8, 0) == 0, layer.name + ": int8")
        bias_term = layer.pint(5, 0)
        wsize = layer.pint(6, 0)
        expect(wsize == num_output * in_ch * k * k, layer.name + ": weight size")
        expect(len(layer.bottoms) == 1 and len(layer.tops) == 1, layer.name + ": blobs")
        if cur is None:
            expect(layer.bottoms[0] in split.tops, layer.name + ": not fed by the input split")
            first_conv_input = layer.bottoms[0]
        else:
            expect(layer.bottoms[0] == cur, layer.name + ": not a chain")
        w, dt = binr.tagged(wsize)
        dtypes.add(dt)
        b = binr.raw_fp32(num_output) if bias_term else np.zeros(num_output)
        convs.append((w.reshape(num_output, in_ch, k, k), b))
        cur = layer.tops[0]
        in_ch = num_output
        layer = next(it)
        if layer.type == "PReLU":
            n = layer.pint(0, 0)
            expect(n == num_output and layer.bottoms == [cur], layer.name + ": slopes/blobs")
            slopes.append(binr.raw_fp32(n))
            cur = layer.tops[0]
            layer = next(it)
        else:
            break

    expect(len(convs) >= 2 and len(slopes) == len(convs) - 1, "conv/PReLU pattern")
    num_feat = convs[0][0].shape[0]
    num_conv = len(convs) - 2

    ps = layer
    expect(ps.type == "PixelShuffle" and ps.bottoms == [cur], "PixelShuffle after the last conv")
    upscale = ps.pint(0, 1)
    expect(ps.pint(1, 0) == 0, "PixelShuffle mode 0")
    expect(convs[-1][0].shape[0] == 3 * upscale * upscale, "last conv channels")

    interp = next(it)
    expect(interp.type == "Interp", "Interp layer")
    other_input = [t for t in split.tops if t != first_conv_input]
    expect(interp.bottoms == other_input, "Interp of the input")
    expect(interp.pint(0, 0) == 1, "Interp is not nearest")
    expect(
        interp.pfloat(1, 1.0) == upscale and interp.pfloat(2, 1.0) == upscale, "Interp scale"
    )
    expect(interp.pint(3, 0) == 0 and interp.pint(4, 0) == 0, "Interp fixed output size")

    add = next(it)
    expect(add.type == "BinaryOp" and add.pint(0, 0) == 0, "BinaryOp add")
    expect(sorted(add.bottoms) == sorted([ps.tops[0], interp.tops[0]]), "BinaryOp operands")
    expect(next(it, None) is None, "layers after the final add")
    binr.done()

    sd = {}
    body = 0
    for i, (w, b) in enumerate(convs):
        sd["body.%d.weight" % body] = torch.from_numpy(w.copy())
        sd["body.%d.bias" % body] = torch.from_numpy(b.copy())
        body += 1
        if i < len(slopes):
            sd["body.%d.weight" % body] = torch.from_numpy(slopes[i].copy())
            body += 1
    return num_feat, num_conv, upscale, sd, "/".join(sorted(dtypes))


# ---------------------------------------------------------------------------------------------
# the network


class SRVGGNetCompact(nn.Module):
    """conv3x3 + PReLU, num_conv x (conv3x3 + PReLU), conv3x3 to 3*r*r channels, pixel shuffle,
    plus the nearest-neighbour upscaled input."""

    def __init__(self, num_feat, num_conv, upscale):
        super().__init__()
        self.upscale = upscale
        self.body = nn.ModuleList()
        self.body.append(nn.Conv2d(3, num_feat, 3, 1, 1))
        self.body.append(nn.PReLU(num_parameters=num_feat))
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(nn.PReLU(num_parameters=num_feat))
        self.body.append(nn.Conv2d(num_feat, 3 * upscale * upscale, 3, 1, 1))

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        out = F.pixel_shuffle(out, self.upscale)
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


# ---------------------------------------------------------------------------------------------
# images and files


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def crop_rgb(path, left, top, size):
    """[3, size, size] float64 in [0, 1] (rounded through fp32), decoded with the vips CLI."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "crop.raw")
        subprocess.run(
            ["vips", "crop", path, raw, str(left), str(top), str(size), str(size)], check=True
        )
        with open(raw, "rb") as f:
            data = f.read()
    if len(data) != size * size * 3:
        raise ValueError("%s: expected an 8-bit RGB image, got %d bytes" % (path, len(data)))
    hwc = np.frombuffer(data, dtype=np.uint8).reshape(size, size, 3)
    chw = hwc.transpose(2, 0, 1).astype(np.float64) / 255.0
    return chw.astype(np.float32).astype(np.float64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared"))
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(GOLDEN, exist_ok=True)
    edge = os.path.join(args.shared, "datasets", "edge")

    inputs = {}
    for name, image, left, top in CROPS:
        inputs[name] = crop_rgb(os.path.join(edge, image), left, top, CROP)

    for stem, folder, model_stem, want_num_conv in MODELS:
        mdir = os.path.join(args.shared, "models", folder)
        param = os.path.join(mdir, model_stem + ".param")
        binf = os.path.join(mdir, model_stem + ".bin")
        num_feat, num_conv, upscale, sd, wdtype = read_srvgg_ncnn(param, binf)
        assert (num_feat, num_conv, upscale) == (64, want_num_conv, 4), (num_feat, num_conv, upscale)

        model = SRVGGNetCompact(num_feat, num_conv, upscale).double().eval()
        missing, unexpected = model.load_state_dict(sd, strict=True)
        assert not missing and not unexpected

        tensors = {}
        for name, image, left, top in CROPS:
            x = torch.from_numpy(inputs[name]).unsqueeze(0)
            with torch.no_grad():
                y = model(x)
            assert tuple(y.shape) == (1, 3, CROP * upscale, CROP * upscale), y.shape
            # Sanity: the output must look like an upscale of the input.
            down = F.avg_pool2d(y, upscale)
            print(
                "%s %s: output range [%.4f, %.4f], mean |avgpool(out) - in| %.4f"
                % (stem, name, y.min().item(), y.max().item(), (down - x).abs().mean().item())
            )
            tensors[name + ".input"] = x.to(torch.float32).numpy()
            tensors[name + ".output"] = y.to(torch.float32).numpy()

        metadata = {
            "format": "hires",
            "model": model_stem,
            "model_param": "models/%s/%s.param" % (folder, model_stem),
            "model_param_sha256": sha256(param),
            "model_bin": "models/%s/%s.bin" % (folder, model_stem),
            "model_bin_sha256": sha256(binf),
            "model_weights": wdtype,
            "architecture": "SRVGGNetCompact num_feat=%d num_conv=%d upscale=%d act=prelu"
            % (num_feat, num_conv, upscale),
            "crops": ";".join(
                "%s=datasets/edge/%s@left=%d,top=%d,size=%dx%d" % (n, im, l, t, CROP, CROP)
                for n, im, l, t in CROPS
            ),
            "crops_sha256": ";".join(
                "%s=%s" % (im, sha256(os.path.join(edge, im))) for _, im, _, _ in CROPS
            ),
            "note": "input = RGB crop / 255 (planar, NCHW); output = model(input) computed by "
            "PyTorch %s in float64 from an independent Python ncnn parser "
            "(tools/make_ncnn_reference.py), stored as F32" % torch.__version__.split("+")[0],
            "license": "derived from Real-ESRGAN weights (BSD-3-Clause) and Real-ESRGAN's "
            "inputs images in datasets/edge (BSD-3-Clause)",
        }
        out = os.path.join(GOLDEN, stem + ".safetensors")
        write_safetensors(out, tensors, metadata)
        print(
            "wrote %s (%d bytes, sha256 %s)"
            % (os.path.relpath(out, ROOT), os.path.getsize(out), sha256(out)[:16])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
