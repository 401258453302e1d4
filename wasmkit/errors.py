"""The one error tree of wasmkit.

Every error the library raises derives from :class:`WasmkitError` and carries a
``hint``: what the user can do next. The CLI catches only these, prints message
and hint, and exits with the error's ``exit_code``. Every exception class of wasmkit is defined
here and drawn here (``tests/unit/test_errors.py`` checks the drawing against the classes)::

    WasmkitError                      (2 unless a subclass says otherwise)
    +-- UsageError                    2  bad flags, bad references, bad input values
    |   +-- InputFileError            2  a YAML/JSON file that does not validate (field paths)
    |   +-- InvalidReference          2  an image reference that does not follow the grammar
    |   +-- UnknownImage              2  a reference that is not in the local store
    |   +-- ManifestUnknown           2  a tag or digest the registry does not have
    |   +-- AuthError                 2  the registry refused us (no or wrong credential)
    |   +-- UntrustedInput            2  a registry, image or file broke a rule that keeps us safe
    |       +-- InvalidDigest         2  a digest that is not sha256:<64 lowercase hex>
    |       +-- LimitExceeded         2  a size, count, depth or inflation bound was crossed
    |   +-- NoMatchingWorkload        2  deploy: no workload has the labels (names those that exist)
    +-- ModuleError                   2  a .wasm that is not a usable proxy-wasm module
    +-- CompileError                  2  the toolchain rejected the project's code
    +-- TestFailure                   1  tests ran and some failed
    |   +-- ModuleLoadError           1  the proxy refused to load the module under test
    |       +-- NotApplied            1  istiod applied the filter's objects to no listener
    +-- EnvironmentProblem            3  something on the machine is missing or down
    |   +-- ToolNotFound              3  Envoy, a compiler, podman ...
    |   +-- ServiceUnavailable        3  a registry, container engine or API server does not answer
    |   +-- KubeForbidden             3  the Kubernetes API refused a verb on a resource (RBAC)
    |   +-- KubeApiMissing            3  a resource type is not served (Istio's CRDs not installed)
    |   +-- KubeConflict              3  an object kept changing under a read-modify-write
    |   +-- ProcessFailed             3  an external process failed for reasons not of the input
    |   +-- IntegrityError            3  a registry sent bytes that do not match their digest
    +-- Interrupted                 130  Ctrl-C

Signals raised and caught inside the library: a user never sees one as it is, the code that
catches it turns it into an error above (or into the outcome of a test)::

    ValueError
    +-- WasmFormatError                  bytes that are not a well-formed WebAssembly module
    +-- DecodeError                      a serialized proxy-wasm map whose sizes do not add up
    +-- TarFormatError                   bytes that are not a readable tar(.gz) archive
    OSError
    +-- BrokenBody                       a connection that ended before the body it announced
    +-- ProxyUnreachable                 the HTTP proxy, not the server behind it, failed
    Exception
    +-- GuestTrap                        the emulated guest trapped (with its backtrace)
    +-- HostAbort                        an emulated host function stops the guest (proc_exit)
    +-- OutOfBounds                      a guest pointer or length outside its memory
    +-- WasmCompileError                 wasmtime could not compile the module
    +-- LoadFailure                      the emulated VM did not start (in Envoy's words)
    +-- EmulatorGap                      the emulator lacks a host call Envoy has

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


class InvalidReference(UsageError):
    """An image reference that does not follow ``[registry/]name[:tag][@sha256:...]``."""

    EXAMPLE = "localhost:5000/filters/add-header:v1"

    def __init__(self, ref: str, why: str, *, hint: str | None = None):
        super().__init__(
            f"invalid image reference {ref!r}: {why}",
            hint=hint or f"write it as [registry/]name[:tag][@sha256:...], e.g. {self.EXAMPLE}",
        )


class UnknownImage(UsageError):
    """A reference that is not in the local store."""

    def __init__(self, ref: str):
        super().__init__(
            f"no image {ref} in the local store",
            hint="list stored images with `wasmkit images`, or fetch it with `wasmkit pull`",
        )


class ManifestUnknown(UsageError):
    """The tag or digest is not in the repository."""


class AuthError(UsageError):
    """The registry refused us: no credential, a wrong one, or no permission."""


class UntrustedInput(UsageError):
    """Input from someone else (a registry, an image, a file) refused before it was used."""

    default_hint = "the registry or file is broken or hostile; do not use it"


class InvalidDigest(UntrustedInput):
    """A digest that is not ``sha256:`` and 64 lowercase hex digits: it never names a file."""

    def __init__(self, text: object, where: str):
        shown = repr(text) if not isinstance(text, str) else repr(text[:100])
        why = "is not a valid digest"
        if isinstance(text, str) and ":" in text and not text.startswith("sha256:"):
            why += f" (algorithm {text.split(':', 1)[0][:20]!r}; wasmkit verifies sha256 only)"
        super().__init__(
            f"{where} {why}: {shown}",
            hint="a digest is sha256: and 64 lowercase hex digits; "
            "the registry or image is broken or hostile, nothing was stored",
        )


class LimitExceeded(UntrustedInput):
    """Input larger, deeper or more numerous than wasmkit accepts (a bomb or a mistake)."""


class CompileError(WasmkitError):
    """The toolchain rejected the project's code; ``details`` holds its output."""

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


