"""The FilterDeployment operator and its node cache.

Public surface::

    spec        FilterDeployment spec/status models (pydantic), default filter ids
    crd         the CRD generated from them
    install     what `wasmkit operator install` writes (CRD, RBAC, Deployment, DaemonSet)
    node_cache  NodeCache: pull by digest, hold by sha256, evict what nothing references
    cache_server  `wasmkit cache serve`: GET /<sha256>, the sync loop, the per-node Lease report
    observe     pure reads of cluster JSON: selection, nodes, cache readiness, conditions
"""
