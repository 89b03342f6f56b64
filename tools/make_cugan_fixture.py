#!/usr/bin/python3
"""Writes tiny Real-CUGAN fixtures (ncnn .param/.bin + PyTorch input/output) for tests/zoo/.

Real-CUGAN (bilibili/ailab, MIT) is waifu2x's cunet with its U-Nets widened for 4x; this script
writes the architecture in PyTorch from its published description, with every channel count
shrunk and small random weights:

  UNetConv(in, mid, out, se): conv3x3 valid -> LeakyReLU(0.1) -> conv3x3 valid -> LeakyReLU(0.1)
      [-> SE block: mean over H, W -> 1x1 conv (out -> out/8) -> ReLU -> 1x1 conv -> sigmoid
       -> multiply]
  UNet1(in, out, deconv): x1 = UNetConv(in, 32, 64); x2 = lrelu(conv2x2 stride 2 (x1));
      x2 = lrelu(convT2x2 stride 2 (UNetConv(64, 128, 64, se)(x2)));
      x3 = lrelu(conv3x3 valid (crop4(x1) + x2)); out = convT4x4 stride 2 pad 3 (x3)  [deconv]
                                                  or conv3x3 valid (x3)
  UNet2(in, out, deconv): the same with one more level (64 -> 128 -> 256 channels, SE on the
      three inner UNetConvs, crops of 4 and 16 pixels).
  UpCunet2x: reflect-pad 18; z = UNet1(x) (deconv, 3 channels); out = UNet2(z) + crop20(z).
  UpCunet4x: reflect-pad 19; z = UNet1(x) (deconv, 64 channels); y = UNet2(z) + crop20(z);
      out = pixel_shuffle(crop1(conv3x3 valid (y, 64 -> 12)), 2) + nearest4x(x).

Channel counts here: 32 -> 4, 64 -> 6, 128 -> 6, 256 -> 8 (SE reduction 8 kept, at least one
channel). Weights are rounded to fp16 (written fp16 into the .bin, as the real models are), the
net runs in float64 on the fp32 input, and for each scale s in (2, 4) the script writes
tests/zoo/realcugan_tiny_x<s>.param/.bin (ncnn, laid out like the pnnx-exported Real-CUGAN files:
BinaryOp mul for the SE scale, numpy-style Crop, Deconvolution weights [out, in, k, k]) and
tests/zoo/realcugan_tiny_x<s>.io.safetensors with "input" [1,3,20,20] and "output".
The ncnn graph does not contain the pre-padding nor the 4x nearest skip (as the real files):
our reader adds both.

    /usr/bin/python3 tools/make_cugan_fixture.py
"""

import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "tests", "zoo")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import write_safetensors  # noqa: E402

W = {32: 4, 64: 6, 128: 6, 256: 8}  # real channel count -> tiny one
TAG_FP16 = 0x01306B47


def lrelu(x):
    return F.leaky_relu(x, 0.1)


def crop(x, n):
    return x[:, :, n:-n, n:-n]


