"""``wasmkit.yaml``: one project, validated once at the boundary.

```yaml
name: add-header
language: cpp                    # cpp | rust | assemblyscript | go
platform: {name: istio, version: "1.20"}
rootId: add_header
config: world                    # plugin configuration: string, or mapping sent as JSON
module: build/filter.wasm        # where `wasmkit build` writes the module
tests: {cases: [...]}            # a test suite (see wasmkit.testspec)
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from wasmkit._projectfile import PROJECT_FILE as PROJECT_FILE  # found without pydantic
from wasmkit._projectfile import find_project_file as find_project_file
from wasmkit._validation import Camel, ConfigValue, load_model
from wasmkit.testspec import Suite

_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")


class Platform(Camel):
    name: str = "istio"
    version: str


class BuildSection(Camel):
    """The ``build:`` section: how `wasmkit build` runs (every key optional).

    ```yaml
    build:
      runner: auto            # auto | local | container
      mode: release           # release | debug
      extraArgs: [-DNDEBUG]   # appended to the compiler command
      env: {RUSTFLAGS: ...}   # extra environment for the build steps
    ```
    """

    runner: Literal["auto", "local", "container"] = "auto"
    mode: Literal["release", "debug"] = "release"
    extra_args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)


class Project(Camel):
    name: str
    language: str | None = None
    platform: Platform | None = None
    #: "" is a root id too (every official SDK example registers with it).
    root_id: str
    config: ConfigValue | None = None
    module: str = "build/filter.wasm"
    build: BuildSection = Field(default_factory=BuildSection)
    tests: Suite | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use lowercase letters, digits, '.', '_' or '-' (at most 63)")
        return value

    @field_validator("module")
    @classmethod
    def _module(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("must be a relative path inside the project")
        return value


class LoadedProject:
    """A validated project and the directory it lives in."""

    def __init__(self, root: Path, project: Project):
        self.root = root
        self.project = project

    @property
    def module_path(self) -> Path:
        return self.root / self.project.module


def load_project(start: Path) -> LoadedProject:
    path = find_project_file(start)
    project = load_model(path, Project, hint=f"see the README for the {PROJECT_FILE} keys")
    return LoadedProject(path.parent.resolve(), project)
