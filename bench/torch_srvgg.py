"""Warm forward-pass time of SRVGGNetCompact in PyTorch (Debian python3-torch), for comparison
with hires on the same cores. Prints one line: median seconds over REPS warm passes.
Usage: /usr/bin/python3 bench/torch_srvgg.py SIZE REPS THREADS [NUM_FEAT NUM_CONV SCALE]"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F


class Srvgg(torch.nn.Module):
    def __init__(self, num_feat, num_conv, scale):
        super().__init__()
        layers = [torch.nn.Conv2d(3, num_feat, 3, 1, 1), torch.nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [torch.nn.Conv2d(num_feat, num_feat, 3, 1, 1), torch.nn.PReLU(num_feat)]
        layers.append(torch.nn.Conv2d(num_feat, 3 * scale * scale, 3, 1, 1))
        self.body = torch.nn.Sequential(*layers)
        self.scale = scale

    def forward(self, x):
        out = F.pixel_shuffle(self.body(x), self.scale)
        return out + F.interpolate(x, scale_factor=self.scale, mode="nearest")


def warm_median(net, x, reps):
    """Median seconds of `reps` forward passes after one warm-up pass; returns (median, output)."""
    times = []
    with torch.inference_mode():
        y = net(x)  # warm-up
        for _ in range(reps):
            t0 = time.perf_counter()
            y = net(x)
            times.append(time.perf_counter() - t0)
    return statistics.median(times), y


def main():
    size, reps, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    feat, conv, scale = (int(a) for a in (sys.argv[4:7] if len(sys.argv) > 6 else (64, 32, 4)))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = Srvgg(feat, conv, scale).eval()
    x = torch.rand(1, 3, size, size)
    print(f"{warm_median(net, x, reps)[0]:.4f}")


if __name__ == "__main__":
    main()
