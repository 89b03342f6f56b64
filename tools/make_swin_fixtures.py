#!/usr/bin/python3
"""Writes the window-attention fixtures in tests/archs/ (issue 14): SwinIR (and HAT).

Tiny random-weight networks saved as a plain torch.save of the state dict (.pth) and, for some,
as .safetensors, each with an <stem>.io.safetensors holding a random input and the output PyTorch
computes in float64 (tools/make_arch_fixtures.py writes SPAN's and PLKSR's the same way).

The modules are written from the papers, independent of the C++ code and of the released code;
parameter and buffer names follow the released checkpoints so that hires reads these files as it
reads downloaded ones:
- SwinIR: Liang et al., "SwinIR: Image Restoration Using Swin Transformer", ICCVW 2021. Shallow
  conv, residual Swin transformer blocks (RSTB: Swin blocks with window attention, every second
  one on windows shifted by half a window with the wrapped-around parts masked apart; LayerNorm
  before attention and MLP; a conv and a residual per RSTB), LayerNorm, conv, residual, and the
  upsamplers of the released models. The input is reflected up to a multiple of the window,
  normalised by the DIV2K mean and cropped back at the end.
  Here the shifted windows are computed from the definition: the image is rolled, split into
  windows, and each token may attend only to tokens of the same (unrolled) region.
- HAT: Chen, Wang, Zhou, Qiao and Dong, "Activating More Pixels in Image Super-Resolution
  Transformer", CVPR 2023. SwinIR's layout with hybrid attention blocks (window attention plus a
  channel attention block, CAB: conv, GELU, conv, squeeze-and-excitation, added at 0.01) and an
  overlapping cross-attention block (OCAB) closing each group: queries from the windows, keys
  and values from larger windows around them (zero outside the image). OCAB's relative position
  index is the released code's, whose row and column offsets start below zero: negative indices
  count from the end of the table, as PyTorch indexing does, and files trained that way need it.

Run with Debian's Python (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_swin_fixtures.py

The output is deterministic: running it again writes the same bytes.
"""

import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_safetensors  # noqa: E402
from make_arch_fixtures import OUT, report, save_fixture  # noqa: E402

RGB_MEAN = (0.4488, 0.4371, 0.4040)

# ---------------------------------------------------------------------------------------------
# Swin blocks


def relative_index(ws):
    """index[a, b] of the bias table for query token a and key token b of a ws x ws window."""
    ys, xs = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")
    ys, xs = ys.reshape(-1), xs.reshape(-1)
    dy = ys[:, None] - ys[None, :] + ws - 1
    dx = xs[:, None] - xs[None, :] + ws - 1
    return dy * (2 * ws - 1) + dx


def to_windows(x, ws):
    """(B, H, W, C) -> (B * H/ws * W/ws, ws * ws, C), windows in row order."""
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def from_windows(t, ws, b, h, w):
    c = t.shape[-1]
    x = t.view(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, c)


def shift_labels(h, w, ws, shift, device):
    """Per pixel of the rolled image: which of the 3 x 3 regions it came from (0 everywhere when
    there is no shift). Tokens of different regions share a window only because of the roll."""
    def side(n):
        lab = torch.zeros(n, dtype=torch.long, device=device)
        if shift > 0:
            lab[n - ws:n - shift] = 1
            lab[n - shift:] = 2
        return lab
    return side(h)[:, None] * 3 + side(w)[None, :]


