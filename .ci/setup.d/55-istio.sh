# A real istiod (pilot-discovery) and Istio's agent (pilot-agent) for `wasmkit test --istio` and the
# deploy/operator tests, plus Istio's CRDs and wasmkit's Istio config checker (harness/istio-check,
# Istio's own validation code). No registry reachable here ships them: they are built once from the
# Go module proxy through wasmkit's own recipe (wasmkit/istio/build.py, `wasmkit istio install`) and
# cached under $WASMKIT_CI_CACHE/istio/<version>/ (~10 min cold on 2 cores; warm: a file check).
wasmkit_istio_versions="${WASMKIT_ISTIO_VERSIONS:-1.29.1}"
for wasmkit_istio_version in $wasmkit_istio_versions; do
  wasmkit_istio_dir="$WASMKIT_CI_CACHE/istio/$wasmkit_istio_version"
  if [ ! -x "$wasmkit_istio_dir/pilot-discovery" ] || [ ! -x "$wasmkit_istio_dir/pilot-agent" ] \
    || [ ! -s "$wasmkit_istio_dir/crd-all.gen.yaml" ] || [ ! -x "$wasmkit_istio_dir/istio-check" ]; then
    bash .ci/build-istio "$wasmkit_istio_version" "$wasmkit_istio_dir"
  fi
  "$wasmkit_istio_dir/pilot-discovery" version -s 2>/dev/null || true
done
