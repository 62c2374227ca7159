"""The company-wide number authority on PostgreSQL (SPEC §12).

When ``settings.json`` names an ``authority``, every customer, case, contract, invoice and tax
serial number of every office comes from one PostgreSQL database:

* one counter row per kind and period (``counters``), read ``FOR UPDATE`` and raised in the
  same transaction that records each issue (``issues``: number, kind, office, workspace,
  operation, user, host, time). PostgreSQL sequences are not used: an aborted transaction
  leaves a gap in them, while here an aborted decision rolls its numbers back;
* that transaction is opened by the first number a decision asks for (``next_seq``) and
  committed before anything is written to the workspace (``issued``); the workspace lock is
  held around the whole operation, as without an authority;
* an issue stays ``pending`` until the workspace write is done (``used``). A pending issue of
  this office that the next command of the office does not find in its register (a crash, a
  failed write) is recorded ``void`` — issued, not used — and is never issued again;
* the workspace's change-log rows are copied into the company-wide ``log`` table after each
  operation; rows a failed copy missed are copied by the next one (``offices.log_rows``).

psycopg is imported only here and only when an authority is used: a workspace without one
never loads it. Every failure reaches the user as ``AuthorityError`` (exit 2), in both
languages, before anything is issued or written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from crm_xl.domain.changes import Plan
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import CrmError
from crm_xl.domain.numbering import format_number, scope_of
from crm_xl.domain.schema import LOG
from crm_xl.domain.settings import AuthoritySettings, NumberRule

if TYPE_CHECKING:
    from crm_xl.domain.decide import Actor, Register
    from crm_xl.io.workspace import Workspace

log = logging.getLogger(__name__)

#: The PostgreSQL schema that holds the authority's tables.
SCHEMA = "crm_xl"
#: The schema version this code reads and writes; ``authority init`` migrates up to it.
SCHEMA_VERSION = 1
#: Key of the advisory lock that keeps two ``authority init`` runs from migrating at once.
_INIT_LOCK = 0x63726D786C  # "crmxl"
#: The file in the workspace's .crm_xl/ that names it to the authority (one office, one folder).
WORKSPACE_ID_FILE = "authority-id"

#: MIGRATIONS[i] brings the schema from version i to i + 1.
MIGRATIONS: list[str] = [
    f"""
    CREATE TABLE {SCHEMA}.offices (
        office text PRIMARY KEY,
        workspace_id text NOT NULL,
        workspace text NOT NULL,
        host text NOT NULL DEFAULT '',
        first_seen timestamptz NOT NULL DEFAULT now(),
        last_seen timestamptz NOT NULL DEFAULT now(),
        log_rows integer NOT NULL DEFAULT 0
    );
    CREATE TABLE {SCHEMA}.kinds (
        kind text PRIMARY KEY,
        pattern text NOT NULL,
        yearly_reset boolean NOT NULL,
        office text NOT NULL
    );
    CREATE TABLE {SCHEMA}.counters (
        kind text NOT NULL REFERENCES {SCHEMA}.kinds,
        scope text NOT NULL,
        last bigint NOT NULL CHECK (last >= 0),
        updated timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, scope)
    );
    CREATE TABLE {SCHEMA}.issues (
        kind text NOT NULL,
        scope text NOT NULL,
        seq bigint NOT NULL,
        number text NOT NULL,
        office text NOT NULL REFERENCES {SCHEMA}.offices,
        workspace text NOT NULL,
        operation text NOT NULL,
        op_id text NOT NULL,
        user_name text NOT NULL,
        host text NOT NULL,
        issued_at timestamptz NOT NULL DEFAULT now(),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'used', 'void')),
        settled_at timestamptz,
        note text NOT NULL DEFAULT '',
        PRIMARY KEY (kind, scope, seq),
        FOREIGN KEY (kind, scope) REFERENCES {SCHEMA}.counters
    );
    CREATE INDEX issues_office_status ON {SCHEMA}.issues (office, status);
    CREATE INDEX issues_op ON {SCHEMA}.issues (op_id);
    CREATE TABLE {SCHEMA}.log (
        id bigserial PRIMARY KEY,
        office text NOT NULL,
        workspace text NOT NULL,
        pos integer,
        at timestamptz NOT NULL,
        user_name text NOT NULL DEFAULT '',
        host text NOT NULL DEFAULT '',
        operation text NOT NULL,
        numbers text NOT NULL DEFAULT '',
        details text NOT NULL DEFAULT '',
        row_key text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (office, row_key)
    );
    """,
]


#: What ``validate`` reports comparing a workspace with the authority (code → severity, fa, en).
CODES: dict[str, tuple[Literal["error", "warning", "info"], str, str]] = {
    "authority-unreachable": ("error", "سرور شماره‌دهی در دسترس نیست", "the number authority cannot be reached"),
    "authority-office": ("error", "دفتر در سرور با این پوشه نمی‌خواند", "office unknown or bound elsewhere"),
    "authority-missing": ("error", "شماره صادرشده در دفتر ثبت نیست", "issued number missing from the register"),
    "authority-other-office": ("error", "شماره به دفتر دیگری صادر شده", "number issued to another office"),
    "authority-unknown": ("warning", "شماره را سرور صادر نکرده", "number not issued by the authority"),
    "authority-pending": ("warning", "شماره صادرشده هنوز تسویه نشده", "issued number not settled yet"),
    "authority-log-behind": ("warning", "گزارش شرکت عقب است", "company log behind the workspace log"),
    "authority-void": ("info", "صادر شد، به کار نرفت", "issued, not used (void)"),
}  # fmt: skip


class AuthorityError(CrmError):
    """The authority cannot be reached or refuses: nothing was issued, nothing written."""

    exit_code = 2


def _unreachable(cfg: AuthoritySettings, e: Exception) -> AuthorityError:
    reason = " ".join(str(e).split()) or type(e).__name__
    if "password" in reason.lower():  # the server refused: say where the password comes from
        return AuthorityError(
            f"سرور شماره‌دهی شرکت ورود را نپذیرفت؛ رمز از PGPASSWORD یا فایل ‎.pgpass خوانده"
            f" می‌شود. چیزی صادر یا ذخیره نشد. ({reason})",
            f"the company number authority refused the login; the password comes from"
            f" PGPASSWORD or a .pgpass file. Nothing was issued or written. ({reason})",
            code="authority-refused",
            field="authority.dsn",
        )
    return AuthorityError(
        f"سرور شماره‌دهی شرکت (PostgreSQL) در دسترس نیست یا پاسخ نداد؛ چیزی صادر یا ذخیره نشد."
        f" ({reason})",
        f"the company number authority (PostgreSQL) cannot be reached or did not answer;"
        f" nothing was issued or written. ({reason})",
        code="authority-unreachable",
        field="authority.dsn",
    )


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise AuthorityError(
            "بسته psycopg نصب نیست؛ با «pip install crm-xl[authority]» نصب کنید",
            "psycopg is not installed; install it with: pip install 'crm-xl[authority]'",
            code="authority-unavailable",
            field="authority",
        ) from None
    return psycopg


#: Server-side guards: a waiter gives up instead of hanging, and a stalled holder (a laptop
#: asleep mid-operation) loses its transaction, so its numbers roll back and the counter row
#: is free again for the other offices.
_SERVER_OPTIONS = (
    "-c lock_timeout=30s -c statement_timeout=60s -c idle_in_transaction_session_timeout=120s"
)


def connect(cfg: AuthoritySettings) -> Any:
    """A psycopg connection to the authority (a transaction opens with the first statement)."""
    psycopg = _psycopg()
    try:
        given = psycopg.conninfo.conninfo_to_dict(cfg.dsn)
    except psycopg.ProgrammingError as e:
        raise AuthorityError(
            f"رشته اتصال authority.dsn خوانا نیست: {e}",
            f"authority.dsn is not a valid connection string: {e}",
            code="bad-settings",
            field="authority.dsn",
        ) from None
    extra: dict[str, Any] = {"application_name": "crm-xl"}
    if "connect_timeout" not in given:
        extra["connect_timeout"] = 5
    extra["options"] = f"{given.get('options', '')} {_SERVER_OPTIONS}".strip()
    try:
        return psycopg.connect(cfg.dsn, **extra)
    except psycopg.Error as e:
        raise _unreachable(cfg, e) from None


def _guard(cfg: AuthoritySettings, e: Exception) -> AuthorityError:
    """A database error during an operation, as the user's message."""
    if isinstance(e, AuthorityError):
        return e
    psycopg = _psycopg()
    if isinstance(e, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled):
        return AuthorityError(
            "سرور شماره‌دهی مشغول است (دفتر دیگری شمارنده را نگه داشته)؛ چیزی صادر نشد. دوباره"
            " تلاش کنید.",
            "the number authority is busy (another office holds the counter); nothing was"
            " issued. Try again.",
            code="authority-busy",
            field="authority",
        )
    if isinstance(e, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName):
        return _no_schema()
    return _unreachable(cfg, e)


