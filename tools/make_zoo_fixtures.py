#!/usr/bin/python3
"""Writes the model-zoo fixtures in tests/zoo/.

1. Tiny RRDBNets (the ESRGAN / Real-ESRGAN generator) with seeded random weights, saved the ways
   people's checkpoints come: a plain torch.save of a state dict, one wrapped in
   {'params_ema': ..., 'params': ...}, one fp16 under {'state_dict': ...} with 'module.' names,
   one with the original ESRGAN parameter names, and one as .safetensors. Each has an
   .io.safetensors file with a random input and the output PyTorch computes in float64.
   Old-layout ESRGANs (the first ESRGAN code and most community models: one nn.Sequential,
   "model.0", "model.1.sub.N.RDB1.conv1.0", ...): the x4 net's weights in that layout, and x1, x2
   and x8 nets (0, 1, 3 upsamples, no pixel-unshuffle) with their own .io.safetensors.
2. Checkpoints for the reader: every tensor dtype, storage offsets, a non-contiguous tensor, a
   deflate-compressed archive, a legacy (pre-1.6) file, a truncated pickle, non-state-dict
   contents.
3. Malicious pickles that would run a shell command or eval if unpickled by Python. They are
   written opcode by opcode with the pickle module's constants and never loaded here.

The RRDBNet below is written from the papers (Wang et al., ESRGAN 2018; Real-ESRGAN 2021) and is
independent of the C++ code. Run with Debian's Python (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_zoo_fixtures.py

The output is deterministic: running it again writes the same bytes.
"""

import collections
import hashlib
import io
import os
import pickle
import struct
import sys
import zipfile

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "tests", "zoo")
# The malicious pickle's command would create this file; the C++ test checks it never appears.
EVIL_MARKER = "/tmp/hires-zoo-pickle-ran"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class DenseForward(nn.Module):
    """Five 3x3 convs, each seeing the block input and all earlier outputs; x + 0.2 * conv5.
    Subclasses hold the convs and say in layer(k, x) how conv k (1 to 4) and its LeakyReLU run."""

    def forward(self, x):
        feats = [x]
        for k in range(1, 5):
            feats.append(self.layer(k, torch.cat(feats, 1)))
        return x + 0.2 * self.conv5(torch.cat(feats, 1))


class DenseBlock(DenseForward):
    """The dense block of the current (BasicSR) layout: plain convs conv1..conv5."""

    def __init__(self, num_feat, num_grow_ch):
        super().__init__()
        for k in range(1, 6):
            out = num_feat if k == 5 else num_grow_ch
            setattr(self, "conv%d" % k, nn.Conv2d(num_feat + (k - 1) * num_grow_ch, out, 3, 1, 1))

    def layer(self, k, x):
        return F.leaky_relu(getattr(self, "conv%d" % k)(x), 0.2)


class RRDB(nn.Module):
    """Three dense blocks (of class `block`, held under `names`) and a residual x + 0.2 * out."""

    block = DenseBlock
    names = ("rdb1", "rdb2", "rdb3")

    def __init__(self, num_feat, num_grow_ch):
        super().__init__()
        for name in self.names:
            setattr(self, name, self.block(num_feat, num_grow_ch))

    def forward(self, x):
        out = x
        for name in self.names:
            out = getattr(self, name)(out)
        return x + 0.2 * out


class RRDBNet(nn.Module):
    """ESRGAN's generator; scale 2 / 1 pixel-unshuffle the input by 2 / 4 (Real-ESRGAN)."""

    def __init__(self, channels, scale, num_feat, num_block, num_grow_ch, num_upsample=2):
        super().__init__()
        self.unshuffle = 2**num_upsample // scale
        self.num_upsample = num_upsample
        self.conv_first = nn.Conv2d(channels * self.unshuffle**2, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        for k in range(1, num_upsample + 1):
            setattr(self, "conv_up%d" % k, nn.Conv2d(num_feat, num_feat, 3, 1, 1))
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, channels, 3, 1, 1)

    def forward(self, x):
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for k in range(1, self.num_upsample + 1):
            conv = getattr(self, "conv_up%d" % k)
            feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))


