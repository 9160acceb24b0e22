"""The package as a user or a packager installs it: a wheel in a fresh virtual environment, run from a
folder outside the checkout, finds its model, its detector and its faces."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("app", "model", "assets", "pyproject.toml", "README.md", "LICENSE", "THIRD_PARTY_NOTICES.md")


def _listed_packages() -> set[str]:
    return set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def test_every_package_and_asset_folder_is_listed_in_pyproject():
    found = {".".join(p.parent.relative_to(REPO).parts) for top in ("app", "model")
             for p in (REPO / top).rglob("__init__.py")}
    folders = [REPO / "assets", *(REPO / "assets").rglob("*")]
    assets = {".".join(("affectscope_assets", *d.relative_to(REPO / "assets").parts))
              for d in folders if d.is_dir() and d.name != "__pycache__"}
    assert _listed_packages() == found | assets


def test_the_installed_wheel_analyses_a_shipped_face_from_another_folder(tmp_path):
    source = tmp_path / "source"  # built from a copy, so the build leaves nothing in the checkout
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        copy(REPO / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                            if (REPO / name).is_dir() else {}))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels), str(source)], check=True, capture_output=True)
    (wheel,) = wheels.glob("affectscope-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    str(wheel)], check=True, capture_output=True)
    # The dependencies (torch, mediapipe, ...) come from this environment, behind the wheel's own files;
    # a plain path line does not run this environment's editable-install hook, so the checkout stays out.
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(subprocess.check_output([str(python), "-c", purelib], text=True).strip())
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.check_output(
        [str(python), "-c", "import app, model.assets as a; print(app.__file__); "
         "print(a.asset_path('demo', 'astronaut_head.jpg'))"], cwd=elsewhere, text=True).split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    out = elsewhere / "out.csv"
    run = subprocess.run([str(venv / "bin" / "affectscope"), "analyze", where[1], "--out", str(out)],
                         cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "UNTRAINED" not in run.stderr and "Traceback" not in run.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["status"], r["expression"]) for r in rows] == [("ok", "happy")]
