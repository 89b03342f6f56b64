#!/usr/bin/python3
"""Writes the Real-CUGAN .pth fixtures in tests/archs/ (issue 14).

Real-CUGAN (bilibili/ailab's UpCunet v3, MIT) with the parameter names of its released PyTorch
files, written here from its published structure (see also tools/make_cugan_fixture.py, which
writes the ncnn form): UNetConv = conv3x3 (unpadded), LeakyReLU(0.1), conv3x3, LeakyReLU, then an
SE block (mean, 1x1 conv down by 8, ReLU, 1x1 conv up, sigmoid, times) where marked. UNet1: conv1
(no SE), conv1_down (2x2 stride 2) + LeakyReLU, conv2 (SE), conv2_up (transposed 2x2 stride 2)
+ LeakyReLU, added to conv1's output cropped by 4, conv3 + LeakyReLU, conv_bottom (transposed
4x4 stride 2 pad 3; 5x5 stride 3 pad 2 at x3). UNet2: one level more (conv2_down, conv3 with SE,
conv3_up, conv4 with SE on the sum, conv4_up, conv5 on the sum with conv1's output cropped by
16), conv_bottom an unpadded 3x3 conv. The forward passes: reflect padding by 18 (x2), 14 (x3),
19 (x4) or 38 (x2 fast) and to a multiple of 2 (x3 and x2 fast: 4) in one pad; UNet2(UNet1(x))
plus UNet1's output cropped by 20; at x4 and x2 fast a 3x3 conv_final, crop 1, pixel shuffle; cropped to the
scaled size; at x4 and fast the input enlarged by nearest neighbour added; the fast one works on
the image pixel-unshuffled by 2; 'pro' files (a "pro" buffer) run on x * 0.7 + 0.15. Widths
shrunk (32, 64, 128, 256 -> 4, 8, 8, 8), random weights, outputs in float64.

    /usr/bin/python3 tools/make_cugan_pth_fixtures.py
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_arch_fixtures import report, save_fixture  # noqa: E402
from make_cugan_fixture import crop, lrelu  # noqa: E402

W = {32: 4, 64: 8, 128: 8, 256: 8}


class SEBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c // 8, 1)
        self.conv2 = nn.Conv2d(c // 8, c, 1)

    def forward(self, x):
        m = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.conv2(F.relu(self.conv1(m))))


class UNetConv(nn.Module):
    def __init__(self, cin, mid, out, se):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(cin, mid, 3), nn.LeakyReLU(0.1),
                                  nn.Conv2d(mid, out, 3), nn.LeakyReLU(0.1))
        self.seblock = SEBlock(out) if se else None

    def forward(self, x):
        y = self.conv(x)
        return self.seblock(y) if self.seblock is not None else y


class UNet1(nn.Module):
    def __init__(self, cin, cout, x3):
        super().__init__()
        self.conv1 = UNetConv(cin, W[32], W[64], False)
        self.conv1_down = nn.Conv2d(W[64], W[64], 2, 2)
        self.conv2 = UNetConv(W[64], W[128], W[64], True)
        self.conv2_up = nn.ConvTranspose2d(W[64], W[64], 2, 2)
        self.conv3 = nn.Conv2d(W[64], W[64], 3)
        self.conv_bottom = (nn.ConvTranspose2d(W[64], cout, 5, 3, 2) if x3
                            else nn.ConvTranspose2d(W[64], cout, 4, 2, 3))

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = lrelu(self.conv2_up(self.conv2(lrelu(self.conv1_down(x1)))))
        return self.conv_bottom(lrelu(self.conv3(crop(x1, 4) + x2)))


class UNet2(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = UNetConv(cin, W[32], W[64], False)
        self.conv1_down = nn.Conv2d(W[64], W[64], 2, 2)
        self.conv2 = UNetConv(W[64], W[64], W[128], True)
        self.conv2_down = nn.Conv2d(W[128], W[128], 2, 2)
        self.conv3 = UNetConv(W[128], W[256], W[128], True)
        self.conv3_up = nn.ConvTranspose2d(W[128], W[128], 2, 2)
        self.conv4 = UNetConv(W[128], W[64], W[64], True)
        self.conv4_up = nn.ConvTranspose2d(W[64], W[64], 2, 2)
        self.conv5 = nn.Conv2d(W[64], W[64], 3)
        self.conv_bottom = nn.Conv2d(W[64], cout, 3)

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = self.conv2(lrelu(self.conv1_down(x1)))
        x3 = lrelu(self.conv3_up(self.conv3(lrelu(self.conv2_down(x2)))))
        x4 = lrelu(self.conv4_up(self.conv4(crop(x2, 4) + x3)))
        return self.conv_bottom(lrelu(self.conv5(crop(x1, 16) + x4)))


class UpCunet(nn.Module):
    def __init__(self, scale, fast, pro):
        super().__init__()
        self.scale, self.fast = scale, fast
        if pro:
            self.register_buffer("pro", torch.zeros(1))
        else:
            self.pro = None
        wide = fast or scale == 4
        cin = 12 if fast else 3
        mid = W[64] if wide else 3
        self.unet1 = UNet1(cin, mid, scale == 3)
        self.unet2 = UNet2(mid, mid)
        if wide:
            self.conv_final = nn.Conv2d(W[64], 12, 3)

    def forward(self, x):
        h, w = x.shape[2:]
        if self.pro is not None:
            x = x * 0.7 + 0.15
        # x2 fast: the released code needs sides that are multiples of 4 (callers pad to them).
        m = 4 if self.scale == 3 or self.fast else 2
        p = 38 if self.fast else {2: 18, 3: 14, 4: 19}[self.scale]
        y = F.pad(x, (p, p + (-w) % m, p, p + (-h) % m), mode="reflect")
        if self.fast:
            y = F.pixel_unshuffle(y, 2)
        z = self.unet1(y)
        y = self.unet2(z) + crop(z, 20)
        if self.fast or self.scale == 4:
            y = F.pixel_shuffle(crop(self.conv_final(y), 1), 2)
        y = y[:, :, :h * self.scale, :w * self.scale]
        if self.fast or self.scale == 4:
            y = y + F.interpolate(x, scale_factor=self.scale, mode="nearest")
        if self.pro is not None:
            y = (y - 0.15) / 0.7
        return y


def randomize(model, generator):
    with torch.no_grad():
        for name, p in model.named_parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            if p.dim() == 4 and ("unet1.conv_bottom" in name or "_up." in name):
                fan_in = p.shape[0] * p.shape[2] * p.shape[3] / 4  # transposed: [in, out, k, k]
            scale = 0.05 if name.endswith(".bias") else 0.8 / fan_in ** 0.5
            p.copy_(torch.randn(p.shape, generator=generator) * scale)


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    # stem, seed, scale, fast, pro, input (h, w), also safetensors
    nets = [
        ("realcugan_tiny_x2_pro", 1481, 2, False, True, (20, 23), True),
        ("realcugan_tiny_x3", 1482, 3, False, False, (18, 21), False),
        ("realcugan_tiny_x4", 1483, 4, False, False, (21, 20), False),
        ("realcugan_tiny_x2_fast", 1484, 2, True, False, (40, 44), False),
    ]
    written = []
    for stem, seed, scale, fast, pro, size, with_st in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = UpCunet(scale, fast, pro)
        randomize(model, generator)
        x = torch.rand((1, 3) + size, generator=generator, dtype=torch.float32)
        y = save_fixture(stem, model, x, with_st, written)
        assert tuple(y.shape) == (1, 3, size[0] * scale, size[1] * scale), y.shape
    report(written)


if __name__ == "__main__":
    main()
