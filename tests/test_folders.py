"""Customer folders: safe names on every OS, no escapes, no overwrites (SPEC §7)."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_xl.domain.errors import InputError
from crm_xl.io import folders
from crm_xl.io.folders import (
    customer_folder_name,
    find_customer_folder,
    move_folder,
    resolve_inside,
    safe_name,
    unique_folder,
)

RESERVED_CHARS = set('<>:"/\\|?*')
DEVICES = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{d}" for p in ("COM", "LPT") for d in "123456789"}


def assert_safe_component(name: str, root: Path, max_len: int = 80) -> None:
    assert name and name not in (".", "..")
    assert not RESERVED_CHARS & set(name)
    assert all(ord(c) >= 32 and not 0x7F <= ord(c) <= 0x9F for c in name)
    assert name == name.strip(" .\u200c"), repr(name)
    assert name.split(".")[0].rstrip(" ").upper() not in DEVICES
    assert len(name) <= max_len and len(name.encode("utf-8")) <= 255
    assert os.sep not in name and "/" not in name
    target = resolve_inside(root, name)
    assert target.parent == root.resolve()
    target.mkdir()  # really creatable
    assert target.is_dir() and target.name == name


CASES = {
    "../../x": "-..-x",
    "CON": "CON_",
    "con.txt": "con_.txt",
    "Lpt9": "Lpt9_",
    "a:b*c?": "a-b_c_",
    "شرکت «نمونه» / تهران.": "شرکت «نمونه» - تهران",
    "   ": "_",
    "...": "_",
    "": "_",
    "علی\u200cرضا": "علی\u200cرضا",  # ZWNJ kept inside a word
    "\u200cعلی\u200c": "علی",  # but not at the ends
    "شركت علي": "شرکت علی",  # Arabic ي/ك → Persian ی/ک
    "a\x00b\nc\td": "a b c d",
    'x "y" <z>|w\\v': "x 'y' (z)-w-v",
    "a\ud800b": "ab",  # a lone surrogate (bad decoding upstream) cannot be a file name
    "COM¹.log": "COM¹_.log",
}


@pytest.mark.parametrize(("raw", "expected"), CASES.items())
def test_safe_name_cases(tmp_path: Path, raw: str, expected: str) -> None:
    got = safe_name(raw)
    assert got == expected
    assert_safe_component(got, tmp_path)
    assert safe_name(got) == got


def test_long_persian_name_is_cut_by_chars_and_bytes(tmp_path: Path) -> None:
    raw = ("شرکت بازرگانی نمونهٔ تهران " * 20)[:300]
    got = safe_name(raw)
    assert len(got) <= 80 and got == got.strip(" .")
    assert_safe_component(got, tmp_path)
    wide = safe_name("ش" * 300, max_len=1000)
    assert len(wide.encode("utf-8")) <= 255 and len(wide) == 127
    assert_safe_component(wide, tmp_path, max_len=1000)
    emoji = safe_name("😀" * 300, max_len=1000)  # 4 UTF-8 bytes, 2 UTF-16 units each
    assert len(emoji.encode("utf-8")) <= 255
    assert_safe_component(emoji, tmp_path, max_len=1000)


def test_truncation_never_leaves_trailing_dot_or_space(tmp_path: Path) -> None:
    for raw in ("a" * 79 + " b", "a" * 79 + ".b", "a" * 78 + " .b", "CON" + " " * 100):
        got = safe_name(raw)
        assert_safe_component(got, tmp_path)
        (tmp_path / got).rmdir()


TRICKY = st.sampled_from(
    [
        "CON",
        "nul",
        "Com1",
        ".",
        "..",
        " ",
        "\u200c",
        "/",
        "\\",
        ":",
        "ي",
        "ك",
        "\x00",
        "\n",
        "\ud800",
        "«",
        "ش" * 90,
        ".",
    ]
)
TEXT = st.text(max_size=400) | st.lists(TRICKY | st.text(max_size=5), max_size=12).map("".join)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=300))
def test_safe_name_property(raw: str, max_len: int) -> None:
    got = safe_name(raw, max_len=max_len)
    assert safe_name(got, max_len=max_len) == got
    with tempfile.TemporaryDirectory() as tmp:
        assert_safe_component(got, Path(tmp), max_len=max_len)


def test_customer_folder_name() -> None:
    assert (
        customer_folder_name("1404-0012", "شرکت «نمونه» / تهران.")
        == "1404-0012 - شرکت «نمونه» - تهران"
    )
    assert customer_folder_name("17", "  ") == "17"
    long = customer_folder_name("1404-0012", "ن" * 300)
    assert long.startswith("1404-0012 - ") and len(long) <= 80


def test_resolve_inside(tmp_path: Path) -> None:
    assert resolve_inside(tmp_path, "a") == tmp_path.resolve() / "a"
    for bad in ("..", "../x", "a/../../x", "/etc", "", ".", "a\x00b"):
        with pytest.raises(InputError) as info:
            resolve_inside(tmp_path, bad)
        assert info.value.code == "unsafe-path"
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (tmp_path / "link").symlink_to(outside)
    with pytest.raises(InputError):
        resolve_inside(tmp_path, "link")


def test_unique_folder_collisions(tmp_path: Path) -> None:
    assert unique_folder(tmp_path, "12 - Ali") == tmp_path.resolve() / "12 - Ali"
    (tmp_path / "12 - Ali").mkdir()
    assert unique_folder(tmp_path, "12 - Ali").name == "12 - Ali (2)"
    (tmp_path / "12 - ALI (2)").mkdir()  # another case counts as taken (Windows/macOS shares)
    assert unique_folder(tmp_path, "12 - ali").name == "12 - ali (3)"
    long = safe_name("ش" * 300, max_len=1000)
    (tmp_path / long).mkdir()
    second = unique_folder(tmp_path, long)
    assert second.name.endswith(" (2)") and len(second.name.encode()) <= 255
    second.mkdir()


def test_find_customer_folder(tmp_path: Path) -> None:
    assert find_customer_folder(tmp_path / "missing", "12") is None
    (tmp_path / "12 - شرکت قدیم").mkdir()
    (tmp_path / "120 - Other").mkdir()
    (tmp_path / "7").mkdir()
    (tmp_path / "13 - not a folder").write_text("x")
    assert find_customer_folder(tmp_path, "12") == tmp_path / "12 - شرکت قدیم"
    assert find_customer_folder(tmp_path, "120") == tmp_path / "120 - Other"
    assert find_customer_folder(tmp_path, "7") == tmp_path / "7"
    assert find_customer_folder(tmp_path, "1") is None
    assert find_customer_folder(tmp_path, "13") is None


def _customer(root: Path, name: str, content: str) -> Path:
    folder = root / name
    (folder / "docs").mkdir(parents=True)
    (folder / "F-31-08-01.xlsx").write_text(content)
    (folder / "docs" / "contract.pdf").write_text(content + "-pdf")
    return folder


def test_move_folder_never_overwrites(tmp_path: Path) -> None:
    customers, archive = tmp_path / "customers", tmp_path / "archive"
    src = _customer(customers, "12 - Ali", "new")
    _customer(archive, "12 - Ali", "old")
    moved = move_folder(src, archive)
    assert moved == archive.resolve() / "12 - Ali (2)"
    assert (moved / "F-31-08-01.xlsx").read_text() == "new"
    assert (archive / "12 - Ali" / "F-31-08-01.xlsx").read_text() == "old"
    assert not src.exists()
    assert move_folder(moved, archive) == moved  # already there: nothing happens
    with pytest.raises(InputError):
        move_folder(archive, archive / "12 - Ali")  # into itself
    with pytest.raises(InputError):
        move_folder(tmp_path / "nope", archive)


def test_move_folder_across_devices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    customers, archive = tmp_path / "customers", tmp_path / "archive"
    src = _customer(customers, "12 - Ali", "new")
    _customer(archive, "12 - Ali", "old")
    real_rename = os.rename

    def rename(a: os.PathLike[str], b: os.PathLike[str]) -> None:
        if Path(a).parent.name == "customers":
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(a, b)

    monkeypatch.setattr(folders, "_rename", rename)
    moved = move_folder(src, archive)
    assert moved.name == "12 - Ali (2)"
    assert (moved / "docs" / "contract.pdf").read_text() == "new-pdf"
    assert (archive / "12 - Ali" / "F-31-08-01.xlsx").read_text() == "old"
    assert not src.exists()
    assert sorted(p.name for p in archive.iterdir()) == [
        "12 - Ali",
        "12 - Ali (2)",
    ]  # no staging left


def test_interrupted_cross_device_copy_keeps_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers, archive = tmp_path / "customers", tmp_path / "archive"
    src = _customer(customers, "12 - Ali", "new")
    monkeypatch.setattr(
        folders, "_rename", lambda a, b: (_ for _ in ()).throw(OSError(errno.EXDEV, "x"))
    )

    def broken_copytree(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "disk full")

    monkeypatch.setattr(folders.shutil, "copytree", broken_copytree)
    with pytest.raises(OSError, match="disk full"):
        move_folder(src, archive)
    assert (src / "F-31-08-01.xlsx").read_text() == "new"
    assert find_customer_folder(archive, "12") is None
