"""`pip install ./bindings/python` into a temporary venv works offline and gives a package that
carries its manifest and finds the library: the repository's build output for a wheel built from
the checkout; the bundled copy for a wheel built (from the sdist) with XLSTM_BUNDLE_LIBRARY."""

import json
import subprocess
import sys
import zipfile

import libxlstm
from conftest import PACKAGE_ROOT, REPOSITORY, fixture_model, python_env

CHECK = f"""
import json, libxlstm
with libxlstm.Model({str(fixture_model("paper_mixed"))!r}) as model, model.session() as session:
    tokens = list(session.generate([1, 2, 3], 12, libxlstm.Sampler(seed=6)))
print(json.dumps({{"file": libxlstm.__file__, "manifest": str(libxlstm.capi.MANIFEST_PATH),
                   "library": libxlstm.library_path(), "version": libxlstm.__version__, "tokens": tokens}}))
"""


def expected_tokens():
    with libxlstm.Model(fixture_model("paper_mixed")) as model, model.session() as session:
        return list(session.generate([1, 2, 3], 12, libxlstm.Sampler(seed=6)))


def make_venv(path):
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(path)],
                   check=True, capture_output=True)
    return path / "bin" / "python"


def pip_install(venv_python, target, **env):
    # The system pip installs into the venv (--python): no pip bootstrap in the venv, no index.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv_python), "install", "--no-index", "--no-deps",
         "--no-cache-dir", "--root-user-action=ignore", "--disable-pip-version-check", "-q", str(target)],
        capture_output=True, text=True, env=python_env(in_place=False, drop=("XLSTM_LIBRARY",), **env))
    assert result.returncode == 0, result.stdout + result.stderr


def run_installed(venv_python, cwd):
    env = python_env(in_place=False, drop=("XLSTM_LIBRARY",))
    result = subprocess.run([str(venv_python), "-c", CHECK], capture_output=True, text=True, env=env, cwd=str(cwd))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_pip_install_from_the_checkout(tmp_path):
    venv_python = make_venv(tmp_path / "venv")
    pip_install(venv_python, PACKAGE_ROOT)
    report = run_installed(venv_python, tmp_path)
    site = str(tmp_path / "venv")
    assert report["file"].startswith(site) and report["manifest"].startswith(site)
    assert report["manifest"].endswith("libxlstm/xlstm.abi.json")
    assert report["library"] == str(REPOSITORY / ".build" / "release" / "libxlstm.so")
    assert report["version"] == libxlstm.__version__
    assert report["tokens"] == expected_tokens()
    assert not list(PACKAGE_ROOT.glob("*.egg-info")) and not (PACKAGE_ROOT / "build").exists()


def test_pip_install_of_the_sdist_with_a_bundled_library(tmp_path):
    sys.path.insert(0, str(PACKAGE_ROOT / "_build"))
    try:
        import libxlstm_build
    finally:
        sys.path.pop(0)
    sdist = tmp_path / libxlstm_build.build_sdist(str(tmp_path))
    venv_python = make_venv(tmp_path / "venv")
    pip_install(venv_python, sdist, XLSTM_BUNDLE_LIBRARY=libxlstm.library_path())
    report = run_installed(venv_python, tmp_path)
    package = str(tmp_path / "venv")
    assert report["library"].startswith(package) and report["library"].endswith("libxlstm/libxlstm.so")
    assert report["manifest"].startswith(package)
    assert report["tokens"] == expected_tokens()


def test_wheel_contents(tmp_path):
    sys.path.insert(0, str(PACKAGE_ROOT / "_build"))
    try:
        import libxlstm_build
    finally:
        sys.path.pop(0)
    wheel = tmp_path / libxlstm_build.build_wheel(str(tmp_path))
    assert wheel.name == f"libxlstm-{libxlstm.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"libxlstm/__init__.py", "libxlstm/capi.py", "libxlstm/xlstm.abi.json", "libxlstm/_build_info.json",
                "libxlstm/py.typed"} <= names
        assert not any(name.endswith((".so", ".pyc")) for name in names)
        assert json.loads(archive.read("libxlstm/xlstm.abi.json")) == libxlstm.capi.MANIFEST
        assert json.loads(archive.read("libxlstm/_build_info.json"))["source_root"] == str(REPOSITORY)
        record = archive.read(f"libxlstm-{libxlstm.__version__}.dist-info/RECORD").decode()
        assert all(name in record for name in names)
