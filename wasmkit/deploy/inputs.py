"""The user's words for a deployment, checked at the boundary: ids, labels, configuration.

A Kubernetes name, ``-l key=value`` labels, and ``--config STR|@FILE``: a string, or a JSON/YAML
mapping (which a WasmPlugin can carry as ``pluginConfig``; a plain string it cannot).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmkit._documents import load_yaml
from wasmkit.errors import InputFileError, UsageError
from wasmkit.filter import plugin_configuration

MAX_CONFIG_BYTES = 1024 * 1024
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


@dataclass(frozen=True)
class Config:
    """The filter's configuration: the text the user gave, and its mapping when it is one."""

    text: str = ""
    data: Mapping[str, Any] | None = None

    @property
    def for_filter(self) -> str:
        """What the filter receives through an EnvoyFilter: mappings as compact JSON, as a
        WasmPlugin's Struct reaches it."""
        return plugin_configuration(dict(self.data)) if self.data is not None else self.text


def parse_config(value: str | None, *, base: Path | None = None) -> Config:
    """``--config``: an inline string, or ``@FILE``; a JSON/YAML mapping becomes structured."""
    if value is None or value == "":
        return Config()
    text = value
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise UsageError(
                f"cannot read the configuration file {path}: {exc.strerror}",
                hint="--config @FILE reads FILE; pass an inline string without @",
            ) from None
        if len(raw) > MAX_CONFIG_BYTES:
            raise UsageError(
                f"the configuration file {path} is over {MAX_CONFIG_BYTES} bytes",
                hint="a proxy configuration this large belongs in the module or a ConfigMap",
            )
        text = raw.decode("utf-8", errors="replace")
    try:
        data = load_yaml(text, "--config")
    except InputFileError:  # not YAML at all (or beyond the bounds): a plain string
        data = None
    if isinstance(data, dict) and all(isinstance(k, str) for k in data):
        json.dumps(data)  # YAML timestamps and the like would not survive; fail loudly
        return Config(text=text, data=data)
    return Config(text=text)


def check_name(value: str, what: str = "--id") -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise UsageError(
            f"{what} {value!r} is not a valid Kubernetes name",
            hint="use at most 63 lowercase letters, digits and '-', starting and ending with "
            "a letter or digit (e.g. add-header)",
        )
    return value


def parse_labels(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``-l app=details -l version=v1`` (or ``app=details,version=v1``) -> a label mapping."""
    labels: dict[str, str] = {}
    for pair in pairs:
        for item in pair.split(","):
            if not item.strip():
                continue
            key, sep, value = item.strip().partition("=")
            if not sep or not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
                raise UsageError(
                    f"bad label {item!r}",
                    hint="give labels as key=value, e.g. -l app=details -l version=v1",
                )
            labels[key] = value
    return labels
