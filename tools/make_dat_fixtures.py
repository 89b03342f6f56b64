#!/usr/bin/python3
"""Writes the DAT fixtures in tests/archs/ (issue 14).

Tiny random-weight networks saved as a plain torch.save of the state dict (.pth) and, for one,
as .safetensors, each with an <stem>.io.safetensors holding a random input and the output PyTorch
computes in float64 (as tools/make_swin_fixtures.py does for SwinIR and HAT).

The module is written from the paper, Chen, Zhang, Gu, Zhang, Kong and Yuan, "Dual Aggregation
Transformer for Image Super-Resolution", ICCV 2023, independent of the C++ code; parameter and
buffer names follow the released checkpoints so that hires reads these files as it reads
downloaded ones. What the paper describes, and how it is computed here:
- Blocks alternate spatial window self-attention (even blocks) and channel self-attention (odd
  blocks), each followed by the spatial-gate feed-forward network; LayerNorm before both,
  residuals around both; each residual group ends with a conv (or the 3conv stack) and a residual.
- Spatial attention: q, k, v from one Linear; the first half of the channels (and heads) attends
  in windows of split[0] rows x split[1] columns, the second half in split[1] x split[0] windows.
  The maps are zero-padded at the bottom and right to a multiple of the larger split. Some blocks
  (the released schedule: blocks 2, 6, ... of even groups, 0, 4, ... of odd ones) shift the
  windows by half a window; tokens brought together only by the cyclic roll are masked apart
  (-100), computed here from each pixel's region before the roll. The relative position bias is
  "dynamic": an MLP (Linear 2 -> d, then three times LayerNorm, ReLU, Linear) of each offset.
- Channel attention: per head, q and k are L2-normalised over all pixels, the d x d attention
  softmax(q k^T * temperature) mixes the channels of v.
- Adaptive interaction: beside each attention a depth-wise conv branch (dwconv, BatchNorm, GELU)
  on v; the spatial block gates its attention by a channel map of the conv branch (mean, 1x1
  conv, BN, GELU, 1x1 conv, sigmoid) and the conv branch by a spatial map of the attention (1x1
  conv, BN, GELU, 1x1 conv to one channel, sigmoid); the channel block the other way round.
- SGFN: fc1, GELU, split the hidden channels in two halves, the second LayerNorm'd and through a
  depth-wise 3x3 conv, multiplied into the first, fc2.
BatchNorm runs in eval mode with random running statistics, so that hires' folding is tested.

Run with Debian's Python (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_dat_fixtures.py

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

RGB_MEAN = (0.4488, 0.4371, 0.4040)


def region(n, window, shift):
    """Region of each row (or column) of the rolled map: 0, or 1 and 2 for the parts the roll
    joins in the last window."""
    lab = torch.zeros(n, dtype=torch.long)
    if shift > 0:
        lab[n - window:n - shift] = 1
        lab[n - shift:] = 2
    return lab


class DynamicPosBias(nn.Module):
    def __init__(self, pos_dim, heads):
        super().__init__()
        self.pos_proj = nn.Linear(2, pos_dim)
        self.pos1 = nn.Sequential(nn.LayerNorm(pos_dim), nn.ReLU(), nn.Linear(pos_dim, pos_dim))
        self.pos2 = nn.Sequential(nn.LayerNorm(pos_dim), nn.ReLU(), nn.Linear(pos_dim, pos_dim))
        self.pos3 = nn.Sequential(nn.LayerNorm(pos_dim), nn.ReLU(), nn.Linear(pos_dim, heads))

    def forward(self, offsets):
        return self.pos3(self.pos2(self.pos1(self.pos_proj(offsets))))


class WindowBranch(nn.Module):
    """Attention of `heads` heads in wh x ww windows (shifted by half a window when asked)."""

    def __init__(self, dim, heads, wh, ww):
        super().__init__()
        self.heads, self.wh, self.ww = heads, wh, ww
        self.scale = (dim // heads) ** -0.5
        self.pos = DynamicPosBias(dim // 16 if dim >= 32 else 2, heads)
        dy, dx = torch.meshgrid(torch.arange(1 - wh, wh), torch.arange(1 - ww, ww), indexing="ij")
        self.register_buffer("rpe_biases", torch.stack([dy.reshape(-1), dx.reshape(-1)], 1).float())
        ys, xs = torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")
        ys, xs = ys.reshape(-1), xs.reshape(-1)
        index = (ys[:, None] - ys[None, :] + wh - 1) * (2 * ww - 1) + (xs[:, None] - xs[None, :]
                                                                       + ww - 1)
        self.register_buffer("relative_position_index", index)

    def forward(self, q, k, v, shift):
        """q, k, v: (C, H, W), H and W multiples of the window."""
        c, h, w = q.shape
        sh, sw = (self.wh // 2, self.ww // 2) if shift else (0, 0)
        lab = region(h, self.wh, sh)[:, None] * 3 + region(w, self.ww, sw)[None, :]

        def windows(t, roll=True):  # (C', H, W), rolled -> (windows, tokens, C')
            if roll:
                t = torch.roll(t, (-sh, -sw), (1, 2))
            t = t.reshape(t.shape[0], h // self.wh, self.wh, w // self.ww, self.ww)
            return t.permute(1, 3, 2, 4, 0).reshape(-1, self.wh * self.ww, t.shape[0])

        bias = self.pos(self.rpe_biases.to(q.dtype))[self.relative_position_index]  # N, N, heads
        labels = windows(lab[None].to(q.dtype), roll=False)[..., 0]  # regions are rolled ones
        mask = (labels[:, :, None] != labels[:, None, :]).to(q.dtype) * -100.0
        d = c // self.heads
        out = []
        for hd in range(self.heads):
            sl = slice(hd * d, (hd + 1) * d)
            qq, kk, vv = windows(q[sl]), windows(k[sl]), windows(v[sl])
            scores = qq @ kk.transpose(1, 2) * self.scale + bias[:, :, hd][None]
            if shift:
                scores = scores + mask
            out.append(torch.softmax(scores, -1) @ vv)
        o = torch.cat(out, -1)  # windows, tokens, C
        o = o.reshape(h // self.wh, w // self.ww, self.wh, self.ww, c).permute(4, 0, 2, 1, 3)
        return torch.roll(o.reshape(c, h, w), (sh, sw), (1, 2))


def conv_bn_gelu(dim):
    return nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1, groups=dim), nn.BatchNorm2d(dim), nn.GELU())


class Interaction(nn.Module):
    """The conv branch and the two maps the attention and the conv branch exchange."""

    def __init__(self, dim):
        super().__init__()
        self.dwconv = conv_bn_gelu(dim)
        self.channel_interaction = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, dim // 8, 1), nn.BatchNorm2d(dim // 8),
            nn.GELU(), nn.Conv2d(dim // 8, dim, 1))
        self.spatial_interaction = nn.Sequential(
            nn.Conv2d(dim, dim // 16, 1), nn.BatchNorm2d(dim // 16), nn.GELU(),
            nn.Conv2d(dim // 16, 1, 1))


class SpatialAttention(Interaction):
    def __init__(self, dim, heads, split, shift):
        super().__init__(dim)
        self.split, self.do_shift = split, shift
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attns = nn.ModuleList([WindowBranch(dim // 2, heads // 2, split[0], split[1]),
                                    WindowBranch(dim // 2, heads // 2, split[1], split[0])])
        if shift:  # the released checkpoints carry masks for a 16 x 16 training patch
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
                       for i, b in enumerate(self.attns)], 0)[:, :h, :w][None]
        conv = self.dwconv(v[None])
        gated_a = a * torch.sigmoid(self.channel_interaction(conv))
        gated_conv = conv * torch.sigmoid(self.spatial_interaction(a))
        return self.proj((gated_a + gated_conv)[0].permute(1, 2, 0)).permute(2, 0, 1)[None]


class ChannelAttention(Interaction):
    def __init__(self, dim, heads):
        super().__init__(dim)
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        _, c, h, w = x.shape
        q, k, v = self.qkv(x[0].permute(1, 2, 0)).permute(2, 0, 1).chunk(3, 0)
        d = c // self.heads
        heads = []
        for hd in range(self.heads):
            sl = slice(hd * d, (hd + 1) * d)
            qq = F.normalize(q[sl].reshape(d, -1), dim=-1)
            kk = F.normalize(k[sl].reshape(d, -1), dim=-1)
            att = torch.softmax(qq @ kk.t() * self.temperature[hd], -1)
            heads.append((att @ v[sl].reshape(d, -1)).reshape(d, h, w))
        a = torch.cat(heads, 0)[None]
        conv = self.dwconv(v[None])
        gated_a = a * torch.sigmoid(self.spatial_interaction(conv))
        gated_conv = conv * torch.sigmoid(self.channel_interaction(a))
        return self.proj((gated_a + gated_conv)[0].permute(1, 2, 0)).permute(2, 0, 1)[None]


class SpatialGate(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.conv = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)


class SGFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.sg = SpatialGate(hidden // 2)
        self.fc2 = nn.Linear(hidden // 2, dim)

    def forward(self, x):  # (1, C, H, W)
        t = F.gelu(self.fc1(x[0].permute(1, 2, 0)))  # H, W, hidden
        a, b = t.chunk(2, -1)
        b = self.sg.conv(self.sg.norm(b).permute(2, 0, 1)[None])[0].permute(1, 2, 0)
        return self.fc2(a * b).permute(2, 0, 1)[None]


def channel_norm(norm, x):
    return norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Block(nn.Module):
    def __init__(self, dim, heads, split, hidden, group, index):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        if index % 2 == 0:
            shift = (group % 2 == 0 and index > 0 and (index - 2) % 4 == 0) or \
                    (group % 2 == 1 and index % 4 == 0)
            self.attn = SpatialAttention(dim, heads, split, shift)
        else:
            self.attn = ChannelAttention(dim, heads)
        self.ffn = SGFN(dim, hidden)

    def forward(self, x):
        x = x + self.attn(channel_norm(self.norm1, x))
        return x + self.ffn(channel_norm(self.norm2, x))


def residual_conv(dim, three):
    if not three:
        return nn.Conv2d(dim, dim, 3, 1, 1)
    return nn.Sequential(nn.Conv2d(dim, dim // 4, 3, 1, 1), nn.LeakyReLU(0.2),
                         nn.Conv2d(dim // 4, dim // 4, 1), nn.LeakyReLU(0.2),
                         nn.Conv2d(dim // 4, dim, 3, 1, 1))


class Group(nn.Module):
    def __init__(self, dim, depth, heads, split, hidden, three, group):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim, heads, split, hidden, group, i)
                                     for i in range(depth)])
        self.conv = residual_conv(dim, three)

    def forward(self, x):
        y = x
        for b in self.blocks:
            y = b(y)
        return x + self.conv(y)


class DAT(nn.Module):
    def __init__(self, dim, depths, heads, split, expansion, scale, upsampler, three,
                 num_feat=8):
        super().__init__()
        self.scale, self.upsampler = scale, upsampler
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        self.conv_first = nn.Conv2d(3, dim, 3, 1, 1)
        self.before_RG = nn.Sequential(nn.Identity(), nn.LayerNorm(dim))
        self.layers = nn.ModuleList([Group(dim, d, h, split, dim * expansion, three, i)
                                     for i, (d, h) in enumerate(zip(depths, heads))])
        self.norm = nn.LayerNorm(dim)
        self.conv_after_body = residual_conv(dim, three)
        if upsampler == "pixelshuffle":
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(dim, num_feat, 3, 1, 1),
                                                      nn.LeakyReLU())
            ups = []
            if scale == 3:
                ups += [nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1), nn.PixelShuffle(3)]
            else:
                for _ in range(scale.bit_length() - 1):
                    ups += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
            self.upsample = nn.Sequential(*ups)
            self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)
        else:
            self.upsample = nn.Sequential(nn.Conv2d(dim, 3 * scale * scale, 3, 1, 1),
                                          nn.PixelShuffle(scale))

    def forward(self, x):
        x = x - self.mean.to(x.dtype)
        first = self.conv_first(x)
        t = channel_norm(self.before_RG[1], first)
        for layer in self.layers:
            t = layer(t)
        body = self.conv_after_body(channel_norm(self.norm, t)) + first
        if self.upsampler == "pixelshuffle":
            y = self.conv_last(self.upsample(self.conv_before_upsample(body)))
        else:
            y = self.upsample(body)
        return y + self.mean.to(y.dtype)


def randomize(model, generator):
    """Weights ~ N(0, 0.8 / sqrt(fan-in)), biases ~ N(0, 0.05); norm weights near 1; temperatures
    around 1 to 3; BatchNorm running statistics random (variances 0.5 to 1.5)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.split(".")
            if name.endswith("temperature"):
                p.copy_(1.0 + 2.0 * torch.rand(p.shape, generator=generator))
            elif "norm" in leaf[-2] or leaf[0] == "before_RG" or (leaf[-2] == "0" and
                                                                  "pos" in leaf[-3]):
                base = 1.0 if name.endswith(".weight") else 0.0
                p.copy_(base + torch.randn(p.shape, generator=generator) * 0.1)
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                scale = 0.05 if name.endswith(".bias") else 0.8 / fan_in ** 0.5
                p.copy_(torch.randn(p.shape, generator=generator) * scale)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1.0 + 0.2 * torch.randn(m.weight.shape, generator=generator))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=generator))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=generator))


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    written = []
    # stem, seed, dim, depths, heads, split, expansion, scale, upsampler, 3conv, input (H, W),
    # also safetensors. Depth 3 in group 0 and any group 1 give shifted spatial blocks; inputs
    # that are no multiple of the larger split exercise the zero padding.
    nets = [
        ("dat_tiny_x4", 1441, 16, (3, 2), (2, 4), (2, 4), 2, 4, "pixelshuffle", False, (13, 11),
         True),
        ("dat_tiny_x2_light", 1442, 16, (4,), (2,), (4, 8), 2, 2, "pixelshuffledirect", True,
         (10, 9), False),
        ("dat_tiny_x3", 1443, 32, (2, 2), (4, 4), (4, 2), 4, 3, "pixelshuffle", False, (7, 9),
         False),
    ]
    for (stem, seed, dim, depths, heads, split, expansion, scale, up, three, size,
         with_st) in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = DAT(dim, depths, heads, split, expansion, scale, up, three)
        randomize(model, generator)
        x = torch.rand((1, 3) + size, generator=generator, dtype=torch.float32)
        y = save_fixture(stem, model, x, with_st, written)
        assert tuple(y.shape) == (1, 3, size[0] * scale, size[1] * scale), y.shape
    report(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
