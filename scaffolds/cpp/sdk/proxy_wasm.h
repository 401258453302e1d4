// proxy_wasm.h - a small, header-only proxy-wasm SDK for C++ (wasmkit scaffold).
//
// Write a filter as two classes: a RootContext (one per plugin configuration: reads the
// configuration, owns metrics) and a Context (one per HTTP stream: header and body callbacks).
// Register them for a root id with RegisterContextFactory. The names and signatures follow the
// official proxy-wasm C++ SDK's public API, so its filters compile here: include
// "proxy_wasm_intrinsics.h" (this header with the names in the global namespace, as the official
// SDK has them). See README.md for what is left out.
//
// Build: clang++ --target=wasm32-wasi -mexec-model=reactor -std=c++17 -fno-exceptions
//        -Wl,--export=malloc (wasmkit build does this). Define PROXY_WASM_ABI_0_1_0 for hosts
//        that only speak ABI 0.1.0 (Istio 1.5 / 1.6). Include this header from ONE .cc file: it
//        defines the module's exports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#define PROXY_WASM_EXPORT(name) extern "C" __attribute__((used, export_name(#name)))
#define PROXY_WASM_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

// ---- Host functions (module "env"), as Envoy provides them ------------------------------------
extern "C" {
uint32_t proxy_log(uint32_t level, const char* message, size_t size) PROXY_WASM_IMPORT(proxy_log);
uint32_t proxy_get_buffer_bytes(uint32_t type, uint32_t start, uint32_t length, const char** ptr,
                                size_t* size) PROXY_WASM_IMPORT(proxy_get_buffer_bytes);
uint32_t proxy_get_buffer_status(uint32_t type, size_t* length, uint32_t* flags)
    PROXY_WASM_IMPORT(proxy_get_buffer_status);
uint32_t proxy_set_buffer_bytes(uint32_t type, uint32_t start, uint32_t length, const char* data,
                                size_t size) PROXY_WASM_IMPORT(proxy_set_buffer_bytes);
uint32_t proxy_get_configuration(const char** ptr, size_t* size)
    PROXY_WASM_IMPORT(proxy_get_configuration);
uint32_t proxy_get_header_map_value(uint32_t type, const char* key, size_t key_size,
                                    const char** value, size_t* value_size)
    PROXY_WASM_IMPORT(proxy_get_header_map_value);
uint32_t proxy_add_header_map_value(uint32_t type, const char* key, size_t key_size,
                                    const char* value, size_t value_size)
    PROXY_WASM_IMPORT(proxy_add_header_map_value);
uint32_t proxy_replace_header_map_value(uint32_t type, const char* key, size_t key_size,
                                        const char* value, size_t value_size)
    PROXY_WASM_IMPORT(proxy_replace_header_map_value);
uint32_t proxy_remove_header_map_value(uint32_t type, const char* key, size_t key_size)
    PROXY_WASM_IMPORT(proxy_remove_header_map_value);
uint32_t proxy_get_header_map_pairs(uint32_t type, const char** ptr, size_t* size)
    PROXY_WASM_IMPORT(proxy_get_header_map_pairs);
uint32_t proxy_send_local_response(uint32_t status, const char* details, size_t details_size,
                                   const char* body, size_t body_size, const char* headers,
                                   size_t headers_size, uint32_t grpc_status)
    PROXY_WASM_IMPORT(proxy_send_local_response);
uint32_t proxy_get_property(const char* path, size_t path_size, const char** value,
                            size_t* value_size) PROXY_WASM_IMPORT(proxy_get_property);
uint32_t proxy_define_metric(uint32_t type, const char* name, size_t name_size, uint32_t* id)
    PROXY_WASM_IMPORT(proxy_define_metric);
uint32_t proxy_increment_metric(uint32_t id, int64_t offset) PROXY_WASM_IMPORT(proxy_increment_metric);
uint32_t proxy_record_metric(uint32_t id, uint64_t value) PROXY_WASM_IMPORT(proxy_record_metric);
uint32_t proxy_set_tick_period_milliseconds(uint32_t millis)
    PROXY_WASM_IMPORT(proxy_set_tick_period_milliseconds);
uint32_t proxy_continue_stream(uint32_t stream_type) PROXY_WASM_IMPORT(proxy_continue_stream);
}

