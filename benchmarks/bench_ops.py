"""CPU seconds and peak memory of whole ``crm-xl`` processes on synthetic workspaces (issue 14).

    python benchmarks/bench_ops.py [--sizes 1000 5000 20000] [--archived 0 100000] [--runs 3]
                                   [--json results.json] [--work DIR] [--burst 8x50]
                                   [--skip ops refresh validate burst]

For every size (open customers) × archive size (closed customers in the archive registers) a
workspace is generated once with ``gen_synthetic.py`` (kept in ``--work`` for later runs); each
operation then runs as its own process on a fresh copy of it and is measured as the whole
process: CPU = user + system seconds from ``getrusage(RUSAGE_CHILDREN)`` deltas, peak RSS from
``wait4``. Medians of ``--runs`` runs are reported, beside baselines measured in the same run:

* ``python -c pass`` (the interpreter's own start-up);
* a calamine read of the live register (every sheet to Python values), and of the live plus
  archive registers;
* for ``refresh``: calamine reads of the register and every customer form; for ``validate``:
  of every workbook it reads (live and archive registers, every form).

Rows: customer add, follow-up add, case open, invoice issue, close; ``crm-xl --help``; the
button module's import (xlwings not loaded); refresh; a second refresh with nothing changed
(files written are counted); validate; and a burst of N processes × M customer adds at once
(successes, wall time). The Markdown table printed last is what the README shows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CRM = [sys.executable, "-m", "crm_xl"]
EXPERT = "علی رضایی"  # one of gen_synthetic.EXPERTS

# Calamine reads of files, as a process (the baseline the ratios are against).
CALAMINE = textwrap.dedent(
    """
    import sys
    from python_calamine import CalamineWorkbook
    for p in open(sys.argv[1], encoding="utf-8").read().splitlines():
        wb = CalamineWorkbook.from_path(p)
        for s in wb.sheet_names:
            wb.get_sheet_by_name(s).to_python()
    """
)
BUTTONS = "import sys; sys.modules['xlwings'] = None; import crm_xl.excel.buttons"


@dataclass
class Sample:
    cpu: float  # user + system seconds of the process and the children it waited for
    rss_mb: float  # peak resident set size
    wall: float
    ok: bool


@dataclass
class Result:
    name: str
    active: int
    archived: int
    samples: list[Sample] = field(default_factory=list)
    note: str = ""

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss(self) -> float:
        return max(s.rss_mb for s in self.samples)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.samples)


TIME = shutil.which("time", path="/usr/bin:/bin")


def run(cmd: Sequence[str], cwd: Path | None = None) -> Sample:
    """One whole process: CPU from RUSAGE_CHILDREN deltas; peak RSS as GNU time reports it
    (a child forked from this process would report this process's memory as its peak)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        full = [TIME, "-q", "-f", "%M", "-o", rss.name, *cmd] if TIME else list(cmd)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(full, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        text = rss.read().strip().splitlines()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = int(text[-1]) / 1024 if text and text[-1].isdigit() else after.ru_maxrss / 1024
    ok = proc.returncode == 0
    if not ok:
        err = proc.stderr.decode("utf-8", "replace")[-400:]
        print(f"  ! {' '.join(cmd[-6:])}: exit {proc.returncode}: {err}", file=sys.stderr)
    return Sample(round(cpu, 3), round(peak, 1), round(wall, 3), ok)


def fresh_copy(master: Path, into: Path) -> Path:
    """A copy of ``master`` to change: folders hard-linked (every write replaces a file, never
    edits it in place), the register, settings and ``.crm_xl`` copied for real."""
    dst = into / "ws"
    if dst.exists():
        shutil.rmtree(dst)
    subprocess.run(["cp", "-al", str(master), str(dst)], check=True)
    for p in [*master.glob("*.xls*"), master / "settings.json"]:
        (dst / p.name).unlink()
        shutil.copy2(p, dst / p.name)
    shutil.rmtree(dst / ".crm_xl")
    shutil.copytree(master / ".crm_xl", dst / ".crm_xl")
    return dst


def warm_evidence(master: Path, work: Path) -> None:
    """Give ``master`` the numbering-evidence cache a workspace in use has.

    The first write command on a workspace reads every archive register for the numbers it
    holds and caches the marks in ``.crm_xl/evidence-cache.json`` (keyed by each file's size
    and mtime); every later command skips them.  The generator writes no cache, so without
    this each measured run (a fresh copy) would pay that first read again.  One follow-up add
    on a scratch copy makes the cache; the archive registers are hard links of the master's,
    so its entries hold for the master and its copies."""
    cache = master / ".crm_xl" / "evidence-cache.json"
    if cache.exists():
        return
    ws = fresh_copy(master, work)
    args = next(iter(operations(targets(master)).values()))
    sample = run([*CRM, "-w", str(ws), *args])
    made = ws / ".crm_xl" / "evidence-cache.json"
    if sample.ok and made.exists():
        shutil.copy2(made, cache)
        print(f"  evidence cache warmed ({sample.cpu:.3f} s CPU cold)", file=sys.stderr)


def _rows(path: Path, sheet_key: str) -> list[dict[str, object]]:
    from crm_xl.domain import schema
    from crm_xl.io.workbook import read_table_fast

    return [r for _, r in read_table_fast(path, schema.F_31_08_02, sheet_key)]


@dataclass
class Targets:
    """Register rows the operations act on, found in the generated workspace."""

    followup: str
    case_open: tuple[str, str]  # customer, national id
    invoice_case: str
    close: str


def targets(ws: Path) -> Targets:
    from crm_xl.domain.enums import CaseStatus, Stage

    reg = ws / "F-31-08-02.xlsx"
    customers = _rows(reg, "Customers")
    cases = _rows(reg, "Cases")
    with_case = {str(c["customer_no"]) for c in cases}
    by_stage: dict[str, list[dict[str, object]]] = {}
    for c in customers:
        by_stage.setdefault(str(c["stage"]), []).append(c)
    prospect = next(
        c
        for s in (Stage.NEGOTIATION, Stage.PROPOSAL, Stage.FOLLOW_UP)
        for c in by_stage.get(s.fa, [])
        if str(c["customer_no"]) not in with_case
    )
    contracted = next(c for c in cases if c.get("status") == CaseStatus.CONTRACTED.fa)
    following = by_stage[Stage.FOLLOW_UP.fa]
    return Targets(
        followup=str(following[len(following) // 2]["customer_no"]),
        case_open=(str(prospect["customer_no"]), str(prospect["national_id"])),
        invoice_case=str(contracted["case_no"]),
        close=str(by_stage[Stage.CRM_DONE.fa][0]["customer_no"]),
    )


def operations(t: Targets) -> dict[str, list[str]]:
    at = "1405/09/01 10:00"
    return {
        "customer add": ["customer", "add", "--name", "مشتری سنجش", "--type", "natural",
                         "--national-code", "0012345679", "--channel", "telegram",
                         "--expert", EXPERT, "--need", "پمپ", "--at", at],
        "follow-up add": ["followup", "add", t.followup, "--type", "phone", "--note", "تماس",
                          "--at", at, "--next-action", "ارسال پیش‌فاکتور",
                          "--next-due", "1405/09/05 12:00"],
        "case open": ["case", "open", t.case_open[0], "--at", at],
        "invoice issue": ["invoice", "issue", t.invoice_case, "--amount", "500000000",
                          "--at", at],
        "close": ["customer", "close", t.close, "--at", at],
    }  # fmt: skip


def workbook_list(ws: Path, *, forms: bool, archives: bool, register: bool = True) -> list[Path]:
    files = [ws / "F-31-08-02.xlsx"] if register else []
    if archives:
        files += sorted((ws / "archive").glob("F-31-08-02 *.xlsx"))
    if forms:
        files += sorted(ws.glob("customers/*/F-31-08-01 *.xlsx"))
        if archives:
            files += sorted(ws.glob("archive/*/F-31-08-01 *.xlsx"))
    return files


def calamine(files: list[Path], work: Path, runs: int) -> list[Sample]:
    listing = work / f"files-{len(files)}.txt"
    listing.write_text("\n".join(str(p) for p in files), encoding="utf-8")
    return [run([sys.executable, "-c", CALAMINE, str(listing)]) for _ in range(runs)]


def written_since(ws: Path, since: float) -> list[Path]:
    """Files under ``ws`` (but the toolkit's own ``.crm_xl``) changed after ``since``."""
    out = []
    for p in ws.rglob("*"):
        if ".crm_xl" in p.parts or not p.is_file():
            continue
        if p.stat().st_mtime > since:
            out.append(p)
    return out


BURST = textwrap.dedent(
    """
    import subprocess, sys
    ws, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ok = 0
    for i in range(count):
        r = subprocess.run([sys.executable, "-m", "crm_xl", "-w", ws, "customer", "add",
                            "--name", f"مشتری هم‌زمان {worker}-{i}", "--type", "natural",
                            "--channel", "telegram", "--expert", sys.argv[4], "--need", "آزمون"],
                           capture_output=True, text=True)
        ok += r.returncode == 0
        if r.returncode:
            print(r.stderr[-300:], file=sys.stderr)
    print(ok)
    """
)


def burst(ws: Path, procs: int, adds: int) -> dict[str, object]:
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    ps = [
        subprocess.Popen(
            [sys.executable, "-c", BURST, str(ws), str(w), str(adds), EXPERT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(procs)
    ]
    ok = 0
    for p in ps:
        out, err = p.communicate()
        ok += int(out.strip() or 0)
        if err:
            print(f"  ! burst: {err[-300:]}", file=sys.stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "processes": procs,
        "adds": adds,
        "succeeded": ok,
        "wall_s": round(time.perf_counter() - start, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
    }


def bench_size(
    master: Path, active: int, archived: int, runs: int, work: Path, skip: set[str]
) -> list[Result]:
    results: list[Result] = []

    def add(name: str, samples: list[Sample], note: str = "") -> Result:
        r = Result(name, active, archived, samples, note)
        results.append(r)
        print(f"  {name}: {r.cpu:.3f} s CPU, {r.rss:.0f} MB", file=sys.stderr)
        return r

    add("python -c pass", [run([sys.executable, "-c", "pass"]) for _ in range(runs)])
    add("calamine read: register", calamine(workbook_list(master, forms=False, archives=False),
                                            work, runs))  # fmt: skip
    if archived:
        files = workbook_list(master, forms=False, archives=True)
        add("calamine read: register + archives", calamine(files, work, runs))
    add("crm-xl --help", [run([*CRM, "--help"]) for _ in range(runs)])
    add("button module import", [run([sys.executable, "-c", BUTTONS]) for _ in range(runs)])
    for name, args in operations(targets(master)).items() if "ops" not in skip else ():
        samples = []
        for _ in range(runs):
            ws = fresh_copy(master, work)
            samples.append(run([*CRM, "-w", str(ws), *args]))
        add(name, samples)
    if "refresh" not in skip:
        files = workbook_list(master, forms=True, archives=False)
        add("calamine read: refresh's files", calamine(files, work, runs), f"{len(files)} files")
        first, second, writes = [], [], []
        for _ in range(runs):
            ws = fresh_copy(master, work)
            first.append(run([*CRM, "-w", str(ws), "refresh", "--at", "1405/09/01 10:00"]))
            since = time.time()
            time.sleep(0.05)
            second.append(run([*CRM, "-w", str(ws), "refresh", "--at", "1405/09/01 10:00"]))
            writes.append(len(written_since(ws, since)))
        add("refresh", first)
        add("refresh again (nothing changed)", second, f"files written: {max(writes)}")
    if "validate" not in skip:
        files = workbook_list(master, forms=True, archives=True)
        add("calamine read: validate's files", calamine(files, work, runs), f"{len(files)} files")
        add("validate", [run([*CRM, "-w", str(master), "validate", str(master)])
                         for _ in range(runs)])  # fmt: skip
    return results


#: Which calamine read an operation is compared with.
BASELINE = {
    "refresh": "calamine read: refresh's files",
    "refresh again (nothing changed)": "calamine read: refresh's files",
    "validate": "calamine read: validate's files",
}
OPERATIONS = ("customer add", "follow-up add", "case open", "invoice issue", "close")


def _size(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def table(results: list[Result], configs: list[tuple[int, int]]) -> str:
    """Markdown: one row per measurement, one column per workspace size."""
    names: list[str] = []
    for r in results:
        if r.name not in names:
            names.append(r.name)
    head = "| operation | " + " | ".join(
        f"{_size(a)} open + {_size(m)} archived" for a, m in configs
    )
    lines = [head + " |", "|---|" + "---|" * len(configs)]
    for name in names:
        cells = []
        for a, m in configs:
            here = {x.name: x for x in results if (x.active, x.archived) == (a, m)}
            r = here.get(name)
            if r is None:
                cells.append("–")
                continue
            text = f"{r.cpu:.2f} s, {r.rss:.0f} MB"
            base = here.get(BASELINE.get(name, "calamine read: register"))
            if base and (name in BASELINE or name in OPERATIONS):
                text += f", {r.cpu / base.cpu:.1f}× calamine"
            plain = next(
                (x for x in results if (x.name, x.active, x.archived) == (name, a, 0)), None
            )
            if m and plain and name in OPERATIONS:
                text += f", {r.cpu / plain.cpu:.2f}× no archive"
            if not r.ok:
                text += " **failed**"
            if r.note:
                text += f" ({r.note})"
            cells.append(text)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--archived", type=int, nargs="+", default=[0, 100_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write every sample here")
    ap.add_argument("--work", type=Path, help="keep generated workspaces here (reused)")
    ap.add_argument("--burst", default="8x50", help="PROCESSESxADDS on the smallest workspace")
    ap.add_argument(
        "--skip", nargs="*", default=[], choices=["ops", "refresh", "validate", "burst"]
    )
    a = ap.parse_args(argv)
    from gen_synthetic import write_workspace

    work = a.work or Path(tempfile.mkdtemp(prefix="crm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="crm-bench-run-", dir=work))
    configs = [(n, m) for m in a.archived for n in a.sizes]
    results: list[Result] = []
    for active, archived in configs:
        master = work / f"ws-{active}-{archived}"
        if not (master / "settings.json").exists():
            if master.exists():
                shutil.rmtree(master)
            t0 = time.perf_counter()
            write_workspace(master, active, archived)
            print(f"generated {master} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        warm_evidence(master, scratch)
        print(f"{active} open + {archived} archived:", file=sys.stderr)
        results += bench_size(master, active, archived, a.runs, scratch, set(a.skip))
        save(a.json, results, {})
    extra: dict[str, object] = {}
    if "burst" not in a.skip:
        procs, adds = (int(x) for x in a.burst.lower().split("x"))
        small = min(configs)
        ws = fresh_copy(work / f"ws-{small[0]}-{small[1]}", scratch)
        extra["burst"] = {"workspace": list(small), **burst(ws, procs, adds)}
        print(f"burst: {extra['burst']}", file=sys.stderr)
    shutil.rmtree(scratch, ignore_errors=True)
    md = table(results, configs)
    b = extra.get("burst")
    if isinstance(b, dict):
        md += (
            f"\n\nConcurrent burst on {_size(b['workspace'][0])} open: {b['processes']} processes"
            f" × {b['adds']} `customer add`: {b['succeeded']} of {b['processes'] * b['adds']}"
            f" succeeded in {b['wall_s']} s ({b['cpu_s']} s CPU), default lock timeout."
        )
    md += (
        f"\n\nMedians of {a.runs} runs, CPU seconds (user + system) of the whole process,"
        f" peak RSS; {platform.python_implementation()} {platform.python_version()},"
        f" {os.cpu_count()} cores."
    )
    print(md)
    save(a.json, results, extra)
    return 0


def save(path: Path | None, results: list[Result], extra: dict[str, object]) -> None:
    """Every sample so far as JSON (written after each workspace size, so a long run that is
    stopped keeps what it measured)."""
    if path is None:
        return
    data = {"results": [asdict(r) | {"median_cpu": r.cpu} for r in results], **extra}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
