"""SPAN, PLKSR and RealPLKSR in PyTorch (Debian python3-torch) at their released sizes, random
weights, for bench/archs_vs_torch.sh. The modules are tools/make_arch_fixtures.py's.
  make ARCH DIR SIZE: writes DIR/ARCH.pth and DIR/ARCH.io.safetensors (input 1x3xSIZExSIZE and
                      PyTorch's output), for bench_engine_model
  time ARCH DIR REPS THREADS: prints the median seconds of REPS warm forward passes on that input
ARCH: span (48 features, 6 blocks, x4), plksr (64 dim, 28 blocks, 17x17 on 16, CCM, x4),
realplksr (the same with DCCM + Mish and GroupNorm); the window-attention ones are
tools/make_swin_fixtures.py's: swinir-light (SwinIR lightweight x4: 60 dim, 4x6 blocks, 6 heads,
window 8, pixelshuffledirect), swinir (classical SwinIR-M x4: 180 dim, 6x6 blocks, 6 heads,
window 8, pixelshuffle); dat-light (DAT-light x4: 60 dim, 1x18 blocks, 6 heads, split 8x32,
expansion 2, pixelshuffledirect, 3conv) is tools/make_dat_fixtures.py's; omnisr (OmniSR x4:
64 features, 5 groups of 1 block, window 8, position bias) tools/make_omnisr_fixtures.py's."""
import json
import os
import statistics
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import make_arch_fixtures as fx  # noqa: E402
import make_dat_fixtures as dt  # noqa: E402
import make_drct_fixtures as dr  # noqa: E402
import make_mosr_fixtures as mo  # noqa: E402
import make_omnisr_fixtures as om  # noqa: E402
import make_rgt_fixtures as rg  # noqa: E402
import make_srformer_fixtures as sf  # noqa: E402
import make_swin_fixtures as sw  # noqa: E402
from fixture_io import write_safetensors  # noqa: E402


def build(arch):
    torch.manual_seed(0)
    if arch == "span":
        return fx.SPAN(3, 3, 48, 6, 4, True)
    if arch == "plksr":
        return fx.PLKSR(64, 28, 4, 16, 17, "CCM", True, False)
    if arch == "realplksr":
        return fx.PLKSR(64, 28, 4, 16, 17, "DCCM", True, True)
    if arch == "swinir-light":
        return sw.SwinIR(3, 60, (6,) * 4, (6,) * 4, 8, 2.0, 4, "pixelshuffledirect")
    if arch == "swinir":
        return sw.SwinIR(3, 180, (6,) * 6, (6,) * 6, 8, 2.0, 4, "pixelshuffle")
    if arch == "dat-light":
        return dt.DAT(60, (18,), (6,), (8, 32), 2, 4, "pixelshuffledirect", True)
    if arch == "omnisr":
        return om.OmniSR(64, 5, 1, 8, True, 4, True)
    if arch == "srformer-light":
        return sf.srformer(3, 60, (6,) * 4, (6,) * 4, 16, 2.0, 4, "pixelshuffledirect")
    if arch == "mosr":
        return mo.MoSR(3, 64, 24, 96, 64, 7, 4, False)
    if arch == "drct":
        return dr.DRCT(180, (6,) * 6, 16, 2.0, 32, 4, num_feat=64)
    if arch == "hat-s":  # HAT-S as released: 144 dim, 6x6 blocks, window 16, compress/squeeze 24
        return sw.HAT(144, (6,) * 6, (6,) * 6, 16, 2.0, 4, 24, 24, num_feat=64)
    if arch == "rgt-s":
        return rg.RGT(180, (6,) * 6, (6,) * 6, (8, 32), 2.0, 0.5, 4, False, num_feat=64)
    raise SystemExit("unknown architecture " + arch)


def deploy_span(model):
    """Each Conv3XC runs as its one 3x3 eval_conv, as deployed SPAN code does (fair to PyTorch):
    the weights are read off the unfused block's response to unit impulses (it is affine)."""
    with torch.no_grad():
        for m in model.modules():
            if not isinstance(m, fx.Conv3XC):
                continue
            c_in = m.sk.in_channels
            zero = m(torch.zeros(1, c_in, 3, 3))[0, :, 1, 1]
            weight = torch.zeros_like(m.eval_conv.weight)
            for i in range(c_in):
                for y in range(3):
                    for x in range(3):
                        probe = torch.zeros(1, c_in, 3, 3)
                        probe[0, i, y, x] = 1.0
                        weight[:, i, y, x] = m(probe)[0, :, 1, 1] - zero
            m.eval_conv.weight.copy_(weight)
            m.eval_conv.bias.copy_(zero)
            m.forward = m.eval_conv.forward


def main():
    mode, arch, folder = sys.argv[1], sys.argv[2], sys.argv[3]
    model = build(arch)
    generator = torch.Generator().manual_seed(1)
    if arch.startswith(("swinir", "srformer", "hat")) or arch == "drct":
        sw.randomize(model, generator)
    elif arch.startswith("dat") or arch.startswith("rgt"):
        dt.randomize(model, generator)
    elif arch == "omnisr":
        om.randomize(model, generator)
    elif arch == "mosr":
        mo.randomize(model, generator)
    else:
        fx.randomize(model, generator, 1.0 / 255.0 if arch == "span" else 1.0)
    model.eval()
    if mode == "make":
        size = int(sys.argv[4])
        x = torch.rand(1, 3, size, size, generator=generator)
        with torch.inference_mode():
            y = model(x)
        torch.save(fx.plain_state(model), os.path.join(folder, arch + ".pth"))
        write_safetensors(os.path.join(folder, arch + ".io.safetensors"),
                          {"input": x.numpy(), "output": y.numpy()}, {})
        return
    reps, threads = int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    if arch == "span":
        deploy_span(model)
    # The input `make` wrote (the same image hires runs).
    with open(os.path.join(folder, arch + ".io.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    a, b = header["input"]["data_offsets"]
    x = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(
        header["input"]["shape"])
    times = []
    with torch.inference_mode():
        model(x)  # warm-up
        for _ in range(reps):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    print(f"{statistics.median(times):.4f}")


if __name__ == "__main__":
    main()
