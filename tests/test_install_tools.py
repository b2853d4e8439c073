"""pdm and uv resolve gradlab's dependencies with torch's CPU build, never PyPI's CUDA build.

Both tools read neither pip's configuration nor constraints.txt; pyproject.toml gives each a torch source
of its own (the machine's CPU wheel folder). These tests lock the project as `pdm install -G lab -G dev`
and `uv sync --extra lab --extra dev` would, into a temporary copy, and read what the lock holds:
torch's CPU build from that folder, and not one nvidia-*, cuda-* or triton package. They need PyPI for
the other packages' metadata (nothing is installed), and pdm and uv from the dev extra
(`bash scripts/install.sh` puts them in .venv).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CUDA = ("nvidia-", "cuda-", "triton")
TOOLS = Path(sys.executable).parent  # pdm and uv from the dev extra, beside this interpreter


def torch_folder() -> Path:
    """The CPU wheel folder that pyproject.toml names as pdm's torch source (uv's names the same)."""
    (source,) = [s for s in PYPROJECT["tool"]["pdm"]["source"] if "torch" in s.get("include_packages", [])]
    (index,) = [i for i in PYPROJECT["tool"]["uv"]["index"] if i["name"] == PYPROJECT["tool"]["uv"]["sources"]
                ["torch"]["index"]]
    folder = Path(source["url"].removeprefix("file://"))
    assert Path(index["url"]) == folder, "pdm and uv must take torch from the same folder"
    return folder


def cuda_packages(names: list[str]) -> list[str]:
    """The names that belong to a CUDA build of torch.

    >>> cuda_packages(["torch", "nvidia-cublas", "triton", "sympy"])
    ['nvidia-cublas', 'triton']
    """
    return [n for n in names if n.lower().startswith(CUDA)]


def test_cuda_packages_are_recognised():
    assert cuda_packages(["torch", "nvidia-cudnn-cu13", "cuda-toolkit", "triton", "networkx"]) == [
        "nvidia-cudnn-cu13", "cuda-toolkit", "triton"]
    assert cuda_packages(["torch", "filelock", "sympy"]) == []


def tool(name: str) -> str:
    exe = TOOLS / name
    if not exe.is_file():
        exe_path = shutil.which(name)
        if exe_path is None:
            pytest.fail(f"{name} is not installed: the dev extra brings it (run: bash scripts/install.sh)")
        return exe_path
    return str(exe)


@pytest.fixture
def project(tmp_path):
    """A copy of the project's metadata, so that a lock file never lands in the checkout."""
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tmp_path / name)
    folder = torch_folder()
    if not any(folder.glob("torch-*+cpu-*.whl")):
        pytest.fail(f"{folder} holds no torch CPU wheel; on another machine point pyproject.toml's torch-cpu "
                    "sources at PyTorch's CPU index (README.md, 'pdm and uv')")
    return tmp_path


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(cmd, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=400)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        pytest.fail(f"{' '.join(cmd[:2])} failed (exit {done.returncode}):\n{tail}")


def test_pdm_locks_torch_cpu_without_cuda_packages(project):
    python = f"=={sys.version_info.major}.{sys.version_info.minor}.*"
    run([tool("pdm"), "lock", "-q", "-G", "lab", "-G", "dev", "--python", python, "--platform", "linux"], project,
        {"PDM_CHECK_UPDATE": "false", "PDM_PYTHON": sys.executable, "PDM_NON_INTERACTIVE": "1"})
    lock = tomllib.loads((project / "pdm.lock").read_text(encoding="utf-8"))
    assert {"default", "lab", "dev"} <= set(lock["metadata"]["groups"])  # `pdm install -G lab -G dev` can use it
    packages = {p["name"]: p for p in lock["package"]}
    assert {"torch", "sympy", "safetensors", "pytest"} <= set(packages)
    files = [f["file"] if "file" in f else f["url"] for f in packages["torch"]["files"]]
    assert files and all("+cpu" in f for f in files), files
    assert cuda_packages(list(packages)) == []


def test_uv_locks_torch_cpu_without_cuda_packages(project):
    run([tool("uv"), "lock", "--quiet"], project, {"UV_PYTHON": sys.executable, "UV_NO_PROGRESS": "1"})
    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    packages = {p["name"]: p for p in lock["package"]}
    assert packages["torch"]["version"].endswith("+cpu")
    assert packages["torch"]["source"] == {"registry": str(torch_folder())}
    assert {"sympy", "safetensors", "pytest"} <= set(packages)
    assert cuda_packages(list(packages)) == []