class NotApplied(ModuleLoadError):
    """Istio accepted the objects and the proxy ACKed, yet no listener runs the filter.

    The silent failure of a mesh: the report must say so, with what did not match.
    """

    def __init__(self, reason: str, *, hint: str, details: str | None = None):
        super().__init__(f"{reason} (hint: {hint})", hint=hint, details=details)


class EnvironmentProblem(WasmkitError):
    """Something on this machine is missing, down or misbehaving; the input may be fine."""

    exit_code = EXIT_ENVIRONMENT


class ToolNotFound(EnvironmentProblem):
    """A program wasmkit needs is not installed (the hint says how to install it)."""


class ServiceUnavailable(EnvironmentProblem):
    """A server wasmkit talks to (registry, container engine, API server) does not answer."""


class KubeForbidden(EnvironmentProblem):
    """RBAC denied ``verb`` on ``resource`` in ``namespace`` (None: cluster-scoped)."""

    def __init__(self, verb: str, resource: str, namespace: str | None, *, user_message: str = ""):
        self.verb, self.resource, self.namespace = verb, resource, namespace
        where = f"in namespace {namespace}" if namespace else "cluster-wide"
        super().__init__(
            f"forbidden: you may not {verb} {resource} {where}",
            hint=f"ask for a Role granting '{verb}' on {resource} {where} "
            f"(`kubectl auth can-i {verb} {resource}"
            + (f" -n {namespace}" if namespace else "")
            + "` checks)",
            details=user_message or None,
        )


class KubeApiMissing(EnvironmentProblem):
    """The cluster does not serve a resource type wasmkit needs."""


class KubeConflict(EnvironmentProblem):
    """An object changed between our read and our write (409), again after the retries."""


class NoMatchingWorkload(UsageError):
    """No workload of the asked kind has the asked labels."""


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


class IntegrityError(EnvironmentProblem):
    """The registry sent bytes that do not match their digest."""


class Interrupted(WasmkitError):
    """The user pressed Ctrl-C; everything started has been stopped."""

    exit_code = EXIT_INTERRUPTED


# Signals inside the library (see the second tree above).


class WasmFormatError(ValueError):
    """The bytes are not a well-formed module (where and why)."""


class DecodeError(ValueError):
    """A serialized proxy-wasm map whose sizes do not add up."""


class TarFormatError(ValueError):
    """The bytes are not a readable tar(.gz) archive."""


class BrokenBody(OSError):
    """The connection ended before the body its headers announced."""


class ProxyUnreachable(OSError):
    """The HTTP proxy could not be reached, or would not open a tunnel (its words)."""


class GuestTrap(Exception):
    """The guest trapped (or a host function aborted it); ``backtrace`` has its frames."""

    def __init__(self, message: str, backtrace: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.backtrace = backtrace

    def describe(self) -> str:
        if not self.backtrace:
            return self.message
        return self.message + "\n" + "\n".join(f"  at {frame}" for frame in self.backtrace)


class HostAbort(Exception):
    """Raised by a host function to stop the guest (proc_exit, a fatal misuse)."""


class OutOfBounds(Exception):
    """A guest pointer/length that does not fit its memory."""


class WasmCompileError(Exception):
    """wasmtime could not compile the module; the message is its first line."""


class LoadFailure(Exception):
    """The VM did not start; ``reason`` is what Envoy logs in the same situation."""

    def __init__(self, reason: str, details: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.details = details


class EmulatorGap(Exception):
    """The in-process host cannot run a module Envoy can (Envoy decides instead)."""
