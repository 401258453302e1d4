"""The mesh-in-a-box: a real istiod serving plain Envoys posing as sidecars, on one machine.

``wasmkit test --istio VERSION`` runs a suite's cases through it (:class:`MeshEngine`); the
objects istiod receives are the ones ``wasmkit deploy`` renders. See ``docs/istio-mesh.md``.
"""
