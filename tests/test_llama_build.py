"""The llama.cpp build is portable: an explicit CPU level, never the build host's, no AMX."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app.llm.crash import describe_exit, llama_build, rebuild_command

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "llama_build.sh"


def _args(level: str) -> list[str]:
    done = subprocess.run(
        ["bash", str(SCRIPT), level, "python3"],
        env=os.environ | {"LLAMA_PRINT_ARGS": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("level", ["x86-64-v3", "x86-64", "avx512", "generic"])
def test_portable_levels_never_build_native_or_amx(level: str) -> None:
    args = _args(level)
    assert "-DGGML_NATIVE=OFF" in args
    assert "-DGGML_CPU_ALL_VARIANTS=OFF" in args  # runtime variants could pick AMX
    for amx in ("AMX_TILE", "AMX_INT8", "AMX_BF16"):
        assert f"-DGGML_{amx}=OFF" in args


def test_the_default_level_is_x86_64_v3_without_avx512() -> None:
    args = _args("x86-64-v3")
    for flag in ("AVX", "AVX2", "FMA", "F16C", "BMI2"):
        assert f"-DGGML_{flag}=ON" in args
    assert "-DGGML_AVX512=OFF" in args and "-DGGML_AVX512_VNNI=OFF" in args
    assert "-DGGML_AVX512=ON" in _args("avx512")
    makefile = (ROOT / "Makefile").read_text()
    assert "x86-64-v3,generic" in makefile  # what `make install` picks on x86-64


def test_the_x86_64_baseline_turns_every_extension_off() -> None:
    # ggml turns AVX/AVX2/FMA/F16C on by itself when GGML_NATIVE is off: each is named.
    args = _args("x86-64")
    for flag in ("SSE42", "AVX", "AVX2", "FMA", "F16C", "BMI2", "AVX_VNNI", "AVX512"):
        assert f"-DGGML_{flag}=OFF" in args
    assert not [a for a in args if a.endswith("=ON")]


def test_the_rebuild_advice_fits_the_cpu_that_crashed() -> None:
    v3 = {"sse2", "avx", "avx2", "fma", "f16c", "bmi2"}
    assert rebuild_command(v3 | {"amx_tile"}) == "make install LLAMA_CPU=x86-64-v3"
    assert rebuild_command({"sse2", "sse4_2", "avx"}) == "make install LLAMA_CPU=x86-64"
    assert rebuild_command(set()) == "make install LLAMA_CPU=x86-64-v3"  # flags unknown


def test_an_unknown_level_is_one_clear_error() -> None:
    done = subprocess.run(
        ["bash", str(SCRIPT), "sapphire", "python3"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "unknown LLAMA_CPU=sapphire" in done.stderr


def test_the_installed_llama_cpp_reports_no_amx_unless_opted_in() -> None:
    import llama_cpp

    build = llama_build()
    assert build, "llama-cpp-python was not installed by scripts/llama_build.sh: `make install`"
    info = llama_cpp.llama_print_system_info().decode()
    if build["level"] == "native":
        pytest.skip("LLAMA_CPU=native was chosen: AMX is allowed by that opt-in")
    assert "AMX" not in info, info
    assert "-DGGML_NATIVE=OFF" in build["cmake_args"].split()


def test_a_sigill_names_the_cpu_and_the_rebuild_command() -> None:
    line = describe_exit(-4, pid=123)
    assert line.startswith("the model worker (pid 123) died from SIGILL")
    assert rebuild_command() in line and "amx_tile" in line
    assert "OOM" in describe_exit(-9)
    assert describe_exit(3) == "the model worker exited with status 3"
