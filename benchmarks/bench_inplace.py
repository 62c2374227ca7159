"""CPU seconds of whole `crm-xl` processes for the four button operations (issue 14).

Builds a workspace per size with ``gen_synthetic.write_register`` (the register, settings and
the first three customers' forms: every operation here touches only those), then runs customer
add, follow-up add, case open and invoice issue ``--runs`` times each and prints the median
user+sys CPU of the child processes, beside ``python -c pass`` and a calamine read of every
sheet of the same register.

    python benchmarks/bench_inplace.py OUT_DIR [--sizes 5000 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import gen_synthetic as gen

from crm_xl.domain.settings import Settings
from crm_xl.io.settings_file import save_settings
from crm_xl.ops.store import customer_form_name


def workspace(root: Path, customers: int) -> Path:
    if (root / "F-31-08-02.xlsx").exists():
        return root
    for d in ("customers", "archive", "after-sales", ".crm_xl/backups"):
        (root / d).mkdir(parents=True, exist_ok=True)
    save_settings(root, Settings(experts=gen.EXPERTS))
    gen.write_register(root / "F-31-08-02.xlsx", customers)
    rng = random.Random(1403)  # the same draws as write_register: the same first customers
    for n in range(1, 4):
        row, _ = gen._customer(rng, n)
        folder = root / str(row["folder"])
        folder.mkdir(parents=True, exist_ok=True)
        gen.write_customer_form(folder / customer_form_name(str(row["customer_no"])), row)
    return root


def cpu(cmd: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median(cmd: list[str], runs: int) -> float:
    return statistics.median(cpu(cmd) for _ in range(runs))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--sizes", type=int, nargs="*", default=[5000, 20000])
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    py = sys.executable
    print(f"python -c pass: {median([py, '-c', 'pass'], a.runs):.2f} s")
    for n in a.sizes:
        ws = workspace(a.out / f"ws-{n}", n)
        w = ["-m", "crm_xl", "-w", str(ws)]
        read = (
            "import sys\nfrom python_calamine import CalamineWorkbook as B\n"
            "b = B.from_path(sys.argv[1])\n"
            "for s in b.sheet_names: b.get_sheet_by_name(s).to_python()"
        )
        reg = str(ws / "F-31-08-02.xlsx")
        ops = {
            "customer add": [*w, "customer", "add", "--name", "مشتری سنجش", "--type", "natural",
                             "--national-code", "0012345679", "--channel", "phone", "--expert",
                             gen.EXPERTS[0], "--need", "پمپ", "--mobile", "09121234567",
                             "--allow-duplicate"],
            "follow-up add": [*w, "followup", "add", "C-00001", "--type", "phone", "--note", "x"],
            "case open": [*w, "case", "open", "C-00001"],
            "invoice issue": [*w, "invoice", "issue", "P-00001", "--amount", "1000"],
        }  # fmt: skip
        print(f"{n} active: calamine read {median([py, '-c', read, reg], a.runs):.2f} s")
        for name, args in ops.items():
            print(f"{n} active: {name} {median([py, *args], a.runs):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
