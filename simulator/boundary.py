"""Measurement boundaries: what a profile's energy, and a measured energy, cover.

An energy per inference is only comparable with one measured at the same boundary: a
board's 5 V input sees the idle draw of everything on the board, a core rail only the
cores. A profile names its boundary in `[energy] boundary`, with that boundary's idle
power; a reference row may name the boundary it was measured at.
"""

BOUNDARIES = ("chip", "core-rail", "module", "board", "usb")
