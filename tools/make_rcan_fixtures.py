#!/usr/bin/python3
"""Writes the RCAN fixtures in tests/archs/ (issue 14).

RCAN (Zhang et al., "Image Super-Resolution Using Very Deep Residual Channel Attention
Networks", ECCV 2018), with the parameter names of the released EDSR-PyTorch-style files: the
image times rgb_range (255) through a 1x1 mean shift ('sub_mean'); a k x k conv ('head'); residual
groups ('body.G'), each a run of residual channel-attention blocks ('body.G.body.B': conv, ReLU,
conv, channel attention = global mean, 1x1 conv down by the reduction, ReLU, 1x1 conv up,
sigmoid, times the features; plus the block input) then a k x k conv, plus the group input; a
k x k conv after the groups plus the head's output; the upsampler ('tail.0': per factor 2 a 3x3
conv to 4x the features and a pixel shuffle, or one to 9x for 3); a k x k conv to the colours
('tail.1'); the inverse mean shift ('add_mean') and the division by rgb_range. Without the mean
shifts the range is 1. The 'unshuffle' variant (scale 1 or 2) pixel-unshuffles the image (reflect
padded to a multiple) by 4 / scale before the head and upsamples by 4. Tiny random-weight
networks, outputs in float64, written like the other architecture fixtures.

Run with Debian's Python (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_rcan_fixtures.py

The output is deterministic: running it again writes the same bytes.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_arch_fixtures import report, save_fixture  # noqa: E402

DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


def conv(cin, cout, k):
    return nn.Conv2d(cin, cout, k, padding=k // 2)


def mean_shift(sign):
    """The 1x1 conv adding (sign 1) or subtracting (-1) 255 x the DIV2K mean (std 1)."""
    m = nn.Conv2d(3, 3, 1)
    with torch.no_grad():
        m.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
        m.bias.copy_(sign * 255.0 * torch.tensor(DIV2K_MEAN))
    return m


class ChannelAttention(nn.Module):
    def __init__(self, feats, reduction):
        super().__init__()
        self.conv_du = nn.Sequential(nn.Conv2d(feats, feats // reduction, 1), nn.ReLU(),
                                     nn.Conv2d(feats // reduction, feats, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.conv_du(x.mean(dim=(2, 3), keepdim=True))


class RCAB(nn.Module):
    def __init__(self, feats, k, reduction):
        super().__init__()
        self.body = nn.Sequential(conv(feats, feats, k), nn.ReLU(), conv(feats, feats, k),
                                  ChannelAttention(feats, reduction))

    def forward(self, x):
        return self.body(x) + x


class Group(nn.Module):
    def __init__(self, feats, k, reduction, blocks):
        super().__init__()
        self.body = nn.Sequential(*[RCAB(feats, k, reduction) for _ in range(blocks)],
                                  conv(feats, feats, k))

    def forward(self, x):
        return self.body(x) + x


def upsampler(feats, scale):
    layers = []
    if scale == 3:
        layers += [conv(feats, 9 * feats, 3), nn.PixelShuffle(3)]
    else:
        s = scale
        while s > 1:
            layers += [conv(feats, 4 * feats, 3), nn.PixelShuffle(2)]
            s //= 2
    return nn.Sequential(*layers)


class RCAN(nn.Module):
    def __init__(self, scale, groups, blocks, feats, k, reduction, norm, unshuffle):
        super().__init__()
        self.scale, self.norm = scale, norm
        self.down = 4 // scale if unshuffle else 1
        if norm:
            self.sub_mean = mean_shift(-1)
            self.add_mean = mean_shift(1)
        if unshuffle:
            self.head = nn.Sequential(nn.PixelUnshuffle(self.down),
                                      conv(3 * self.down * self.down, feats, k))
        else:
            self.head = nn.Sequential(conv(3, feats, k))
        self.body = nn.Sequential(*[Group(feats, k, reduction, blocks) for _ in range(groups)],
                                  conv(feats, feats, k))
        self.tail = nn.Sequential(upsampler(feats, scale * self.down), conv(feats, 3, k))

    def forward(self, x):
        h, w = x.shape[2:]
        x = F.pad(x, (0, (-w) % self.down, 0, (-h) % self.down), mode="reflect")
        rgb_range = 255.0 if self.norm else 1.0
        x = x * rgb_range
        if self.norm:
            x = self.sub_mean(x)
        x = self.head(x)
        x = self.tail(self.body(x) + x)
        if self.norm:
            x = self.add_mean(x)
        return (x / rgb_range)[:, :, :h * self.scale, :w * self.scale]


def randomize(model, generator):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "_mean." in name:
                continue  # the mean shifts as released
            fan_in = p[0].numel() if p.dim() > 1 else 1
            scale = 0.05 if name.endswith(".bias") else 0.8 / fan_in ** 0.5
            p.copy_(torch.randn(p.shape, generator=generator) * scale)


def main():
    # stem, seed, scale, groups, blocks, feats, kernel, reduction, mean shift, unshuffle, input
    # (h, w), also safetensors
    nets = [
        ("rcan_tiny_x4", 1471, 4, 2, 2, 16, 3, 4, True, False, (11, 9), True),
        ("rcan_tiny_x3", 1472, 3, 1, 1, 8, 3, 2, True, False, (8, 10), False),
        ("rcan_tiny_x2_unshuffle", 1473, 2, 1, 2, 8, 3, 2, False, True, (9, 12), False),
        ("rcan_tiny_x1_unshuffle_k5", 1474, 1, 2, 1, 8, 5, 4, True, True, (13, 10), False),
    ]
    written = []
    for (stem, seed, scale, groups, blocks, feats, k, reduction, norm, unshuffle, size,
         with_st) in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = RCAN(scale, groups, blocks, feats, k, reduction, norm, unshuffle)
        randomize(model, generator)
        x = torch.rand((1, 3) + size, generator=generator, dtype=torch.float32)
        y = save_fixture(stem, model, x, with_st, written)
        assert tuple(y.shape) == (1, 3, size[0] * scale, size[1] * scale), y.shape
    report(written)


if __name__ == "__main__":
    main()
