"""The walkthrough test's fixtures are the other areas' own: the apiserver and the operator
with two node caches (tests/conftest.py, one per session), the registry the caches pull from
(operator), the istiod object (kube), istiod's release and its sidecar Envoy (istio), the CLI
in process (oci)."""

from __future__ import annotations

from tests.integration.istio.conftest import istio_release, sidecar_envoy  # noqa: F401
from tests.integration.kube.conftest import istiod  # noqa: F401
from tests.integration.oci.conftest import home, wasmkit  # noqa: F401
from tests.integration.operator.conftest import registry  # noqa: F401
