"""``wasmkit push / pull / tag / images / rm / inspect / login / logout``: images of filters."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from wasmkit._text import printable
from wasmkit.cli._app import Output, output
from wasmkit.errors import EXIT_TEST_FAILED, UsageError

if TYPE_CHECKING:
    from wasmkit.oci import Format, ImageRecord, LocalStore, RegistryOptions

F = TypeVar("F", bound=Callable[..., Any])


def _registry_options(func: F) -> F:
    options = [
        click.option(
            "--plain-http", is_flag=True, help="Speak plain HTTP (a local registry without TLS)."
        ),
        click.option(
            "--ca-file",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="Trust this CA bundle (PEM) for the registry's TLS certificate.",
        ),
        click.option(
            "--insecure", is_flag=True, help="Do not verify the registry's TLS certificate."
        ),
        click.option(
            "--timeout",
            default=30.0,
            show_default=True,
            help="Seconds each read from the registry may wait; a whole transfer gets this "
            "plus its size at 64 KiB/s, so a stalling registry cannot hold it.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(
    plain_http: bool, ca_file: Path | None, insecure: bool, timeout: float
) -> RegistryOptions:
    from wasmkit.oci import RegistryOptions

    return RegistryOptions(
        plain_http=plain_http, ca_file=ca_file, insecure=insecure, timeout=timeout
    )


def _store() -> LocalStore:
    from wasmkit.oci import LocalStore

    return LocalStore()


class _Bars:
    """rich progress bars on a terminal, for blobs over 1 MiB."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
        )
        self._progress.start()

    def task(self, label: str, total: int) -> Any:
        progress = self._progress
        if total < 1024 * 1024:
            from wasmkit.oci.progress import NullProgress

            return NullProgress().task(label, total)
        task_id = progress.add_task(label, total=total)

        class _Task:
            def advance(self, n: int) -> None:
                progress.advance(task_id, n)

            def close(self) -> None:
                progress.remove_task(task_id)

        return _Task()

    def stop(self) -> None:
        self._progress.stop()


def _bars(out: Output) -> _Bars | None:
    return _Bars() if sys.stderr.isatty() and not out.quiet else None


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


