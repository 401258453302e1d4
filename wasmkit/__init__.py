"""wasmkit: scaffold, build, test, push and deploy proxy-wasm filters for Envoy and Istio.

The library is the product; ``wasmkit.cli`` is a thin layer on top. Submodules
are imported on demand (``wasmkit.testing``, ``wasmkit.oci`` ...) so that the
CLI starts fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
