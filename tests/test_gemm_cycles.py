"""gemm_cycles against SCALE-Sim v3 goldens (see tests/golden/make_scalesim_golden.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from simulator.costmodels.systolic_cycles import gemm_cycles

GOLDEN_CSV = Path(__file__).resolve().parent / "golden" / "scalesim_gemm_cycles.csv"


def _load_golden() -> list[dict[str, str]]:
    with open(GOLDEN_CSV, newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


GOLDEN = _load_golden()


def test_golden_file_is_complete() -> None:
    assert len(GOLDEN) >= 120
    assert {r["dataflow"] for r in GOLDEN} == {"ws", "os", "is"}


@pytest.mark.parametrize(
    "row",
    GOLDEN,
    ids=[f"{r['rows']}x{r['cols']}-{r['dataflow']}-m{r['m']}-n{r['n']}-k{r['k']}" for r in GOLDEN],
)
def test_matches_scalesim(row: dict[str, str]) -> None:
    got = gemm_cycles(
        int(row["m"]), int(row["n"]), int(row["k"]),
        int(row["rows"]), int(row["cols"]), row["dataflow"],
    )
    assert got == int(row["total_cycles"])


def test_hand_computed_ws() -> None:
    # M=100, N=10, K=20 on an 8x8 array, weight stationary:
    #   K on rows -> ceil(20/8) = 3 row folds; N on cols -> ceil(10/8) = 2 col folds
    #   -> 6 folds. Each fold takes 2R + C + M - 2 = 16 + 8 + 100 - 2 = 122 cycles
    #   (R to load weights, M to stream, C-1 to drain, R-1 of skew).
    #   Total = 6 * 122 - 1 = 731 (SCALE-Sim numbers cycles from 0).
    assert gemm_cycles(100, 10, 20, 8, 8, "ws") == 731


def test_hand_computed_os_non_square() -> None:
    # M=33, N=17, K=65 on an 8 (rows) x 16 (cols) array, output stationary:
    #   M on rows -> ceil(33/8) = 5; N on cols -> ceil(17/16) = 2 -> 10 folds,
    #   each R + C + K - 2 = 8 + 16 + 65 - 2 = 87 cycles -> 10 * 87 - 1 = 869.
    assert gemm_cycles(33, 17, 65, 8, 16, "os") == 869


def test_accepts_numpy_ints() -> None:
    np = pytest.importorskip("numpy")
    got = gemm_cycles(np.int64(100), np.int32(10), 20, 8, 8, "ws")
    assert got == 731 and type(got) is int


@pytest.mark.parametrize("field", ["m", "n", "k", "rows", "cols"])
@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "8", None])
def test_rejects_bad_dimension(field: str, bad: object) -> None:
    args = {"m": 4, "n": 4, "k": 4, "rows": 8, "cols": 8, "dataflow": "ws"}
    args[field] = bad
    with pytest.raises(ValueError, match=field):
        gemm_cycles(**args)


@pytest.mark.parametrize("dataflow", ["WS", "rs", "", None, "weight"])
def test_rejects_unknown_dataflow(dataflow: object) -> None:
    with pytest.raises(ValueError, match="dataflow"):
        gemm_cycles(4, 4, 4, 8, 8, dataflow)
