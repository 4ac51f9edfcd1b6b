"""`chaincredit load PATH…`: read, validate and store files and folders of records.

All files of one call are one decision: they are stored in one transaction (one batch per file,
one for all XML invoices) or not at all. A folder is usually one delivery from a core firm, and
half of it stored (orders without their invoices) would be worse than none of it. Reading and
validating happen before the database is touched, so a bad row anywhere stores nothing.
Exit codes: 0 accepted (or valid, with --dry-run); 1 rejected (every bad row printed);
2 nothing could be read (unknown file names, database not migrated).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from store.errors import RowError
    from store.ingest import BatchResult
    from store.reading import ParsedUpload

OPERATOR = "cli"


def _records(upload: ParsedUpload) -> list[dict[str, Any]]:
    """Parsed records as a person reads them: money as decimal text, dates as YYYY-MM-DD."""
    import pandas as pd

    from store.money import format_minor
    from store.records import FieldType

    frame: pd.DataFrame = upload.frame
    out = pd.DataFrame(index=frame.index)
    if "_row" in frame.columns:
        out["row"] = frame["_row"]
    for f in upload.kind.fields:
        if f.type is FieldType.MONEY:
            col = f"{f.name}_minor"
            if col in frame.columns:
                try:
                    out[f.name] = format_minor(frame[col], frame["currency"])
                except ValueError:
                    out[f.name] = frame[col]
        elif f.name in frame.columns:
            values = frame[f.name]
            if f.type is FieldType.DATE:
                values = pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d")
            out[f.name] = values
    parsed: list[dict[str, Any]] = json.loads(out.to_json(orient="records", force_ascii=False))
    return parsed


def _errors(errors: list[RowError]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in errors]


def _print_errors(console: Console, source: str, errors: list[RowError]) -> None:
    from rich.markup import escape

    from store.errors import error_count

    console.print(f"[bold red]{escape(source)}[/]: {error_count(errors)} problem(s)")
    for e in errors:
        shown = f" (value: {e.value!r})" if e.value is not None else ""
        console.print(f"  {escape(str(e))}{escape(shown)}", soft_wrap=True)


def _summary(
    console: Console, uploads: list[ParsedUpload], results: list[BatchResult] | None, title: str
) -> None:
    from rich.table import Table

    from store.errors import error_count

    table = Table(title=title)
    for name in ("source", "kind", "rows", "inserted", "duplicates", "replaced", "errors"):
        table.add_column(name, justify="left" if name in ("source", "kind") else "right",
                         overflow="fold")
    for i, u in enumerate(uploads):
        r = results[i] if results is not None else None
        cells = [str(r.inserted), str(r.duplicates), str(r.replaced)] if r else ["-", "-", "-"]
        table.add_row(u.source, u.kind.name, str(u.n_rows), *cells, str(error_count(u.errors)))
    console.print(table)
    for u in uploads:
        for role, counts in u.identifiers.items():
            used = ", ".join(f"{term} ×{n}" for term, n in sorted(counts["used"].items()))
            console.print(f"{u.source}: {role} identified by {used or 'nothing'}", soft_wrap=True)


def _ensure_schema(url: str | None) -> Any:
    """An engine on a migrated database. An empty SQLite file is migrated on the spot (the
    zero-set-up default); any other database must be migrated by `chaincredit db upgrade`."""
    from store.db import current_revision, head_revision, make_engine, upgrade

    engine = make_engine(url)
    now = current_revision(engine)
    if now is None and engine.dialect.name == "sqlite":
        upgrade(engine)
        now = current_revision(engine)
    if now != head_revision():
        engine.dispose()
        typer.echo(
            f"error: the database is at revision {now or 'empty'}, not {head_revision()}: "
            "run `chaincredit db upgrade` first",
            err=True,
        )
        raise typer.Exit(2)
    return engine


def register(app: typer.Typer) -> None:
    @app.command("load")
    def load(
        paths: Annotated[list[Path], typer.Argument(help="Files or folders: <kind>.csv|json|parquet, *.xml")],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only; store nothing")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print parsed records and errors as JSON")] = False,
        replace: Annotated[bool, typer.Option("--replace", help="Store changed documents as new versions")] = False,
        uploaded_by: Annotated[str, typer.Option("--uploaded-by", help="Uploader recorded when a row names none")] = OPERATOR,
        database_url: Annotated[str | None, typer.Option("--database-url", help="Database URL; default: DATABASE_URL or the SQLite file")] = None,
    ) -> None:
        """Load record files into the database: all of them, or none if any row is bad."""
        from rich.console import Console

        from api.cli.progress import progress_display
        from store.errors import BatchRejected, DocumentConflict
        from store.ingest import ingest_many
        from store.reading import UnknownFilesError, read_paths

        out = Console(soft_wrap=True)
        err = Console(stderr=True)

        with progress_display() as bar:
            try:
                uploads = read_paths(paths, progress=bar)
            except UnknownFilesError as exc:
                err.print(f"[red]error:[/] {exc}")
                raise typer.Exit(2) from exc

        def emit(accepted: bool, results: list[BatchResult] | None, extra: list[RowError] | None) -> None:
            doc = {
                "accepted": accepted,
                "dry_run": dry_run,
                "uploads": [
                    {
                        "source": u.source,
                        "kind": u.kind.name,
                        "rows": u.n_rows,
                        "content_hash": u.content_hash,
                        "records": _records(u),
                        "errors": _errors(u.errors),
                        "identifiers": u.identifiers or None,
                        "result": results[i].to_dict() if results is not None else None,
                    }
                    for i, u in enumerate(uploads)
                ],
                "errors": _errors(extra or []),
            }
            typer.echo(json.dumps(doc, ensure_ascii=False, indent=1))

        bad = [u for u in uploads if u.errors]
        if bad:
            if as_json:
                emit(False, None, None)
            else:
                for u in bad:
                    _print_errors(out, u.source, u.errors)
                _summary(out, uploads, None, "rejected: nothing was stored")
            raise typer.Exit(1)
        if dry_run:
            if as_json:
                emit(True, None, None)
            else:
                _summary(out, uploads, None, "valid (dry run: nothing was stored)")
            return

        engine = _ensure_schema(database_url)
        try:
            with progress_display() as bar:
                results = ingest_many(engine, uploads, uploader=uploaded_by, replace=replace, progress=bar)
        except (BatchRejected, DocumentConflict) as exc:
            where = "; ".join(getattr(exc, "__notes__", [])) or "upload"
            if as_json:
                emit(False, None, exc.errors)
            else:
                _print_errors(out, where.removeprefix("source: "), exc.errors)
                _summary(out, uploads, None, f"rejected ({exc}): nothing was stored")
            raise typer.Exit(1) from exc
        finally:
            engine.dispose()
        if as_json:
            emit(True, results, None)
        else:
            _summary(out, uploads, results, "accepted")

