"""The one error tree of wasmkit.

Every error the library raises derives from :class:`WasmkitError` and carries a
``hint``: what the user can do next. The CLI catches only these, prints message
and hint, and exits with the error's ``exit_code``::

    WasmkitError                      (2 unless a subclass says otherwise)
    +-- UsageError                    2  bad flags, bad references, bad input values
    |   +-- InputFileError            2  a YAML/JSON file that does not validate (field paths)
    +-- ModuleError                   2  a .wasm that is not a usable proxy-wasm module
    +-- TestFailure                   1  tests ran and some failed
    |   +-- ModuleLoadError           1  the proxy refused to load the module under test
    +-- EnvironmentProblem            3  something on the machine is missing or down
    |   +-- ToolNotFound              3  Envoy, a compiler, podman ...
    |   +-- ServiceUnavailable        3  a registry, container engine or API server does not answer
    |   +-- ProcessFailed             3  an external process failed for reasons not of the input
    +-- Interrupted                 130  Ctrl-C

Exit codes (documented in the README): 0 ok, 1 test or assertion failures,
2 usage or input errors, 3 environment problems.
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_TEST_FAILED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130


class WasmkitError(Exception):
    """Base of every error wasmkit raises on purpose."""

    exit_code: int = EXIT_USAGE
    default_hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        #: Longer material (a compiler's output, a log excerpt) shown after the message.
        self.details = details

    def __str__(self) -> str:
        return self.message


class UsageError(WasmkitError):
    """The user asked for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class InputFileError(UsageError):
    """A file the user wrote does not validate; ``problems`` are ``field: message`` lines."""

    def __init__(
        self,
        source: str,
        problems: Sequence[str],
        *,
        hint: str | None = None,
    ):
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source} is not valid:\n{lines}", hint=hint)


class ModuleError(WasmkitError):
    """A .wasm file that is not a usable proxy-wasm module."""

    exit_code = EXIT_USAGE


class TestFailure(WasmkitError):
    """Tests ran, and at least one did not pass."""

    __test__ = False  # not a pytest class
    exit_code = EXIT_TEST_FAILED


class ModuleLoadError(TestFailure):
    """The proxy refused the module; ``reason`` quotes the proxy's own words."""

    def __init__(self, reason: str, *, hint: str | None = None, details: str | None = None):
        self.reason = reason
        super().__init__(f"the module failed to load: {reason}", hint=hint, details=details)


class EnvironmentProblem(WasmkitError):
    """Something on this machine is missing, down or misbehaving; the input may be fine."""

    exit_code = EXIT_ENVIRONMENT


class ToolNotFound(EnvironmentProblem):
    """A program wasmkit needs is not installed (the hint says how to install it)."""


class ServiceUnavailable(EnvironmentProblem):
    """A server wasmkit talks to (registry, container engine, API server) does not answer."""


class ProcessFailed(EnvironmentProblem):
    """An external process failed; keeps the command and its output for the report."""

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str],
        returncode: int | None,
        output: str = "",
        hint: str | None = None,
    ):
        self.command = list(command)
        self.returncode = returncode
        self.output = output
        super().__init__(message, hint=hint, details=output or None)


class Interrupted(WasmkitError):
    """The user pressed Ctrl-C; everything started has been stopped."""

    exit_code = EXIT_INTERRUPTED
