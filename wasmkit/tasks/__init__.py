"""What each CLI command asks of the library when the answer spans several packages.

One function per command:

- ``wasmkit test``   -> :func:`wasmkit.tasks.test.run_filter_tests`
- ``wasmkit push``   -> :func:`wasmkit.tasks.push.push_image`
- ``wasmkit init``   -> :func:`wasmkit.tasks.init.init_project`
- ``wasmkit doctor`` -> :func:`wasmkit.tasks.doctor.diagnose`
- ``wasmkit istio install`` -> :func:`wasmkit.tasks.istio.install_release`

The CLI parses flags, calls one of these and renders what it returns; the sequence lives here.
"""
