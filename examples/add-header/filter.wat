;; A complete proxy-wasm 0.2.1 filter in WebAssembly text, no SDK:
;;  - response header  hello: <plugin configuration>
;;  - request header   x-stamp: <plugin configuration>   (what the upstream sees)
;;  - request header   x-deny present -> local reply 403 "denied by wasm"
;;  - response header  x-gone removed
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes"
    (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value"
    (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value"
    (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value"
    (func $remove_header (param i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response"
    (func $local_reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "hello")
  (data (i32.const 32) "x-stamp")
  (data (i32.const 48) "x-deny")
  (data (i32.const 64) "denied by wasm")
  (data (i32.const 96) "denied_by_wasm")
  (data (i32.const 128) "x-gone")
  (data (i32.const 144) "configured")
  ;; 256..271: out-parameters for host calls; the heap starts at 4096
  (global $heap (mut i32) (i32.const 4096))
  (global $cfg_ptr (mut i32) (i32.const 0))
  (global $cfg_len (mut i32) (i32.const 0))

  (func $malloc (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.div_u (local.get $size) (i32.const 65536)) (i32.const 1))))))
    (local.get $p))

  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))

  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (if (i32.gt_u (local.get $size) (i32.const 0))
      (then
        (drop (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size) (i32.const 256) (i32.const 260)))
        (global.set $cfg_ptr (i32.load (i32.const 256)))
        (global.set $cfg_len (i32.load (i32.const 260)))))
    (drop (call $log (i32.const 2) (i32.const 144) (i32.const 10)))
    (i32.const 1))

  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
    (if (i32.eqz (call $get_header (i32.const 0) (i32.const 48) (i32.const 6) (i32.const 264) (i32.const 268)))
      (then
        (drop (call $local_reply (i32.const 403) (i32.const 96) (i32.const 14)
                                 (i32.const 64) (i32.const 14) (i32.const 0) (i32.const 0) (i32.const -1)))
        (return (i32.const 1))))
    (drop (call $add_header (i32.const 0) (i32.const 32) (i32.const 7) (global.get $cfg_ptr) (global.get $cfg_len)))
    (i32.const 0))

  (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
    (drop (call $add_header (i32.const 2) (i32.const 16) (i32.const 5) (global.get $cfg_ptr) (global.get $cfg_len)))
    (drop (call $remove_header (i32.const 2) (i32.const 128) (i32.const 6)))
    (i32.const 0))

  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32))
)
