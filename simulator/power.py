"""Average power at a frame rate: the one definition every report, sweep and study uses.

A device that runs one inference in t seconds (its latency: the time the boundary is
engaged) and spends E joules on it (everything its boundary draws meanwhile: the idle
floor, the busy power of every unit that ran, the per-MAC and per-byte energy) is idle for
the rest of each frame. At f frames per second:

    average power = idle × (1 − f·t) + f × E

At f = 0 this is the idle power; at f = 1/t, E / t. Above 1/t the device cannot keep up:
it runs back to back at its sustainable rate 1/t, and the power is E / t.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphs.errors import EdgesimError


@dataclass(frozen=True, slots=True)
class AveragePower:
    watts: float
    requested_fps: float
    sustainable_fps: float  # 1 / latency

    @property
    def kept_up(self) -> bool:
        """Whether the device keeps up with the requested rate."""
        return self.requested_fps <= self.sustainable_fps

    @property
    def fps(self) -> float:
        """The rate `watts` is for: the requested one, or the sustainable one below it."""
        return min(self.requested_fps, self.sustainable_fps)


def average_power(energy_j: float, latency_s: float, idle_w: float, fps: float) -> AveragePower:
    """Average power at `fps` frames per second (see the module docstring); above the
    sustainable rate, the power at that rate and `fps` lowered to it."""
    if not fps > 0:
        raise EdgesimError(f"fps must be positive, not {fps}")
    sustainable = 1.0 / latency_s
    rate = min(fps, sustainable)
    busy_share = min(rate * latency_s, 1.0)  # rounding must not push the idle share below 0
    return AveragePower(idle_w * (1.0 - busy_share) + rate * energy_j, fps, sustainable)