class OldDenseBlock(DenseForward):
    """The old ESRGAN code's dense block: each conv is a Sequential (conv, LeakyReLU), conv5 alone."""

    def __init__(self, num_feat, num_grow_ch):
        super().__init__()
        for k in range(1, 6):
            conv = nn.Conv2d(num_feat + (k - 1) * num_grow_ch,
                             num_feat if k == 5 else num_grow_ch, 3, 1, 1)
            layers = [conv] if k == 5 else [conv, nn.LeakyReLU(0.2)]
            setattr(self, "conv%d" % k, nn.Sequential(*layers))

    def layer(self, k, x):
        return getattr(self, "conv%d" % k)(x)  # the LeakyReLU is inside


class OldRRDB(RRDB):
    block = OldDenseBlock
    names = ("RDB1", "RDB2", "RDB3")


class Shortcut(nn.Module):
    def __init__(self, sub):
        super().__init__()
        self.sub = sub

    def forward(self, x):
        return x + self.sub(x)


def old_rrdbnet(channels, num_feat, num_block, num_grow_ch, num_upsample):
    """The old ESRGAN layout: one flat nn.Sequential, so PyTorch itself numbers the parameters
    (model.0, model.1.sub.N..., then (Upsample, conv, LeakyReLU) per x2, HR conv, LeakyReLU, last
    conv). Held under the attribute `model` as in the original code."""
    layers = [nn.Conv2d(channels, num_feat, 3, 1, 1),
              Shortcut(nn.Sequential(*[OldRRDB(num_feat, num_grow_ch) for _ in range(num_block)],
                                     nn.Conv2d(num_feat, num_feat, 3, 1, 1)))]
    for _ in range(num_upsample):
        layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                   nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.LeakyReLU(0.2)]
    layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.LeakyReLU(0.2),
               nn.Conv2d(num_feat, channels, 3, 1, 1)]
    holder = nn.Module()
    holder.model = nn.Sequential(*layers)
    holder.forward = holder.model.forward
    return holder


def to_old_layout(old_model, state):
    """`state` (RRDBNet names) under old_model's names: both list the parameters in the same
    order (first conv, blocks, trunk conv, upsample convs, HR conv, last conv)."""
    names = list(old_model.state_dict().keys())
    assert len(names) == len(state), (len(names), len(state))
    out = collections.OrderedDict()
    for name, (key, value) in zip(names, state.items()):
        assert old_model.state_dict()[name].shape == value.shape, (name, key)
        out[name] = value
    return out


def randomize(model, generator):
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 0.05 if name.endswith(".bias") else 0.15
            p.copy_(torch.randn(p.shape, generator=generator) * scale)


def run64(model, state, x):
    """The output for `state` (any dtype), computed in float64."""
    model64 = model.double().eval()
    model64.load_state_dict({k: v.double() for k, v in state.items()})
    with torch.no_grad():
        return model64(x.double()).to(torch.float32)


def esrgan_names(state):
    """The original ESRGAN code's names for BasicSR / Real-ESRGAN parameter names."""
    renames = [("conv_body.", "trunk_conv."), ("conv_up1.", "upconv1."),
               ("conv_up2.", "upconv2."), ("conv_hr.", "HRconv.")]
    out = collections.OrderedDict()
    for k, v in state.items():
        for ours, theirs in renames:
            if k.startswith(ours):
                k = theirs + k[len(ours):]
        if k.startswith("body."):
            k = "RRDB_trunk." + k[5:]
            for r in ("rdb1", "rdb2", "rdb3"):
                k = k.replace("." + r + ".", ".RDB" + r[-1] + ".")
        out[k] = v
    return out