class WindowAttention(nn.Module):
    def __init__(self, dim, heads, ws, qkv_bias=True, index_buffer=True):
        super().__init__()
        self.heads = heads
        self.ws = ws
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        # SwinIR's checkpoints carry the index per block; HAT's model computes it once.
        self.register_buffer("relative_position_index", relative_index(ws),
                             persistent=index_buffer)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, t, mask):
        """t: (windows, N, C); mask: (windows, N, N) additive, or None."""
        nw, n, c = t.shape
        qkv = self.qkv(t).view(nw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        logits = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        logits = logits + bias.view(n, n, self.heads).permute(2, 0, 1)[None]
        if mask is not None:
            logits = logits + mask[:, None]
        out = logits.softmax(-1) @ v
        return self.proj(out.transpose(1, 2).reshape(nw, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, ws, shift, hidden, mask_size):
        super().__init__()
        self.ws, self.shift = ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, ws, index_buffer=mask_size is not None)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, hidden)
        if shift > 0 and mask_size is not None:
            # Released checkpoints carry the mask for their training size: a stale buffer.
            self.register_buffer("attn_mask", self.mask(mask_size, mask_size, "cpu"))

    def mask(self, h, w, device):
        labels = to_windows(shift_labels(h, w, self.ws, self.shift, device)[None, :, :, None],
                            self.ws)[..., 0]
        differ = labels[:, :, None] != labels[:, None, :]
        return differ.to(torch.float64) * -100.0

    def attend(self, x):
        """x: (B, H, W, C) normalised tokens."""
        b, h, w, c = x.shape
        if self.shift:
            x = torch.roll(x, (-self.shift, -self.shift), (1, 2))
        mask = self.mask(h, w, x.device).to(x.dtype) if self.shift else None
        y = from_windows(self.attn(to_windows(x, self.ws), mask), self.ws, b, h, w)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), (1, 2))
        return y

    def forward(self, x):
        x = x + self.attend(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def add_pixelshuffle_tail(model, embed, num_feat, scale, out_ch=3):
    """The classical upsampler of SwinIR-like models: conv_before_upsample (conv + LeakyReLU),
    upsample (conv + pixel shuffle stages of x2, or one x3) and conv_last, added to `model`."""
    model.conv_before_upsample = nn.Sequential(nn.Conv2d(embed, num_feat, 3, padding=1),
                                               nn.LeakyReLU())
    stages = []
    if scale == 3:
        stages = [nn.Conv2d(num_feat, 9 * num_feat, 3, padding=1), nn.PixelShuffle(3)]
    else:
        for _ in range(int(math.log2(scale))):
            stages += [nn.Conv2d(num_feat, 4 * num_feat, 3, padding=1), nn.PixelShuffle(2)]
    model.upsample = nn.Sequential(*stages)
    model.conv_last = nn.Conv2d(num_feat, out_ch, 3, padding=1)


def residual_conv(dim, three):
    if not three:
        return nn.Conv2d(dim, dim, 3, padding=1)
    return nn.Sequential(nn.Conv2d(dim, dim // 4, 3, padding=1), nn.LeakyReLU(0.2),
                         nn.Conv2d(dim // 4, dim // 4, 1), nn.LeakyReLU(0.2),
                         nn.Conv2d(dim // 4, dim, 3, padding=1))


class BlockGroup(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)


class RSTB(nn.Module):
    def __init__(self, dim, depth, heads, ws, hidden, three):
        super().__init__()
        self.residual_group = BlockGroup(
            [SwinBlock(dim, heads, ws, 0 if i % 2 == 0 else ws // 2, hidden, 2 * ws)
             for i in range(depth)])
        self.conv = residual_conv(dim, three)

    def forward(self, x):
        """x: (B, C, H, W)."""
        t = x.permute(0, 2, 3, 1)
        for blk in self.residual_group.blocks:
            t = blk(t)
        return self.conv(t.permute(0, 3, 1, 2)) + x


class PatchNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)


def channel_norm(norm, x):
    """A LayerNorm over the channels of (B, C, H, W)."""
    return norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class SwinIR(nn.Module):
    def __init__(self, in_ch, embed, depths, heads, ws, mlp_ratio, scale, upsampler,
                 three=False, num_feat=64):
        super().__init__()
        self.ws, self.scale, self.upsampler = ws, scale, upsampler
        out_ch = in_ch
        mean = RGB_MEAN if in_ch == 3 else (0.0,) * in_ch
        self.register_buffer("mean", torch.tensor(mean).view(1, in_ch, 1, 1), persistent=False)
        self.conv_first = nn.Conv2d(in_ch, embed, 3, padding=1)
        self.patch_embed = PatchNorm(embed)
        self.layers = nn.ModuleList(
            [RSTB(embed, d, h, ws, int(embed * mlp_ratio), three) for d, h in zip(depths, heads)])
        self.norm = nn.LayerNorm(embed)
        self.conv_after_body = residual_conv(embed, three)
        if upsampler == "pixelshuffle":
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed, num_feat, 3, padding=1),
                                                      nn.LeakyReLU())
            stages = []
            if scale == 3:
                stages = [nn.Conv2d(num_feat, 9 * num_feat, 3, padding=1), nn.PixelShuffle(3)]
            else:
                for _ in range(int(math.log2(scale))):
                    stages += [nn.Conv2d(num_feat, 4 * num_feat, 3, padding=1), nn.PixelShuffle(2)]
            self.upsample = nn.Sequential(*stages)
            self.conv_last = nn.Conv2d(num_feat, out_ch, 3, padding=1)
        elif upsampler == "pixelshuffledirect":
            self.upsample = nn.Sequential(nn.Conv2d(embed, out_ch * scale * scale, 3, padding=1),
                                          nn.PixelShuffle(scale))
        elif upsampler == "nearest+conv":
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed, num_feat, 3, padding=1),
                                                      nn.LeakyReLU())
            self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
            if scale == 4:
                self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
            self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, padding=1)
            self.conv_last = nn.Conv2d(num_feat, out_ch, 3, padding=1)
        else:
            self.conv_last = nn.Conv2d(embed, out_ch, 3, padding=1)

    def forward(self, x):
        h, w = x.shape[2:]
        x = F.pad(x, (0, (-w) % self.ws, 0, (-h) % self.ws), mode="reflect")
        x = x - self.mean.to(x.dtype)
        first = self.conv_first(x)
        t = channel_norm(self.patch_embed.norm, first)
        for layer in self.layers:
            t = layer(t)
        body = self.conv_after_body(channel_norm(self.norm, t)) + first
        if self.upsampler == "pixelshuffle":
            y = self.conv_last(self.upsample(self.conv_before_upsample(body)))
        elif self.upsampler == "pixelshuffledirect":
            y = self.upsample(body)
        elif self.upsampler == "nearest+conv":
            y = self.conv_before_upsample(body)
            y = F.leaky_relu(self.conv_up1(F.interpolate(y, scale_factor=2, mode="nearest")), 0.2)
            if self.scale == 4:
                y = F.leaky_relu(self.conv_up2(F.interpolate(y, scale_factor=2, mode="nearest")),
                                 0.2)
            y = self.conv_last(F.leaky_relu(self.conv_hr(y), 0.2))
        else:
            y = x + self.conv_last(body)
        y = y + self.mean.to(y.dtype)
        return y[:, :, :h * self.scale, :w * self.scale]


