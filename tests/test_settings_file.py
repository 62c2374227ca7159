"""settings.json as managers really edit it (review §A12, SPEC §10 "Bad input gets a clear
error"): Notepad's encodings, misspelt keys, impossible weekdays, broken numbering patterns,
and experts that are not configured.  Each through the real command line on a real
workspace; a refused settings file changes nothing and leaves nothing behind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from crm_xl.cli.main import main
from crm_xl.domain.settings import NUMBER_KINDS, Settings
from crm_xl.io.settings_file import load_settings, save_settings
from crm_xl.ops import complaints, surveys

EXPERT = "سارا احمدی"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "W"
    res = CliRunner().invoke(main, ["init", str(root), "--no-macros", "--expert", EXPERT])
    assert res.exit_code == 0, res.output
    return root


def settings_data(ws: Path) -> dict[str, Any]:
    return json.loads((ws / "settings.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def write_settings(ws: Path, data: dict[str, Any]) -> None:
    (ws / "settings.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def add(ws: Path, name: str = "علی رضایی", expert: str = EXPERT) -> Result:
    return CliRunner().invoke(
        main,
        ["-w", str(ws), "--json", "customer", "add", "--name", name, "--type", "natural",
         "--channel", "phone", "--expert", expert, "--need", "پمپ"],
    )  # fmt: skip


def error(res: Result) -> dict[str, Any]:
    return json.loads(res.output)["error"]  # type: ignore[no-any-return]


# --- encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),  # Notepad's "UTF-8" (with BOM)
        lambda text: text.encode("utf-16"),  # Notepad's "Unicode" (UTF-16 LE with BOM)
    ],
    ids=["utf-8 with BOM", "utf-16"],
)
def test_notepad_encodings_are_read(ws: Path, encode: Any) -> None:
    data = settings_data(ws)
    data["company"] = "شرکت بازرگانی پارس"
    (ws / "settings.json").write_bytes(encode(json.dumps(data, ensure_ascii=False)))

    res = add(ws)
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["customer_no"] == "C-00001"
    assert load_settings(ws).company == "شرکت بازرگانی پارس"


def test_ansi_cp1256_is_refused_with_how_to_save_as_utf8(ws: Path) -> None:
    data = settings_data(ws)
    data["company"] = "شرکت بازرگانی پارس"
    text = json.dumps(data, ensure_ascii=False, indent=2)
    # Windows "best fit" writes Persian ی as Arabic ي (0xED): cp1256 has no ی.
    (ws / "settings.json").write_bytes(text.replace("ی", "ي").encode("cp1256"))
    register = (ws / "F-31-08-02.xlsx").read_bytes()

    res = add(ws)
    assert res.exit_code == 2, res.output
    err = error(res)
    assert err["code"] == "settings-not-utf8"
    assert "UTF-8" in err["en"] and "Save As" in err["en"] and "1256" in err["en"]
    assert "UTF-8" in err["fa"]
    assert err["location"]["file"].endswith("settings.json")
    assert (ws / "F-31-08-02.xlsx").read_bytes() == register


# --- unknown keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "where", "nearest"),
    [
        (lambda d: d["followup"].update(stalled_day=3), "followup.stalled_day", "stalled_days"),
        (lambda d: d.update(expert=["x"]), "expert", "experts"),
        (lambda d: d.update(backup_keep=5), "backup_keep", "backups_keep"),
        (lambda d: d["numbering"]["customer"].update(patern="K-{seq:3}"), "patern", "pattern"),
        (lambda d: d["numbering"].update(custmer={"pattern": "K-{seq:3}"}), "custmer", "customer"),
    ],
)
def test_unknown_key_is_refused_naming_the_nearest(
    ws: Path, edit: Any, where: str, nearest: str
) -> None:
    data = settings_data(ws)
    edit(data)
    write_settings(ws, data)

    res = add(ws)
    assert res.exit_code == 2, res.output
    err = error(res)
    assert err["code"] == "unknown-setting"
    assert where in err["en"] and f"did you mean '{nearest}'" in err["en"]
    assert where in err["fa"] and nearest in err["fa"]
    assert not list((ws / "customers").iterdir())


# --- weekdays and numbering patterns ---------------------------------------------------------------


@pytest.mark.parametrize("weekend", [[9], [-1], [0, 1, 2, 3, 4, 5, 6]])
def test_weekend_days_must_be_0_to_6_and_leave_a_working_day(ws: Path, weekend: list[int]) -> None:
    data = settings_data(ws)
    data["followup"]["weekend"] = weekend
    write_settings(ws, data)
    res = add(ws)
    assert res.exit_code == 2 and error(res)["code"] == "bad-settings", res.output
    assert "followup.weekend" in error(res)["en"]


@pytest.mark.parametrize(
    ("pattern", "reset", "why"),
    [
        ("C-{seq5}", False, "unknown token {seq5}"),
        ("C-{foo}-{seq:4}", False, "unknown token {foo}"),
        ("C-{seq:4}-{seq:4}", False, "exactly one {seq:N}"),
        ("C-{jy}", False, "exactly one {seq:N}"),
        ("C/{seq:4}", False, "character '/'"),
        ("C\\{seq:4}", False, "character '\\\\'"),
        ("C {seq:4}", False, "U+0020"),
        ("C:{seq:4}", False, "character ':'"),
        ("C-{seq:4", False, "exactly one {seq:N}"),  # the token is not closed
        ("C-{seq:4}.", False, "end with a dot"),
        ("C-{seq:4}", True, "needs the year"),
    ],
)
def test_bad_numbering_pattern_is_refused_on_load(
    ws: Path, pattern: str, reset: bool, why: str
) -> None:
    """Before: accepted, then every add failed with "unexpected error" and left `.new-*` folders."""
    data = settings_data(ws)
    data["numbering"]["customer"] = {"pattern": pattern, "yearly_reset": reset}
    write_settings(ws, data)

    listing = CliRunner().invoke(main, ["-w", str(ws), "--json", "customer", "list"])
    assert listing.exit_code == 2 and error(listing)["code"] == "bad-pattern", listing.output
    res = add(ws)
    assert res.exit_code == 2, res.output
    err = error(res)
    assert err["code"] == "bad-pattern" and why in err["en"], err
    assert "numbering.customer" in err["en"] and "numbering.customer" in err["fa"]
    assert list((ws / "customers").iterdir()) == []  # no number, no .new-* leftovers


@pytest.mark.parametrize(
    ("pattern", "reset", "expected"),
    [("C{jy2}-{seq:4}", True, "C0"), ("K-{jy}-{seq:3}", False, "K-1"), ("{seq:5}", False, "00001")],
)
def test_good_patterns_still_number(ws: Path, pattern: str, reset: bool, expected: str) -> None:
    data = settings_data(ws)
    data["numbering"]["customer"] = {"pattern": pattern, "yearly_reset": reset}
    write_settings(ws, data)
    res = add(ws)
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["customer_no"].startswith(expected)


def test_every_numbered_kind_is_known() -> None:
    """The books' own kinds may be configured: a key the code uses is never refused."""
    assert {complaints.KIND, surveys.KIND} <= set(NUMBER_KINDS)


