#!/usr/bin/python3
"""Writes the DRCT fixtures in tests/archs/ (issue 14).

DRCT: Hsu, Lee and Chou, "DRCT: Saving Image Super-Resolution away from Information Bottleneck",
CVPRW 2024. SwinIR's layout (tools/make_swin_fixtures.py) whose residual groups are residual
dense groups: five Swin blocks, each on the concatenation of the group input and the previous
blocks' outputs after a 1x1 conv to `growth` channels (LeakyReLU 0.2), the last 1x1 conv back to
the embedding, added to the group input at 0.2. Block k works on embed + (k - 1) x growth
channels with `heads - width % heads` heads, shifted windows on blocks 2 and 4, and an MLP of
mlp ratio x width on blocks 1 to 3 and 1 x width on blocks 4 and 5 (as the paper's released
checkpoints are shaped). Tiny random-weight networks, outputs in float64, written like the
other architecture fixtures (tools/make_arch_fixtures.py's save_fixture).

Run with Debian's Python (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_drct_fixtures.py

The output is deterministic: running it again writes the same bytes.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_arch_fixtures import OUT, report, save_fixture  # noqa: E402
from make_swin_fixtures import (RGB_MEAN, PatchNorm, SwinBlock,  # noqa: E402
                                add_pixelshuffle_tail, channel_norm, randomize)

BLOCKS = 5


class RDG(nn.Module):
    def __init__(self, dim, heads, ws, ratio, growth):
        super().__init__()
        for k in range(1, BLOCKS + 1):
            width = dim + (k - 1) * growth
            hidden = int(width * ratio) if k <= 3 else width
            shift = ws // 2 if k % 2 == 0 else 0
            block = SwinBlock(width, heads - width % heads, ws, shift, hidden, 2 * ws)
            setattr(self, "swin%d" % k, block)
            setattr(self, "adjust%d" % k, nn.Conv2d(width, growth if k < BLOCKS else dim, 1))

    def forward(self, x):
        """x: (B, H, W, C)."""
        feats = [x]
        for k in range(1, BLOCKS + 1):
            y = getattr(self, "swin%d" % k)(torch.cat(feats, -1))
            y = getattr(self, "adjust%d" % k)(y.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
            if k < BLOCKS:
                feats.append(F.leaky_relu(y, 0.2))
        return x + 0.2 * y


class DRCT(nn.Module):
    def __init__(self, embed, heads, ws, ratio, growth, scale, patch_norm=True, conv_after=True,
                 num_feat=8):
        super().__init__()
        self.ws, self.scale = ws, scale
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        self.conv_first = nn.Conv2d(3, embed, 3, padding=1)
        self.patch_embed = PatchNorm(embed) if patch_norm else None
        self.layers = nn.ModuleList([RDG(embed, h, ws, ratio, growth) for h in heads])
        self.norm = nn.LayerNorm(embed)
        self.conv_after_body = (nn.Conv2d(embed, embed, 3, padding=1) if conv_after
                                else nn.Identity())
        add_pixelshuffle_tail(self, embed, num_feat, scale)

    def forward(self, x):
        h, w = x.shape[2:]
        x = F.pad(x, (0, (-w) % self.ws, 0, (-h) % self.ws), mode="reflect")
        x = x - self.mean.to(x.dtype)
        first = self.conv_first(x)
        t = first if self.patch_embed is None else channel_norm(self.patch_embed.norm, first)
        t = t.permute(0, 2, 3, 1)
        for layer in self.layers:
            t = layer(t)
        t = self.norm(t).permute(0, 3, 1, 2)
        body = self.conv_after_body(t) + first
        y = self.conv_last(self.upsample(self.conv_before_upsample(body)))
        y = y + self.mean.to(y.dtype)
        return y[:, :, :h * self.scale, :w * self.scale]


def make_drct_fixtures(written):
    # stem, seed, embed, heads per group, window, mlp ratio, growth, scale, patch norm,
    # conv_after_body, input (H, W), also safetensors. Heads 3 on widths 12..28 give blocks of
    # 3, 2, 1, 3 and 2 heads (the released formula).
    nets = [
        ("drct_tiny_x4", 1441, 12, (3, 2), 4, 2.0, 4, 4, True, True, (13, 10), True),
        ("drct_tiny_x2_noconv", 1442, 8, (2,), 8, 1.5, 6, 2, False, False, (14, 13), False),
        ("drct_tiny_x3", 1443, 8, (4,), 4, 2.0, 4, 3, True, True, (9, 8), False),
    ]
    for (stem, seed, embed, heads, ws, ratio, growth, scale, patch_norm, conv_after, size,
         with_st) in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = DRCT(embed, heads, ws, ratio, growth, scale, patch_norm, conv_after)
        randomize(model, generator)
        x = torch.rand((1, 3) + size, generator=generator, dtype=torch.float32)
        y = save_fixture(stem, model, x, with_st, written)
        assert tuple(y.shape) == (1, 3, size[0] * scale, size[1] * scale), y.shape


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    written = []
    make_drct_fixtures(written)
    report(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
