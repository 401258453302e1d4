# C++ and AssemblyScript toolchains for `wasmkit build --runner local` and its tests.
# clang 19 + wasi-libc: one matching set (libc++-N-dev-wasm32 versions conflict with each other).
apt_install clang-19 lld-19 libc++-19-dev-wasm32 libc++abi-19-dev-wasm32 \
  libclang-rt-19-dev-wasm32 wasi-libc
# AssemblyScript runs on node; the SDK and compiler come from npm into each project
# (npm's cache under ~/.cache/wasmkit/build/assemblyscript/local/npm, shared by local builds).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
# Warm npm's cache once so the tests' installs are offline-fast (idempotent, ~2 s).
as_cache="${XDG_CACHE_HOME:-$HOME/.cache}/wasmkit/build/assemblyscript/local/npm"
if [ ! -d "$as_cache/_cacache" ]; then
  mkdir -p "$as_cache"
  npm cache add --cache "$as_cache" assemblyscript@0.17.14 @solo-io/proxy-runtime@0.1.8 \
    binaryen@98.0.0-nightly.20201109 long@4.0.0 --loglevel=error
fi