# ---------------------------------------------------------------------------------------------
# HAT


class ChannelAttention(nn.Module):
    """Squeeze and excitation: x * sigmoid(conv(relu(conv(mean of x))))."""

    def __init__(self, dim, squeeze):
        super().__init__()
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, dim // squeeze, 1),
                                       nn.ReLU(), nn.Conv2d(dim // squeeze, dim, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.attention(x)


class CAB(nn.Module):
    def __init__(self, dim, compress, squeeze):
        super().__init__()
        self.cab = nn.Sequential(nn.Conv2d(dim, dim // compress, 3, padding=1), nn.GELU(),
                                 nn.Conv2d(dim // compress, dim, 3, padding=1),
                                 ChannelAttention(dim, squeeze))


class HAB(SwinBlock):
    """A Swin block with a conv branch beside the attention: x + attn + 0.01 * CAB."""

    def __init__(self, dim, heads, ws, shift, hidden, compress, squeeze):
        super().__init__(dim, heads, ws, shift, hidden, None)
        self.conv_block = CAB(dim, compress, squeeze)

    def forward(self, x):
        n = self.norm1(x)
        conv = self.conv_block.cab(n.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        x = x + self.attend(n) + conv * 0.01
        return x + self.mlp(self.norm2(x))


def oca_index(ws, ows):
    """The released code's OCA index: (key - query + ws - ows + 1) per axis, row-major over a
    table of (ws + ows - 1) columns; may be negative."""
    qy, qx = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")
    ky, kx = torch.meshgrid(torch.arange(ows), torch.arange(ows), indexing="ij")
    dy = ky.reshape(-1)[None, :] - qy.reshape(-1)[:, None] + ws - ows + 1
    dx = kx.reshape(-1)[None, :] - qx.reshape(-1)[:, None] + ws - ows + 1
    return dy * (ws + ows - 1) + dx


class OCAB(nn.Module):
    def __init__(self, dim, ws, overlap, heads, hidden):
        super().__init__()
        self.ws, self.heads = ws, heads
        self.ows = int(ws * overlap) + ws
        self.scale = (dim // heads) ** -0.5
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((ws + self.ows - 1) ** 2, heads))
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x):
        """x: (B, H, W, C)."""
        b, h, w, c = x.shape
        ws, ows, heads, d = self.ws, self.ows, self.heads, c // self.heads
        q, k, v = self.qkv(self.norm1(x)).chunk(3, -1)
        qw = to_windows(q, ws)  # (windows, ws*ws, C)

        def around(t):  # (windows, ows*ows, C): the ows x ows pixels around each window
            cols = F.unfold(t.permute(0, 3, 1, 2), ows, stride=ws, padding=(ows - ws) // 2)
            return cols.view(b, c, ows * ows, -1).permute(0, 3, 2, 1).reshape(-1, ows * ows, c)

        kw, vw = around(k), around(v)
        nw = qw.shape[0]
        qh = qw.view(nw, ws * ws, heads, d).transpose(1, 2) * self.scale
        kh = kw.view(nw, ows * ows, heads, d).transpose(1, 2)
        vh = vw.view(nw, ows * ows, heads, d).transpose(1, 2)
        index = oca_index(ws, ows).reshape(-1)
        bias = self.relative_position_bias_table[index].view(ws * ws, ows * ows, heads)
        logits = qh @ kh.transpose(-2, -1) + bias.permute(2, 0, 1)[None]
        out = (logits.softmax(-1) @ vh).transpose(1, 2).reshape(nw, ws * ws, c)
        x = self.proj(from_windows(out, ws, b, h, w)) + x
        return x + self.mlp(self.norm2(x))


class HABGroup(nn.Module):
    def __init__(self, blocks, overlap_attn):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.overlap_attn = overlap_attn


class RHAG(nn.Module):
    def __init__(self, dim, depth, heads, ws, hidden, compress, squeeze, overlap):
        super().__init__()
        self.residual_group = HABGroup(
            [HAB(dim, heads, ws, 0 if i % 2 == 0 else ws // 2, hidden, compress, squeeze)
             for i in range(depth)], OCAB(dim, ws, overlap, heads, hidden))
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x):
        t = x.permute(0, 2, 3, 1)
        for blk in self.residual_group.blocks:
            t = blk(t)
        t = self.residual_group.overlap_attn(t)
        return self.conv(t.permute(0, 3, 1, 2)) + x


class HAT(nn.Module):
    def __init__(self, embed, depths, heads, ws, mlp_ratio, scale, compress, squeeze,
                 overlap=0.5, num_feat=64):
        super().__init__()
        self.ws, self.scale = ws, scale
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        hidden = int(embed * mlp_ratio)
        self.conv_first = nn.Conv2d(3, embed, 3, padding=1)
        self.patch_embed = PatchNorm(embed)
        self.layers = nn.ModuleList([RHAG(embed, d, h, ws, hidden, compress, squeeze, overlap)
                                     for d, h in zip(depths, heads)])
        self.norm = nn.LayerNorm(embed)
        self.conv_after_body = nn.Conv2d(embed, embed, 3, padding=1)
        add_pixelshuffle_tail(self, embed, num_feat, scale)

    def forward(self, x):
        h, w = x.shape[2:]
        x = F.pad(x, (0, (-w) % self.ws, 0, (-h) % self.ws), mode="reflect")
        x = x - self.mean.to(x.dtype)
        first = self.conv_first(x)
        t = channel_norm(self.patch_embed.norm, first)
        for layer in self.layers:
            t = layer(t)
        body = self.conv_after_body(channel_norm(self.norm, t)) + first
        y = self.conv_last(self.upsample(self.conv_before_upsample(body)))
        y = y + self.mean.to(y.dtype)
        return y[:, :, :h * self.scale, :w * self.scale]


# ---------------------------------------------------------------------------------------------


def randomize(model, generator):
    """Weights ~ N(0, 0.8 / sqrt(fan-in)), biases ~ N(0, 0.05); LayerNorm weights near 1 and
    bias tables ~ N(0, 0.5), so that attention is neither uniform nor one-hot."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("relative_position_bias_table"):
                p.copy_(torch.randn(p.shape, generator=generator) * 0.5)
            elif "norm" in name.split(".")[-2]:
                base = 1.0 if name.endswith(".weight") else 0.0
                p.copy_(base + torch.randn(p.shape, generator=generator) * 0.1)
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                scale = 0.05 if name.endswith(".bias") else 0.8 / fan_in ** 0.5
                p.copy_(torch.randn(p.shape, generator=generator) * scale)


def make_swinir_fixtures(written):
    # stem, seed, in_ch, embed, depths, heads, window, mlp ratio, scale, upsampler, 3conv,
    # input (H, W), also safetensors
    nets = [
        ("swinir_tiny_x2_classical", 1421, 3, 12, (2, 2), (2, 3), 4, 2.0, 2, "pixelshuffle",
         False, (13, 11), True),
        ("swinir_tiny_x3_classical", 1422, 3, 8, (2,), (2,), 4, 2.0, 3, "pixelshuffle", False,
         (8, 9), False),
        ("swinir_tiny_x4_lightweight", 1423, 3, 12, (2, 2), (3, 3), 4, 2.0, 4,
         "pixelshuffledirect", False, (10, 12), True),
        ("swinir_tiny_x4_realworld", 1424, 3, 16, (2, 2), (2, 2), 4, 2.0, 4, "nearest+conv", True,
         (9, 7), True),
        ("swinir_tiny_x2_realworld", 1425, 3, 8, (2,), (2,), 2, 1.5, 2, "nearest+conv", False,
         (6, 7), False),
        ("swinir_tiny_x1_grey", 1426, 1, 8, (2, 2), (2, 2), 4, 2.0, 1, "", False, (11, 9),
         False),
    ]
    for (stem, seed, in_ch, embed, depths, heads, ws, ratio, scale, up, three, size,
         with_st) in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = SwinIR(in_ch, embed, depths, heads, ws, ratio, scale, up, three, num_feat=8)
        randomize(model, generator)
        x = torch.rand((1, in_ch) + size, generator=generator, dtype=torch.float32)
        y = save_fixture(stem, model, x, with_st, written)
        assert tuple(y.shape) == (1, in_ch, size[0] * scale, size[1] * scale), y.shape


def make_hat_fixtures(written):
    # stem, seed, embed, depths, heads, window, mlp ratio, scale, compress, squeeze, input,
    # also safetensors. Windows of 4 and 8 make key windows of 6 and 12 (the released code needs
    # an even difference), whose OCA index reaches below zero (the table's end).
    nets = [
        ("hat_tiny_x4", 1431, 12, (2, 2), (2, 3), 4, 2.0, 4, 3, 4, (13, 10), True),
        ("hat_tiny_x2", 1432, 12, (2,), (3,), 8, 2.0, 2, 4, 6, (14, 13), False),
        ("hat_tiny_x3", 1433, 8, (2,), (2,), 4, 1.5, 3, 2, 4, (9, 8), False),
    ]
    for (stem, seed, embed, depths, heads, ws, ratio, scale, compress, squeeze, size,
         with_st) in nets:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = HAT(embed, depths, heads, ws, ratio, scale, compress, squeeze, num_feat=8)
        randomize(model, generator)
        x = torch.rand((1, 3) + size, generator=generator, dtype=torch.float32)
        y = save_fixture(stem, model, x, with_st, written)
        assert tuple(y.shape) == (1, 3, size[0] * scale, size[1] * scale), y.shape


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    written = []
    make_swinir_fixtures(written)
    make_hat_fixtures(written)
    report(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
