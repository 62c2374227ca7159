"""LibreOffice / poppler helpers for tests that look at rendered workbooks.

Each soffice call gets its own user profile (``-env:UserInstallation``) so parallel test
runs do not fight over one profile lock; one call converts many files at once because
starting soffice dominates the cost.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

TIMEOUT = 120


def soffice() -> str | None:
    """Path of the soffice binary, or None (tests skip then)."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdfs(paths: Iterable[Path], outdir: Path, *, timeout: float = TIMEOUT) -> list[Path]:
    """Convert workbooks to PDF with one headless soffice call; the PDFs, in input order."""
    exe = soffice()
    if exe is None:
        raise RuntimeError("soffice is not installed")
    paths = [Path(p).resolve() for p in paths]
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo_profile_") as profile:
        cmd = [
            exe,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            *map(str, paths),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    pdfs = [outdir / (p.stem + ".pdf") for p in paths]
    missing = [p for p in pdfs if not p.exists()]
    if missing:
        raise RuntimeError(
            f"soffice did not write {missing}: rc={proc.returncode} {proc.stderr[-2000:]}"
        )
    return pdfs


def to_pdf(path: Path, outdir: Path, *, timeout: float = TIMEOUT) -> Path:
    return to_pdfs([path], outdir, timeout=timeout)[0]


def pdf_to_png(pdf: Path, outdir: Path, *, dpi: int = 70) -> list[Path]:
    """One PNG per page (pdftoppm), sorted by page."""
    outdir.mkdir(parents=True, exist_ok=True)
    prefix = outdir / pdf.stem
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, timeout=TIMEOUT
    )
    return sorted(outdir.glob(f"{pdf.stem}-*.png"))


def pdf_text(pdf: Path) -> str:
    """Text of the PDF (pdftotext); Persian may come out in visual order or presentation forms."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        check=True,
        timeout=TIMEOUT,
    )
    return out.stdout.decode("utf-8", "replace")


def pdf_pages(pdf: Path) -> int:
    out = subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=TIMEOUT
    )
    for line in out.stdout.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    return 0