class SE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, max(1, c // 8), 1)
        self.conv2 = nn.Conv2d(max(1, c // 8), c, 1)

    def forward(self, x):
        m = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.conv2(F.relu(self.conv1(m))))


class UNetConv(nn.Module):
    def __init__(self, cin, mid, out, se):
        super().__init__()
        self.c1 = nn.Conv2d(cin, mid, 3)
        self.c2 = nn.Conv2d(mid, out, 3)
        self.se = SE(out) if se else None

    def forward(self, x):
        x = lrelu(self.c2(lrelu(self.c1(x))))
        return self.se(x) if self.se is not None else x


class UNet1(nn.Module):
    def __init__(self, cin, cout, deconv):
        super().__init__()
        self.conv1 = UNetConv(cin, W[32], W[64], False)
        self.down = nn.Conv2d(W[64], W[64], 2, 2)
        self.conv2 = UNetConv(W[64], W[128], W[64], True)
        self.up = nn.ConvTranspose2d(W[64], W[64], 2, 2)
        self.conv3 = nn.Conv2d(W[64], W[64], 3)
        self.bottom = nn.ConvTranspose2d(W[64], cout, 4, 2, 3) if deconv else nn.Conv2d(W[64], cout, 3)

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = lrelu(self.up(self.conv2(lrelu(self.down(x1)))))
        x3 = lrelu(self.conv3(crop(x1, 4) + x2))
        return self.bottom(x3)


class UNet2(nn.Module):
    def __init__(self, cin, cout, deconv):
        super().__init__()
        self.conv1 = UNetConv(cin, W[32], W[64], False)
        self.down1 = nn.Conv2d(W[64], W[64], 2, 2)
        self.conv2 = UNetConv(W[64], W[64], W[128], True)
        self.down2 = nn.Conv2d(W[128], W[128], 2, 2)
        self.conv3 = UNetConv(W[128], W[256], W[128], True)
        self.up3 = nn.ConvTranspose2d(W[128], W[128], 2, 2)
        self.conv4 = UNetConv(W[128], W[64], W[64], True)
        self.up4 = nn.ConvTranspose2d(W[64], W[64], 2, 2)
        self.conv5 = nn.Conv2d(W[64], W[64], 3)
        self.bottom = nn.ConvTranspose2d(W[64], cout, 4, 2, 3) if deconv else nn.Conv2d(W[64], cout, 3)

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = self.conv2(lrelu(self.down1(x1)))
        x3 = lrelu(self.up3(self.conv3(lrelu(self.down2(x2)))))
        x4 = lrelu(self.up4(self.conv4(crop(x2, 4) + x3)))
        x5 = lrelu(self.conv5(crop(x1, 16) + x4))
        return self.bottom(x5)


class UpCunet(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale
        mid = 3 if scale == 2 else W[64]
        self.unet1 = UNet1(3, mid, True)
        self.unet2 = UNet2(mid, mid, False)
        if scale == 4:
            self.final = nn.Conv2d(W[64], 12, 3)

    def forward(self, x):
        p = 18 if self.scale == 2 else 19
        z = self.unet1(F.pad(x, (p, p, p, p), mode="reflect"))
        y = self.unet2(z) + crop(z, 20)
        if self.scale == 2:
            return y
        y = F.pixel_shuffle(crop(self.final(y), 1), 2)
        return y + F.interpolate(x, scale_factor=4, mode="nearest")


class NcnnWriter:
    """Writes layers in the style of the pnnx-exported Real-CUGAN .param files."""

    def __init__(self):
        self.lines = []
        self.bin = bytearray()
        self.blobs = 0
        self.count = 0

    def blob(self):
        self.blobs += 1
        return str(self.blobs)

    def layer(self, kind, bottoms, tops, params):
        self.count += 1
        name = f"{kind.lower()}_{self.count}"
        self.lines.append(f"{kind:<24} {name:<24} {len(bottoms)} {len(tops)} "
                          + " ".join(bottoms + tops) + ("" if not params else " " + params))

    def weights(self, w):
        half = np.ascontiguousarray(w.detach().numpy().astype("<f2")).tobytes()
        self.bin += struct.pack("<I", TAG_FP16) + half + b"\0" * ((4 - len(half) % 4) % 4)

    def bias(self, b):
        self.bin += np.ascontiguousarray(b.detach().numpy().astype("<f4")).tobytes()

    def split(self, x, n):
        tops = [self.blob() for _ in range(n)]
        self.layer("Split", [x], tops, "")
        return tops

    def conv(self, m, x, act):
        t = self.blob()
        o, i, k, _ = m.weight.shape
        p = f"0={o} 1={k}" + (f" 3={m.stride[0]}" if m.stride[0] != 1 else "")
        p += f" 5=1 6={m.weight.numel()}" + (" 9=2 -23310=1,1.000000e-01" if act else "")
        self.layer("Convolution", [x], [t], p)
        self.weights(m.weight)
        self.bias(m.bias)
        return t

    def deconv(self, m, x, act):
        t = self.blob()
        i, o, k, _ = m.weight.shape
        p = f"0={o} 1={k} 3={m.stride[0]}" + (f" 4={m.padding[0]}" if m.padding[0] else "")
        p += f" 5=1 6={m.weight.numel()}" + (" 9=2 -23310=1,1.000000e-01" if act else "")
        self.layer("Deconvolution", [x], [t], p)
        self.weights(m.weight.transpose(0, 1))  # ncnn: [out, in, k, k]
        self.bias(m.bias)
        return t

    def inner(self, m, x, act):
        t = self.blob()
        o, i = m.weight.shape[:2]
        self.layer("InnerProduct", [x], [t], f"0={o} 1=1 2={o * i} 9={act}")
        self.weights(m.weight.reshape(o, i))
        self.bias(m.bias)
        return t

    def binary(self, a, b, op):
        t = self.blob()
        self.layer("BinaryOp", [a, b], [t], f"0={op}")
        return t

    def crop(self, x, n):
        t = self.blob()
        self.layer("Crop", [x], [t], f"-23309=2,{n},{n} -23310=2,-{n},-{n} -23311=2,-2,-1")
        return t

    def unetconv(self, m, x):
        x = self.conv(m.c2, self.conv(m.c1, x, True), True)
        if m.se is None:
            return x
        a, b = self.split(x, 2)
        g = self.blob()
        self.layer("Pooling", [b], [g], "0=1 4=1")
        s = self.inner(m.se.conv2, self.inner(m.se.conv1, g, 1), 4)
        return self.binary(a, s, 2)

    def bottom(self, m, x):
        if isinstance(m, nn.ConvTranspose2d):
            return self.deconv(m, x, False)
        return self.conv(m, x, False)

    def unet1(self, m, x):
        a, b = self.split(self.unetconv(m.conv1, x), 2)
        x2 = self.deconv(m.up, self.unetconv(m.conv2, self.conv(m.down, b, True)), True)
        x3 = self.conv(m.conv3, self.binary(self.crop(a, 4), x2, 0), True)
        return self.bottom(m.bottom, x3)

    def unet2(self, m, x):
        a1, b1 = self.split(self.unetconv(m.conv1, x), 2)
        a2, b2 = self.split(self.unetconv(m.conv2, self.conv(m.down1, b1, True)), 2)
        x3 = self.deconv(m.up3, self.unetconv(m.conv3, self.conv(m.down2, b2, True)), True)
        x4 = self.deconv(m.up4, self.unetconv(m.conv4, self.binary(self.crop(a2, 4), x3, 0)), True)
        x5 = self.conv(m.conv5, self.binary(self.crop(a1, 16), x4, 0), True)
        return self.bottom(m.bottom, x5)

    def net(self, m):
        self.layer("Input", [], ["in0"], "")
        z0, z1 = self.split(self.unet1(m.unet1, "in0"), 2)
        y = self.binary(self.unet2(m.unet2, z1), self.crop(z0, 20), 0)
        if m.scale == 4:
            y = self.crop(self.conv(m.final, y, False), 1)
            self.layer("PixelShuffle", [y], ["out0"], "0=2")
        else:
            self.lines[-1] = self.lines[-1].replace(f" {y}", " out0")

    def text(self):
        return f"7767517\n{len(self.lines)} {self.blobs + 2}\n" + "\n".join(self.lines) + "\n"


def main():
    for scale, seed in ((2, 2022), (4, 2044)):
        torch.manual_seed(seed)
        net = UpCunet(scale).double().eval()
        with torch.no_grad():
            for p in net.parameters():
                # Small random weights (fp16-exact) keep the activations in a sane range.
                p.copy_((torch.randn_like(p) * 0.25).half().double())
        x = torch.rand(1, 3, 20, 20, generator=torch.Generator().manual_seed(seed + 1))
        x = x.float().double()
        with torch.no_grad():
            y = net(x)
        w = NcnnWriter()
        w.net(net)
        stem = os.path.join(ZOO, f"realcugan_tiny_x{scale}")
        with open(stem + ".param", "w") as f:
            f.write(w.text())
        with open(stem + ".bin", "wb") as f:
            f.write(bytes(w.bin))
        write_safetensors(stem + ".io.safetensors",
                          {"input": x.float().numpy(), "output": y.float().numpy()},
                          {"scale": str(scale), "tool": "tools/make_cugan_fixture.py"})
        print(stem, tuple(y.shape), f"{y.abs().max().item():.3f}", len(w.bin), "bytes of weights")


if __name__ == "__main__":
    main()
