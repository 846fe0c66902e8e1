"""The two ways in for DEAR's sync history: `python -m bot ingest FILE.csv` and
`POST /api/sync-errors` (bearer INGEST_TOKEN). The work itself is bot.core.synchistory.ingest.

HTTP: the body is JSON rows (a list of objects, or {"rows": [...]}) with keys named like the
CSV columns; a body sent as `Content-Type: text/csv` is read as a CSV export instead.
Responses are JSON:
  200 the import report (rows with problems are listed by 1-based row index, or CSV line);
  400 the body is not JSON, not UTF-8, or not rows ({"error": "..."});
  401 no or wrong bearer token (with WWW-Authenticate);
  405 not POST;  413 body over the limit (5 MB);
  503 the endpoint is off (no token configured) or the database failed: nothing was imported.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import io
import json
import logging
import os
import sys
import time
from typing import Any, Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from .core.synchistory.ingest import ImportReport, import_rows
from .core.synchistory.parse import IngestError, parse_csv, parse_json_rows

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 5_000_000
_REALM = 'Bearer realm="syncmedic"'


class _BadRequest(Exception):
    pass


def _getter(value: Any) -> Callable[[], Any]:
    return value if callable(value) else (lambda: value)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _authorised(request: web.Request, token: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8"), token.encode("utf-8"))


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` (nothing past the limit is read)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(1 << 16)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def _import_body(store, engine, body: bytes, content_type: str) -> ImportReport:
    """Runs in a worker thread: decode, parse and import."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _BadRequest(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        if content_type in ("text/csv", "application/csv"):
            parsed = parse_csv(io.StringIO(text))
        else:
            try:
                payload = json.loads(text)
            except json.JSONDecodeError as exc:
                raise _BadRequest(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
            except RecursionError:
                raise _BadRequest("invalid JSON: nested too deeply") from None
            parsed = parse_json_rows(payload)
    except IngestError as exc:
        raise _BadRequest(str(exc)) from None
    return import_rows(store, engine, parsed, source="api")


def sync_errors_handler(store: Any, engine: Any, token: str | None, *,
                        max_bytes: int = MAX_BODY_BYTES) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for POST /api/sync-errors.

    `store` and `engine` are a Store and an Engine, or functions returning them (called per
    request, so a retrained or replaced engine is picked up). An empty `token` turns the
    endpoint off (503); register the route only when INGEST_TOKEN is set.
    """
    get_store, get_engine = _getter(store), _getter(engine)

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        if not token:
            return _error(503, "sync-history import is off: INGEST_TOKEN is not set")
        if not _authorised(request, token):
            presented = bool(request.headers.get("Authorization"))
            challenge = _REALM + (', error="invalid_token"' if presented else "")
            return _error(401, "a valid bearer token is required (Authorization: Bearer <INGEST_TOKEN>)",
                          {"WWW-Authenticate": challenge})
        body = await _read_limited(request, max_bytes)
        if body is None:
            return _error(413, f"the body is larger than {max_bytes:,} bytes: send the rows in smaller batches")
        try:
            report = await asyncio.to_thread(_import_body, get_store(), get_engine(), body,
                                             request.content_type.lower())
        except _BadRequest as exc:
            return _error(400, str(exc))
        except SQLAlchemyError:
            log.exception("sync-history import failed")
            return _error(503, "the database failed; nothing was imported. Try again later")
        return web.json_response(report.to_json())

    return handle


# -- the command line ------------------------------------------------------------------------

EXIT_SKIPPED_ROWS = 3  # imported, but some rows were skipped (reported by line)


def cmd_ingest(settings, args: argparse.Namespace) -> int:
    """Exit status 0 when every row was read and imported; EXIT_SKIPPED_ROWS (3) when some rows
    were skipped as bad (reported by line number; the good rows are imported all the same), so
    a script notices; 1 when the file could not be read at all (missing file, no usable header
    line) and nothing was imported."""
    from .core.storage.store import Store
    from .wiring import build_core

    if args.file == "-":
        source: Any = sys.stdin.buffer
    elif not os.path.isfile(args.file):
        print(f"error: {args.file}: no such file", file=sys.stderr)
        return 1
    else:
        source = args.file
    started = time.perf_counter()
    try:
        parsed = parse_csv(source)
    except IngestError as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    core = build_core(settings)
    store = Store.from_url(settings.database_url)
    try:
        report = import_rows(store, core.engine, parsed, source="csv")
    finally:
        store.engine.dispose()
    report.seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(format_report(report, args.file))
    return EXIT_SKIPPED_ROWS if report.problems else 0


def format_report(report: ImportReport, name: str, shown_problems: int = 50) -> str:
    lines = [
        f"imported {name}: {report.rows_read:,} rows in {report.seconds:.1f} s",
        f"  new sync errors tracked {report.errors_tracked:>9,}",
        f"  seen again              {report.updated:>9,}",
        f"  resolved                {report.resolved:>9,}",
        f"  re-opened               {report.reopened:>9,}",
        f"  already known           {report.unchanged:>9,}",
        f"  nothing to do           {report.skipped:>9,}   (successes with no open error, queued entries)",
        f"  problems                {len(report.problems):>9,}" + ("   (those rows were skipped)" if report.problems else ""),
    ]
    for number, reason in report.problems[:shown_problems]:
        lines.append(f"{report.unit} {number}: {reason}")
    if len(report.problems) > shown_problems:
        lines.append(f"... and {len(report.problems) - shown_problems:,} more (--json lists up to 1,000)")
    return "\n".join(lines)
