#!/usr/bin/python3
"""Writes the OmniSR fixtures in tests/archs/ (issue 14).

Tiny random-weight networks saved as a plain torch.save of the state dict (.pth) and, for one,
as .safetensors, each with an <stem>.io.safetensors holding a random input and the output PyTorch
computes in float64 (as tools/make_swin_fixtures.py and make_dat_fixtures.py do).

The module is written from the paper, Wang, Li, Chen, Yuan and Wang, "Omni Aggregation Networks
for Lightweight Image Super-Resolution", CVPR 2023, independent of the C++ code; parameter names
follow the released checkpoints (Sequential indices included) so that hires reads these files as
it reads downloaded ones. What the paper describes, and how it is computed here:
- The input is zero-padded to a multiple of the window; a 3x3 conv; residual groups (OSAG); a
  3x3 conv plus the first features; a conv and pixel shuffle; the output cropped back.
- OSAG: omni self-attention blocks, a 1x1 conv, plus the group's input, then ESA (1x1 conv to
  max(C/4, 16), a stride-2 3x3 conv without padding, 7x7 max pooling with stride 3, a 3x3 conv,
  bilinear resize back, plus a 1x1 conv of the first, a 1x1 conv, sigmoid, times the input).
- OSA block: MBConv (1x1, GELU, depth-wise 3x3, GELU, squeeze-excitation with bias-free Linears
  and SiLU, 1x1; residual); local window self-attention (4 heads, LayerNorm first, bias-free
  projections, relative position bias); a gated conv FFN (LayerNorm2d eps 1e-6, 1x1 to twice the
  width, depth-wise 3x3, GELU of the first half times the second, 1x1); channel self-attention
  within each window (q, k L2-normalised over the window's pixels, temperature per head); FFN;
  then the "grid" versions: window attention over pixels H/window apart, channel attention over
  pixels `window` apart (same phase); FFN. Every one with its residual.
Windows are formed here with explicit index arithmetic rather than reshapes.

Run with Debian's Python (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_omnisr_fixtures.py

The output is deterministic: running it again writes the same bytes.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_safetensors  # noqa: E402
from make_arch_fixtures import OUT, report, save_fixture  # noqa: E402


def window_index(h, w, ws, grid):
    """(windows, tokens) pixel indices into the flattened H x W map: blocks of ws x ws, or with
    `grid` the pixels (H/ws, W/ws) apart."""
    ys = torch.arange(h)
    xs = torch.arange(w)
    if grid:  # window (gy, gx), token (i, j) is pixel (i * h/ws + gy, j * w/ws + gx)
        wy, ty = ys % (h // ws), ys // (h // ws)
        wx, tx = xs % (w // ws), xs // (w // ws)
    else:
        wy, ty = ys // ws, ys % ws
        wx, tx = xs // ws, xs % ws
    window = wy[:, None] * (w // ws) + wx[None, :]
    token = ty[:, None] * ws + tx[None, :]
    index = torch.empty(((h // ws) * (w // ws), ws * ws), dtype=torch.long)
    index[window.reshape(-1), token.reshape(-1)] = torch.arange(h * w)
    return index


class LayerNorm2d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        mu = x.mean(1, keepdim=True)
        var = ((x - mu) ** 2).mean(1, keepdim=True)
        return self.weight[:, None, None] * (x - mu) / torch.sqrt(var + 1e-6) + \
            self.bias[:, None, None]


class SE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate = nn.Sequential(nn.Identity(), nn.Linear(c, c // 4, bias=False), nn.SiLU(),
                                  nn.Linear(c // 4, c, bias=False), nn.Sigmoid())

    def forward(self, x):
        return x * self.gate[1:](x.mean((2, 3)))[:, :, None, None]


class MBConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fn = nn.Sequential(nn.Conv2d(c, c, 1), nn.GELU(), nn.Conv2d(c, c, 3, 1, 1, groups=c),
                                nn.GELU(), SE(c), nn.Conv2d(c, c, 1))

    def forward(self, x):
        return x + self.fn(x)


class Attention(nn.Module):
    def __init__(self, c, ws, pe):
        super().__init__()
        self.heads, self.ws = 4, ws
        self.to_qkv = nn.Linear(c, 3 * c, bias=False)
        self.to_out = nn.Sequential(nn.Linear(c, c, bias=False))
        if pe:
            self.rel_pos_bias = nn.Embedding((2 * ws - 1) ** 2, self.heads)
        self.pe = pe

    def forward(self, tokens):  # (windows, n, C)
        nw, n, c = tokens.shape
        d = c // self.heads
        q, k, v = self.to_qkv(tokens).reshape(nw, n, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        sim = (q * d ** -0.5) @ k.transpose(-1, -2)
        if self.pe:
            ii = torch.arange(n)
            dy = ii[:, None] // self.ws - ii[None, :] // self.ws + self.ws - 1
            dx = ii[:, None] % self.ws - ii[None, :] % self.ws + self.ws - 1
            sim = sim + self.rel_pos_bias.weight[dy * (2 * self.ws - 1) + dx].permute(2, 0, 1)
        out = (torch.softmax(sim, -1) @ v).permute(0, 2, 1, 3).reshape(nw, n, c)
        return self.to_out(out)


class WindowAttention(nn.Module):
    """PreNormResidual(Attention) on block or grid windows."""

    def __init__(self, c, ws, pe, grid):
        super().__init__()
        self.norm = nn.LayerNorm(c)
        self.fn = Attention(c, ws, pe)
        self.ws, self.grid = ws, grid

    def forward(self, x):
        _, c, h, w = x.shape
        index = window_index(h, w, self.ws, self.grid)
        flat = x[0].reshape(c, -1).t()  # pixels, C
        out = self.fn(self.norm(flat)[index])  # windows, tokens, C
        y = torch.empty_like(flat)
        y[index.reshape(-1)] = out.reshape(-1, c)
        return x + y.t().reshape(1, c, h, w)


class GatedFF(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = LayerNorm2d(c)
        self.fn = nn.Module()
        self.fn.project_in = nn.Conv2d(c, 2 * c, 1, bias=False)
        self.fn.dwconv = nn.Conv2d(2 * c, 2 * c, 3, 1, 1, groups=2 * c, bias=False)
        self.fn.project_out = nn.Conv2d(c, c, 1, bias=False)

    def forward(self, x):
        a, b = self.fn.dwconv(self.fn.project_in(self.norm(x))).chunk(2, 1)
        return x + self.fn.project_out(F.gelu(a) * b)


class ChannelAttention(nn.Module):
    def __init__(self, c, ws, grid):
        super().__init__()
        self.norm = LayerNorm2d(c)
        self.fn = nn.Module()
        self.fn.temperature = nn.Parameter(torch.ones(4, 1, 1))
        self.fn.qkv = nn.Conv2d(c, 3 * c, 1, bias=False)
        self.fn.qkv_dwconv = nn.Conv2d(3 * c, 3 * c, 3, 1, 1, groups=3 * c, bias=False)
        self.fn.project_out = nn.Conv2d(c, c, 1, bias=False)
        self.ws, self.grid = ws, grid

    def forward(self, x):
        _, c, h, w = x.shape
        qkv = self.fn.qkv_dwconv(self.fn.qkv(self.norm(x)))[0].reshape(3 * c, -1)
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        if self.grid:  # pixels `ws` apart: the same phase
            group = (ys % self.ws) * self.ws + xs % self.ws
        else:
            group = (ys // self.ws) * (w // self.ws) + xs // self.ws
        order = torch.argsort(group.reshape(-1), stable=True)  # pixels of group 0, then 1, ...
        groups = int(group.max()) + 1
        d = c // 4
        # (groups, 3, heads, d, pixels per group)
        t = qkv[:, order].reshape(3, 4, d, groups, -1).permute(3, 0, 1, 2, 4)
        q = F.normalize(t[:, 0], dim=-1)
        k = F.normalize(t[:, 1], dim=-1)
        att = torch.softmax(q @ k.transpose(-1, -2) * self.fn.temperature, -1)
        mixed = (att @ t[:, 2]).permute(1, 2, 0, 3).reshape(c, -1)  # C, pixels in group order
        out = torch.empty(c, h * w, dtype=x.dtype)
        out[:, order] = mixed
        return x + self.fn.project_out(out.reshape(1, c, h, w))


class OSABlock(nn.Module):
    def __init__(self, c, ws, pe):
        super().__init__()
        self.layer = nn.Sequential(
            MBConv(c), nn.Identity(), WindowAttention(c, ws, pe, False), nn.Identity(),
            GatedFF(c), ChannelAttention(c, ws, False), GatedFF(c), nn.Identity(),
            WindowAttention(c, ws, pe, True), nn.Identity(), GatedFF(c),
            ChannelAttention(c, ws, True), GatedFF(c))

    def forward(self, x):
        return self.layer(x)


class ESA(nn.Module):
    def __init__(self, f, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv2 = nn.Conv2d(f, f, 3, 2, 0)
        self.conv3 = nn.Conv2d(f, f, 3, 1, 1)
        self.conv4 = nn.Conv2d(f, c, 1)

    def forward(self, x):
        c1 = self.conv1(x)
        c3 = self.conv3(F.max_pool2d(self.conv2(c1), 7, 3))
        c3 = F.interpolate(c3, x.shape[2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(c3 + self.conv_f(c1)))


class OSAG(nn.Module):
    def __init__(self, c, blocks, ws, pe, bias):
        super().__init__()
        self.residual_layer = nn.Sequential(*[OSABlock(c, ws, pe) for _ in range(blocks)],
                                            nn.Conv2d(c, c, 1, bias=bias))
        self.esa = ESA(max(c // 4, 16), c)

    def forward(self, x):
        return self.esa(self.residual_layer(x) + x)


class OmniSR(nn.Module):
    def __init__(self, c, groups, blocks, ws, pe, scale, bias):
        super().__init__()
        self.ws, self.scale = ws, scale
        self.input = nn.Conv2d(3, c, 3, 1, 1, bias=bias)
        self.residual_layer = nn.Sequential(*[OSAG(c, blocks, ws, pe, bias)
                                              for _ in range(groups)])
        self.output = nn.Conv2d(c, c, 3, 1, 1, bias=bias)
        self.up = nn.Sequential(nn.Conv2d(c, 3 * scale * scale, 3, 1, 1, bias=bias),
                                nn.PixelShuffle(scale))

    def forward(self, x):
        h, w = x.shape[2:]
        x = F.pad(x, (0, (-w) % self.ws, 0, (-h) % self.ws))
        first = self.input(x)
        y = self.up(self.output(self.residual_layer(first)) + first)
        return y[:, :, :h * self.scale, :w * self.scale]


def randomize(model, generator):
    """Weights ~ N(0, 0.8 / sqrt(fan-in)), biases ~ N(0, 0.05); norm weights near 1;
    temperatures 1 to 3; position biases ~ N(0, 0.5)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("temperature"):
                p.copy_(1.0 + 2.0 * torch.rand(p.shape, generator=generator))
            elif "rel_pos_bias" in name:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.5)
            elif ".norm." in name:
                base = 1.0 if name.endswith(".weight") else 0.0
                p.copy_(base + torch.randn(p.shape, generator=generator) * 0.1)
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                scale = 0.05 if name.endswith(".bias") else 0.8 / fan_in ** 0.5
                p.copy_(torch.randn(p.shape, generator=generator) * scale)


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    written = []
    # stem, seed, features, groups, blocks, window, pe, scale, bias, input (H, W), safetensors.
    # ESA's pooling needs 15 pixels a side after padding.
    nets = [
        ("omnisr_tiny_x4", 1451, 16, 2, 1, 4, True, 4, True, (17, 19), True),
        ("omnisr_tiny_x2_nope", 1452, 8, 1, 2, 8, False, 2, False, (16, 21), False),
        ("omnisr_tiny_x3", 1453, 12, 1, 1, 4, True, 3, True, (15, 16), False),
    ]
    for stem, seed, c, groups, blocks, ws, pe, scale, bias, size, with_st in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = OmniSR(c, groups, blocks, ws, pe, scale, bias)
        randomize(model, generator)
        x = torch.rand((1, 3) + size, generator=generator, dtype=torch.float32)
        y = save_fixture(stem, model, x, with_st, written)
        assert tuple(y.shape) == (1, 3, size[0] * scale, size[1] * scale), y.shape
    report(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
