"""The deploy-to-Envoy tests use the CLI runner and image store of the OCI and kube tests."""

from tests.integration.kube.conftest import store  # noqa: F401  (fixture)
from tests.integration.oci.conftest import home, wasmkit  # noqa: F401  (fixtures)
