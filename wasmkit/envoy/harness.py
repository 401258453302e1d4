"""The test harness's Envoy as a :class:`Layout`, and an Envoy started from the last run's.

A run's bootstrap is its layout - the module, each filter variant's root id, configuration and
failure policy, the clusters the filter may call, the route's metadata - plus what every run
picks anew: the upstreams' ports and the run directory. :func:`render_layout` is the one way
from the two to the bootstrap.

``wasmkit test`` spends most of its fixed cost before Envoy can start: Python imports pydantic
and validates the suite (a tenth of a second), and only the validated suite says what Envoy
runs. Envoy then needs another ~0.1 s to start. :class:`EarlyStart` overlaps the two: it
remembers the layout of a suite's last run (in the user's cache directory, keyed by the suite's
files and the command's inputs), and the next run starts Envoy from it before the suite is even
read. The engine keeps that Envoy only if the validated suite's layout is the same (the same
bootstrap, ports aside); otherwise it stops it and starts the right one, as without a memory
(what a run costs after the suite changed: one Envoy started for nothing).

A remembered layout is read only from a file of the user's own that no one else may write
(``wasmkit._atomic.read_own``, as the emulator's compiled modules), and what it can say is
limited to what a suite and a project can: a module path (with ``--module``, it must be the
command line's), names, root ids and configurations handed to that module, failure policies,
loopback clusters the harness serves itself; every value is quoted into the bootstrap as
JSON. A layout that does not parse is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from wasmkit._atomic import read_own, write_atomic
from wasmkit._documents import load_json
from wasmkit.envoy.binary import EnvoyBinary
from wasmkit.envoy.bootstrap import Listener, render_bootstrap
from wasmkit.envoy.process import EnvoyProcess
from wasmkit.envoy.upstream import EchoUpstream
from wasmkit.errors import WasmkitError
from wasmkit.filter import FailurePolicy, FilterSpec, LocalCode, envoy_wasm_filter

log = logging.getLogger(__name__)
T = TypeVar("T")

#: A remembered layout larger than this is not one wasmkit wrote.
MAX_LAYOUT_BYTES = 1024 * 1024
#: Layouts kept in the cache directory (the oldest go first).
MAX_LAYOUTS = 64


@dataclass(frozen=True)
class FilterVariant:
    """One distinct filter configuration of a suite: one listener (and VM) in the harness."""

    index: int
    root_id: str
    configuration: str
    failure_policy: FailurePolicy

    @property
    def key(self) -> tuple[str, str, FailurePolicy]:
        return (self.root_id, self.configuration, self.failure_policy)


def vm_id(filter_name: str, index: int) -> str:
    """A variant's VM id, alike on every engine (Envoy prints it in the filter's lines)."""
    return f"{filter_name}-{index}"


def listener_name(variant: FilterVariant) -> str:
    return f"variant-{variant.index}"


def variant_filter_spec(filter_name: str, module_path: Path, variant: FilterVariant) -> FilterSpec:
    return FilterSpec(
        name=filter_name,
        root_id=variant.root_id,
        code=LocalCode(str(module_path.resolve())),
        configuration=variant.configuration,
        failure_policy=variant.failure_policy,
        vm_id=vm_id(filter_name, variant.index),
    )


@dataclass(frozen=True)
class Layout:
    """What a harness bootstrap is made of, ports and paths aside."""

    filter_name: str
    module_path: Path  # absolute
    variants: tuple[FilterVariant, ...]
    clusters: tuple[str, ...] = ()
    grpc_clusters: tuple[str, ...] = ()
    route_metadata: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "filterName": self.filter_name,
            "modulePath": str(self.module_path),
            "variants": [
                [v.index, v.root_id, v.configuration, v.failure_policy.value] for v in self.variants
            ],
            "clusters": list(self.clusters),
            "grpcClusters": list(self.grpc_clusters),
            "routeMetadata": self.route_metadata,
        }

    @classmethod
    def from_json(cls, data: Any) -> Layout:
        """The layout :meth:`to_json` wrote; ValueError, TypeError or KeyError if it is not."""
        return cls(
            filter_name=_typed(data["filterName"], str),
            module_path=Path(_typed(data["modulePath"], str)),
            variants=tuple(
                FilterVariant(
                    _typed(index, int),
                    _typed(root_id, str),
                    _typed(configuration, str),
                    FailurePolicy(_typed(policy, str)),
                )
                for index, root_id, configuration, policy in _typed(data["variants"], list)
            ),
            clusters=tuple(_typed(c, str) for c in _typed(data["clusters"], list)),
            grpc_clusters=tuple(_typed(c, str) for c in _typed(data["grpcClusters"], list)),
            route_metadata={
                _typed(namespace, str): {
                    _typed(k, str): _typed(v, str) for k, v in _typed(values, dict).items()
                }
                for namespace, values in _typed(data["routeMetadata"], dict).items()
            },
        )


def _typed(value: Any, kind: type[T]) -> T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{value!r} is not a {kind.__name__}")
    return value


def render_layout(
    layout: Layout,
    *,
    upstream_port: int,
    run_dir: Path,
    clusters: dict[str, int] | None = None,
    grpc_clusters: dict[str, int] | None = None,
) -> str:
    """The harness bootstrap: one listener per variant before the echo upstream."""
    listeners = [
        Listener(
            listener_name(v),
            envoy_wasm_filter(variant_filter_spec(layout.filter_name, layout.module_path, v)),
        )
        for v in layout.variants
    ]
    return render_bootstrap(
        listeners,
        upstream_port=upstream_port,
        access_log=str(run_dir / "access.log"),
        route_metadata=layout.route_metadata,
        clusters=clusters,
        grpc_clusters=grpc_clusters,
    )


class EarlyEnvoy:
    """Envoy spawned from a remembered layout, with its run directory and echo upstreams;
    :meth:`close` stops and removes what an engine did not take over."""

    def __init__(self, layout: Layout, binary: EnvoyBinary):
        self.layout = layout
        self.run_dir = Path(tempfile.mkdtemp(prefix="wasmkit-envoy-"))
        self._stack = contextlib.ExitStack()
        try:
            self.upstream = self._stack.enter_context(EchoUpstream())
            self.called = {
                name: self._stack.enter_context(EchoUpstream()) for name in layout.clusters
            }
            config = self.run_dir / "envoy.yaml"
            config.write_text(
                render_layout(
                    layout,
                    upstream_port=self.upstream.port,
                    run_dir=self.run_dir,
                    clusters={name: server.port for name, server in self.called.items()},
                )
            )
            # What the module file was before Envoy read it: a module rebuilt meanwhile (the
            # window is Envoy's start) must not be tested as the one Envoy loaded.
            self.module_file = _fingerprint(layout.module_path)
            # The engine that takes it sets its deadline (the plan's) before waiting.
            self.envoy = EnvoyProcess(binary, config, self.run_dir)
            self._stack.callback(self.envoy.stop)
            self.envoy.spawn()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Kill Envoy (nobody reads its logs), stop the upstreams, remove the run directory."""
        envoy = getattr(self, "envoy", None)
        if envoy is not None:
            envoy.stop(grace_s=0)
        self._stack.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def handover(self) -> contextlib.ExitStack:
        """For the engine that takes this Envoy: the stack that stops it and the upstreams
        (the engine removes the run directory, as its own)."""
        return self._stack.pop_all()


