"""The node cache against a real docker-registry: pull by digest, serve by sha256, evict."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.integration.oci.servers import Registry
from wasmkit.oci import PushResult
from wasmkit.operator.cache_server import http_server
from wasmkit.operator.node_cache import NodeCache, Want

pytestmark = pytest.mark.registry


def test_holds_what_is_wanted_serves_it_by_sha256_and_evicts_the_rest(
    registry: Registry, publish: Callable[..., PushResult], tmp_path: Path
) -> None:
    one = publish("cache/one:v1")
    two = publish("cache/two:v1", wat="bodies", root_id="bodies")
    image_one = registry.ref(f"cache/one@{one.manifest_digest}")
    image_two = registry.ref(f"cache/two@{two.manifest_digest}")
    cache = NodeCache(tmp_path / "modules", tmp_path / "state")
    wants = [Want(image_one, registry.options), Want(image_two, registry.options)]

    report = cache.sync(wants, {})
    assert report.failed == {}
    assert report.held == {image_one: one.module_sha256, image_two: two.module_sha256}
    with http_server(cache, "127.0.0.1", 0) as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        served = requests.get(f"{base}/{one.module_sha256}", timeout=5)
        assert served.status_code == 200
        assert served.headers["Content-Type"] == "application/wasm"
        assert hashlib.sha256(served.content).hexdigest() == one.module_sha256
        for bad in ("/../state", "/" + "A" * 64, "/abc", "/" + "0" * 64, "/%2e%2e/etc/passwd"):
            assert requests.get(base + bad, timeout=5).status_code == 404, bad
        assert requests.put(f"{base}/{one.module_sha256}", timeout=5).status_code == 405
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200

    report = cache.sync(wants[1:], {})
    assert report.held == {image_two: two.module_sha256}
    assert not (tmp_path / "modules" / one.module_sha256).exists()
    assert (tmp_path / "modules" / two.module_sha256).is_file()
    assert cache.store.images()[0].ref == image_two


def test_a_failed_pull_is_reported_and_does_not_stop_the_others(
    registry: Registry, publish: Callable[..., PushResult], tmp_path: Path
) -> None:
    one = publish("cache/ok:v1")
    good = registry.ref(f"cache/ok@{one.manifest_digest}")
    missing = registry.ref("cache/absent@sha256:" + "1" * 64)
    cache = NodeCache(tmp_path / "modules", tmp_path / "state")
    report = cache.sync([Want(missing, registry.options), Want(good, registry.options)], {})
    assert report.held == {good: one.module_sha256}
    assert "absent" in report.failed[missing]
    # a tag is never pulled: the operator resolves it, a status names digests
    report = cache.sync([Want(registry.ref("cache/ok:v1"), registry.options)], {})
    assert "digest only" in report.failed[registry.ref("cache/ok:v1")]
