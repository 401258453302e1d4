"""deploy_istio / undeploy_istio: the input is checked before anything is fetched or asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmkit.deploy import DeployRequest
from wasmkit.deploy.istio import Cluster, deploy_istio, undeploy_istio
from wasmkit.errors import UsageError
from wasmkit.oci import LocalStore

NOWHERE = Cluster(kubeconfig=Path("/nonexistent/kubeconfig"))


def test_a_bad_id_is_refused_before_the_image_is_pulled_or_the_cluster_asked(
    tmp_path: Path,
) -> None:
    request = DeployRequest(image="unreachable.invalid/f:v1", id="My_Filter", namespace="n")
    with pytest.raises(UsageError, match="'My_Filter' is not a valid Kubernetes name"):
        deploy_istio(request, store=LocalStore(tmp_path), cluster=NOWHERE)
    with pytest.raises(UsageError, match="'My_Filter' is not a valid Kubernetes name"):
        undeploy_istio("My_Filter", "n", cluster=NOWHERE)
