"""Regenerate ``scalesim_gemm_cycles.csv``: SCALE-Sim v3 GEMM compute cycles.

This script is not a test and is not imported by the test suite. It needs
SCALE-Sim in a separate virtualenv, outside the repo::

    python3 -m venv /tmp/scalesim-venv
    /tmp/scalesim-venv/bin/pip install scalesim "numpy<2"     # scalesim 3.0.0
    /tmp/scalesim-venv/bin/python tests/golden/make_scalesim_golden.py

For every (array size, dataflow) pair it writes a SCALE-Sim config (.cfg), a
GEMM topology CSV (``Layer,M,N,K,`` with one row per shape; SCALE-Sim drops
the last field of each row, so every row ends with a comma) and a layout CSV
that holds only a header (custom layouts are off). It then runs SCALE-Sim in
GEMM mode. The run is the same as the CLI
``python -m scalesim.scale -c <cfg> -t <topo.csv> -l <layout.csv> -p <out> -i gemm``,
but goes through the ``scalesim.scale_sim.scalesim`` class with
``save_disk_space=True`` so that no cycle traces are written. The
"Total Cycles" column of each ``COMPUTE_REPORT.csv`` goes into the golden CSV.

The memory side is set up so that it never stalls: InterfaceBandwidth=CALC
(bandwidth-estimate mode) and 4 MiB SRAMs. Only compute cycles matter, and
the script checks that every "Stall Cycles" entry is 0.

The nine (array, dataflow) runs go in parallel. The whole thing takes about
3 minutes on 2 cores.
"""

from __future__ import annotations

import csv
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_CSV = HERE / "scalesim_gemm_cycles.csv"

ARRAYS: list[tuple[int, int]] = [(8, 8), (32, 32), (8, 16)]
DATAFLOWS: list[str] = ["ws", "os", "is"]

# (M, N, K): C[M x N] = A[M x K] @ B[K x N]
SHAPES: list[tuple[int, int, int]] = [
    (1, 1, 1),  # tiny
    (4, 4, 4),
    (8, 8, 8),  # exactly one 8x8 tile
    (7, 5, 3),  # everything smaller than the array
    (1, 64, 64),  # GEMV, M = 1
    (64, 1, 64),  # N = 1
    (64, 64, 1),  # K = 1 (outer product)
    (100, 10, 20),  # non-multiples
    (33, 17, 65),  # one past a multiple
    (128, 128, 128),  # square, multiple of every array size
    (1000, 3, 9),  # tall and thin
    (3, 1000, 9),  # wide
    (9, 3, 1000),  # long reduction
    (2, 3, 100),
    (17, 33, 8),
    (50, 31, 9),
    (512, 16, 16),
    (8, 100, 30),
    (196, 64, 576),  # conv-like: 14x14 output, 3x3x64 window, 64 filters
    (1, 500, 320),  # classifier-like
    (3136, 24, 144),  # conv-like: 56x56 output, 1x1x144 window, 24 filters
    (12544, 32, 27),  # conv-like: 112x112 output, 3x3x3 window, 32 filters
]

CFG_TEMPLATE = """\
[general]
run_name = golden

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:    4096
FilterSramSzkB:   4096
OfmapSramSzkB:    4096
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {dataflow}
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def run_one(rows: int, cols: int, dataflow: str) -> list[tuple[int, int, str, int, int, int, int]]:
    """Run SCALE-Sim once over all SHAPES for one array size and dataflow."""
    from scalesim.scale_sim import scalesim  # only importable inside the scalesim venv

    with tempfile.TemporaryDirectory(prefix=f"scalesim_{rows}x{cols}_{dataflow}_") as tmp:
        d = Path(tmp)
        (d / "golden.cfg").write_text(CFG_TEMPLATE.format(rows=rows, cols=cols, dataflow=dataflow))
        topo = "Layer,M,N,K,\n" + "".join(
            f"g{i}_{m}x{n}x{k},{m},{n},{k},\n" for i, (m, n, k) in enumerate(SHAPES)
        )
        (d / "topo.csv").write_text(topo)
        (d / "layout.csv").write_text("Layer,\n")

        sim = scalesim(
            save_disk_space=True,
            verbose=False,
            config=str(d / "golden.cfg"),
            topology=str(d / "topo.csv"),
            layout=str(d / "layout.csv"),
            input_type_gemm=True,
        )
        sim.run_scale(top_path=str(d / "out"))

        with open(d / "out" / "golden" / "COMPUTE_REPORT.csv", newline="") as f:
            report = [
                {key.strip(): val.strip() for key, val in row.items() if key and key.strip()}
                for row in csv.DictReader(f)
            ]

    assert len(report) == len(SHAPES), (rows, cols, dataflow, len(report))
    out = []
    for (m, n, k), row in zip(SHAPES, report, strict=True):
        assert int(row["Stall Cycles"]) == 0, f"memory stalls in {rows}x{cols} {dataflow} {m, n, k}"
        out.append((rows, cols, dataflow, m, n, k, int(row["Total Cycles"])))
    return out


def main() -> int:
    jobs = [(r, c, df) for (r, c) in ARRAYS for df in DATAFLOWS]
    with ProcessPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(run_one, *zip(*jobs, strict=True)))

    with open(OUT_CSV, "w", newline="") as f:
        f.write(
            f"# SCALE-Sim v{version('scalesim')} GEMM 'Total Cycles' (COMPUTE_REPORT.csv), "
            "CALC bandwidth mode, 0 stalls; generated by "
            "/tmp/scalesim-venv/bin/python tests/golden/make_scalesim_golden.py\n"
        )
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["rows", "cols", "dataflow", "m", "n", "k", "total_cycles"])
        n_rows = 0
        for rows_out in results:
            w.writerows(rows_out)
            n_rows += len(rows_out)
    print(f"wrote {n_rows} rows to {OUT_CSV}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
