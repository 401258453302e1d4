"""The OCI tests' fixtures (isolated home, the CLI in process), shared with the hostile tests."""

from tests.integration.oci.conftest import home, module, store, wasmkit

__all__ = ["home", "module", "store", "wasmkit"]