// ---- Keep libc++'s abort paths from importing WASI file functions: trap instead -------------
extern "C" [[noreturn]] void abort_message(const char*, ...) { __builtin_trap(); }
#ifdef _LIBCPP_BEGIN_NAMESPACE_STD  // libc++'s own namespace macro (Debian's is std::__2)
#ifndef _LIBCPP_VERBOSE_ABORT_NOEXCEPT  // libc++ 20 declares it noexcept, 19 does not
#define _LIBCPP_VERBOSE_ABORT_NOEXCEPT
#endif
_LIBCPP_BEGIN_NAMESPACE_STD
[[noreturn]] void __libcpp_verbose_abort(const char*, ...) _LIBCPP_VERBOSE_ABORT_NOEXCEPT {
  __builtin_trap();
}
_LIBCPP_END_NAMESPACE_STD
#endif

namespace proxy_wasm {

enum class WasmResult : uint32_t { Ok = 0, NotFound = 1, BadArgument = 2, Empty = 7 };
enum class LogLevel : uint32_t { trace = 0, debug, info, warn, error, critical };
enum class HeaderMapType : uint32_t {
  RequestHeaders = 0,
  RequestTrailers = 1,
  ResponseHeaders = 2,
  ResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
};
enum class BufferType : uint32_t {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  NetworkDownstreamData = 2,
  NetworkUpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  CallData = 8,
};
// The official SDK's names for the same numbers.
using WasmHeaderMapType = HeaderMapType;
using WasmBufferType = BufferType;
// gRPC status codes (a local reply's grpc-status); InvalidCode: none, Envoy derives one.
enum class GrpcStatus : int32_t {
  Ok = 0,
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
  InvalidCode = -1,
};
enum class FilterHeadersStatus : uint32_t { Continue = 0, StopIteration = 1 };
enum class FilterDataStatus : uint32_t { Continue = 0, StopIterationAndBuffer = 1 };
enum class MetricType : uint32_t { Counter = 0, Gauge = 1, Histogram = 2 };

// The official SDK's name for std::string_view in its ABI 0.1.0 days (Istio 1.5 / 1.6 filters
// use it: `RootContext(uint32_t id, StringView root_id)`).
using StringView = std::string_view;

// Headers to send (owned strings); HeaderStringPairs is the official SDK's name for them.
using HeaderPairs = std::vector<std::pair<std::string, std::string>>;
using HeaderStringPairs = HeaderPairs;
// Headers received: views into the WasmData that holds them (valid while it lives).
using HeaderViewPairs = std::vector<std::pair<std::string_view, std::string_view>>;

// Bytes the host allocated in our memory (through malloc); freed with the object.
class WasmData {
 public:
  WasmData(const char* data, size_t size) : data_(data), size_(size) {}
  ~WasmData() { ::free(const_cast<char*>(data_)); }
  WasmData(const WasmData&) = delete;
  WasmData& operator=(const WasmData&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view view() const { return {data_ ? data_ : "", size_}; }
  std::string toString() const { return std::string(view()); }
  // Decode a serialized header map: u32 count, count x (u32 key size, u32 value size),
  // then each key and value followed by a NUL byte. The views point into this object.
  HeaderViewPairs pairs() const;

 private:
  const char* data_;
  size_t size_;
};
using WasmDataPtr = std::unique_ptr<WasmData>;

inline HeaderViewPairs WasmData::pairs() const {
  HeaderViewPairs out;
  if (data_ == nullptr || size_ < 4) return out;
  uint32_t count;
  std::memcpy(&count, data_, 4);
  const char* sizes = data_ + 4;
  const char* cursor = sizes + 8 * static_cast<size_t>(count);
  const char* end = data_ + size_;
  for (uint32_t i = 0; i < count && cursor <= end; ++i) {
    uint32_t key_size, value_size;
    std::memcpy(&key_size, sizes + 8 * i, 4);
    std::memcpy(&value_size, sizes + 8 * i + 4, 4);
    if (cursor + key_size + value_size + 2 > end) break;
    std::string_view key(cursor, key_size);
    cursor += key_size + 1;
    std::string_view value(cursor, value_size);
    cursor += value_size + 1;
    out.emplace_back(key, value);
  }
  return out;
}

inline std::string serializePairs(const HeaderPairs& pairs) {
  std::string out;
  uint32_t count = static_cast<uint32_t>(pairs.size());
  out.append(reinterpret_cast<const char*>(&count), 4);
  for (const auto& [key, value] : pairs) {
    uint32_t sizes[2] = {static_cast<uint32_t>(key.size()), static_cast<uint32_t>(value.size())};
    out.append(reinterpret_cast<const char*>(sizes), 8);
  }
  for (const auto& [key, value] : pairs) {
    out.append(key).push_back('\0');
    out.append(value).push_back('\0');
  }
  return out;
}

// ---- Logging --------------------------------------------------------------------------------
inline void log(LogLevel level, std::string_view message) {
  proxy_log(static_cast<uint32_t>(level), message.data(), message.size());
}
inline void logTrace(std::string_view m) { log(LogLevel::trace, m); }
inline void logDebug(std::string_view m) { log(LogLevel::debug, m); }
inline void logInfo(std::string_view m) { log(LogLevel::info, m); }
inline void logWarn(std::string_view m) { log(LogLevel::warn, m); }
inline void logError(std::string_view m) { log(LogLevel::error, m); }
inline void logCritical(std::string_view m) { log(LogLevel::critical, m); }

namespace internal {
// "[file:line]::function() message": where a LOG_* line was written, then what it says.
inline std::string located(const char* file, int line, const char* function,
                           std::string_view message) {
  std::string out = "[";
  out.append(file).append(":").append(std::to_string(line)).append("]::");
  out.append(function).append("() ").append(message);
  return out;
}
}  // namespace internal

// ---- Buffers --------------------------------------------------------------------------------
inline WasmDataPtr getBufferBytes(BufferType type, size_t start, size_t length) {
  const char* ptr = nullptr;
  size_t size = 0;
  proxy_get_buffer_bytes(static_cast<uint32_t>(type), static_cast<uint32_t>(start),
                         static_cast<uint32_t>(length), &ptr, &size);
  return std::make_unique<WasmData>(ptr, size);
}
inline WasmResult getBufferStatus(BufferType type, size_t* size, uint32_t* flags) {
  return static_cast<WasmResult>(proxy_get_buffer_status(static_cast<uint32_t>(type), size, flags));
}
inline size_t getBufferSize(BufferType type) {
  size_t length = 0;
  uint32_t flags = 0;
  proxy_get_buffer_status(static_cast<uint32_t>(type), &length, &flags);
  return length;
}
// Replace `length` bytes at `start` of a body buffer (0, size: the whole body).
inline WasmResult setBuffer(BufferType type, size_t start, size_t length, std::string_view data) {
  return static_cast<WasmResult>(proxy_set_buffer_bytes(static_cast<uint32_t>(type),
                                                        static_cast<uint32_t>(start),
                                                        static_cast<uint32_t>(length),
                                                        data.data(), data.size()));
}

// ---- Headers --------------------------------------------------------------------------------
inline WasmDataPtr getHeaderMapValue(HeaderMapType type, std::string_view key) {
  const char* ptr = nullptr;
  size_t size = 0;
  proxy_get_header_map_value(static_cast<uint32_t>(type), key.data(), key.size(), &ptr, &size);
  return std::make_unique<WasmData>(ptr, size);
}
inline WasmResult addHeaderMapValue(HeaderMapType type, std::string_view key, std::string_view v) {
  return static_cast<WasmResult>(proxy_add_header_map_value(static_cast<uint32_t>(type), key.data(),
                                                            key.size(), v.data(), v.size()));
}
inline WasmResult replaceHeaderMapValue(HeaderMapType type, std::string_view key,
                                        std::string_view v) {
  return static_cast<WasmResult>(proxy_replace_header_map_value(
      static_cast<uint32_t>(type), key.data(), key.size(), v.data(), v.size()));
}
inline WasmResult removeHeaderMapValue(HeaderMapType type, std::string_view key) {
  return static_cast<WasmResult>(
      proxy_remove_header_map_value(static_cast<uint32_t>(type), key.data(), key.size()));
}
inline WasmDataPtr getHeaderMapPairs(HeaderMapType type) {
  const char* ptr = nullptr;
  size_t size = 0;
  proxy_get_header_map_pairs(static_cast<uint32_t>(type), &ptr, &size);
  return std::make_unique<WasmData>(ptr, size);
}

inline WasmDataPtr getRequestHeader(std::string_view key) {
  return getHeaderMapValue(HeaderMapType::RequestHeaders, key);
}
inline WasmDataPtr getResponseHeader(std::string_view key) {
  return getHeaderMapValue(HeaderMapType::ResponseHeaders, key);
}
inline WasmResult addRequestHeader(std::string_view key, std::string_view value) {
  return addHeaderMapValue(HeaderMapType::RequestHeaders, key, value);
}
inline WasmResult addResponseHeader(std::string_view key, std::string_view value) {
  return addHeaderMapValue(HeaderMapType::ResponseHeaders, key, value);
}
inline WasmResult replaceRequestHeader(std::string_view key, std::string_view value) {
  return replaceHeaderMapValue(HeaderMapType::RequestHeaders, key, value);
}
inline WasmResult replaceResponseHeader(std::string_view key, std::string_view value) {
  return replaceHeaderMapValue(HeaderMapType::ResponseHeaders, key, value);
}
inline WasmResult removeRequestHeader(std::string_view key) {
  return removeHeaderMapValue(HeaderMapType::RequestHeaders, key);
}
inline WasmResult removeResponseHeader(std::string_view key) {
  return removeHeaderMapValue(HeaderMapType::ResponseHeaders, key);
}
inline WasmDataPtr getRequestHeaderPairs() {
  return getHeaderMapPairs(HeaderMapType::RequestHeaders);
}
inline WasmDataPtr getResponseHeaderPairs() {
  return getHeaderMapPairs(HeaderMapType::ResponseHeaders);
}

// ---- Local replies --------------------------------------------------------------------------
// Answer the request from the filter (the upstream never sees it); return StopIteration after.
// To a gRPC client Envoy answers HTTP 200 with grpc_status (or one derived from `status`).
inline WasmResult sendLocalResponse(uint32_t status, std::string_view details,
                                    std::string_view body, const HeaderPairs& headers = {},
                                    GrpcStatus grpc_status = GrpcStatus::InvalidCode) {
  std::string serialized = serializePairs(headers);
  return static_cast<WasmResult>(proxy_send_local_response(
      status, details.data(), details.size(), body.data(), body.size(), serialized.data(),
      serialized.size(), static_cast<uint32_t>(grpc_status)));
}

// Resume a stream a callback paused (StopIteration) earlier.
inline WasmResult continueRequest() { return static_cast<WasmResult>(proxy_continue_stream(0)); }
inline WasmResult continueResponse() { return static_cast<WasmResult>(proxy_continue_stream(1)); }

// ---- Properties (request.path, source.address, plugin_root_id ...) ---------------------------
inline WasmDataPtr getProperty(std::initializer_list<std::string_view> parts) {
  // Each part NUL-terminated, as the official SDK sends a path.
  std::string path;
  for (auto part : parts) path.append(part).push_back('\0');
  const char* ptr = nullptr;
  size_t size = 0;
  if (proxy_get_property(path.data(), path.size(), &ptr, &size) != 0) return nullptr;
  return std::make_unique<WasmData>(ptr, size);
}

// A property as a value: std::string takes the bytes; other types (int64_t, uint64_t, double,
// bool) must be exactly their size. false when the property is missing.
template <typename T>
inline bool getValue(std::initializer_list<std::string_view> parts, T* out) {
  auto value = getProperty(parts);
  if (!value) return false;
  if constexpr (std::is_same_v<T, std::string>) {
    out->assign(value->data() ? value->data() : "", value->size());
    return true;
  } else {
    if (value->size() != sizeof(T)) return false;
    std::memcpy(out, value->data(), sizeof(T));
    return true;
  }
}

// ---- Metrics --------------------------------------------------------------------------------
// A metric defined once (on first use) and shared by every stream of the VM.
class Metric {
 public:
  Metric(MetricType type, std::string name) : type_(type), name_(std::move(name)) {}
  void increment(int64_t offset = 1) { proxy_increment_metric(id(), offset); }
  void record(uint64_t value) { proxy_record_metric(id(), value); }

