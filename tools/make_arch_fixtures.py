#!/usr/bin/python3
"""Writes the community-architecture fixtures in tests/archs/ (issue 14).

Tiny random-weight networks of the architectures people download from OpenModelDB, saved as a
plain torch.save of the state dict (.pth) and, for some, as .safetensors, each with an
<stem>.io.safetensors holding a random input and the output PyTorch computes in float64.

The modules below are written from the papers and independent of the C++ code:
- SPAN: Wan et al., "Swift Parameter-free Attention Network for Efficient Super-Resolution",
  CVPRW 2024. Conv3XC runs here in its training form (sk 1x1 plus 1x1 -> 3x3 -> 1x1 on the
  zero-padded input), not fused: hires fuses it to one 3x3 conv at load time, so the fixtures
  also check that algebra.
- PLKSR: Lee and Yoo, "Partial Large Kernel CNNs for Efficient Super-Resolution", arXiv
  2404.11848, 2024 (channel mixer, a large kernel on part of the channels, element-wise
  attention, 1x1 refinement, residual; the input repeated per sub-pixel and pixel-shuffled).
  RealPLKSR (neosr): DCCM mixer with Mish, GroupNorm (4 groups) after each block, Dropout2d
  before the last conv (identity at inference).

Run with Debian's Python (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_arch_fixtures.py

The output is deterministic: running it again writes the same bytes.
"""

import collections
import hashlib
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_safetensors  # noqa: E402
from dysample_module import DySample  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "archs")

# ---------------------------------------------------------------------------------------------
# SPAN


class Conv3XC(nn.Module):
    """A 3x3 conv trained as sk (1x1) + 1x1 (x2 channels) -> 3x3 -> 1x1; names as released."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.sk = nn.Conv2d(c_in, c_out, 1)
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, 2 * c_in, 1),
            nn.Conv2d(2 * c_in, 2 * c_out, 3),
            nn.Conv2d(2 * c_out, c_out, 1),
        )
        # The deployed conv: released files carry it; its value is recomputed from the others
        # at inference, so the fixtures store it stale (zeros) and nothing may read it.
        self.eval_conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x):
        return self.conv(F.pad(x, (1, 1, 1, 1))) + self.sk(x)


class SPAB(nn.Module):
    """Three Conv3XC with SiLU between them; parameter-free attention sigmoid(y) - 0.5."""

    def __init__(self, ch):
        super().__init__()
        self.c1_r = Conv3XC(ch, ch)
        self.c2_r = Conv3XC(ch, ch)
        self.c3_r = Conv3XC(ch, ch)

    def forward(self, x):
        first = self.c1_r(x)
        y = self.c3_r(F.silu(self.c2_r(F.silu(first))))
        attention = torch.sigmoid(y) - 0.5
        return (y + x) * attention, first


class SPAN(nn.Module):
    def __init__(self, in_ch, out_ch, feat, blocks, scale, norm):
        super().__init__()
        self.norm = norm
        if not norm:
            self.register_buffer("no_norm", torch.zeros(1))
        self.register_buffer("mean", torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1),
                             persistent=False)
        self.blocks = blocks
        self.conv_1 = Conv3XC(in_ch, feat)
        for i in range(1, blocks + 1):
            setattr(self, "block_%d" % i, SPAB(feat))
        self.conv_cat = nn.Conv2d(4 * feat, feat, 1)
        self.conv_2 = Conv3XC(feat, feat)
        self.upsampler = nn.Sequential(nn.Conv2d(feat, out_ch * scale * scale, 3, padding=1),
                                       nn.PixelShuffle(scale))

    def forward(self, x):
        if self.norm:
            x = (x - self.mean.to(x.dtype)) * 255.0
        features = self.conv_1(x)
        y = features
        first_block = None
        last_first = None
        for i in range(1, self.blocks + 1):
            y, last_first = getattr(self, "block_%d" % i)(y)
            if i == 1:
                first_block = y
        mixed = self.conv_cat(torch.cat([features, self.conv_2(y), first_block, last_first], 1))
        return self.upsampler(mixed)


# ---------------------------------------------------------------------------------------------
# PLKSR / RealPLKSR


class PartialLargeKernel(nn.Module):
    """A k x k conv on the first `part` channels; the others pass through unchanged."""

    def __init__(self, part, kernel):
        super().__init__()
        self.part = part
        self.conv = nn.Conv2d(part, part, kernel, padding=kernel // 2)

    def forward(self, x):
        head, rest = x[:, :self.part], x[:, self.part:]
        return torch.cat([self.conv(head), rest], 1)


class Gate(nn.Module):
    """Element-wise attention: x * sigmoid(conv3x3(x))."""

    def __init__(self, dim):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1), nn.Sigmoid())

    def forward(self, x):
        return x * self.f(x)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of (B, C, H, W), eps 1e-6 (RealPLKSR's, MoSR's)."""

    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        t = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.weight, self.bias, 1e-6)
        return t.permute(0, 3, 1, 2)


