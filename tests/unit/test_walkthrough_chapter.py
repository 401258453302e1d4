"""The README chapter reader the walkthrough test relies on: it finds the commands, fails on
output that differs beyond digests and timings, and rewrites only the output blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.walkthrough.readme import TITLE, Chapter

README = f"""# x

{TITLE}

```console
$ wasmkit build filter \\
    -t localhost:5000/a:v1
built in 8.5 s: sha256 17061d36a920
$ wasmkit push localhost:5000/a:v1
pushed
```

```yaml
kind: FilterDeployment
spec: {{filter: {{config: world}}}}
```

```yaml
status:
  moduleSha256: {"a" * 64}
```

## Next

```console
$ not part of the chapter
```
"""


@pytest.fixture
def chapter(tmp_path: Path) -> Chapter:
    path = tmp_path / "README.md"
    path.write_text(README)
    return Chapter.read(path)


def test_commands_and_document_are_read_from_the_chapter_only(chapter: Chapter) -> None:
    assert chapter.commands() == [
        "wasmkit build filter -t localhost:5000/a:v1",
        "wasmkit push localhost:5000/a:v1",
    ]
    assert chapter.filter_deployment()["spec"] == {"filter": {"config": "world"}}


def test_output_may_differ_in_digests_and_timings_only(chapter: Chapter) -> None:
    same = ["built in 12 s: sha256 0123456789ab", "pushed", f"status:\n  moduleSha256: {'b' * 64}"]
    chapter.check(same, update=False)
    with pytest.raises(AssertionError, match="README output #1"):
        chapter.check([same[0], "pushed twice", same[2]], update=False)
    with pytest.raises(AssertionError, match="number of outputs"):
        chapter.check(same[:2], update=False)


def test_update_rewrites_the_output_and_keeps_commands_and_the_rest(chapter: Chapter) -> None:
    chapter.check(["built", "pushed\nagain", "status:\n  ok: true"], update=True)
    text = chapter.path.read_text()
    assert "$ wasmkit build filter \\\n    -t localhost:5000/a:v1\nbuilt\n$ wasmkit push" in text
    assert "pushed\nagain\n```" in text and "status:\n  ok: true\n```" in text
    assert text.endswith("## Next\n\n```console\n$ not part of the chapter\n```\n")
    Chapter.read(chapter.path).check(
        ["built", "pushed\nagain", "status:\n  ok: true"], update=False
    )


def test_the_projects_readme_has_the_chapter() -> None:
    chapter = Chapter.read(REPO / "README.md")
    assert chapter.commands()[0].startswith("wasmkit init ./filter --language cpp")
