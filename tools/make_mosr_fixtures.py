#!/usr/bin/python3
"""Writes the MoSR fixtures in tests/archs/ (issue 14).

MoSR ("Mamba Out Super-Resolution", neosr 2024) stacks MambaOut's gated CNN block (Yu and Wang,
"MambaOut: Do We Really Need Mamba for Vision?", arXiv 2405.07992), here as the released files
shape it: LayerNorm over the channels (eps 1e-6); a 3x3 conv to 2 x hidden channels split into
the gate, an identity part and the part a depth-wise k x k conv sees; mish(gate) times the
identity and conv parts side by side; a 3x3 conv back to dim; Mish; plus the block input minus
0.5. Before the blocks a 3x3 conv, after them conv 3x3 (2 x dim), Mish, conv 3x3, Mish, conv
1x1, all in one Sequential 'gblocks'; plus a shortcut from the image (two 3x3 convs with Mish
beside a 1x1 conv) minus 0.5; then the upsampler: 'ps' (conv, pixel shuffle), 'gps' (8 convs'
outputs averaged, pixel shuffle) or 'dys' (DySample, tools/dysample_module.py). Tiny
random-weight networks, outputs in float64, written like the other architecture fixtures
(tools/make_arch_fixtures.py's save_fixture).

Run with Debian's Python (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_mosr_fixtures.py

The output is deterministic: running it again writes the same bytes.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_arch_fixtures import OUT, ChannelLayerNorm, report, save_fixture  # noqa: E402
from dysample_module import DySample  # noqa: E402


class GatedBlock(nn.Module):
    def __init__(self, dim, hidden, conv_ch, k):
        super().__init__()
        self.hidden, self.conv_ch = hidden, conv_ch
        self.norm = ChannelLayerNorm(dim)
        self.fc1 = nn.Conv2d(dim, 2 * hidden, 3, padding=1)
        self.conv = nn.Conv2d(conv_ch, conv_ch, k, padding=k // 2, groups=conv_ch)
        self.fc2 = nn.Conv2d(hidden, dim, 3, padding=1)

    def forward(self, x):
        f = self.fc1(self.norm(x))
        gate = f[:, :self.hidden]
        rest = f[:, self.hidden:]
        keep = rest[:, :self.hidden - self.conv_ch]
        conv = self.conv(rest[:, self.hidden - self.conv_ch:])
        y = F.mish(self.fc2(F.mish(gate) * torch.cat([keep, conv], 1)))
        return y + x - 0.5


class Shortcut(nn.Module):
    def __init__(self, in_ch, dim):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(in_ch, dim, 3, padding=1), nn.Mish(),
                                   nn.Conv2d(dim, dim, 3, padding=1), nn.Mish())
        self.conv11 = nn.Conv2d(in_ch, dim, 1)

    def forward(self, x):
        return self.block(x) + self.conv11(x)


class GeoEnsemble(nn.Module):
    def __init__(self, dim, scale, out_ch):
        super().__init__()
        self.scale = scale
        self.in_to_k = nn.Conv2d(dim, 8 * scale * scale * out_ch, 3, padding=1)

    def forward(self, x):
        y = self.in_to_k(x)
        b, c, h, w = y.shape
        return F.pixel_shuffle(y.view(b, 8, c // 8, h, w).mean(1), self.scale)


class MoSR(nn.Module):
    def __init__(self, in_ch, dim, blocks, hidden, conv_ch, k, scale, gps, dys=False):
        super().__init__()
        self.gblocks = nn.Sequential(
            nn.Conv2d(in_ch, dim, 3, padding=1),
            *[GatedBlock(dim, hidden, conv_ch, k) for _ in range(blocks)],
            nn.Conv2d(dim, 2 * dim, 3, padding=1), nn.Mish(),
            nn.Conv2d(2 * dim, dim, 3, padding=1), nn.Mish(), nn.Conv2d(dim, dim, 1))
        self.shortcut = Shortcut(in_ch, dim)
        if dys:  # DySample: 4 groups, a 1x1 end conv to the image channels
            self.upsampler = DySample(dim, in_ch, scale, 4, True)
        elif gps:
            self.upsampler = GeoEnsemble(dim, scale, in_ch)
        else:
            self.upsampler = nn.Sequential(nn.Conv2d(dim, in_ch * scale * scale, 3, padding=1),
                                           nn.PixelShuffle(scale))

    def forward(self, x):
        return self.upsampler(self.gblocks(x) + self.shortcut(x) - 0.5)


def randomize(model, generator):
    """Weights ~ N(0, 0.8 / sqrt(fan-in)), biases ~ N(0, 0.05), norms near 1 and 0."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".norm." in name:
                base = 1.0 if name.endswith(".weight") else 0.0
                p.copy_(base + torch.randn(p.shape, generator=generator) * 0.1)
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                scale = 0.05 if name.endswith(".bias") else 0.8 / fan_in ** 0.5
                p.copy_(torch.randn(p.shape, generator=generator) * scale)


def make_mosr_fixtures(written):
    # stem, seed, dim, blocks, hidden, conv channels, kernel, scale, gps, input (H, W),
    # also safetensors
    nets = [
        ("mosr_tiny_x4", 1461, 8, 2, 12, 8, 7, 4, False, (11, 9), True),
        ("mosr_tiny_x2_gps", 1462, 6, 1, 12, 3, 5, 2, True, (8, 10), False),
        ("mosr_tiny_x3_noident", 1463, 8, 1, 8, 8, 3, 3, False, (7, 6), False),
        ("mosr_tiny_x2_dys", 1464, 8, 1, 12, 8, 5, 2, False, (9, 7), False),
    ]
    for (stem, seed, dim, blocks, hidden, conv_ch, k, scale, gps, size, with_st) in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = MoSR(3, dim, blocks, hidden, conv_ch, k, scale, gps, dys=stem.endswith("_dys"))
        randomize(model, generator)
        x = torch.rand((1, 3) + size, generator=generator, dtype=torch.float32)
        y = save_fixture(stem, model, x, with_st, written)
        assert tuple(y.shape) == (1, 3, size[0] * scale, size[1] * scale), y.shape


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    written = []
    make_mosr_fixtures(written)
    report(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