# --- experts ------------------------------------------------------------------------------------


def test_unknown_expert_is_refused_saying_how_to_add_one(ws: Path) -> None:
    res = add(ws, expert="سارا احمد")  # a typo: a task list nobody would read
    assert res.exit_code == 1, res.output
    err = error(res)
    assert err["code"] == "unknown-expert" and err["location"]["field"] == "expert"
    assert "did you mean 'سارا احمدی'" in err["en"].lower()
    assert '"experts"' in err["en"] and "settings.json" in err["en"]
    assert "settings.json" in err["fa"] and "experts" in err["fa"]
    assert list((ws / "customers").iterdir()) == []

    data = settings_data(ws)  # doing what the message says makes it work
    data["experts"].append("سارا احمد")
    write_settings(ws, data)
    assert add(ws, expert="سارا احمد").exit_code == 0


def test_configured_expert_matches_in_any_spelling(ws: Path) -> None:
    res = add(ws, expert="سارا  احمدي")  # Arabic ي and a double space: the same person
    assert res.exit_code == 0, res.output
    show = CliRunner().invoke(main, ["-w", str(ws), "--json", "customer", "show", "C-00001"])
    assert json.loads(show.output)["customer"]["expert"] == EXPERT


def test_unknown_follow_up_owner_is_refused(ws: Path) -> None:
    assert add(ws).exit_code == 0
    res = CliRunner().invoke(
        main,
        ["-w", str(ws), "--json", "followup", "add", "C-00001", "--type", "phone", "--note", "x",
         "--next-action", "تماس", "--next-due", "1500/01/01", "--next-owner", "نگار"],
    )  # fmt: skip
    assert res.exit_code == 1 and error(res)["code"] == "unknown-expert", res.output
    assert error(res)["location"]["field"] == "next_owner"


# --- writing -------------------------------------------------------------------------------------


def test_save_writes_plain_utf8_atomically(tmp_path: Path) -> None:
    settings = Settings(company="شرکت نمونه", experts=[EXPERT])
    path = save_settings(tmp_path, settings)
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and "شرکت نمونه" in raw.decode("utf-8")
    assert load_settings(tmp_path) == settings
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


def test_validate_reads_a_bom_settings_file(ws: Path) -> None:
    raw = (ws / "settings.json").read_bytes()
    (ws / "settings.json").write_bytes(b"\xef\xbb\xbf" + raw)
    res = CliRunner().invoke(main, ["-w", str(ws), "validate", "--format", "json"])
    assert res.exit_code == 0, res.output
