"""Closed-form compute cycles of a rows x cols systolic array, matching SCALE-Sim v3.

The single public function, :func:`gemm_cycles`, reproduces the "Total Cycles"
column of SCALE-Sim v3's ``COMPUTE_REPORT.csv`` (GEMM input mode, no memory
stalls) without simulating anything.  It is pure and O(1), so it is cheap
enough for search loops.
"""

from __future__ import annotations

from numbers import Integral

from simulator.hardware.systolic import DATAFLOWS

__all__ = ["DATAFLOWS", "gemm_cycles"]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def gemm_cycles(m: int, n: int, k: int, rows: int, cols: int, dataflow: str) -> int:
    """Cycles for an (M x K) @ (K x N) GEMM on a ``rows`` x ``cols`` systolic array.

    Returns SCALE-Sim v3's "Total Cycles" (compute cycles, prefetch and memory
    stalls excluded) for the same GEMM in ``-i gemm`` mode. In GEMM mode
    SCALE-Sim's ifmap operand matrix is M x K (M output pixels, window size K)
    and its filter operand matrix is K x N (N filters), so the output is M x N.

    Each dataflow pins two GEMM dimensions to the array and streams the third
    (``T``)::

        dataflow  on rows (Sr)  on cols (Sc)  streamed (T)  one fold takes L cycles
        ws        K             N             M             L = 2*R + C + T - 2
        os        M             N             K             L =   R + C + T - 2
        is        K             M             N             L = 2*R + C + T - 2

        folds = ceil(Sr / R) * ceil(Sc / C)
        total = folds * L - 1

    with R = ``rows`` and C = ``cols``. Folds run back to back with no overlap.
    Inside a fold:

    * ws/is: R cycles to load the stationary operand (weights for ws, ifmap
      for is), T cycles to stream the moving operand, C - 1 cycles for the
      last partial sums to cross the columns, and R - 1 cycles of
      row-to-row skew.
    * os: T cycles to stream both operands, plus R - 1 and C - 1 cycles of
      fill/drain skew.

    SCALE-Sim counts from cycle 0, so its total is the index of the last
    cycle, hence the final ``- 1``. A fold that covers only part of the
    array costs as much as a full one.

    Args:
        m: GEMM M (rows of A and of the output).
        n: GEMM N (columns of B and of the output).
        k: GEMM K (the reduction dimension).
        rows: array height R (number of PE rows).
        cols: array width C (number of PE columns).
        dataflow: ``"ws"`` (weight-), ``"os"`` (output-) or ``"is"``
            (input-stationary).

    Raises:
        ValueError: if a dimension is not a positive integer (bools and
            floats are rejected, numpy integers are accepted) or ``dataflow``
            is unknown.
    """
    for name, value in (("m", m), ("n", n), ("k", k), ("rows", rows), ("cols", cols)):
        # Any integral type (int, numpy ints) is accepted; bool and float are not. The
        # exact-int test first keeps the common case off the slow ABC check.
        if (type(value) is not int and (isinstance(value, bool) or not isinstance(value, Integral))) or value <= 0:
            raise ValueError(f"gemm_cycles: {name} must be a positive int, got {value!r}")

    if dataflow == "ws":
        sr, sc, t, fill = k, n, m, 2 * rows
    elif dataflow == "os":
        sr, sc, t, fill = m, n, k, rows
    elif dataflow == "is":
        sr, sc, t, fill = k, m, n, 2 * rows
    else:
        raise ValueError(
            f"gemm_cycles: dataflow must be one of {DATAFLOWS}, got {dataflow!r}"
        )

    folds = _ceil_div(sr, rows) * _ceil_div(sc, cols)
    return int(folds * (fill + cols + t - 2) - 1)
