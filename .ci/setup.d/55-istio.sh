# setup: background
# A real istiod (pilot-discovery) and Istio's agent (pilot-agent) for `wasmkit test --istio` and the
# deploy/operator tests, plus Istio's CRDs and wasmkit's Istio config checker (harness/istio-check,
# Istio's own validation code). `wasmkit istio install` takes istiod and the agent from Istio's
# images when docker.io answers (it does not here), else builds them from the Go module proxy by
# wasmkit's own recipe (wasmkit/istio/install.py); istio-check and the CRDs are built; cached
# under $WASMKIT_CI_CACHE/istio/<version>/ (~10 min cold on 2 cores; warm: a file check, and
# istio-check is rebuilt in seconds when its source changes). The tests find them there.
# --from-source: CI machines reach only package registries, so CI never asks a container registry
# (the published images are wasmkit's first choice for users; tests cover that path on loopback).
wasmkit_istio_versions="${WASMKIT_ISTIO_VERSIONS:-1.29.1}"
for wasmkit_istio_version in $wasmkit_istio_versions; do
  PATH="$PATH:/usr/local/go/bin" python3 -m wasmkit istio install "$wasmkit_istio_version" \
    --from-source --dir "$WASMKIT_CI_CACHE/istio/$wasmkit_istio_version"
done
