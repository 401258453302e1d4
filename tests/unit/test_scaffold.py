"""Scaffold rendering: small template trees built inline, plus the real scaffolds."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmkit.errors import EnvironmentProblem, UsageError
from wasmkit.scaffold import ScaffoldValues, render_scaffold, scaffold_languages

VALUES = ScaffoldValues(
    name="demo",
    root_id="add_header",
    language="toy",
    platform="istio",
    platform_version="1.28",
    envoy_version="1.36",
    abi="0.2.1",
    abi_marker="proxy_abi_version_0_2_1",
)


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_templates_render_and_other_files_are_copied(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "scaffolds",
        {
            "_common/wasmkit.yaml.j2": "name: {{ name }}\nrootId: {{ root_id }}\n",
            "_common/shared.txt": "common",
            "toy/src/main.toy.j2": "register {{ root_id }} abi {{ abi_marker }}",
            "toy/raw.txt": "{{ not rendered }}",
            "toy/shared.txt": "the language's own",
        },
    )
    out = tmp_path / "out"
    written = render_scaffold("toy", out, VALUES, scaffolds_root=root)
    assert (out / "wasmkit.yaml").read_text() == "name: demo\nrootId: add_header\n"
    assert (out / "src/main.toy").read_text() == "register add_header abi proxy_abi_version_0_2_1"
    assert (out / "raw.txt").read_text() == "{{ not rendered }}"
    assert (out / "shared.txt").read_text() == "the language's own"
    assert sorted(p.name for p in written) == ["main.toy", "raw.txt", "shared.txt", "wasmkit.yaml"]


def test_templates_run_sandboxed(tmp_path: Path) -> None:
    root = tree(tmp_path / "s", {"toy/x.j2": "{{ name.__class__.__mro__[1].__subclasses__() }}"})
    with pytest.raises(EnvironmentProblem, match="does not render"):
        render_scaffold("toy", tmp_path / "out", VALUES, scaffolds_root=root)


def test_non_empty_directory_is_refused_unless_forced(tmp_path: Path) -> None:
    root = tree(tmp_path / "s", {"toy/a.txt.j2": "{{ name }}"})
    out = tree(tmp_path / "out", {"keep.txt": "mine"})
    with pytest.raises(UsageError, match="is not empty") as caught:
        render_scaffold("toy", out, VALUES, scaffolds_root=root)
    assert "--force" in (caught.value.hint or "")
    render_scaffold("toy", out, VALUES, scaffolds_root=root, force=True)
    assert (out / "a.txt").read_text() == "demo" and (out / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("field", "value"), [("name", "Bad Name"), ("root_id", "1-not-an-id"), ("name", "-x")]
)
def test_bad_names_and_root_ids(tmp_path: Path, field: str, value: str) -> None:
    root = tree(tmp_path / "s", {"toy/a.j2": "x"})
    values = ScaffoldValues(**{**VALUES.__dict__, field: value})
    with pytest.raises(UsageError, match="is not valid"):
        render_scaffold("toy", tmp_path / "out", values, scaffolds_root=root)


def test_unknown_scaffold(tmp_path: Path) -> None:
    root = tree(tmp_path / "s", {"toy/a.j2": "x"})
    with pytest.raises(UsageError, match="no scaffold for language 'cobol'"):
        render_scaffold("cobol", tmp_path / "out", VALUES, scaffolds_root=root)


@pytest.mark.parametrize("language", ["cpp", "assemblyscript"])
def test_real_scaffolds_render_a_project_with_a_passing_suite_shape(
    tmp_path: Path, language: str
) -> None:
    import wasmkit.testing  # noqa: F401  (wasmkit.project needs it loaded first)
    from wasmkit.project import load_project

    assert language in scaffold_languages()
    values = ScaffoldValues(**{**VALUES.__dict__, "language": language, "config": "mars"})
    render_scaffold(language, tmp_path, values)
    loaded = load_project(tmp_path)
    assert loaded.project.root_id == "add_header" and loaded.project.config == "mars"
    assert loaded.project.language == language
    assert loaded.project.tests is not None and len(loaded.project.tests.cases) >= 4
    assert (tmp_path / "README.md").is_file() and (tmp_path / ".gitignore").is_file()
    sources = "".join(p.read_text() for p in tmp_path.rglob("*") if p.suffix in {".cc", ".ts"})
    assert '"add_header"' in sources and "{{ " not in sources and "{%" not in sources