 private:
  uint32_t id() {
    if (!defined_) {
      proxy_define_metric(static_cast<uint32_t>(type_), name_.data(), name_.size(), &id_);
      defined_ = true;
    }
    return id_;
  }
  MetricType type_;
  std::string name_;
  uint32_t id_ = 0;
  bool defined_ = false;
};
struct Counter : Metric {
  explicit Counter(std::string name) : Metric(MetricType::Counter, std::move(name)) {}
};
struct Gauge : Metric {
  explicit Gauge(std::string name) : Metric(MetricType::Gauge, std::move(name)) {}
};

// ---- Contexts -------------------------------------------------------------------------------
class ContextBase {
 public:
  explicit ContextBase(uint32_t id) : id_(id) {}
  virtual ~ContextBase() = default;
  uint32_t id() const { return id_; }
  virtual void onCreate() {}
  virtual void onLog() {}
  virtual void onDelete() {}
  // proxy_on_done's answer: a stream is always done; a root context may say it is not yet.
  virtual bool finished() = 0;

 private:
  uint32_t id_;
};

class RootContext : public ContextBase {
 public:
  RootContext(uint32_t id, std::string_view root_id) : ContextBase(id), root_id_(root_id) {}
  std::string_view root_id() const { return root_id_; }
  // The VM started (vm_configuration_size bytes of VM configuration). false fails the load.
  virtual bool onStart(size_t /*vm_configuration_size*/) { return true; }
  // The plugin configuration arrived or changed. false rejects it (the load fails).
  virtual bool onConfigure(size_t /*configuration_size*/) { return true; }
  virtual void onTick() {}
  // The VM is being torn down; false: not done yet.
  virtual bool onDone() { return true; }
  bool finished() override { return onDone(); }
  // The plugin configuration (wasmkit.yaml `config`, Envoy's `configuration`): `size` bytes
  // of it (onConfigure's argument), or all of it when left out, as ABI 0.1.0-era filters call
  // it (`auto conf = getConfiguration();`); the host gives no more than there is.
  WasmDataPtr getConfiguration(size_t size = UINT32_MAX) {
#ifdef PROXY_WASM_ABI_0_1_0
    (void)size;
    const char* ptr = nullptr;
    size_t got = 0;
    proxy_get_configuration(&ptr, &got);
    return std::make_unique<WasmData>(ptr, got);
#else
    return getBufferBytes(BufferType::PluginConfiguration, 0, size);
#endif
  }
  // Call onTick every `millis` milliseconds (0 stops it).
  void setTickPeriod(uint32_t millis) { proxy_set_tick_period_milliseconds(millis); }