def _no_schema() -> AuthorityError:
    return AuthorityError(
        "پایگاه شماره‌دهی هنوز آماده نشده است؛ «crm-xl authority init» را اجرا کنید",
        "the authority database has no crm_xl schema yet; run 'crm-xl authority init'",
        code="authority-schema",
        field="authority.dsn",
    )


def _schema_version(conn: Any) -> int:
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.schema_version",)
    ).fetchone()
    if not row[0]:
        return 0
    got = conn.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_version")
    return int(got.fetchone()[0])


def check_schema(conn: Any) -> None:
    """Refuse a database without the schema or with one this version does not know."""
    version = _schema_version(conn)
    if version == 0:
        raise _no_schema()
    if version < SCHEMA_VERSION:
        raise AuthorityError(
            f"نسخه پایگاه شماره‌دهی {version} قدیمی است؛ «crm-xl authority init» آن را به‌روز می‌کند",
            f"the authority's schema is version {version}, older than this crm_xl's"
            f" {SCHEMA_VERSION}; run 'crm-xl authority init' to migrate it",
            code="authority-schema",
            field="authority.dsn",
        )
    if version > SCHEMA_VERSION:
        raise AuthorityError(
            f"پایگاه شماره‌دهی نسخه {version} دارد که این crm_xl نمی‌شناسد؛ crm_xl را به‌روز کنید",
            f"the authority's schema is version {version}, newer than this crm_xl knows"
            f" ({SCHEMA_VERSION}); upgrade crm_xl on this computer",
            code="authority-schema",
            field="authority.dsn",
        )


