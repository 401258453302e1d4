"""The Language registry and the C++ / AssemblyScript data."""

from __future__ import annotations

import pytest

from wasmkit.abi import AbiVersion, find_platform
from wasmkit.build.core import choose_abi
from wasmkit.build.language import BuildContext
from wasmkit.build.languages import get_language
from wasmkit.errors import UsageError


def ctx(platform: str = "istio", version: str = "1.28", **kw: object) -> BuildContext:
    row = find_platform(platform, version)
    language = get_language(str(kw.pop("language", "cpp")))
    return BuildContext(
        name="demo",
        root_id="add_header",
        platform=row,
        abi=choose_abi(language, row),
        **kw,  # type: ignore[arg-type]
    )


def test_unknown_language_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown language 'cobol'") as caught:
        get_language("cobol")
    assert "cpp" in (caught.value.hint or "")


def test_cpp_release_build_is_a_reactor_without_exceptions() -> None:
    (step,) = get_language("cpp").steps(ctx())
    argv = list(step.argv)
    assert argv[0] == "clang++-19"
    for flag in ("--target=wasm32-wasi", "-mexec-model=reactor", "-fno-exceptions", "-O2"):
        assert flag in argv
    assert "-DPROXY_WASM_ABI_0_1_0" not in argv
    assert "{out}/filter.wasm" in argv and "{src}/filter.cc" in argv


def test_cpp_targets_abi_0_1_0_for_istio_1_5_and_debug_has_no_strip() -> None:
    c = ctx("istio", "1.5", release=False, extra_args=("-DEXTRA",))
    assert c.abi is AbiVersion.V0_1_0
    argv = get_language("cpp").steps(c)[0].argv
    assert "-DPROXY_WASM_ABI_0_1_0" in argv and "-O0" in argv and "-Wl,--strip-all" not in argv
    assert argv[-1] == "-DEXTRA"


def test_assemblyscript_installs_with_network_then_compiles_offline() -> None:
    install, compile_ = get_language("assemblyscript").steps(ctx(language="assemblyscript"))
    assert install.network and not compile_.network
    assert "{cache}/npm" in install.argv
    assert "abort=abort_proc_exit" in compile_.argv and "-O3" in compile_.argv


def test_assemblyscript_cannot_target_istio_1_5() -> None:
    with pytest.raises(UsageError, match=r"exports ABI 0\.2\.0; istio 1\.5 accepts only 0\.1\.0"):
        choose_abi(get_language("assemblyscript"), find_platform("istio", "1.5"))
    assert (
        choose_abi(get_language("assemblyscript"), find_platform("istio", "1.7"))
        is AbiVersion.V0_2_0
    )


@pytest.mark.parametrize("name", ["cpp", "assemblyscript", "rust", "go"])
def test_every_language_has_its_builder_image_and_scaffold(name: str) -> None:
    from wasmkit.build.images import builder_image
    from wasmkit.scaffold import scaffold_languages

    language = get_language(name)
    assert builder_image(name).repository == f"localhost/{language.image}"
    assert name in scaffold_languages()
    assert language.tools and all(t.install for t in language.tools)