class PLKBlock(nn.Module):
    def __init__(self, dim, part, kernel, mixer, attention, real, layer_norm=False):
        super().__init__()
        self.layer_norm = ChannelLayerNorm(dim) if layer_norm else nn.Identity()
        k0, k2 = {"CCM": (3, 1), "ICCM": (1, 3), "DCCM": (3, 3)}[mixer]
        layers = nn.Sequential(nn.Conv2d(dim, 2 * dim, k0, padding=k0 // 2),
                               nn.Mish() if real else nn.GELU(),
                               nn.Conv2d(2 * dim, dim, k2, padding=k2 // 2))
        # The released PLKSR code spells it "channe_mixer"; RealPLKSR "channel_mixer".
        setattr(self, "channel_mixer" if real else "channe_mixer", layers)
        self.mixer = layers
        self.lk = PartialLargeKernel(part, kernel)
        self.attn = Gate(dim) if attention else nn.Identity()
        self.refine = nn.Conv2d(dim, dim, 1)
        self.norm = nn.GroupNorm(4, dim) if real and not layer_norm else nn.Identity()

    def forward(self, x):
        y = self.mixer(self.layer_norm(x))
        return self.norm(self.refine(self.attn(self.lk(y)))) + x


class PLKSR(nn.Module):
    def __init__(self, dim, blocks, scale, part, kernel, mixer, attention, real, layer_norm=False,
                 dysample=False):
        super().__init__()
        self.scale = scale
        layers = [nn.Conv2d(3, dim, 3, padding=1)]
        layers += [PLKBlock(dim, part, kernel, mixer, attention, real, layer_norm)
                   for _ in range(blocks)]
        if real:
            layers.append(nn.Dropout2d(0.5))  # training only: eval() makes it the identity
        layers.append(nn.Conv2d(dim, 3 * scale * scale, 3, padding=1))
        self.feats = nn.Sequential(*layers)
        # RealPLKSR's DySample: 3 groups at odd scales, else 4; an end conv unless at x1.
        self.to_img = (DySample(3 * scale * scale, 3, scale, 3 if scale % 2 else 4, scale != 1)
                       if dysample else None)

    def forward(self, x):
        s2 = self.scale * self.scale
        y = self.feats(x) + x.repeat_interleave(s2, dim=1)
        return self.to_img(y) if self.to_img is not None else F.pixel_shuffle(y, self.scale)


def plain_state(model):
    """The state dict without the second name each mixer has here (self.mixer)."""
    return collections.OrderedDict((k, v) for k, v in model.state_dict().items()
                                   if ".mixer." not in k)


def make_plksr_fixtures(written):
    # stem, seed, dim, blocks, scale, part, kernel, mixer, attention, real, input, safetensors
    nets = [
        ("plksr_tiny_x4", 1411, 8, 2, 4, 2, 17, "CCM", True, False, (1, 3, 12, 10), True),
        ("plksr_tiny_x2_dccm_noea", 1412, 8, 1, 2, 4, 9, "DCCM", False, False, (1, 3, 9, 13),
         False),
        ("plksr_tiny_x3_iccm", 1413, 6, 1, 3, 6, 13, "ICCM", True, False, (1, 3, 8, 7), False),
        ("realplksr_tiny_x4", 1414, 8, 2, 4, 2, 17, "DCCM", True, True, (1, 3, 11, 12), True),
        ("realplksr_tiny_x1", 1415, 8, 1, 1, 2, 7, "DCCM", True, True, (1, 3, 10, 9), False),
        # RealPLKSR with DySample (x4: 4 groups; x3: 3 groups and the LayerNorm blocks).
        ("realplksr_tiny_x4_dysample", 1416, 8, 1, 4, 2, 9, "DCCM", True, True, (1, 3, 9, 11),
         False),
        ("realplksr_tiny_x3_dysample_layernorm", 1417, 8, 2, 3, 2, 7, "DCCM", True, True,
         (1, 3, 10, 8), False),
    ]
    for stem, seed, dim, blocks, scale, part, kernel, mixer, att, real, shape, with_st in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = PLKSR(dim, blocks, scale, part, kernel, mixer, att, real,
                      layer_norm="layernorm" in stem, dysample="dysample" in stem)
        randomize(model, generator, 1.0)
        if real:  # GroupNorm affine weights near 1
            with torch.no_grad():
                for name, p in model.named_parameters():
                    if name.endswith("norm.weight"):  # GroupNorm and LayerNorm
                        p.add_(1.0)
        state = plain_state(model)
        x = torch.rand(shape, generator=generator, dtype=torch.float32)
        y = run64(model, state, x)
        assert tuple(y.shape) == (1, 3, shape[2] * scale, shape[3] * scale), y.shape
        path = os.path.join(OUT, stem + ".pth")
        torch.save(state, path)
        written += [path, write_io(stem, x, y)]
        if with_st:
            st = os.path.join(OUT, stem + ".safetensors")
            write_safetensors(st, {k: v.numpy() for k, v in state.items()}, {})
            written.append(st)
        print("%s: output range %.3f .. %.3f" % (stem, y.min().item(), y.max().item()))


def randomize(model, generator, first_gain):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("eval_conv") or ".eval_conv." in name:
                p.zero_()
                continue
            fan_in = p[0].numel() if p.dim() > 1 else 1
            scale = 0.05 if name.endswith(".bias") else 0.8 / fan_in ** 0.5
            if name.startswith("conv_1."):
                scale *= first_gain
            p.copy_(torch.randn(p.shape, generator=generator) * scale)


def run64(model, state, x):
    model64 = model.double().eval()
    model64.load_state_dict({k: v.double() for k, v in state.items()}, strict=False)
    loaded = set(state)
    for k in model64.state_dict():
        assert k in loaded or ".mixer." in k, k
    with torch.no_grad():
        return model64(x.double()).to(torch.float32)


def report(written):
    """Prints each written file with its size and hash (the fixtures are deterministic)."""
    for path in written:
        with open(path, "rb") as f:
            data = f.read()
        print("wrote %s (%d bytes, sha256 %s)"
              % (os.path.relpath(path, ROOT), len(data), hashlib.sha256(data).hexdigest()[:16]))


def save_fixture(stem, model, x, with_st, written):
    """The output of `model` on x computed in float64, then the state dict as .pth (and
    .safetensors when `with_st`) and the input/output pair as <stem>.io.safetensors."""
    model64 = model.double().eval()
    with torch.no_grad():
        y = model64(x.double()).to(torch.float32)
    model.float()
    state = model.state_dict()
    path = os.path.join(OUT, stem + ".pth")
    torch.save(state, path)
    written += [path, write_io(stem, x, y)]
    if with_st:
        st = os.path.join(OUT, stem + ".safetensors")
        write_safetensors(st, {k: v.float().numpy() for k, v in state.items()}, {})
        written.append(st)
    print("%s: output range %.3f .. %.3f" % (stem, y.min().item(), y.max().item()))
    return y


def write_io(stem, x, y):
    path = os.path.join(OUT, stem + ".io.safetensors")
    write_safetensors(
        path, {"input": x.numpy(), "output": y.numpy()},
        {"format": "hires", "model": stem,
         "note": "output = model(input) computed by PyTorch in float64, stored as F32"})
    return path


def make_span_fixtures(written):
    # stem, seed, in/out channels, features, blocks, scale, norm, input shape, also safetensors
    nets = [
        ("span_tiny_x4", 1401, 3, 4, 6, 4, True, (1, 3, 9, 11), True),
        ("span_tiny_x2_nonorm", 1402, 3, 4, 2, 2, False, (1, 3, 10, 8), True),
        ("span_tiny_x3", 1403, 3, 6, 1, 3, True, (1, 3, 7, 6), False),
        ("span_tiny_x1_nonorm", 1404, 3, 4, 2, 1, False, (1, 3, 12, 9), False),
    ]
    for stem, seed, ch, feat, blocks, scale, norm, shape, with_st in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = SPAN(ch, ch, feat, blocks, scale, norm)
        randomize(model, generator, 1.0 / 255.0 if norm else 1.0)
        state = model.state_dict()
        x = torch.rand(shape, generator=generator, dtype=torch.float32)
        y = run64(model, state, x)
        assert tuple(y.shape) == (1, ch, shape[2] * scale, shape[3] * scale), y.shape
        path = os.path.join(OUT, stem + ".pth")
        torch.save(state, path)
        written += [path, write_io(stem, x, y)]
        if with_st:
            st = os.path.join(OUT, stem + ".safetensors")
            write_safetensors(st, {k: v.numpy() for k, v in state.items()}, {})
            written.append(st)
        print("%s: output range %.3f .. %.3f" % (stem, y.min().item(), y.max().item()))


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    written = []
    make_span_fixtures(written)
    make_plksr_fixtures(written)
    report(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
