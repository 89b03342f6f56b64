#!/usr/bin/python3
"""Writes the SRFormer fixtures in tests/archs/ (issue 14).

SRFormer: Zhou, Li, Tang, Yao, Cheng and Hou, "SRFormer: Permuted Self-Attention for Single
Image Super-Resolution", ICCV 2023. SwinIR's layout (tools/make_swin_fixtures.py's SwinIR, whose
blocks are replaced here) with permuted self-attention blocks:
- PSA: q = Linear(C, C) on every pixel; kv = Linear(C, C/2), split into k and v of C/4 channels;
  within each (shifted) window the keys and values are its 2x2 pixel blocks, each block's four
  pixels' C/4 channels side by side (row-major pixels, C channels per key), so a window of
  ws x ws queries attends to (ws/2)^2 keys. The relative position bias is that of the query's
  block and the key block on the half-size grid (table (ws - 1)^2 rows). On shifted windows the
  keys' regions for the mask are taken on the half-size grid with half the shift (rounded up),
  as the released checkpoints were trained.
- ConvFFN: fc1, GELU, plus GELU(5x5 depth-wise conv) of that, fc2.
Released checkpoints carry the `aligned_relative_position_index` and `attn_mask` buffers: these
files do too, so that hires is shown to ignore them.

Run with Debian's Python (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_srformer_fixtures.py

The output is deterministic: running it again writes the same bytes.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_arch_fixtures import OUT, report, save_fixture  # noqa: E402
from make_swin_fixtures import SwinIR, from_windows, randomize, shift_labels, to_windows  # noqa


def block_index(ws):
    """Row of the bias table for query pixel a of a ws x ws window and key block b of the
    (ws/2) x (ws/2) blocks: the relative position of a's block and b."""
    pw = ws // 2
    ys, xs = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")
    by, bx = torch.meshgrid(torch.arange(pw), torch.arange(pw), indexing="ij")
    dy = (ys.reshape(-1) // 2)[:, None] - by.reshape(-1)[None, :] + pw - 1
    dx = (xs.reshape(-1) // 2)[:, None] - bx.reshape(-1)[None, :] + pw - 1
    return dy * (2 * pw - 1) + dx


class PSA(nn.Module):
    def __init__(self, dim, heads, ws):
        super().__init__()
        self.heads, self.ws = heads, ws
        self.scale = (dim // heads) ** -0.5
        pw = ws // 2
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * pw - 1) ** 2, heads))
        self.register_buffer("aligned_relative_position_index", block_index(ws))
        self.kv = nn.Linear(dim, dim // 2)
        self.q = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, t, mask):
        """t: (windows, ws*ws, C) in row order; mask: (windows, ws*ws, (ws/2)^2) or None."""
        nw, n, c = t.shape
        ws, pw, heads, d = self.ws, self.ws // 2, self.heads, c // self.heads
        k, v = self.kv(t).chunk(2, -1)  # (nw, n, C/4) each

        def blocks(u):  # (nw, pw*pw, C): each 2x2 block's pixels' channels side by side
            u = u.view(nw, pw, 2, pw, 2, c // 4).permute(0, 1, 3, 2, 4, 5)
            return u.reshape(nw, pw * pw, c)

        q = self.q(t).view(nw, n, heads, d).transpose(1, 2) * self.scale
        kh = blocks(k).view(nw, pw * pw, heads, d).transpose(1, 2)
        vh = blocks(v).view(nw, pw * pw, heads, d).transpose(1, 2)
        bias = self.relative_position_bias_table[self.aligned_relative_position_index.reshape(-1)]
        logits = q @ kh.transpose(-2, -1) + bias.view(n, pw * pw, heads).permute(2, 0, 1)[None]
        if mask is not None:
            logits = logits + mask[:, None]
        out = (logits.softmax(-1) @ vh).transpose(1, 2).reshape(nw, n, c)
        return self.proj(out)


class DWConv(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.depthwise_conv = nn.Sequential(
            nn.Conv2d(hidden, hidden, 5, padding=2, groups=hidden), nn.GELU())


class ConvFFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.dwconv = DWConv(hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        """x: (B, H, W, C)."""
        h = self.act(self.fc1(x))
        d = self.dwconv.depthwise_conv(h.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.fc2(h + d)


class PSABlock(nn.Module):
    def __init__(self, dim, heads, ws, shift, hidden, mask_size):
        super().__init__()
        self.ws, self.shift = ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = PSA(dim, heads, ws)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = ConvFFN(dim, hidden)
        if shift > 0:
            # Released checkpoints carry the mask for their training size: a stale buffer.
            self.register_buffer("attn_mask", self.mask(mask_size, mask_size, "cpu"))

    def mask(self, h, w, device):
        ws, pw = self.ws, self.ws // 2
        queries = to_windows(shift_labels(h, w, ws, self.shift, device)[None, :, :, None],
                             ws)[..., 0]
        # Half the shift rounded up: the released mask's `-shift_size // 2` floors -shift / 2.
        keys = to_windows(shift_labels(h // 2, w // 2, pw, (self.shift + 1) // 2,
                                       device)[None, :, :, None], pw)[..., 0]
        return (queries[:, :, None] != keys[:, None, :]).to(torch.float64) * -100.0

    def forward(self, x):
        """x: (B, H, W, C)."""
        b, h, w, c = x.shape
        n = self.norm1(x)
        if self.shift:
            n = torch.roll(n, (-self.shift, -self.shift), (1, 2))
        mask = self.mask(h, w, x.device).to(x.dtype) if self.shift else None
        y = from_windows(self.attn(to_windows(n, self.ws), mask), self.ws, b, h, w)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), (1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))


def srformer(in_ch, embed, depths, heads, ws, mlp_ratio, scale, upsampler, three=False):
    """SwinIR's frame with PSA blocks in every residual group."""
    model = SwinIR(in_ch, embed, depths, heads, ws, mlp_ratio, scale, upsampler, three, num_feat=8)
    hidden = int(embed * mlp_ratio)
    for layer, depth, h in zip(model.layers, depths, heads):
        layer.residual_group.blocks = nn.ModuleList(
            [PSABlock(embed, h, ws, 0 if i % 2 == 0 else ws // 2, hidden, 2 * ws)
             for i in range(depth)])
    return model


def make_srformer_fixtures(written):
    # stem, seed, embed, depths, heads, window, mlp ratio, scale, upsampler, 3conv, input (H, W),
    # also safetensors. Window 6 shifts by 3: the keys' mask regions shift by 2 on the half grid.
    nets = [
        ("srformer_tiny_x4", 1451, 16, (2, 2), (2, 4), 8, 2.0, 4, "pixelshuffle", False,
         (13, 10), True),
        ("srformer_tiny_x2_light", 1452, 12, (2,), (3,), 4, 2.0, 2, "pixelshuffledirect", False,
         (9, 7), False),
        ("srformer_tiny_x3_w6", 1453, 8, (2,), (2,), 6, 1.5, 3, "pixelshuffle", True, (8, 9),
         False),
    ]
    for (stem, seed, embed, depths, heads, ws, ratio, scale, up, three, size, with_st) in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = srformer(3, embed, depths, heads, ws, ratio, scale, up, three)
        randomize(model, generator)
        x = torch.rand((1, 3) + size, generator=generator, dtype=torch.float32)
        y = save_fixture(stem, model, x, with_st, written)
        assert tuple(y.shape) == (1, 3, size[0] * scale, size[1] * scale), y.shape


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    written = []
    make_srformer_fixtures(written)
    report(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
