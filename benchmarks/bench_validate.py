"""Validate time against the calamine raw read of the same register, and peak memory.

Baseline (measured in the same run): ``CalamineWorkbook.from_path(p).get_sheet_by_name(s)
.to_python()`` for every sheet of the register.  Acceptance (issue 6): validate ≤ 2× baseline
at 100k customers.  Times are the best of ``--repeat`` runs; memory is the tracemalloc peak
of one separate validate run (tracemalloc slows code, so it is not timed) and ru_maxrss.

    python benchmarks/bench_validate.py [--dir DIR] [--sizes 10000 50000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_synthetic import write_register
from python_calamine import CalamineWorkbook

from crm_xl.domain.schema import F_31_08_02
from crm_xl.validation import validate_paths


def raw_read(p: Path) -> int:
    book = CalamineWorkbook.from_path(str(p))
    n = 0
    for sheet in book.sheet_names:
        n += len(book.get_sheet_by_name(sheet).to_python())
    return n


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", type=Path, default=Path("benchmarks/.data"))
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 50_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    a.dir.mkdir(parents=True, exist_ok=True)
    assert F_31_08_02.code
    print(f"{'customers':>9} {'MB':>6} {'calamine s':>10} {'validate s':>10} {'ratio':>6} "
          f"{'findings':>8} {'peak MB':>8}")  # fmt: skip
    for n in a.sizes:
        p = a.dir / f"register-{n}.xlsx"
        if not p.exists():
            write_register(p, n)
        findings = len(validate_paths([p]).findings)  # warm-up (imports, caches)
        base = best(lambda p=p: raw_read(p), a.repeat)
        val = best(lambda p=p: validate_paths([p]), a.repeat)
        gc.collect()
        tracemalloc.start()
        validate_paths([p])
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"{n:>9} {p.stat().st_size / 2**20:>6.1f} {base:>10.2f} {val:>10.2f} "
              f"{val / base:>6.2f} {findings:>8} {peak:>8.0f}", flush=True)  # fmt: skip
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process ru_maxrss: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