 private:
  std::string root_id_;
};

class Context : public ContextBase {
 public:
  Context(uint32_t id, RootContext* root) : ContextBase(id), root_(root) {}
  RootContext* root() const { return root_; }
  // Override either form of a header callback. The one with end_of_stream is the ABI 0.2 form;
  // the one without it is how the official SDK declared them for ABI 0.1.0 (Istio 1.5 / 1.6
  // filters), where the host does not say whether a body follows. The host calls the first,
  // which by default hands over to the second.
  virtual FilterHeadersStatus onRequestHeaders(uint32_t headers, bool /*end_of_stream*/) {
    return onRequestHeaders(headers);
  }
  virtual FilterHeadersStatus onRequestHeaders(uint32_t /*headers*/) {
    return FilterHeadersStatus::Continue;
  }
  virtual FilterDataStatus onRequestBody(size_t /*body_size*/, bool /*end_of_stream*/) {
    return FilterDataStatus::Continue;
  }
  virtual FilterHeadersStatus onResponseHeaders(uint32_t headers, bool /*end_of_stream*/) {
    return onResponseHeaders(headers);
  }
  virtual FilterHeadersStatus onResponseHeaders(uint32_t /*headers*/) {
    return FilterHeadersStatus::Continue;
  }
  virtual FilterDataStatus onResponseBody(size_t /*body_size*/, bool /*end_of_stream*/) {
    return FilterDataStatus::Continue;
  }
  // The stream is complete (before onLog).
  virtual void onDone() {}
  bool finished() override {
    onDone();
    return true;
  }

