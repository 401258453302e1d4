"""TLS with registries: the trust a client context starts from, and a failed handshake said in
words, with the fix to try first.

Trust: the system's CAs, or ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` when set (as tools
built on requests honour them); certifi's bundle only where the system has none; ``--ca-file``
adds a CA; ``--insecure`` turns verification off.

OpenSSL's verdict (``ssl.SSLCertVerificationError.verify_code``), on the error itself or a
few exceptions deep where a proxy tunnel wraps it, names the cause: a CA this machine does not
trust (fix: give the CA with ``--ca-file``), a certificate for other names (connect by one it
lists), an expired one (renew it, or fix the clock), or a server that does not speak TLS at
all (``--plain-http``). ``--insecure`` is named last, and only where it would help.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from wasmkit.errors import EnvironmentProblem, UsageError, WasmkitError

# OpenSSL X509_V_ERR_* codes
_UNKNOWN_CA = {2, 18, 19, 20, 21}  # no issuer, self-signed (leaf or in chain), leaf unverifiable
_NOT_YET_VALID, _EXPIRED = 9, 10
_WRONG_HOST = {62, 64}  # host name or IP address mismatch
_NOT_TLS = {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST", "RECORD_LAYER_FAILURE"}


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    """The ``ssl.SSLError`` that is ``exc`` or lies behind it, if any."""
    stack, seen = [exc], set()
    while stack:
        error = stack.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ssl.SSLError):
            return error
        linked = (error.__cause__, error.__context__, *error.args)
        stack.extend(e for e in linked if isinstance(e, BaseException))
    return None


def tls_problem(registry: str, exc: BaseException, ca_file: Path | None) -> WasmkitError:
    cause = _ssl_cause(exc)
    code = getattr(cause, "verify_code", None)
    reason = str(getattr(cause, "reason", "") or "")
    detail = str(getattr(cause, "verify_message", "") or reason or "handshake failed")
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    if cause is not None and cause.library == "X509" and ca_file is not None:
        return UsageError(
            f"--ca-file {ca_file} holds no usable certificate ({detail})",
            hint="pass the registry's CA certificate in PEM form (-----BEGIN CERTIFICATE-----)",
        )
    if code in _WRONG_HOST:
        return EnvironmentProblem(
            f"the TLS certificate of {registry} is not for {host} ({detail})",
            hint="connect by a name the certificate lists (`openssl s_client -connect "
            f"{registry}` shows them), or have the certificate issued for {host}",
        )
    if code == _EXPIRED:
        return EnvironmentProblem(
            f"the TLS certificate of {registry} has expired",
            hint="the registry must renew its certificate; if it did, check this machine's clock",
        )
    if code == _NOT_YET_VALID:
        return EnvironmentProblem(
            f"the TLS certificate of {registry} is not valid yet",
            hint="check this machine's clock (`date -u`)",
        )
    if code in _UNKNOWN_CA:
        return EnvironmentProblem(
            f"the TLS certificate of {registry} is not signed by a CA this machine trusts "
            f"({detail})",
            hint="trust the registry's CA with --ca-file CA.pem (ask its admin for it); "
            "--insecure skips verification altogether and is not advised",
        )
    if reason in _NOT_TLS:
        return EnvironmentProblem(
            f"{registry} does not speak TLS ({detail})",
            hint="a local registry without TLS needs --plain-http",
        )
    return EnvironmentProblem(
        f"TLS to {registry} failed: {detail}",
        hint="if the registry uses a private CA, give it with --ca-file CA.pem; "
        "a local registry without TLS needs --plain-http",
    )


def tls_context(verify: bool, ca_file: Path | None) -> ssl.SSLContext:
    """The client TLS context: verification on unless ``verify`` is False; see the module doc."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if verify and bundle:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            if os.path.isdir(bundle):
                context.load_verify_locations(capath=bundle)
            else:
                context.load_verify_locations(cafile=bundle)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"the CA bundle {bundle[:200]} (REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE) cannot "
                f"be used: {exc}",
                hint="point the variable at a PEM file of CA certificates, or unset it",
            ) from None
    else:
        context = ssl.create_default_context()
        if verify and not _system_has_cas():
            try:
                import certifi  # only where the system has no CA store (e.g. python.org macOS)

                context.load_verify_locations(cafile=certifi.where())
            except ImportError:
                pass
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"--ca-file {ca_file} holds no usable certificate ({exc})",
                hint="pass the registry's CA certificate in PEM form (-----BEGIN CERTIFICATE-----)",
            ) from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _system_has_cas() -> bool:
    paths = ssl.get_default_verify_paths()
    return any(p and os.path.exists(p) for p in (paths.cafile, paths.capath))
