"""RRDBNet (ESRGAN / Real-ESRGAN x4plus structure: 23 blocks, 64 features, growth 32, x4) in
PyTorch (Debian python3-torch), float32, for comparison with hires on the same cores.

  make DIR [SIZE]           writes DIR/rrdbnet_x4.pth (fixed random weights, seed 0, BasicSR
                            names like RealESRGAN_x4plus.pth) and DIR/rrdbnet_x4.io.safetensors
                            (`input`: 1x3xSIZExSIZE uniform in [0, 1], seed 1; `output`: PyTorch's
                            float32 result), DIR/input.pt; prints the output's range
  time DIR REPS THREADS     prints the median seconds of REPS warm forward passes (after one
                            warm-up) of DIR/rrdbnet_x4.pth on DIR's input

The network comes from tools/make_zoo_fixtures.py (written from the papers, independent of the
C++ code); the timing loop from bench/torch_srvgg.py.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
sys.path.insert(0, HERE)
from fixture_io import write_safetensors  # noqa: E402
from make_zoo_fixtures import RRDBNet  # noqa: E402
from torch_srvgg import warm_median  # noqa: E402

BLOCKS, FEAT, GROW, SCALE = 23, 64, 32, 4


def paths(d):
    return (os.path.join(d, "rrdbnet_x4.pth"), os.path.join(d, "rrdbnet_x4.io.safetensors"),
            os.path.join(d, "input.pt"))


def make(d, size):
    torch.manual_seed(0)
    net = RRDBNet(3, SCALE, FEAT, BLOCKS, GROW).eval()
    with torch.no_grad():
        # PyTorch's default initialisation, with the dense blocks' weights scaled by 0.1 as
        # BasicSR initialises them, so the 23-block trunk stays in range.
        for name, p in net.named_parameters():
            if name.startswith("body.") and name.endswith(".weight"):
                p.mul_(0.1)
    model_path, io_path, input_path = paths(d)
    torch.save(net.state_dict(), model_path)
    x = torch.rand((1, 3, size, size), generator=torch.Generator().manual_seed(1))
    torch.save(x, input_path)
    with torch.no_grad():
        y = net(x)
    write_safetensors(io_path, {"input": x.numpy(), "output": y.numpy()}, {})
    print(f"output {tuple(y.shape)} in [{y.min().item():.3f}, {y.max().item():.3f}], "
          f"std {y.std().item():.3f}")


def time_it(d, reps, threads):
    torch.set_num_threads(threads)
    model_path, _, input_path = paths(d)
    net = RRDBNet(3, SCALE, FEAT, BLOCKS, GROW).eval()
    net.load_state_dict(torch.load(model_path))
    x = torch.load(input_path)
    print(f"{warm_median(net, x, reps)[0]:.4f}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 128)
    elif len(sys.argv) == 5 and sys.argv[1] == "time":
        time_it(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
