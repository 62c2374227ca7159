"""``crm-xl authority init|status``: the company-wide number authority (SPEC §12)."""

from __future__ import annotations

from typing import Any

import click

from crm_xl.cli.common import Context, emit, handle_errors, json_option, pass_ctx
from crm_xl.domain.settings import AuthoritySettings
from crm_xl.io.authority import AuthorityError
from crm_xl.io.workspace import Workspace


def _configured(ws: Workspace) -> AuthoritySettings:
    cfg = ws.settings.authority
    if cfg is None:
        raise AuthorityError(
            "در settings.json این پوشه کاری سرور شماره‌دهی (authority) تعریف نشده است",
            "no number authority is configured in this workspace's settings.json"
            ' (add "authority": {"kind": "postgresql", "dsn": "…", "office": "…"})',
            code="no-authority",
            file=ws.root / "settings.json",
            field="authority",
        )
    return cfg


@click.group("authority")
def authority_group() -> None:
    """Company-wide numbers on PostgreSQL for several offices / سرور شماره‌دهی شرکت."""


@authority_group.command("init")
@json_option
@pass_ctx
@handle_errors
def init_cmd(ctx: Context) -> None:
    """Create or migrate the authority's schema; bind this office / ساخت یا به‌روزرسانی."""
    from crm_xl.io.authority import init_authority

    ws = ctx.ws()
    result = init_authority(ws, _configured(ws))
    before, now = result["migrated_from"], result["schema_version"]
    if before == now:
        fa, en = f"پایگاه شماره‌دهی آماده است (نسخه {now})", f"the authority is ready (schema {now})"
    else:
        fa = f"پایگاه شماره‌دهی از نسخه {before} به {now} رسید"
        en = f"the authority's schema migrated from version {before} to {now}"
    emit(ctx, result, fa, en, [f"office: {result['office']}  workspace: {result['workspace']}"])


def _when(v: Any) -> str:
    return v.strftime("%Y-%m-%d %H:%M") if v is not None else ""


@authority_group.command("status")
@json_option
@pass_ctx
@handle_errors
def status_cmd(ctx: Context) -> None:
    """The counters per kind and period and the offices seen / وضعیت شمارنده‌ها و دفترها."""
    from crm_xl.io.authority import authority_status

    status = authority_status(_configured(ctx.ws()))
    lines = ["counters:"]
    lines += [
        f"  {c['kind']:<9} {c['scope']:<5} last {c['last']:<8} {c['pattern']:<14} {_when(c['updated'])}"
        for c in status["counters"]
    ] or ["  (none yet)"]
    lines.append("offices:")
    lines += [
        f"  {o['office']:<16} used {o['used']:<6} pending {o['pending']:<3} void {o['void']:<3}"
        f" last seen {_when(o['last_seen'])}  {o['workspace']} ({o['host']})"
        for o in status["offices"]
    ] or ["  (none yet)"]
    if status["voids"]:
        lines.append("issued, not used (void):")
        lines += [
            f"  {v['number']:<14} {v['kind']:<9} {v['office']:<16} {v['operation']}"
            for v in status["voids"]
        ]
    lines.append(f"company change log: {status['log_rows']} rows")
    emit(ctx, status, "وضعیت سرور شماره‌دهی شرکت", "company number authority", lines)


COMMANDS = [authority_group]
