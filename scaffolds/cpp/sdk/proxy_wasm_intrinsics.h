// proxy_wasm_intrinsics.h - the header the official proxy-wasm C++ SDK's filters include.
//
// It is wasmkit's SDK (proxy_wasm.h) with its names in the global namespace, where the official
// SDK puts them, so a filter written for the official SDK compiles here unchanged. Include it
// (or proxy_wasm.h) from ONE .cc file: it defines the module's exports.
#pragma once

#include "proxy_wasm.h"

using namespace proxy_wasm;  // NOLINT: the official SDK's API is global