class EarlyStart:
    """The remembered layout of one suite and command (``key``), and the Envoy started from it.

    :meth:`start` spawns Envoy if a layout is remembered; :meth:`take` gives it to the engine
    whose validated layout is the same (and stops it otherwise); :meth:`remember` keeps the
    layout a run used for the next; :meth:`close` stops an Envoy no engine took.
    """

    def __init__(self, key: str, cache_dir: Path):
        self.path = cache_dir / "test-layouts" / f"{key}.json"
        self.early: EarlyEnvoy | None = None
        self._remembered: Layout | None = None

    def start(self, binary: EnvoyBinary, module_path: Path | None) -> None:
        """Spawn Envoy from the remembered layout, if there is one (for ``module_path``, if
        the command line named the module)."""
        layout = self.recall()
        if layout is None or layout.grpc_clusters:
            return
        if module_path is not None and layout.module_path != module_path.resolve():
            return
        try:
            self.early = EarlyEnvoy(layout, binary)
        except (OSError, WasmkitError) as exc:  # the run itself will say what is wrong
            log.debug("no early Envoy: %s", exc)

    def recall(self) -> Layout | None:
        """The remembered layout, if its file is this user's own (read_own) and one."""
        raw = read_own(self.path, MAX_LAYOUT_BYTES)
        try:
            data = None if raw is None else load_json(raw, str(self.path), max_bytes=len(raw))
            self._remembered = None if data is None else Layout.from_json(data)
        except (WasmkitError, ValueError, TypeError, KeyError, AttributeError):
            self._remembered = None
        return self._remembered

    def take(self, layout: Layout, binary: EnvoyBinary) -> EarlyEnvoy | None:
        """The early Envoy if it runs ``layout`` in ``binary`` (once); else None, stopped."""
        early, self.early = self.early, None
        if early is None:
            return None
        if (
            early.layout == layout
            and early.envoy.binary.path == binary.path
            and early.module_file == _fingerprint(layout.module_path)
        ):
            return early
        early.close()
        return None

    def remember(self, layout: Layout) -> None:
        """Keep ``layout`` for the next run (a layout that needs no gRPC upstream)."""
        if layout.grpc_clusters or layout == self._remembered:
            return
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps(layout.to_json()).encode(), mode=0o600)
            _prune(self.path.parent)
        except OSError as exc:  # a read-only cache costs the next run its head start only
            log.debug("layout not remembered: %s", exc)

    def close(self) -> None:
        if self.early is not None:
            self.early.close()
            self.early = None


def _fingerprint(path: Path) -> tuple[int, int, int, int] | None:
    """The file's identity and last change (device, inode, size, mtime in ns)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _prune(directory: Path) -> None:
    """Keep the :data:`MAX_LAYOUTS` most recently written layouts (one per suite, module
    path and flags: a test suite's temporary modules would add one each)."""
    entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for old in entries[:-MAX_LAYOUTS]:
        old.unlink(missing_ok=True)


def early_start_key(*parts: object) -> str:
    """A key for :class:`EarlyStart` from what names a suite and its layout (its files, the
    module path, the command's overrides)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, default=str).encode()
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()
