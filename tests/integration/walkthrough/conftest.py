"""The walkthrough test's fixtures are the other areas' own, shared for the session: the
apiserver and its istiod object (kube), the operator with two node caches and their registry
(operator), istiod's release and its sidecar Envoy (istio), the CLI in process (oci)."""

from __future__ import annotations

from tests.integration.istio.conftest import istio_release, sidecar_envoy  # noqa: F401
from tests.integration.kube.conftest import istiod  # noqa: F401
from tests.integration.oci.conftest import home, wasmkit  # noqa: F401
from tests.integration.operator.conftest import registry, world  # noqa: F401
