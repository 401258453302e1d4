"""Shared values for the deploy unit tests: the seed's image and workload."""

from __future__ import annotations

from wasmkit.deploy import ImageInfo, Workload, WorkloadKind

SEED_SHA = "44bf95b368e78fafb663020b43cf099b23fc6032814653f2f47e4d20643e7267"
MANIFEST = "sha256:" + "ab" * 32

SEED_IMAGE = ImageInfo(
    ref="registry.example/ceposta/demo-add-header:v0.2",
    manifest_digest=MANIFEST,
    module_sha256=SEED_SHA,
    root_ids=("add_header",),
    abi_versions=("0.1.0",),  # what an Istio 1.5 filter spoke; newer Istios accept it too
)
DETAILS = Workload(
    kind=WorkloadKind.DEPLOYMENT,
    name="details-v1",
    namespace="bookinfo",
    pod_labels={"app": "details", "version": "v1"},
)
