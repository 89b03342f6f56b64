#!/usr/bin/python3
"""Writes the RGT fixtures in tests/archs/ (issue 14).

RGT: Chen, Zhang, Gu, Kong, Yang and Yu, "Recursive Generalization Transformer for Image
Super-Resolution", ICLR 2024. DAT's frame and spatial-gate FFN (tools/make_dat_fixtures.py) with
blocks alternating:
- L-SA (even blocks): DAT's rectangle-window attention (half the heads on split rows x columns,
  half on the transposed windows, the dynamic position bias, zero padding to the larger split,
  every fourth block shifted), plus a depth-wise 3x3 conv of v, then a projection;
- RG-SA (odd blocks): the block input reduced t times by a depth-wise 4x4 stride-4 conv, t =
  max(2, floor(log4(H // 16)), floor(log4(W // 16))), then a depth-wise 3x3 conv, a 1x1 conv to
  c_ratio x dim channels, LayerNorm and GELU: a few tokens for the whole image. Every pixel's
  query (Linear to c_ratio x dim) attends to them per head (keys: Linear of the tokens; values:
  Linear to dim plus a depth-wise 3x3 conv of them laid out as the reduced image), scale
  (dim // heads x c_ratio)^-0.5, then a projection;
each block: x + attn(norm1(x)), + ffn(norm2(x)), + gamma x the block's input (layer scale).
Tiny random-weight networks, outputs in float64, written like the other architecture fixtures.

Run with Debian's Python (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_rgt_fixtures.py

The output is deterministic: running it again writes the same bytes.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_arch_fixtures import OUT, report, save_fixture  # noqa: E402
from make_dat_fixtures import (RGB_MEAN, SGFN, WindowBranch, channel_norm,  # noqa: E402
                               randomize, residual_conv)
from make_swin_fixtures import add_pixelshuffle_tail  # noqa: E402


def floor_log(n, base):
    """floor(log_base(n)) for n >= 1 (-1 for 0), in integers."""
    l, p = -1, 1
    while p <= n:
        l, p = l + 1, p * base
    return l


class LSA(nn.Module):
    def __init__(self, dim, heads, split, shift):
        super().__init__()
        self.split, self.do_shift = split, shift
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attns = nn.ModuleList([WindowBranch(dim // 2, heads // 2, split[0], split[1]),
                                    WindowBranch(dim // 2, heads // 2, split[1], split[0])])
        self.get_v = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)
        if shift:  # the released checkpoints carry masks for their training patch: stale
            self.register_buffer("attn_mask_0", torch.zeros(4, 8, 8))
            self.register_buffer("attn_mask_1", torch.zeros(4, 8, 8))

    def forward(self, x):  # x: (1, C, H, W)
        _, c, h, w = x.shape
        q, k, v = self.qkv(x[0].permute(1, 2, 0)).permute(2, 0, 1).chunk(3, 0)
        m = max(self.split)
        pad = (0, (-w) % m, 0, (-h) % m)
        qp, kp, vp = (F.pad(t, pad) for t in (q, k, v))
        half = c // 2
        a = torch.cat([b(qp[i * half:(i + 1) * half], kp[i * half:(i + 1) * half],
                         vp[i * half:(i + 1) * half], self.do_shift)
                       for i, b in enumerate(self.attns)], 0)[:, :h, :w]
        y = a + self.get_v(v[None])[0]
        return self.proj(y.permute(1, 2, 0)).permute(2, 0, 1)[None]


class RGSA(nn.Module):
    def __init__(self, dim, heads, c_ratio):
        super().__init__()
        cr = int(dim * c_ratio)
        self.heads = heads
        self.scale = (dim // heads * c_ratio) ** -0.5
        self.reduction1 = nn.Conv2d(dim, dim, 4, 4, groups=dim)
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)
        self.conv = nn.Conv2d(dim, cr, 1)
        self.norm_act = nn.Sequential(nn.LayerNorm(cr), nn.GELU())
        self.q = nn.Linear(dim, cr)
        self.k = nn.Linear(cr, cr)
        self.v = nn.Linear(cr, dim)
        self.cpe = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):  # x: (1, C, H, W)
        _, c, h, w = x.shape
        times = max(2, floor_log(h // 16, 4), floor_log(w // 16, 4))
        r = x
        for _ in range(times):
            r = self.reduction1(r)
        r = self.conv(self.dwconv(r))
        rh, rw = r.shape[2:]
        tokens = self.norm_act(r[0].reshape(r.shape[1], -1).t())  # (N, cr)
        q = self.q(x[0].reshape(c, -1).t())  # (P, cr)
        k = self.k(tokens)
        v = self.v(tokens)  # (N, C)
        v = v + self.cpe(v.t().reshape(1, c, rh, rw))[0].reshape(c, -1).t()
        dq, dv = q.shape[1] // self.heads, c // self.heads
        out = []
        for hd in range(self.heads):
            scores = q[:, hd * dq:(hd + 1) * dq] @ k[:, hd * dq:(hd + 1) * dq].t() * self.scale
            out.append(torch.softmax(scores, -1) @ v[:, hd * dv:(hd + 1) * dv])
        y = self.proj(torch.cat(out, 1))  # (P, C)
        return y.t().reshape(1, c, h, w)


class Block(nn.Module):
    def __init__(self, dim, heads, split, hidden, c_ratio, group, index):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        if index % 2 == 0:
            shift = (group % 2 == 0 and index > 0 and (index - 2) % 4 == 0) or \
                    (group % 2 == 1 and index % 4 == 0)
            self.attn = LSA(dim, heads, split, shift)
        else:
            self.attn = RGSA(dim, heads, c_ratio)
        self.mlp = SGFN(dim, hidden)
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        y = x + self.attn(channel_norm(self.norm1, x))
        y = y + self.mlp(channel_norm(self.norm2, y))
        return y + x * self.gamma.view(1, -1, 1, 1)


class Group(nn.Module):
    def __init__(self, dim, depth, heads, split, hidden, c_ratio, three, group):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim, heads, split, hidden, c_ratio, group, i)
                                     for i in range(depth)])
        self.conv = residual_conv(dim, three)

    def forward(self, x):
        y = x
        for b in self.blocks:
            y = b(y)
        return x + self.conv(y)


class RGT(nn.Module):
    def __init__(self, dim, depths, heads, split, mlp_ratio, c_ratio, scale, three, num_feat=8):
        super().__init__()
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        self.conv_first = nn.Conv2d(3, dim, 3, 1, 1)
        self.before_RG = nn.Sequential(nn.Identity(), nn.LayerNorm(dim))
        hidden = int(dim * mlp_ratio)
        self.layers = nn.ModuleList([Group(dim, d, h, split, hidden, c_ratio, three, i)
                                     for i, (d, h) in enumerate(zip(depths, heads))])
        self.norm = nn.LayerNorm(dim)
        self.conv_after_body = residual_conv(dim, three)
        add_pixelshuffle_tail(self, dim, num_feat, scale)

    def forward(self, x):
        x = x - self.mean.to(x.dtype)
        first = self.conv_first(x)
        t = channel_norm(self.before_RG[1], first)
        for layer in self.layers:
            t = layer(t)
        body = self.conv_after_body(channel_norm(self.norm, t)) + first
        y = self.conv_last(self.upsample(self.conv_before_upsample(body)))
        return y + self.mean.to(y.dtype)


def make_rgt_fixtures(written):
    # stem, seed, dim, depths, heads, split, mlp ratio, c_ratio, scale, 3conv, input (H, W),
    # also safetensors. RG-SA reduces 40 x 36 to 2 x 2 tokens (twice by 4).
    nets = [
        ("rgt_tiny_x4", 1471, 16, (2, 2), (2, 4), (2, 4), 2.0, 0.5, 4, False, (40, 36), True),
        ("rgt_tiny_x3", 1472, 16, (2,), (2,), (4, 8), 1.5, 0.25, 3, True, (35, 33), False),
    ]
    for (stem, seed, dim, depths, heads, split, ratio, c_ratio, scale, three, size,
         with_st) in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = RGT(dim, depths, heads, split, ratio, c_ratio, scale, three)
        randomize(model, generator)
        with torch.no_grad():  # layer scales of the released size (1e-4 at init), varied
            for name, p in model.named_parameters():
                if name.endswith("gamma"):
                    p.copy_(0.5 * torch.rand(p.shape, generator=generator))
        x = torch.rand((1, 3) + size, generator=generator, dtype=torch.float32)
        y = save_fixture(stem, model, x, with_st, written)
        assert tuple(y.shape) == (1, 3, size[0] * scale, size[1] * scale), y.shape


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    written = []
    make_rgt_fixtures(written)
    report(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