@click.command()
@click.argument("ref")
@click.option(
    "--module",
    "-m",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Store this .wasm under REF first (else REF must be in the local store).",
)
@click.option(
    "--root-id", "root_ids", multiple=True, help="Root id(s) the module registers (with --module)."
)
@click.option(
    "--format",
    "layout",
    type=click.Choice(["compat", "wasme"]),
    help="Image layout: compat (Istio-compatible, the default for new images) or wasme; "
    "a stored image in the other layout is re-packed and its local tag follows.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_registry_options
@click.pass_context
def push(
    ctx: click.Context,
    /,
    ref: str,
    module: Path | None,
    root_ids: tuple[str, ...],
    layout: str | None,
    as_json: bool,
    **registry: Any,
) -> None:
    """Push the stored image REF to its registry (blobs it has are skipped).

    \b
    wasmkit push localhost:5000/filters/add-header:v1 --plain-http
    wasmkit push ghcr.io/me/add-header:v1 --module filter.wasm --root-id add_header

    Exits 2 for a bad reference, an image not in the store or a refused credential (the hint
    says how to log in), 3 when the registry is unreachable or fails.
    """
    from wasmkit.tasks.push import push_image

    out = output(ctx)
    bars = _bars(out)
    try:
        result = push_image(
            _store(),
            ref,
            _options(**registry),
            module=module,
            root_ids=root_ids,
            layout=cast("Format | None", layout),  # click.Choice limits it to the formats
            progress=bars,
        )
    finally:
        if bars:
            bars.stop()
    if as_json:
        _emit(
            {
                "ref": result.ref,
                "manifestDigest": result.manifest_digest,
                "moduleSha256": result.module_sha256,
                "uploaded": list(result.uploaded),
                "skipped": list(result.skipped),
                "mounted": list(result.mounted),
            }
        )
        return
    out.info(
        f"{len(result.uploaded)} blob(s) uploaded, {len(result.skipped)} already there, "
        f"{len(result.mounted)} mounted"
    )
    click.echo(f"{result.ref}@{result.manifest_digest}")


@click.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the stored image as JSON.")
@_registry_options
@click.pass_context
def pull(ctx: click.Context, /, ref: str, as_json: bool, **registry: Any) -> None:
    """Fetch REF into the local store, verifying every digest and the module.

    Reads wasmkit's own layouts, wasme images, Docker/OCI images whose last layer holds
    plugin.wasm and wasm artifacts (an application/wasm layer). Exits 2 for a bad reference,
    an unknown tag, a refused credential or an image that is not a wasm filter; 3 when the
    registry is unreachable or sends bytes that do not match their digest. The store changes
    only when every check passed.
    """
    from wasmkit.oci import pull as pull_image

    out = output(ctx)
    store = _store()
    bars = _bars(out)
    try:
        record = pull_image(store, ref, _options(**registry), progress=bars)
    finally:
        if bars:
            bars.stop()
    if as_json:
        _emit(_record_json(record, store))
        return
    out.info(f"module sha256 {record.module_sha256}, {record.size} bytes, layout {record.layout}")
    click.echo(f"{record.ref}@{record.manifest_digest}")


@click.command()
@click.argument("source")
@click.argument("target")
def tag(source: str, target: str) -> None:
    """Give the stored image SOURCE another name TARGET."""
    record = _store().tag(source, target)
    click.echo(f"{record.ref}@{record.manifest_digest}")


def _record_json(
    record: ImageRecord, store: LocalStore, *, with_module: bool = True
) -> dict[str, Any]:
    from wasmkit.oci.inspection import record_summary

    data = record_summary(record)
    if with_module:  # unpacks the module of a pulled tar layer on first use
        data["module"] = str(store.module_path(record.ref))
    return data


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def images(as_json: bool) -> None:
    """List the images in the local store."""
    store = _store()
    records = store.images()
    if as_json:
        _emit([_record_json(r, store, with_module=False) for r in records])
        return
    rows: list[tuple[str, ...]] = [
        ("REF", "DIGEST", "MODULE SHA256", "SIZE", "ABI", "ROOT IDS", "CREATED")
    ]
    for r in records:
        cells = (
            r.ref,
            r.manifest_digest[7:19],
            r.module_sha256[:12],
            _size(r.size),
            ",".join(r.abi_versions) or "-",
            ",".join(r.root_ids) or "-",
            r.created,
        )
        rows.append(tuple(printable(cell) for cell in cells))  # root ids, dates: the image's
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


@click.command()
@click.argument("refs", nargs=-1, required=True)
def rm(refs: tuple[str, ...]) -> None:
    """Remove images from the local store (blobs no other reference uses are deleted)."""
    store = _store()
    for ref in refs:
        click.echo(f"removed {store.remove(ref)}")


@click.command()
@click.argument("ref")
@click.option("--check", type=click.Choice(["istio"]), help="Apply a consumer's acceptance rules.")
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@click.pass_context
def inspect(ctx: click.Context, ref: str, check: str | None, as_json: bool) -> None:
    """Show a stored image: manifest, config, manifest digest and module sha256.

    With --check istio, exits 1 when Istio's agent would refuse the image.
    """
    from wasmkit.oci import inspect as inspect_image

    result = inspect_image(_store(), ref, check_istio=check == "istio")
    data = result.to_json()
    if as_json:
        _emit(data)
    else:
        # root ids, ABI versions, problems quote the image: shown escaped (json.dumps escapes)
        lines = [
            f"ref:             {data['ref']}",
            f"manifest digest: {data['manifestDigest']}",
            f"module sha256:   {data['moduleSha256']}  ({data['size']} bytes)",
            f"layout:          {data['layout']}",
            f"abi versions:    {', '.join(data['abiVersions']) or '-'}",
            f"root ids:        {', '.join(data['rootIds']) or '-'}",
            f"config digest:   {data['configDigest']}",
            "manifest:",
            json.dumps(data["manifest"], indent=2),
            "config:",
            json.dumps(data["config"], indent=2),
        ]
        if "istio" in data:
            istio = data["istio"]
            lines.append(f"istio: {'accepted' if istio['accepted'] else 'REFUSED'}")
            lines += [f"  - {problem}" for problem in istio["problems"]]
            lines.append(f"  WasmPlugin sha256 for oci:// urls:  {istio['ociSha256']}")
            lines.append(f"  WasmPlugin sha256 for http:// urls: {istio['httpSha256']}")
        click.echo(printable("\n".join(lines)))
    if result.istio_problems:
        ctx.exit(EXIT_TEST_FAILED)


@click.command()
@click.argument("registry")
@click.option("--username", "-u", help="User name (asked for when missing).")
@click.option("--password-stdin", is_flag=True, help="Read the password (or token) from stdin.")
@_registry_options
@click.pass_context
def login(
    ctx: click.Context, /, registry: str, username: str | None, password_stdin: bool, **options: Any
) -> None:
    """Check a credential against REGISTRY and save it (mode 0600) for push and pull."""
    from wasmkit.oci import login as do_login
    from wasmkit.oci.reference import parse_registry

    host = parse_registry(registry)
    if password_stdin:
        if not username:
            raise UsageError(
                "--password-stdin needs --username",
                hint="wasmkit login HOST -u USER --password-stdin",
            )
        password = sys.stdin.read().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise UsageError(
                "no terminal to ask for the password",
                hint="pipe it in: wasmkit login HOST -u USER --password-stdin < file",
            )
        username = username or click.prompt("Username")
        password = click.prompt("Password", hide_input=True)
    path = do_login(_store(), host, username or "", password, _options(**options))
    output(ctx).info(f"credential saved in {path}")
    click.echo(f"logged in to {host}")


@click.command()
@click.argument("registry")
def logout(registry: str) -> None:
    """Forget wasmkit's saved credential for REGISTRY (Docker's files are not touched)."""
    from wasmkit.oci import logout as do_logout
    from wasmkit.oci.reference import parse_registry

    host = parse_registry(registry)
    if do_logout(_store(), host):
        click.echo(f"logged out of {host}")
    else:
        click.echo(f"not logged in to {host}")
