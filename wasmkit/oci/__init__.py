"""OCI images of filters: references, layouts, the local store, a registry client, credentials.

Public surface::

    LocalStore(home=None)              the store under ~/.wasmkit ($WASMKIT_HOME)
      .add_module(module, ref, root_ids=, abi_versions=, layout=)  -> ImageRecord
      .module_path(ref) / .resolve(ref) / .images() / .tag() / .remove()
    push(store, ref, options) / pull(store, ref, options, credential=) / login() / logout()
    resolve(store, ref, options, credential=)  ref pinned to the digest the registry serves now
    from_auths(dockerconfig, registry, source)  a Credential from a pull Secret's document
    inspect(store, ref, check_istio=)  manifest, config, both digests, Istio's verdict
    RegistryOptions(plain_http=, ca_file=, insecure=, timeout=)

Errors (all from wasmkit.errors): InvalidReference and UnknownImage (usage, exit 2), AuthError
(exit 2, with a login hint), ModuleError (not a wasm filter image, exit 2), IntegrityError
(digest mismatch, exit 3), ServiceUnavailable (registry unreachable, exit 3).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wasmkit.errors import (
    AuthError,
    IntegrityError,
    InvalidReference,
    ManifestUnknown,
    UnknownImage,
)

if TYPE_CHECKING:
    from wasmkit.oci._digest import Digest
    from wasmkit.oci.credentials import Credential, from_auths
    from wasmkit.oci.inspection import Inspection, inspect
    from wasmkit.oci.layout import FORMATS, Format
    from wasmkit.oci.records import ImageRecord
    from wasmkit.oci.reference import Reference, parse
    from wasmkit.oci.store import LocalStore
    from wasmkit.oci.transfer import (
        PushResult,
        RegistryOptions,
        login,
        logout,
        pull,
        push,
        resolve,
    )

# Names load on first use, so that `import wasmkit.oci.store` (wasmkit build -t, wasmkit test of
# a stored image) does not pay for requests and the registry client.
_WHERE = {
    "Digest": "_digest",
    "Credential": "credentials",
    "from_auths": "credentials",
    "Inspection": "inspection",
    "inspect": "inspection",
    "FORMATS": "layout",
    "Format": "layout",
    "Reference": "reference",
    "parse": "reference",
    "ImageRecord": "records",
    "LocalStore": "store",
    "PushResult": "transfer",
    "RegistryOptions": "transfer",
    "login": "transfer",
    "logout": "transfer",
    "pull": "transfer",
    "push": "transfer",
    "resolve": "transfer",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'wasmkit.oci' has no attribute {name!r}")
    return getattr(importlib.import_module(f"wasmkit.oci.{_WHERE[name]}"), name)


__all__ = [
    "FORMATS",
    "AuthError",
    "Credential",
    "Digest",
    "Format",
    "ImageRecord",
    "Inspection",
    "IntegrityError",
    "InvalidReference",
    "LocalStore",
    "ManifestUnknown",
    "PushResult",
    "Reference",
    "RegistryOptions",
    "UnknownImage",
    "from_auths",
    "inspect",
    "login",
    "logout",
    "parse",
    "pull",
    "push",
    "resolve",
]
