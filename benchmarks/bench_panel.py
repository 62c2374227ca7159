"""What one panel click costs: a fresh Python process per press, as ``RunPython`` starts one.

    python benchmarks/bench_panel.py [--customers N] [--presses K]

Measured in child processes (CPU = user + sys of the child, wall = elapsed):

* import: ``import crm_xl.excel.buttons`` alone (what every click pays before it does anything);
* press: a fresh process that opens the panel through xlwings' remote engine and presses
  «ثبت مشتری جدید» (register, then re-read the expert's lists), on a workspace of N customers.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERT = "سارا احمدی"

PRESS = """
import sys
sys.path.insert(0, {tests!r})
import xlwings_remote as remote
remote.ensure_remote_engine()
from crm_xl.excel import buttons
book = remote.open_with_entries({panel!r}, dict(
    in_name={name!r}, in_person_type="حقیقی", in_channel="تلفن", in_need="پمپ",
    in_mobile={mobile!r}))
text = buttons.register_customer(book)
assert text.startswith("✔"), text
"""


def _child(args: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"}  # the remote engine only
    subprocess.run(args, check=True, env=env, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--presses", type=int, default=3)
    opts = parser.parse_args()

    from crm_xl.domain import decide
    from crm_xl.excel.panel import build_panel
    from crm_xl.io.workspace import init_workspace
    from crm_xl.ops import store

    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(Path(tmp) / "ws", company="شرکت", experts=[EXPERT])
        for i in range(opts.customers):
            inp = decide.NewCustomer(
                name=f"مشتری {i}",
                person_type="حقیقی",
                channel="تلفن",
                expert=EXPERT,
                need="پمپ",
                mobile=f"0912{i:07d}",
            )
            store.add_customer(ws, inp)
        t0 = time.perf_counter()
        panel = build_panel(ws, EXPERT, out=Path(tmp) / "panel.xlsm")
        print(f"build panel ({opts.customers} customers): {time.perf_counter() - t0:.2f} s wall")
        imports = [
            _child([sys.executable, "-c", "import crm_xl.excel.buttons"])
            for _ in range(opts.presses)
        ]
        print(
            "import crm_xl.excel.buttons: "
            + ", ".join(f"{c:.2f} s CPU / {w:.2f} s wall" for c, w in imports)
        )
        presses = []
        for k in range(opts.presses):
            code = PRESS.format(
                tests=str(ROOT / "tests"),
                panel=str(panel),
                name=f"بنچ {k}",
                mobile=f"0935{k:07d}",
            )
            presses.append(_child([sys.executable, "-c", code]))
        print(
            f"press register_customer ({opts.customers} customers): "
            + ", ".join(f"{c:.2f} s CPU / {w:.2f} s wall" for c, w in presses)
        )


if __name__ == "__main__":
    main()