def make_rrdb_fixtures(written):
    # stem, seed, scale, num_feat, num_block, num_grow_ch, input shape
    nets = [
        ("rrdb_tiny_x4", 2001, 4, 8, 2, 4, (1, 3, 7, 9)),
        ("rrdb_tiny_x2", 2002, 2, 8, 1, 4, (1, 3, 8, 10)),
        ("rrdb_tiny_x1_fp16", 2003, 1, 8, 1, 4, (1, 3, 8, 12)),
    ]
    for stem, seed, scale, num_feat, num_block, num_grow_ch, in_shape in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = RRDBNet(3, scale, num_feat, num_block, num_grow_ch)
        randomize(model, generator)
        x = torch.rand(in_shape, generator=generator, dtype=torch.float32)
        state = model.state_dict()  # an OrderedDict with _metadata (pickled with BUILD)
        path = os.path.join(ZOO, stem + ".pth")
        if stem == "rrdb_tiny_x4":
            torch.save(state, path)
            esrgan_path = os.path.join(ZOO, "rrdb_tiny_x4_esrgan_names.pth")
            torch.save(esrgan_names(state), esrgan_path)
            st_path = os.path.join(ZOO, "rrdb_tiny_x4.safetensors")
            write_safetensors(st_path, {k: v.numpy() for k, v in state.items()}, {})
            old = old_rrdbnet(3, num_feat, num_block, num_grow_ch, 2)
            old_state = to_old_layout(old, state)
            old_path = os.path.join(ZOO, "rrdb_tiny_x4_old_layout.pth")
            torch.save(old_state, old_path)
            # The two PyTorch modules agree: the old layout is the same network.
            diff = (run64(old, old_state, x) - run64(model, state, x)).abs().max().item()
            assert diff < 1e-6, diff
            written += [esrgan_path, st_path, old_path]
        elif stem == "rrdb_tiny_x2":
            # 'params' holds other weights: the output matches only if params_ema is chosen.
            decoy = RRDBNet(3, scale, num_feat, num_block, num_grow_ch)
            randomize(decoy, generator)
            torch.save({"params": decoy.state_dict(), "params_ema": state}, path)
        else:
            state = collections.OrderedDict((k, v.half()) for k, v in state.items())
            wrapped = collections.OrderedDict(("module." + k, v) for k, v in state.items())
            torch.save({"state_dict": wrapped, "epoch": 7}, path)
        y = run64(model, state, x)
        expected = (1, 3, in_shape[2] * scale, in_shape[3] * scale)
        assert tuple(y.shape) == expected, (y.shape, expected)
        written += [path, write_io(stem, x, y)]


def write_io(stem, x, y):
    """Writes <stem>.io.safetensors with the input and PyTorch's output; returns its path."""
    io_path = os.path.join(ZOO, stem + ".io.safetensors")
    write_safetensors(
        io_path,
        {"input": x.numpy(), "output": y.numpy()},
        {"format": "hires", "model": stem,
         "note": "output = model(input) computed by PyTorch in float64, stored as F32"},
    )
    return io_path


def make_old_layout_fixtures(written):
    """Old-layout ESRGANs at x1, x2 and x8 (0, 1 and 3 upsamples): their outputs come from the
    old-layout module itself."""
    # stem, seed, num_upsample, input shape; num_feat 8, one block, num_grow_ch 4
    nets = [
        ("rrdb_old_x1", 2011, 0, (1, 3, 6, 7)),
        ("rrdb_old_x2", 2012, 1, (1, 3, 5, 7)),
        ("rrdb_old_x8", 2013, 3, (1, 3, 4, 5)),
    ]
    for stem, seed, num_upsample, in_shape in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = old_rrdbnet(3, 8, 1, 4, num_upsample)
        randomize(model, generator)
        x = torch.rand(in_shape, generator=generator, dtype=torch.float32)
        state = model.state_dict()
        path = os.path.join(ZOO, stem + ".pth")
        torch.save(state, path)
        y = run64(model, state, x)
        scale = 2**num_upsample
        assert tuple(y.shape) == (1, 3, in_shape[2] * scale, in_shape[3] * scale), y.shape
        written += [path, write_io(stem, x, y)]


def rezip(src, dst, compression):
    """Copies an archive entry by entry with another compression and fixed dates."""
    prefix_old = os.path.splitext(os.path.basename(src))[0] + "/"
    prefix_new = os.path.splitext(os.path.basename(dst))[0] + "/"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            name = prefix_new + info.filename[len(prefix_old):]
            out = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            out.compress_type = compression
            zout.writestr(out, zin.read(info.filename))


def write_archive(path, records):
    """A torch.save-like archive (stored entries) with the given records under the stem."""
    prefix = os.path.splitext(os.path.basename(path))[0] + "/"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in records:
            z.writestr(zipfile.ZipInfo(prefix + name, date_time=ZIP_DATE), data)