def workspace_id(ws: Workspace, *, create: bool) -> str:
    """The workspace's id for the authority (made once, kept in .crm_xl/); "" if none yet."""
    path = ws.internal_dir / WORKSPACE_ID_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if not create:
            return ""
    value = secrets.token_hex(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(value + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return value


def _bind_office(conn: Any, cfg: AuthoritySettings, ws_id: str, root: Path, host: str) -> None:
    """Record this office's workspace; refuse a second workspace claiming the same office."""
    conn.execute(
        f"INSERT INTO {SCHEMA}.offices (office, workspace_id, workspace, host)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (office) DO NOTHING",
        (cfg.office, ws_id, str(root), host),
    )
    bound, where, on = conn.execute(
        f"SELECT workspace_id, workspace, host FROM {SCHEMA}.offices WHERE office = %s FOR UPDATE",
        (cfg.office,),
    ).fetchone()
    if bound != ws_id:
        raise AuthorityError(
            f"دفتر «{cfg.office}» در سرور شماره‌دهی به پوشه کاری دیگری ({where} روی {on}) بسته"
            " است؛ هر دفتر نام خودش را در authority.office دارد",
            f"office '{cfg.office}' is bound to another workspace ({where} on {on}) in the"
            " number authority; each office needs its own name in authority.office",
            code="authority-office",
            field="authority.office",
        )
    conn.execute(
        f"UPDATE {SCHEMA}.offices SET last_seen = now(), workspace = %s, host = %s"
        " WHERE office = %s",
        (str(root), host, cfg.office),
    )


# --- init and status ---------------------------------------------------------------------------


def init_authority(ws: Workspace, cfg: AuthoritySettings) -> dict[str, Any]:
    """Create the schema or migrate it to ``SCHEMA_VERSION``; bind this workspace's office."""
    import socket

    from crm_xl.io.safety import workspace_lock

    psycopg = _psycopg()
    conn = connect(cfg)
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INIT_LOCK,))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version"
                " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            before = _schema_version(conn)
            if before > SCHEMA_VERSION:
                check_schema(conn)  # raises: newer than this code
            for version in range(before, SCHEMA_VERSION):
                conn.execute(MIGRATIONS[version])
                conn.execute(
                    f"INSERT INTO {SCHEMA}.schema_version (version) VALUES (%s)", (version + 1,)
                )
        with workspace_lock(ws.root, timeout=ws.settings.lock_timeout):
            ws_id = workspace_id(ws, create=True)
            with conn.transaction():
                _bind_office(conn, cfg, ws_id, ws.root, socket.gethostname())
    except psycopg.Error as e:
        raise _guard(cfg, e) from None
    finally:
        conn.close()
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "migrated_from": before,
        "office": cfg.office,
        "workspace": str(ws.root),
    }


