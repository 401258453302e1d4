"""OCI images of filters: references, layouts, the local store, a registry client, credentials.

Public surface::

    LocalStore(home=None)              the store under ~/.wasmkit ($WASMKIT_HOME)
      .add_module(module, ref, root_ids=, abi_versions=, layout=)  -> ImageRecord
      .module_path(ref) / .resolve(ref) / .images() / .tag() / .remove()
    push(store, ref, options) / pull(store, ref, options) / login() / logout()
    inspect(store, ref, check_istio=)  manifest, config, both digests, Istio's verdict
    RegistryOptions(plain_http=, ca_file=, insecure=, timeout=)

Errors (all from wasmkit.errors): ReferenceError and UnknownImage (usage, exit 2), AuthError
(exit 2, with a login hint), ModuleError (not a wasm filter image, exit 2), IntegrityError
(digest mismatch, exit 3), ServiceUnavailable (registry unreachable, exit 3).
"""

from wasmkit.oci.auth import AuthError
from wasmkit.oci.inspect import Inspection, inspect
from wasmkit.oci.layout import FORMATS, Format
from wasmkit.oci.reference import Reference, ReferenceError, parse
from wasmkit.oci.registry import IntegrityError, ManifestUnknown
from wasmkit.oci.store import ImageRecord, LocalStore, UnknownImage
from wasmkit.oci.transfer import PushResult, RegistryOptions, login, logout, pull, push

__all__ = [
    "FORMATS",
    "AuthError",
    "Format",
    "ImageRecord",
    "Inspection",
    "IntegrityError",
    "LocalStore",
    "ManifestUnknown",
    "PushResult",
    "Reference",
    "ReferenceError",
    "RegistryOptions",
    "UnknownImage",
    "inspect",
    "login",
    "logout",
    "parse",
    "pull",
    "push",
]
