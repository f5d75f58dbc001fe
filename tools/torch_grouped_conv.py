"""Time grouped, depthwise and 1x1 convs in PyTorch eager on this CPU, one thread, with
oneDNN (mkldnn) on and off. Off, ATen's native convolution runs a grouped conv as one
call per group plus a concatenation: the cost per group is what CPU profiles price as
`overhead.per_group_s`.

    pip install torch==2.13.0   # a CPU build; not a dependency of edgesim
    python tools/torch_grouped_conv.py
"""

from __future__ import annotations

import time


def best_seconds(conv, x, reps: int = 30) -> float:
    """Fastest mean time per call over 5 rounds of `reps` calls, after a warm-up."""
    for _ in range(3):
        conv(x)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            conv(x)
        best = min(best, (time.perf_counter() - start) / reps)
    return best


def main() -> None:
    import torch

    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    print(f"torch {torch.__version__}, 1 thread; microseconds per call")
    for onednn in (True, False):
        torch.backends.mkldnn.enabled = onednn
        print(f"oneDNN {'on' if onednn else 'off (native path)'}")
        for size in (8, 32):
            for channels in (32, 128, 512):
                x = torch.randn(1, channels, size, size)
                convs = (torch.nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
                         torch.nn.Conv2d(channels, channels, 1, bias=False),
                         torch.nn.Conv2d(channels, channels, 1, groups=2, bias=False))
                dw, pw, g2 = (best_seconds(c, x) * 1e6 for c in convs)
                print(f"  {size:2d}x{size:<2d} C {channels:4d}: depthwise 3x3 {dw:8.1f}"
                      f" ({dw / channels:5.2f} per group)  1x1 {pw:8.1f}  1x1 groups=2 {g2:8.1f}")


if __name__ == "__main__":
    main()