def authority_status(cfg: AuthoritySettings) -> dict[str, Any]:
    """The counters per kind and period, the offices seen with their issues, the voids."""
    psycopg = _psycopg()
    conn = connect(cfg)
    try:
        check_schema(conn)
        counters = conn.execute(
            f"SELECT c.kind, c.scope, c.last, c.updated, k.pattern FROM {SCHEMA}.counters c"
            f" JOIN {SCHEMA}.kinds k USING (kind) ORDER BY c.kind, c.scope"
        ).fetchall()
        offices = conn.execute(
            f"SELECT o.office, o.workspace, o.host, o.first_seen, o.last_seen, o.log_rows,"
            " count(*) FILTER (WHERE i.status = 'used'),"
            " count(*) FILTER (WHERE i.status = 'pending'),"
            " count(*) FILTER (WHERE i.status = 'void')"
            f" FROM {SCHEMA}.offices o LEFT JOIN {SCHEMA}.issues i USING (office)"
            " GROUP BY o.office ORDER BY o.office"
        ).fetchall()
        voids = conn.execute(
            f"SELECT number, kind, office, operation, issued_at, settled_at FROM {SCHEMA}.issues"
            " WHERE status = 'void' ORDER BY issued_at DESC, number LIMIT 100"
        ).fetchall()
        log_rows = conn.execute(f"SELECT count(*) FROM {SCHEMA}.log").fetchone()[0]
        conn.rollback()
    except psycopg.Error as e:
        raise _guard(cfg, e) from None
    finally:
        conn.close()
    return {
        "schema_version": SCHEMA_VERSION,
        "counters": [
            {"kind": k, "scope": s, "last": int(n), "updated": u, "pattern": p}
            for k, s, n, u, p in counters
        ],
        "offices": [
            {
                "office": o,
                "workspace": w,
                "host": h,
                "first_seen": f,
                "last_seen": last,
                "log_rows": lr,
                "used": used,
                "pending": pending,
                "void": void,
            }
            for o, w, h, f, last, lr, used, pending, void in offices
        ],
        "voids": [
            {"number": n, "kind": k, "office": o, "operation": op, "issued": i, "voided": v}
            for n, k, o, op, i, v in voids
        ],
        "log_rows": int(log_rows),
    }