 private:
  RootContext* root_;
};

using RootFactory = std::unique_ptr<RootContext> (*)(uint32_t id, std::string_view root_id);
using ContextFactory = std::unique_ptr<Context> (*)(uint32_t id, RootContext* root);

namespace internal {
struct Factories {
  RootFactory root;
  ContextFactory context;
};
inline std::unordered_map<std::string, Factories>& registry() {
  static std::unordered_map<std::string, Factories> map;
  return map;
}
inline std::unordered_map<uint32_t, std::unique_ptr<ContextBase>>& contexts() {
  static std::unordered_map<uint32_t, std::unique_ptr<ContextBase>> map;
  return map;
}
// Root contexts whose root id has no factory: every later call for them fails the load.
inline std::unordered_map<uint32_t, std::string>& orphans() {
  static std::unordered_map<uint32_t, std::string> map;
  return map;
}
template <typename T>
T* find(uint32_t id) {
  auto it = contexts().find(id);
  return it == contexts().end() ? nullptr : static_cast<T*>(it->second.get());
}
}  // namespace internal

// Register a filter for a root id (Envoy's `root_id`), at namespace scope:
//   static RegisterContextFactory reg(CONTEXT_FACTORY(MyContext), ROOT_FACTORY(MyRoot), "my_id");
// Either factory may be left out: a missing root factory gets a plain RootContext.
struct RegisterContextFactory {
  RegisterContextFactory(ContextFactory context, RootFactory root, std::string_view root_id = "") {
    internal::registry()[std::string(root_id)] = {root, context};
  }
  explicit RegisterContextFactory(RootFactory root, std::string_view root_id = "")
      : RegisterContextFactory(nullptr, root, root_id) {}
  explicit RegisterContextFactory(ContextFactory context, std::string_view root_id = "")
      : RegisterContextFactory(context, nullptr, root_id) {}
};

}  // namespace proxy_wasm

// LOG_INFO(message) and friends: the message with the place that wrote it.
#define PROXY_WASM_LOG_AT(level, ...)                                                     \
  ::proxy_wasm::log(::proxy_wasm::LogLevel::level,                                        \
                    ::proxy_wasm::internal::located(__FILE__, __LINE__, __func__,        \
                                                    std::string(__VA_ARGS__)))
#define LOG_TRACE(...) PROXY_WASM_LOG_AT(trace, __VA_ARGS__)
#define LOG_DEBUG(...) PROXY_WASM_LOG_AT(debug, __VA_ARGS__)
#define LOG_INFO(...) PROXY_WASM_LOG_AT(info, __VA_ARGS__)
#define LOG_WARN(...) PROXY_WASM_LOG_AT(warn, __VA_ARGS__)
#define LOG_ERROR(...) PROXY_WASM_LOG_AT(error, __VA_ARGS__)
#define LOG_CRITICAL(...) PROXY_WASM_LOG_AT(critical, __VA_ARGS__)

#define ROOT_FACTORY(T)                                                              \
  [](uint32_t id, std::string_view root_id) -> std::unique_ptr<proxy_wasm::RootContext> { \
    return std::make_unique<T>(id, root_id);                                         \
  }
#define CONTEXT_FACTORY(T)                                                          \
  [](uint32_t id, proxy_wasm::RootContext* root) -> std::unique_ptr<proxy_wasm::Context> { \
    return std::make_unique<T>(id, root);                                           \
  }

// ---- The module's exports: the host calls these ---------------------------------------------
#ifdef PROXY_WASM_ABI_0_1_0
PROXY_WASM_EXPORT(proxy_abi_version_0_1_0) void proxy_abi_version_0_1_0() {}
#else
PROXY_WASM_EXPORT(proxy_abi_version_0_2_1) void proxy_abi_version_0_2_1() {}
#endif

namespace proxy_wasm::internal {
inline bool orphanFails(uint32_t root_context_id) {
  auto it = orphans().find(root_context_id);
  if (it == orphans().end()) return false;
  std::string known;
  for (const auto& entry : registry()) known += (known.empty() ? "" : ", ") + entry.first;
  logCritical("no root context registered for root id '" + it->second + "' (this module has: " +
              known + ")");
  return true;
}
}  // namespace proxy_wasm::internal

PROXY_WASM_EXPORT(proxy_on_context_create)
void proxy_on_context_create(uint32_t context_id, uint32_t parent_context_id) {
  using namespace proxy_wasm;
  if (parent_context_id == 0) {
    auto property = getProperty({"plugin_root_id"});
    std::string root_id = property ? property->toString() : std::string();
    auto it = internal::registry().find(root_id);
    if (it == internal::registry().end()) {
      internal::orphans()[context_id] = root_id;
      return;
    }
    auto root = it->second.root ? it->second.root(context_id, root_id)
                                : std::make_unique<RootContext>(context_id, root_id);
    root->onCreate();
    internal::contexts()[context_id] = std::move(root);
    return;
  }
  auto* root = internal::find<RootContext>(parent_context_id);
  if (root == nullptr) return;
  auto it = internal::registry().find(std::string(root->root_id()));
  if (it == internal::registry().end() || it->second.context == nullptr) return;
  auto context = it->second.context(context_id, root);
  context->onCreate();
  internal::contexts()[context_id] = std::move(context);
}

PROXY_WASM_EXPORT(proxy_on_vm_start) uint32_t proxy_on_vm_start(uint32_t root_id, uint32_t size) {
  if (proxy_wasm::internal::orphanFails(root_id)) return 0;
  auto* root = proxy_wasm::internal::find<proxy_wasm::RootContext>(root_id);
  return root == nullptr || root->onStart(size) ? 1 : 0;
}

PROXY_WASM_EXPORT(proxy_on_configure) uint32_t proxy_on_configure(uint32_t root_id, uint32_t size) {
  if (proxy_wasm::internal::orphanFails(root_id)) return 0;
  auto* root = proxy_wasm::internal::find<proxy_wasm::RootContext>(root_id);
  return root == nullptr || root->onConfigure(size) ? 1 : 0;
}

PROXY_WASM_EXPORT(proxy_on_tick) void proxy_on_tick(uint32_t root_id) {
  if (auto* root = proxy_wasm::internal::find<proxy_wasm::RootContext>(root_id)) root->onTick();
}

#ifdef PROXY_WASM_ABI_0_1_0
PROXY_WASM_EXPORT(proxy_on_request_headers)
uint32_t proxy_on_request_headers(uint32_t id, uint32_t headers) {
  const bool end_of_stream = false;
#else
PROXY_WASM_EXPORT(proxy_on_request_headers)
uint32_t proxy_on_request_headers(uint32_t id, uint32_t headers, uint32_t end_of_stream) {
#endif
  auto* context = proxy_wasm::internal::find<proxy_wasm::Context>(id);
  if (context == nullptr) return 0;
  return static_cast<uint32_t>(context->onRequestHeaders(headers, end_of_stream != 0));
}

#ifdef PROXY_WASM_ABI_0_1_0
PROXY_WASM_EXPORT(proxy_on_response_headers)
uint32_t proxy_on_response_headers(uint32_t id, uint32_t headers) {
  const bool end_of_stream = false;
#else
PROXY_WASM_EXPORT(proxy_on_response_headers)
uint32_t proxy_on_response_headers(uint32_t id, uint32_t headers, uint32_t end_of_stream) {
#endif
  auto* context = proxy_wasm::internal::find<proxy_wasm::Context>(id);
  if (context == nullptr) return 0;
  return static_cast<uint32_t>(context->onResponseHeaders(headers, end_of_stream != 0));
}

PROXY_WASM_EXPORT(proxy_on_request_body)
uint32_t proxy_on_request_body(uint32_t id, uint32_t size, uint32_t end_of_stream) {
  auto* context = proxy_wasm::internal::find<proxy_wasm::Context>(id);
  if (context == nullptr) return 0;
  return static_cast<uint32_t>(context->onRequestBody(size, end_of_stream != 0));
}

PROXY_WASM_EXPORT(proxy_on_response_body)
uint32_t proxy_on_response_body(uint32_t id, uint32_t size, uint32_t end_of_stream) {
  auto* context = proxy_wasm::internal::find<proxy_wasm::Context>(id);
  if (context == nullptr) return 0;
  return static_cast<uint32_t>(context->onResponseBody(size, end_of_stream != 0));
}

PROXY_WASM_EXPORT(proxy_on_log) void proxy_on_log(uint32_t id) {
  if (auto* context = proxy_wasm::internal::find<proxy_wasm::ContextBase>(id)) context->onLog();
}

PROXY_WASM_EXPORT(proxy_on_done) uint32_t proxy_on_done(uint32_t id) {
  auto* context = proxy_wasm::internal::find<proxy_wasm::ContextBase>(id);
  return context == nullptr || context->finished() ? 1 : 0;
}

PROXY_WASM_EXPORT(proxy_on_delete) void proxy_on_delete(uint32_t id) {
  auto& contexts = proxy_wasm::internal::contexts();
  auto it = contexts.find(id);
  if (it != contexts.end()) {
    it->second->onDelete();
    contexts.erase(it);
  }
  proxy_wasm::internal::orphans().erase(id);
}
