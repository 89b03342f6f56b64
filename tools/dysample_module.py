"""DySample (Liu et al., "Learning to Upsample by Learning to Sample", ICCV 2023) as the
community upscalers use it (RealPLKSR's and MoSR's 'dys' upsampler), written from the paper for
the fixtures: per input pixel, 2 x groups x scale^2 offsets = offset(x) * sigmoid(scope(x)) * 0.5
plus the initial positions (each output sub-pixel's centre, (j - (s - 1) / 2) / s across and
(i - (s - 1) / 2) / s down), x's channel groups sampled bilinearly there (the image's border
extended), then an optional 1x1 conv. Offsets are in input pixels: x offsets first (group,
sub-row i, sub-column j), then y offsets.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class DySample(nn.Module):
    def __init__(self, cin, cout, scale, groups, end_conv):
        super().__init__()
        self.scale, self.groups = scale, groups
        n = 2 * groups * scale * scale
        if end_conv:
            self.end_conv = nn.Conv2d(cin, cout, 1)
        self.offset = nn.Conv2d(cin, n, 1)
        self.scope = nn.Conv2d(cin, n, 1, bias=False)
        centre = (torch.arange(scale, dtype=torch.float32) - (scale - 1) / 2) / scale
        across = centre.view(1, scale).expand(scale, scale)  # [i][j] -> centre[j]
        down = centre.view(scale, 1).expand(scale, scale)  # [i][j] -> centre[i]
        pos = torch.stack([across.repeat(groups, 1, 1), down.repeat(groups, 1, 1)])
        self.register_buffer("init_pos", pos.reshape(1, n, 1, 1).clone())
        self.has_end = end_conv

    def forward(self, x):
        b, c, h, w = x.shape
        s, g = self.scale, self.groups
        off = self.offset(x) * self.scope(x).sigmoid() * 0.5 + self.init_pos
        off = off.view(b, 2, g, s, s, h, w)
        px = off[:, 0] + torch.arange(w, dtype=x.dtype).view(1, 1, 1, 1, 1, w)
        py = off[:, 1] + torch.arange(h, dtype=x.dtype).view(1, 1, 1, 1, h, 1)
        # grid_sample's coordinates (align_corners=False): -1 and 1 are the outer pixel edges.
        grid = torch.stack([(px + 0.5) * 2 / w - 1, (py + 0.5) * 2 / h - 1], -1)
        grid = grid.permute(0, 1, 4, 2, 5, 3, 6).reshape(b * g, h * s, w * s, 2)
        y = F.grid_sample(x.reshape(b * g, c // g, h, w), grid, mode="bilinear",
                          padding_mode="border", align_corners=False)
        y = y.reshape(b, c, h * s, w * s)
        return self.end_conv(y) if self.has_end else y