def make_reader_fixtures(written):
    base = torch.arange(10, dtype=torch.float32)
    dtypes = collections.OrderedDict()
    dtypes["f32"] = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    dtypes["f16"] = torch.arange(4, dtype=torch.float32).half() * 0.5
    dtypes["bf16"] = (torch.arange(3, dtype=torch.float32) - 1).bfloat16()
    dtypes["f64"] = torch.tensor([0.25, -2.0], dtype=torch.float64)
    dtypes["i64"] = torch.tensor([7, -3], dtype=torch.int64)
    dtypes["base"] = base
    dtypes["view"] = base[2:6]  # shares base's storage, offset 2
    dtypes["param"] = nn.Parameter(torch.ones(2, 1))  # pickled through _rebuild_parameter
    dtypes["step"] = 5  # not a tensor: left out
    path = os.path.join(ZOO, "dtypes.pth")
    torch.save(dtypes, path)
    deflated = os.path.join(ZOO, "dtypes_deflate.pth")
    rezip(path, deflated, zipfile.ZIP_DEFLATED)
    written += [path, deflated]

    path = os.path.join(ZOO, "noncontiguous.pth")
    torch.save({"t": torch.arange(12, dtype=torch.float32).reshape(3, 4).t()}, path)
    written.append(path)

    # The start of a legacy (pre-1.6) checkpoint: the pickled magic number, protocol version and
    # system info that torch.save wrote first (the rest holds random storage keys).
    path = os.path.join(ZOO, "legacy.pth")
    with open(path, "wb") as f:
        for obj in (0x1950A86A20F9469CFC6C, 1001,
                    {"protocol_version": 1001, "little_endian": True,
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}):
            pickle.dump(obj, f, protocol=2)
    written.append(path)

    path = os.path.join(ZOO, "list.pth")
    torch.save([torch.ones(2)], path)
    written.append(path)

    path = os.path.join(ZOO, "no_tensors.pth")
    torch.save({"epoch": 3, "lr": 0.5}, path)
    written.append(path)

    path = os.path.join(ZOO, "unknown_arch.pth")
    torch.save(collections.OrderedDict(
        [("encoder.%d.weight" % i, torch.ones(2, 2)) for i in range(6)]), path)
    written.append(path)

    # A valid state-dict pickle cut in half.
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as z:
        records = [(n.split("/", 1)[1], z.read(n)) for n in z.namelist()]
    records = [(n, d[: len(d) // 2] if n == "data.pkl" else d) for n, d in records]
    path = os.path.join(ZOO, "truncated_pickle.pth")
    write_archive(path, records)
    written.append(path)


def make_malicious_fixtures(written):
    """Pickles that would run code if Python unpickled them. Never loaded here."""
    command = ("touch " + EVIL_MARKER).encode("ascii")

    def unicode(b):
        return pickle.BINUNICODE + struct.pack("<I", len(b)) + b

    # os.system("touch ...") through GLOBAL + REDUCE (protocol 2, like torch.save).
    system = (pickle.PROTO + b"\x02" + pickle.GLOBAL + b"os\nsystem\n" + unicode(command)
              + pickle.TUPLE1 + pickle.REDUCE + pickle.STOP)
    # builtins.eval("__import__('os').system(...)") through STACK_GLOBAL (protocol 4).
    code = ("__import__('os').system('touch %s')" % EVIL_MARKER).encode("ascii")
    evil_eval = (pickle.PROTO + b"\x04" + unicode(b"builtins") + pickle.MEMOIZE + unicode(b"eval")
                 + pickle.MEMOIZE + pickle.STACK_GLOBAL + unicode(code) + pickle.TUPLE1
                 + pickle.REDUCE + pickle.STOP)
    # INST: the protocol 0 way to call a class (os.system here).
    inst = (pickle.PROTO + b"\x02" + pickle.MARK + unicode(command) + pickle.INST
            + b"os\nsystem\n" + pickle.STOP)
    # A state dict whose tensor rebuild function is swapped for os.system.
    swapped = (pickle.PROTO + b"\x02" + pickle.GLOBAL + b"collections\nOrderedDict\n"
               + pickle.EMPTY_TUPLE + pickle.REDUCE + unicode(b"conv_first.weight")
               + pickle.GLOBAL + b"posix\nsystem\n" + unicode(command) + pickle.TUPLE1
               + pickle.REDUCE + pickle.SETITEM + pickle.STOP)
    for stem, data in (("evil_system", system), ("evil_eval", evil_eval), ("evil_inst", inst),
                       ("evil_in_state_dict", swapped)):
        path = os.path.join(ZOO, stem + ".pth")
        write_archive(path, [("data.pkl", data), ("version", b"3\n")])
        written.append(path)


README = """\
# Model-zoo fixtures

Generated by `tools/make_zoo_fixtures.py`; regenerate with

    /usr/bin/python3 tools/make_zoo_fixtures.py

(Debian's Python with python3-torch). The script is deterministic. Weights are random (seeded),
not trained; licence CC0-1.0.

RRDBNet (ESRGAN / Real-ESRGAN generator), num_feat 8, num_grow_ch 4:

| file | blocks | scale | how it is saved |
|---|---|---|---|
| `rrdb_tiny_x4.pth` | 2 | 4 | `torch.save(model.state_dict())` |
| `rrdb_tiny_x4_esrgan_names.pth` | 2 | 4 | the same weights, original ESRGAN names (`RRDB_trunk`, `trunk_conv`, `upconv1`, `HRconv`) |
| `rrdb_tiny_x4.safetensors` | 2 | 4 | the same weights, F32, no metadata |
| `rrdb_tiny_x4_old_layout.pth` | 2 | 4 | the same weights, old ESRGAN layout (`model.0`, `model.1.sub.N.RDB1.conv1.0`, `model.3`, `model.6`, `model.8`, `model.10`) |
| `rrdb_old_x1.pth` | 1 | 1 (no upsample: `model.2` HR conv, `model.4` last) | old layout, own weights |
| `rrdb_old_x2.pth` | 1 | 2 (one upsample: `model.3`, `model.5`, `model.7`) | old layout, own weights |
| `rrdb_old_x8.pth` | 1 | 8 (three upsamples: `model.3`, `6`, `9`, `11`, `13`) | old layout, own weights |
| `rrdb_tiny_x2.pth` | 1 | 2 (pixel-unshuffle 2) | `{'params': other weights, 'params_ema': weights}` |
| `rrdb_tiny_x1_fp16.pth` | 1 | 1 (pixel-unshuffle 4) | fp16, `{'state_dict': {'module.' + name: ...}, 'epoch': 7}` |

`<stem>.io.safetensors`: `input` (NCHW, uniform in [0, 1]) and `output` computed by PyTorch in
float64 from the stored weights (fp16 ones widened), saved as F32.

Reader checks: `dtypes.pth` (fp32, fp16, bf16, fp64, int64, a view at storage offset 2, an
nn.Parameter, a non-tensor entry), `dtypes_deflate.pth` (the same, deflate-compressed),
`noncontiguous.pth`, `legacy.pth` (the start of a pre-1.6 file), `list.pth`, `no_tensors.pth`,
`unknown_arch.pth`, `truncated_pickle.pth`.

Malicious pickles (never load them with Python's pickle or torch.load): `evil_system.pth`
(GLOBAL os.system + REDUCE), `evil_eval.pth` (STACK_GLOBAL builtins.eval), `evil_inst.pth`
(INST os.system), `evil_in_state_dict.pth` (a state dict whose tensor is built by posix.system).
Each would run `touch /tmp/hires-zoo-pickle-ran`.
"""


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(ZOO, exist_ok=True)
    written = []
    make_rrdb_fixtures(written)
    make_old_layout_fixtures(written)
    make_reader_fixtures(written)
    make_malicious_fixtures(written)
    readme = os.path.join(ZOO, "README.md")
    # Sections written by other scripts (tools/make_cugan_fixture.py) are kept.
    other = ""
    if os.path.exists(readme):
        with open(readme, encoding="ascii") as f:
            old = f.read()
        marker = "## Tiny Real-CUGAN"
        if marker in old:
            other = "\n" + old[old.index(marker):]
    with open(readme, "w", encoding="ascii") as f:
        f.write(README + other)
    written.append(readme)
    for path in written:
        with open(path, "rb") as f:
            data = f.read()
        print("wrote %s (%d bytes, sha256 %s)"
              % (os.path.relpath(path, ROOT), len(data), hashlib.sha256(data).hexdigest()[:16]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
