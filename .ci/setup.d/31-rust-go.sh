# Rust and Go toolchains for `wasmkit build --runner local` of the rust and go scaffolds.
#
# Rust: Debian's rustc-web/cargo-web 1.96 compile std for wasm32-wasip1 from rust-web-src
# (rustup cannot download a wasm32 std here). Debian's rust-lld is a link to lld-22, which no
# package depends on: without it every link fails with "linker `rust-lld` not found".
apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22 wasi-libc

# Go: the SDK needs Go >= 1.24 (Debian 12 has 1.19); this kind of machine comes with one.
# wasmkit looks `go` up on PATH: link the machine's Go there if only /usr/local/go has it.
wasmkit_go="$(command -v go || true)"
if [ -z "$wasmkit_go" ] && [ -x /usr/local/go/bin/go ]; then
  ln -sf /usr/local/go/bin/go /usr/local/bin/go
  wasmkit_go=/usr/local/bin/go
fi
wasmkit_go_version="$("${wasmkit_go:-false}" env GOVERSION 2>/dev/null || true)"
case "$wasmkit_go_version" in
  go1.2[4-9]* | go1.[3-9]* | go[2-9]*) echo "go: $wasmkit_go_version at $wasmkit_go" ;;
  *) echo "::warning no Go >= 1.24 (found '${wasmkit_go_version:-none}'): the go build tests will fail" ;;
esac

# Warm wasmkit's own build caches (~/.cache/wasmkit/build/{rust,go}/local) by building both scaffolds
# once: the first Rust build compiles std (1-3 min on 2 busy cores), which the tests then reuse
# (~2 s a build), and the Go one fetches the SDK and the Go 1.24 toolchain that builds for
# Istio 1.28 (Envoy 1.36). Keyed by compiler versions and the scaffolds' lock files; a second
# run only compares the key.
wasmkit_rust_go_key="$(
  {
    /usr/bin/rustc -V
    "${wasmkit_go:-false}" env GOVERSION 2>/dev/null || true
    cat scaffolds/rust/Cargo.toml.j2 scaffolds/rust/Cargo.lock.j2 scaffolds/go/go.mod.j2 \
      scaffolds/go/go.sum wasmkit/build/languages/rust.py wasmkit/build/languages/go.py
  } | sha256sum | cut -c1-16
)"
wasmkit_rust_go_marker="$WASMKIT_CI_CACHE/rust-go-warm-$wasmkit_rust_go_key"
wasmkit_build_cache="${XDG_CACHE_HOME:-$HOME/.cache}/wasmkit/build"
wasmkit_rust_cache="$wasmkit_build_cache/rust/local"
wasmkit_go_cache="$wasmkit_build_cache/go/local"
if [ ! -f "$wasmkit_rust_go_marker" ] || [ ! -d "$wasmkit_rust_cache/target" ] \
  || [ ! -d "$wasmkit_go_cache/mod" ]; then
  wasmkit_warm="$(mktemp -d)"
  for wasmkit_lang in rust go; do
    python3 -m wasmkit init "$wasmkit_warm/warm-$wasmkit_lang" --language "$wasmkit_lang" \
      --platform istio --platform-version 1.28 >/dev/null
    python3 -m wasmkit build "$wasmkit_warm/warm-$wasmkit_lang" --runner local --root-check none
  done
  rm -rf "$wasmkit_warm"
  rm -f "$WASMKIT_CI_CACHE"/rust-go-warm-*
  touch "$wasmkit_rust_go_marker"
fi
