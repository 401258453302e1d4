"""``wasmkit deploy envoy``: the filter in a local Envoy (wasme's ``deploy envoy``, done right).

The filter block is :func:`wasmkit.filter.envoy_wasm_filter`'s, inserted before the router of
every HTTP connection manager of a user's bootstrap, or of the harness's own bootstrap (one
listener in front of an upstream). Nothing wraps ``--config`` in an old v2 form: a string is a
``StringValue``, a mapping compact JSON - what a mesh proxy gets too.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wasmkit._documents import load_yaml
from wasmkit.deploy.images import image_info
from wasmkit.deploy.inputs import Config, check_name
from wasmkit.deploy.spec import ImageInfo, choose_root_id
from wasmkit.envoy.binary import EnvoyBinary, find_envoy
from wasmkit.envoy.bootstrap import Listener, bootstrap_config, bootstrap_header
from wasmkit.envoy.process import EnvoyProcess, start_checked
from wasmkit.errors import UsageError
from wasmkit.filter import (
    FailurePolicy,
    FilterSpec,
    LocalCode,
    envoy_wasm_filter,
    filter_name_for,
)
from wasmkit.oci import LocalStore, RegistryOptions

HCM_NAMES = ("envoy.filters.network.http_connection_manager", "envoy.http_connection_manager")
ROUTER_NAMES = ("envoy.filters.http.router", "envoy.router")
MAX_BOOTSTRAP_BYTES = 4 * 1024 * 1024
LISTENER = "wasmkit"
LOOPBACK_ANY_PORT = {"address": "127.0.0.1", "port_value": 0}


@dataclass(frozen=True)
class LocalFilter:
    """A stored image's module, and how Envoy should run it."""

    module: Path
    filter_id: str
    root_id: str
    config: Config = field(default_factory=Config)
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED

    def http_filter(self) -> dict[str, Any]:
        spec = FilterSpec(
            name=self.filter_id,
            root_id=self.root_id,
            code=LocalCode(str(self.module.resolve())),
            configuration=self.config.for_filter,
            failure_policy=self.failure_policy,
        )
        return envoy_wasm_filter(spec)


def _hcm_filter_lists(node: Any) -> Iterator[list[Any]]:
    """Every ``http_filters`` list of an HTTP connection manager anywhere in ``node``."""
    if isinstance(node, dict):
        if node.get("name") in HCM_NAMES and isinstance(node.get("typed_config"), dict):
            filters = node["typed_config"].setdefault("http_filters", [])
            if isinstance(filters, list):
                yield filters
        for value in node.values():
            yield from _hcm_filter_lists(value)
    elif isinstance(node, list):
        for item in node:
            yield from _hcm_filter_lists(item)


def _same_wasm(entry: Any, http_filter: dict[str, Any]) -> bool:
    def name(f: Any) -> Any:
        return (
            f.get("typed_config", {}).get("config", {}).get("name") if isinstance(f, dict) else None
        )

    return (
        isinstance(entry, dict)
        and entry.get("name") == http_filter["name"]
        and name(entry) == name(http_filter)
    )