def office_issues(cfg: AuthoritySettings, numbers: Iterable[str] = ()) -> dict[str, Any]:
    """What ``validate`` compares with a workspace: this office's issues, the binding of the
    office, and which other office (if any) was issued any of ``numbers``."""
    psycopg = _psycopg()
    conn = connect(cfg)
    try:
        check_schema(conn)
        office = conn.execute(
            f"SELECT workspace_id, workspace, host, log_rows FROM {SCHEMA}.offices"
            " WHERE office = %s",
            (cfg.office,),
        ).fetchone()
        issues = conn.execute(
            f"SELECT kind, number, status, operation, issued_at FROM {SCHEMA}.issues"
            " WHERE office = %s ORDER BY kind, scope, seq",
            (cfg.office,),
        ).fetchall()
        elsewhere = conn.execute(
            f"SELECT kind, number, office FROM {SCHEMA}.issues"
            " WHERE office <> %s AND number = ANY(%s)",
            (cfg.office, sorted(set(numbers))),
        ).fetchall()
        conn.rollback()
    except psycopg.Error as e:
        raise _guard(cfg, e) from None
    finally:
        conn.close()
    return {
        "office": office,
        "issues": [
            {"kind": k, "number": n, "status": s, "operation": op, "issued": at}
            for k, n, s, op, at in issues
        ],
        "elsewhere": [{"kind": k, "number": n, "office": o} for k, n, o in elsewhere],
    }


# --- issuing during an operation ---------------------------------------------------------------


class _Table(Protocol):
    def read_table(self, name: str) -> list[tuple[int, dict[str, object]]]: ...


def _cell_time(v: object) -> datetime | None:
    """A log time as the register keeps it (naive Tehran), whole seconds."""
    if not isinstance(v, datetime):
        return None
    if v.tzinfo is not None:
        v = v.astimezone(TEHRAN).replace(tzinfo=None)
    return v.replace(microsecond=0)


def _text(v: object) -> str:
    return "" if v is None else str(v)


def log_row_key(row: Mapping[str, object]) -> str:
    """A change-log row's identity in the company log (the same row is never copied twice)."""
    at = _cell_time(row.get("at"))
    parts = [at.isoformat() if at else _text(row.get("at"))]
    parts += [_text(row.get(k)) for k in ("user", "host", "operation", "numbers", "details")]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class WorkspaceCounters:
    """The default number source: the register's own counters (the decision's ``_issue``)."""

    def decide(self, fn: Callable[[Register], Plan], reg: Register, target: _Table) -> Plan:
        return fn(reg)

    def used(self, plan: Plan) -> None:
        return None


