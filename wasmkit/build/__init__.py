"""Builders: turn a project's sources into ``build/filter.wasm`` + ``runtime-config.json``.

One shape for every language (:class:`wasmkit.build.language.Language`: data),
two places to run it (:class:`wasmkit.build.runner.Runner`: local toolchains or
a pinned builder container through the Docker Engine API).
"""
