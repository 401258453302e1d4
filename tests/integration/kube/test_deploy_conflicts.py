"""The order and the preconditions of deploy's writes.

The mount is written before the EnvoyFilter that reads the module through it, and released
after the filter stops reading it: a deploy cut short between the two leaves no filter without
its file.

Conflicting writes: someone else edits a workload between deploy's read and its write.

The cache mount annotations are read-modify-write (the user's own volumes are merged with the
cache's), so deploy writes them with the ``resourceVersion`` it read: a workload changed in
between is answered 409 by the API server, and deploy reads it again and merges again. Without
that precondition the concurrent edit would be silently overwritten (a lost update)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest

from tests.kube_server import FILTER_IMAGE as IMAGE
from tests.kube_server import KubeServer
from wasmkit.deploy import Api, DeployRequest, ModuleSource, parse_config
from wasmkit.deploy.apply import deploy, undeploy
from wasmkit.deploy.mounts import USER_VOLUME
from wasmkit.errors import KubeConflict
from wasmkit.kube import KubeClient, KubeObject

pytestmark = [pytest.mark.kube]

OTHERS = [{"name": "tmp-dir", "emptyDir": {}}]
CONCURRENT = {"name": "added-meanwhile", "emptyDir": {}}


class Racing(KubeClient):
    """A client that lets ``race`` write (as another user) just before its workload writes,
    and records the kinds it applies, in order."""

    race: Callable[[], None] | None = None
    races = 0
    applied: list[str]

    def apply(self, obj: Mapping[str, Any], **kw: Any) -> KubeObject:
        self.applied = [*getattr(self, "applied", []), str(obj["kind"])]
        if obj["kind"] == "Deployment" and self.race and self.races > 0:
            self.races -= 1
            self.race()
        return super().apply(obj, **kw)


def _volumes(kube_server: KubeServer, ns: str) -> list[dict[str, Any]]:
    obj = kube_server.get(f"/apis/apps/v1/namespaces/{ns}/deployments/details")
    return list(json.loads(obj["spec"]["template"]["metadata"]["annotations"][USER_VOLUME]))


def _edit_volumes(kube_server: KubeServer, ns: str, add: dict[str, Any]) -> None:
    """What `kubectl edit` does: read, change, replace (another field manager)."""
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/details"
    obj = kube_server.get(path)
    annotations = obj["spec"]["template"]["metadata"]["annotations"]
    annotations[USER_VOLUME] = json.dumps([*json.loads(annotations[USER_VOLUME]), add])
    kube_server.request("PUT", path, body=obj, params={"fieldManager": "kubectl-edit"})


def _request(ns: str) -> DeployRequest:
    return DeployRequest(
        image=IMAGE.ref,
        id="f",
        namespace=ns,
        config=parse_config("tomorrow"),
        labels={"app": "details"},
        api=Api.ENVOYFILTER,
        source=ModuleSource.CACHE,
        istio_version="1.29",
    )


@pytest.fixture
def details(kube_namespace: str, make: Callable[..., Any]) -> str:
    """Deployment ``details`` with a sidecar volume of the user's; its namespace."""
    make("Deployment", "details", {"app": "details"}, annotations={USER_VOLUME: json.dumps(OTHERS)})
    return kube_namespace


@pytest.fixture
def kube(kube_server: KubeServer) -> Iterator[Racing]:
    plain = KubeClient.connect(kube_server.kubeconfig)
    client = Racing(plain._api, default_namespace=None)
    yield client
    client.close()


def test_a_workload_edited_between_read_and_write_is_read_again_not_overwritten(
    kube_server: KubeServer, details: str, kube: Racing
) -> None:
    ns = details
    kube.race, kube.races = lambda: _edit_volumes(kube_server, ns, CONCURRENT), 1
    result = deploy(kube, _request(ns), IMAGE)
    assert result.count("changed") == 1
    names = [v["name"] for v in _volumes(kube_server, ns)]
    assert names == ["tmp-dir", "added-meanwhile", "cache-dir"], names


def test_a_workload_that_keeps_changing_is_a_clear_error(
    kube_server: KubeServer, details: str, kube: Racing
) -> None:
    ns = details
    counter = iter(range(100))
    kube.race = lambda: _edit_volumes_or_add(kube_server, ns, next(counter))
    kube.races = 100
    with pytest.raises(KubeConflict) as caught:
        deploy(kube, _request(ns), IMAGE)
    assert caught.value.exit_code == 3
    assert "deployments" in str(caught.value) and "details" in str(caught.value)
    assert caught.value.hint


def _edit_volumes_or_add(kube_server: KubeServer, ns: str, n: int) -> None:
    _edit_volumes(kube_server, ns, {"name": f"v{n}", "emptyDir": {}})


def test_the_mount_goes_on_before_the_filter_and_comes_off_after_it(
    kube_server: KubeServer, details: str, kube: Racing
) -> None:
    ns = details
    deploy(kube, _request(ns), IMAGE)
    assert kube.applied == ["Deployment", "EnvoyFilter"]
    kube.applied = []
    # the same filter, now fetched over http: the filter changes first, then the mount goes
    deploy(kube, replace(_request(ns), source=ModuleSource.HTTP), IMAGE)
    assert kube.applied == ["EnvoyFilter", "Deployment"]


def test_undeploy_keeps_volumes_the_user_added_while_the_filter_ran(
    kube_server: KubeServer, details: str, kube: Racing
) -> None:
    ns = details
    deploy(kube, _request(ns), IMAGE)
    _edit_volumes(kube_server, ns, CONCURRENT)  # kubectl edit while the filter runs
    undeploy(kube, "f", ns)
    assert [v["name"] for v in _volumes(kube_server, ns)] == ["tmp-dir", "added-meanwhile"]