class AuthoritySession:
    """One operation's dealings with the authority, inside the workspace lock.

    ``decide`` lets the decision ask ``next_seq`` for each number (one transaction, opened on
    the first ask, rolled back if the decision fails, committed with the issue rows before the
    store writes anything); ``used`` settles the issues and copies the change log afterwards.
    """

    def __init__(self, ws: Workspace, cfg: AuthoritySettings, who: Actor) -> None:
        self.ws, self.cfg, self.who = ws, cfg, who
        self.op_id = secrets.token_hex(8)
        self.conn: Any = None
        self.reg: Register | None = None
        self.last: dict[tuple[str, str], int] = {}
        self.raised: list[tuple[str, str, int, int]] = []
        self.kinds: set[str] = set()
        self.pending: list[tuple[str, str, int, str]] = []
        self.target: _Table | None = None

    # -- the decision's side
    def decide(self, fn: Callable[[Register], Plan], reg: Register, target: _Table) -> Plan:
        self.reg, self.target = reg, target
        reg.numbers = self
        try:
            plan = fn(reg)
            self._commit_issues(plan)
        except BaseException:
            self.close()
            raise
        return plan

    def next_seq(self, kind: str, rule: NumberRule, jyear: int, floor: int) -> int:
        """The next company-wide sequence of ``kind`` in its period, above ``floor``."""
        psycopg = _psycopg()
        try:
            self._open()
            if kind not in self.kinds:
                self._check_kind(kind, rule)
            key = (kind, scope_of(rule, jyear))
            if key not in self.last:
                self.conn.execute(
                    f"INSERT INTO {SCHEMA}.counters (kind, scope, last) VALUES (%s, %s, 0)"
                    " ON CONFLICT DO NOTHING",
                    key,
                )
                self.last[key] = int(
                    self.conn.execute(
                        f"SELECT last FROM {SCHEMA}.counters WHERE kind = %s AND scope = %s"
                        " FOR UPDATE",
                        key,
                    ).fetchone()[0]
                )
        except (psycopg.Error, AuthorityError) as e:
            raise _guard(self.cfg, e) from None
        if floor > self.last[key]:
            # This workspace holds numbers the authority never issued (it numbered on its own
            # before, or the database was restored from an old backup): never issue them again.
            self.raised.append((kind, key[1], self.last[key], floor))
            self.last[key] = floor
        seq = self.last[key] + 1
        self.last[key] = seq
        self.pending.append((kind, key[1], seq, format_number(rule.pattern, seq, jyear)))
        return seq

    def _check_kind(self, kind: str, rule: NumberRule) -> None:
        self.conn.execute(
            f"INSERT INTO {SCHEMA}.kinds (kind, pattern, yearly_reset, office)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (kind, rule.pattern, rule.yearly_reset, self.cfg.office),
        )
        pattern, yearly, first = self.conn.execute(
            f"SELECT pattern, yearly_reset, office FROM {SCHEMA}.kinds WHERE kind = %s", (kind,)
        ).fetchone()
        if (pattern, yearly) != (rule.pattern, rule.yearly_reset):
            raise AuthorityError(
                f"الگوی شماره «{kind}» این دفتر ({rule.pattern}) با الگوی شرکت ({pattern}، از دفتر"
                f" {first}) یکی نیست؛ numbering.{kind} را در settings.json یکسان کنید",
                f"this office numbers '{kind}' as {rule.pattern} (yearly reset"
                f" {rule.yearly_reset}) but the company uses {pattern} (yearly reset {yearly},"
                f" set by office {first}); make numbering.{kind} in settings.json the same",
                code="authority-pattern",
                field=f"numbering.{kind}",
            )
        self.kinds.add(kind)

    def _commit_issues(self, plan: Plan) -> None:
        if self.conn is None:
            return
        psycopg = _psycopg()
        try:
            for (kind, scope), last in self.last.items():
                self.conn.execute(
                    f"UPDATE {SCHEMA}.counters SET last = %s, updated = now()"
                    " WHERE kind = %s AND scope = %s",
                    (last, kind, scope),
                )
            with self.conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {SCHEMA}.issues (kind, scope, seq, number, office, workspace,"
                    " operation, op_id, user_name, host) VALUES"
                    " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        (kind, scope, seq, number, self.cfg.office, str(self.ws.root),
                         plan.operation, self.op_id, self.who.user, self.who.host)
                        for kind, scope, seq, number in self.pending
                    ],
                )  # fmt: skip
            for kind, scope, was, floor in self.raised:
                self._company_log(
                    "authority-counter-raised",
                    "",
                    {"kind": kind, "scope": scope, "from": was, "to": floor, "op_id": self.op_id},
                    key=f"raised:{self.op_id}:{kind}:{scope}",
                )
            self.conn.commit()
        except psycopg.Error as e:
            raise _guard(self.cfg, e) from None

    # -- after the write
    def used(self, plan: Plan) -> None:
        """Settle this operation's issues and copy the change log; a failure here is logged
        (the workspace already holds the operation), the next command settles and copies."""
        psycopg = _psycopg()
        try:
            self._open()
            self.conn.execute(
                f"UPDATE {SCHEMA}.issues SET status = 'used', settled_at = now() WHERE op_id = %s",
                (self.op_id,),
            )
            self._copy_log()
            self.conn.commit()
        except (psycopg.Error, AuthorityError) as e:
            log.warning("the number authority was not updated after %s: %s", plan.operation, e)
        finally:
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()  # an open transaction is rolled back
            finally:
                self.conn = None

    # -- internals
    def _open(self) -> None:
        """Connect, check the schema, bind the office, settle what dead operations left."""
        if self.conn is not None:
            return
        self.conn = connect(self.cfg)
        check_schema(self.conn)
        ws_id = workspace_id(self.ws, create=True)  # the workspace lock is held
        _bind_office(self.conn, self.cfg, ws_id, self.ws.root, self.who.host)
        self._settle_pending()
        self.conn.commit()

    def _settle_pending(self) -> None:
        """Issues of this office still pending belong to operations that died or failed: no
        operation of this office runs but this one (the workspace lock). Those the register
        holds were written (mark used); the others are void, issued but not used."""
        rows = self.conn.execute(
            f"SELECT op_id, operation, kind, number FROM {SCHEMA}.issues"
            " WHERE office = %s AND status = 'pending' AND op_id <> %s FOR UPDATE",
            (self.cfg.office, self.op_id),
        ).fetchall()
        if not rows:
            return
        reg = self.reg
        ops: dict[str, list[tuple[str, str, str]]] = {}
        for op_id, operation, kind, number in rows:
            ops.setdefault(op_id, []).append((operation, kind, number))
        for op_id, issues in ops.items():
            written = reg is not None and any(
                number in reg.used_numbers(kind) for _, kind, number in issues if kind != "tax"
            )
            status = "used" if written else "void"
            note = "" if written else "issued, not used / صادر شد، به کار نرفت"
            self.conn.execute(
                f"UPDATE {SCHEMA}.issues SET status = %s, settled_at = now(), note = %s"
                " WHERE op_id = %s AND status = 'pending'",
                (status, note, op_id),
            )
            if not written:
                self._company_log(
                    "authority-void",
                    ",".join(n for _, _, n in issues),
                    {"reason": "issued, not used", "operation": issues[0][0], "op_id": op_id},
                    key=f"void:{op_id}",
                )

    def _company_log(self, operation: str, numbers: str, details: dict[str, Any], key: str) -> None:
        self.conn.execute(
            f"INSERT INTO {SCHEMA}.log (office, workspace, at, user_name, host, operation,"
            " numbers, details, row_key) VALUES (%s, %s, now(), %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (self.cfg.office, str(self.ws.root), self.who.user, self.who.host, operation,
             numbers, json.dumps(details, ensure_ascii=False), key),
        )  # fmt: skip

    def _copy_log(self) -> None:
        """Copy the workspace log rows the company log has not got yet (by position)."""
        done = self.conn.execute(
            f"SELECT log_rows FROM {SCHEMA}.offices WHERE office = %s FOR UPDATE",
            (self.cfg.office,),
        ).fetchone()[0]
        assert self.target is not None  # set by decide
        rows = [v for _, v in self.target.read_table(LOG.name)]
        if len(rows) > done:
            with self.conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {SCHEMA}.log (office, workspace, pos, at, user_name, host,"
                    " operation, numbers, details, row_key)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [
                        (self.cfg.office, str(self.ws.root), pos,
                         (_cell_time(r.get("at")) or self.who.now).replace(tzinfo=TEHRAN),
                         _text(r.get("user")), _text(r.get("host")), _text(r.get("operation")),
                         _text(r.get("numbers")), _text(r.get("details")), log_row_key(r))
                        for pos, r in enumerate(rows[done:], done + 1)
                    ],
                )  # fmt: skip
        # A log shorter than before (a register restored from a backup) is copied from its
        # end on: rows already copied keep their identity (row_key) and are not doubled.
        self.conn.execute(
            f"UPDATE {SCHEMA}.offices SET log_rows = %s WHERE office = %s",
            (len(rows), self.cfg.office),
        )


def number_source(ws: Workspace, who: Actor) -> WorkspaceCounters | AuthoritySession:
    """The workspace's own counters, or the company-wide authority when one is configured."""
    cfg = ws.settings.authority
    if cfg is None:
        return WorkspaceCounters()
    return AuthoritySession(ws, cfg, who)
