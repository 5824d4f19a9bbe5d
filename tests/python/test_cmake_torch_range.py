"""CMake refuses a LibTorch outside the tested minor versions, naming them, unless told to build
anyway. The LibTorch here is a configuration file that says only its version: the check runs
before anything of it is used."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def configure(tmp_path: Path, version: str, *extra: str) -> subprocess.CompletedProcess:
    torch_dir = tmp_path / "torch"
    torch_dir.mkdir(exist_ok=True)
    (torch_dir / "TorchConfig.cmake").write_text("")
    (torch_dir / "TorchConfigVersion.cmake").write_text(
        f'set(PACKAGE_VERSION "{version}")\nset(PACKAGE_VERSION_COMPATIBLE TRUE)\n'
    )
    return subprocess.run(
        [
            "cmake",
            "-S",
            str(ROOT),
            "-B",
            str(tmp_path / "build"),
            f"-DTorch_DIR={torch_dir}",
            "-DMLFF_BUILD_PLUGIN=OFF",
            "-DMLFF_BUILD_TESTS=OFF",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(shutil.which("cmake") is None, reason="no cmake")
def test_untested_libtorch_is_refused_with_the_tested_versions(tmp_path):
    result = configure(tmp_path, "2.9.1")
    assert result.returncode != 0
    assert "LibTorch 2.9.1" in result.stderr and "2.11 and 2.15" in result.stderr, result.stderr
    assert "MLFF_ALLOW_UNTESTED_TORCH" in result.stderr


@pytest.mark.skipif(shutil.which("cmake") is None, reason="no cmake")
def test_untested_libtorch_builds_when_allowed(tmp_path):
    result = configure(tmp_path, "2.9.1", "-DMLFF_ALLOW_UNTESTED_TORCH=ON")
    assert "is untested (tested: 2.11 and 2.15); building anyway" in result.stderr, result.stderr
