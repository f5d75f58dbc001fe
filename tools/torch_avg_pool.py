"""Time PyTorch's CPU 3x3 average pool (stride 1, padding 1, count_include_pad=False: the
NAS-Bench-201 avg_pool_3x3) at the cell shapes, one thread, and the memory bandwidth its
time would imply. Far below any cache or DRAM rate, the pool is not a memory-bound pass: its
NCHW kernel loops over each output's window taps in scalar code, so CPU profiles price it as
window taps at `efficiency.pool` of the MAC peak.

    pip install torch==2.13.0   # a CPU build; not a dependency of edgesim
    python tools/torch_avg_pool.py
"""

from __future__ import annotations

from torch_grouped_conv import best_seconds

SHAPES = ((16, 32), (32, 16), (64, 8))  # NAS-Bench-201's three stages (channels, pixels per side)


def main() -> None:
    import torch

    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    pool = torch.nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    print(f"torch {torch.__version__}, 1 thread, fp32")
    for channels, size in SHAPES:
        x = torch.randn(1, channels, size, size)
        seconds = best_seconds(pool, x, reps=100)
        taps = 9 * x.numel()
        moved = 2 * 4 * x.numel()  # read the input once, write the output once
        print(f"  C {channels:3d} {size:2d}x{size:<2d}: {seconds * 1e6:7.1f} us  {taps / seconds / 1e9:5.2f} G taps/s"
              f"  implied bandwidth {moved / seconds / 1e9:5.2f} GB/s")


if __name__ == "__main__":
    main()