def insert_filter(bootstrap: dict[str, Any], http_filter: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``bootstrap`` with ``http_filter`` before the router of every HTTP connection
    manager (at the end where there is no router); refuses a bootstrap with none."""
    patched = copy.deepcopy(bootstrap)
    count = 0
    for filters in _hcm_filter_lists(patched):
        filters[:] = [f for f in filters if not _same_wasm(f, http_filter)]  # redeploy: replace
        names = [f.get("name") if isinstance(f, dict) else None for f in filters]
        at = next((i for i, n in enumerate(names) if n in ROUTER_NAMES), len(filters))
        filters.insert(at, http_filter)
        count += 1
    if not count:
        raise UsageError(
            "the bootstrap has no HTTP connection manager to insert the filter into",
            hint="give a bootstrap with an envoy.filters.network.http_connection_manager "
            "listener, or leave out --bootstrap for wasmkit's own",
        )
    return patched


def read_bootstrap(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BOOTSTRAP_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the bootstrap {path}: {exc.strerror}") from None
    if len(raw) > MAX_BOOTSTRAP_BYTES:
        raise UsageError(f"the bootstrap {path} is over {MAX_BOOTSTRAP_BYTES} bytes")
    data = load_yaml(raw.decode("utf-8", errors="replace"), str(path))
    if not isinstance(data, dict):
        raise UsageError(f"the bootstrap {path} is not a mapping (an Envoy Bootstrap)")
    return data


def envoy_config(
    local: LocalFilter,
    *,
    bootstrap: Path | None = None,
    port: int = 10000,
    upstream_port: int = 8080,
) -> str:
    """The Envoy config to run ``local`` with, as YAML (``wasmkit deploy envoy -o yaml``)."""
    if bootstrap is not None:
        return yaml.safe_dump(
            insert_filter(read_bootstrap(bootstrap), local.http_filter()), sort_keys=False
        )
    # The harness bootstrap, written as YAML for a reader (the test harness writes it as JSON).
    config = bootstrap_config(
        [Listener(LISTENER, local.http_filter(), port=port)],
        upstream_port=upstream_port,
        access_log="/dev/stdout",
        purpose="deploy",
    )
    return bootstrap_header("deploy") + yaml.safe_dump(config, sort_keys=False)


def local_filter(
    image: ImageInfo,
    module: Path,
    *,
    filter_id: str | None = None,
    root_id: str | None = None,
    config: Config | None = None,
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED,
) -> LocalFilter:
    """What to run for a stored image: its module file, root id (the image's, or ``root_id``)."""
    name = filter_id or filter_name_for(image.ref.rsplit("/", 1)[-1].split(":")[0] + ".wasm")
    return LocalFilter(
        module=module,
        filter_id=check_name(name),
        root_id=choose_root_id(root_id, image),
        config=config or Config(),
        failure_policy=failure_policy,
    )


@dataclass(frozen=True)
class Running:
    envoy: EnvoyProcess
    run_dir: Path
    ports: dict[str, int]


@contextmanager
def run_envoy(
    local: LocalFilter,
    *,
    bootstrap: Path | None = None,
    port: int = 0,
    upstream_port: int = 8080,
    binary: EnvoyBinary | None = None,
    run_dir: Path | None = None,
) -> Iterator[Running]:
    """Envoy running ``local`` until the block ends (a refused module raises, in Envoy's words).

    Without ``bootstrap``: a listener on 127.0.0.1:``port`` before 127.0.0.1:``upstream_port``.
    """
    directory = run_dir or Path(tempfile.mkdtemp(prefix="wasmkit-deploy-envoy-"))
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "envoy.yaml"
    if bootstrap is not None:
        data = insert_filter(read_bootstrap(bootstrap), local.http_filter())
        # The process owner finds Envoy through its admin address: give it one if there is none.
        data.setdefault("admin", {"address": {"socket_address": LOOPBACK_ANY_PORT}})
        config.write_text(yaml.safe_dump(data, sort_keys=False))
    else:
        config.write_text(envoy_config(local, port=port, upstream_port=upstream_port))
    process = EnvoyProcess(binary or find_envoy(), config, directory)
    with start_checked(process) as envoy:
        yield Running(envoy, directory, envoy.listener_ports())


def prepare_local(
    store: LocalStore,
    ref: str,
    *,
    registry: RegistryOptions | None = None,
    filter_id: str | None = None,
    root_id: str | None = None,
    config: Config | None = None,
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED,
) -> LocalFilter:
    """The stored (or pulled) image ``ref`` as a filter for a local Envoy."""
    image = image_info(store, ref, registry)
    return local_filter(
        image,
        store.module_path(ref),
        filter_id=filter_id,
        root_id=root_id,
        config=config,
        failure_policy=failure_policy,
    )
