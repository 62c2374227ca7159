"""The templates open and print in LibreOffice: a PDF with pages, the form code and title."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from helpers_office import pdf_pages, pdf_text, pdf_to_png, to_pdfs

from crm_xl.domain import schema
from crm_xl.io.layout import build_templates

pytestmark = pytest.mark.libreoffice


def plain(text: str) -> str:
    """NFKC folds Arabic presentation forms; drop bidi controls and spacing differences."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("render")
    paths = build_templates(d / "xlsx")
    return {p.stem: p for p in to_pdfs(paths, d / "pdf")}


@pytest.mark.parametrize("form", list(schema.FORMS.values()), ids=lambda f: f.code)
def test_template_renders_to_pdf(form: schema.Form, pdfs: dict[str, Path], tmp_path: Path) -> None:
    pdf = pdfs[form.code]
    assert pdf.stat().st_size > 0
    visible = [p for p in form.parts if not getattr(p, "hidden", False)]
    assert pdf_pages(pdf) >= len(visible)  # each visible sheet prints
    text = plain(pdf_text(pdf))
    assert form.code in text
    # Word order may come out visually reversed; single words survive either way.
    for word in [w for w in form.title_fa.split() if len(w) > 2][:4]:
        assert word in text or word[::-1] in text, word
    pngs = pdf_to_png(pdf, tmp_path, dpi=30)
    assert len(pngs) == pdf_pages(pdf)
