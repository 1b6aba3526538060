"""The build backend of the libxlstm Python package (PEP 517, in-tree, standard library only).

``pip install ./bindings/python`` builds a wheel with this module: ``build-system.requires`` is
empty, so nothing is downloaded and the install works offline (Python < 3.11 needs ``tomli``).
Besides the package's .py files, the wheel gets:

* ``libxlstm/xlstm.abi.json``: the ABI manifest the thin layer is built from, copied from
  ``$XLSTM_ABI_MANIFEST``, else the repository's ``include/xlstm.abi.json`` (two levels up), else a
  copy already in the package directory (an unpacked sdist). The package version is the library
  version the manifest states (XLSTM_VERSION_MAJOR.MINOR.PATCH).
* ``libxlstm/_build_info.json``: the repository the wheel was built from, where the installed
  package looks for ``.build/release/libxlstm.so`` (after $XLSTM_LIBRARY and a bundled copy).
* with ``XLSTM_BUNDLE_LIBRARY=path/to/libxlstm.so`` (or ``--config-settings bundle-library=...``):
  that library as ``libxlstm/libxlstm.so``, and the wheel is tagged for this platform.

Hooks: build_wheel, build_sdist, build_editable (a .pth pointing at the source directory),
prepare_metadata_for_build_wheel/editable and the get_requires_* hooks.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent  # bindings/python
PACKAGE = "libxlstm"
MANIFEST_NAME = "xlstm.abi.json"
GENERATED = {MANIFEST_NAME, "_build_info.json", "libxlstm.so", "libxlstm.dylib", "xlstm.dll"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    with open(path, "rb") as file:
        return tomllib.load(file)


def _project() -> dict:
    return _toml(SOURCE / "pyproject.toml")["project"]


def _manifest_path() -> tuple:
    """(path of the manifest to ship, repository root or None)."""
    override = os.environ.get("XLSTM_ABI_MANIFEST")
    if override:
        return Path(override).resolve(), None
    repository = SOURCE.parent.parent
    candidate = repository / "include" / MANIFEST_NAME
    if candidate.is_file():
        return candidate, repository
    candidate = SOURCE / PACKAGE / MANIFEST_NAME
    if candidate.is_file():
        return candidate, None
    raise RuntimeError(f"libxlstm build: no ABI manifest: set XLSTM_ABI_MANIFEST or build from the repository "
                       f"(looked for {repository / 'include' / MANIFEST_NAME})")


def _version(manifest: dict) -> str:
    macros = {macro["name"]: macro["value"] for macro in manifest["macros"]}
    return "{}.{}.{}".format(macros["XLSTM_VERSION_MAJOR"], macros["XLSTM_VERSION_MINOR"],
                             macros["XLSTM_VERSION_PATCH"])


def _read_manifest() -> tuple:
    path, repository = _manifest_path()
    data = path.read_bytes()
    return data, json.loads(data), repository


def _metadata(version: str) -> str:
    project = _project()
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {version}",
        f"Summary: {project.get('description', '')}",
    ]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    for url_name, url in project.get("urls", {}).items():
        lines.append(f"Project-URL: {url_name}, {url}")
    for classifier in project.get("classifiers", []):
        lines.append(f"Classifier: {classifier}")
    for requirement in project.get("dependencies", []):
        lines.append(f"Requires-Dist: {requirement}")
    for extra, requirements in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for requirement in requirements:
            marker = f'extra == "{extra}"'
            if ";" in requirement:
                requirement, existing = requirement.split(";", 1)
                marker = f"({existing.strip()}) and {marker}"
            lines.append(f"Requires-Dist: {requirement.strip()}; {marker}")
    readme = project.get("readme")
    body = ""
    if isinstance(readme, str):
        lines.append("Description-Content-Type: text/markdown")
        body = (SOURCE / readme).read_text(encoding="utf-8")
    return "\n".join(lines) + "\n\n" + body


def _bundled_library(config_settings: dict | None) -> Path | None:
    value = (config_settings or {}).get("bundle-library") or os.environ.get("XLSTM_BUNDLE_LIBRARY")
    if not value:
        return None
    path = Path(value).resolve()
    if not path.is_file():
        raise RuntimeError(f"libxlstm build: the library to bundle, {path}, does not exist (run `make build`)")
    return path


def _platform_tag() -> str:
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _package_files() -> list:
    """(archive name, path) of the package's own files, sorted."""
    files = []
    for path in sorted((SOURCE / PACKAGE).rglob("*")):
        relative = path.relative_to(SOURCE)
        if path.is_dir() or "__pycache__" in relative.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if len(relative.parts) == 2 and relative.name in GENERATED:
            continue  # written from the real source below, never a stale in-tree copy
        files.append((relative.as_posix(), path))
    return files


class _Wheel:
    def __init__(self, path: Path, purelib: bool, tag: str, dist_info: str):
        self.archive = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.records = []
        self.purelib = purelib
        self.tag = tag
        self.dist_info = dist_info

    def add(self, name: str, data: bytes, executable: bool = False) -> None:
        info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
        info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.archive.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.records.append(f"{name},sha256={digest},{len(data)}")

    def close(self, metadata: str) -> None:
        self.add(f"{self.dist_info}/METADATA", metadata.encode())
        wheel = (f"Wheel-Version: 1.0\nGenerator: libxlstm_build\nRoot-Is-Purelib: "
                 f"{'true' if self.purelib else 'false'}\nTag: {self.tag}\n")
        self.add(f"{self.dist_info}/WHEEL", wheel.encode())
        self.add(f"{self.dist_info}/top_level.txt", f"{PACKAGE}\n".encode())
        record = f"{self.dist_info}/RECORD"
        self.records.append(f"{record},,")
        info = zipfile.ZipInfo(record, date_time=ZIP_DATE)
        info.external_attr = (0o644 | 0o100000) << 16
        self.archive.writestr(info, "\n".join(self.records) + "\n")
        self.archive.close()


def _names(version: str) -> tuple:
    name = _project()["name"].replace("-", "_")
    return name, f"{name}-{version}.dist-info"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    manifest_bytes, manifest, repository = _read_manifest()
    version = _version(manifest)
    name, dist_info = _names(version)
    library = _bundled_library(config_settings)
    tag = f"py3-none-{_platform_tag()}" if library else "py3-none-any"
    filename = f"{name}-{version}-{tag}.whl"
    wheel = _Wheel(Path(wheel_directory) / filename, purelib=library is None, tag=tag, dist_info=dist_info)
    for archive_name, path in _package_files():
        wheel.add(archive_name, path.read_bytes())
    wheel.add(f"{PACKAGE}/{MANIFEST_NAME}", manifest_bytes)
    info = {"version": version, "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest()}
    if repository is not None:
        info["source_root"] = str(repository)
    wheel.add(f"{PACKAGE}/_build_info.json", (json.dumps(info, indent=2) + "\n").encode())
    if library is not None:
        wheel.add(f"{PACKAGE}/{library.name}", library.read_bytes(), executable=True)
    wheel.close(_metadata(version))
    return filename


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """A wheel holding only a .pth file that puts bindings/python on sys.path: the package is used
    in place, reading the manifest and the library from the repository."""
    _, manifest, _ = _read_manifest()
    version = _version(manifest)
    name, dist_info = _names(version)
    filename = f"{name}-{version}-py3-none-any.whl"
    wheel = _Wheel(Path(wheel_directory) / filename, purelib=True, tag="py3-none-any", dist_info=dist_info)
    wheel.add(f"__editable__.{name}.pth", (str(SOURCE) + "\n").encode())
    wheel.close(_metadata(version))
    return filename


def _prepare_metadata(metadata_directory) -> str:
    _, manifest, _ = _read_manifest()
    version = _version(manifest)
    _, dist_info = _names(version)
    directory = Path(metadata_directory) / dist_info
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "METADATA").write_text(_metadata(version), encoding="utf-8")
    return dist_info


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _prepare_metadata(metadata_directory)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _prepare_metadata(metadata_directory)


def build_sdist(sdist_directory, config_settings=None):
    """A source archive that builds without the repository: it carries the manifest in the package."""
    manifest_bytes, manifest, _ = _read_manifest()
    version = _version(manifest)
    name, _ = _names(version)
    root = f"{name}-{version}"
    filename = f"{root}.tar.gz"
    files = [(archive_name, path.read_bytes()) for archive_name, path in _package_files()]
    files.append((f"{PACKAGE}/{MANIFEST_NAME}", manifest_bytes))
    for extra in ("pyproject.toml", "README.md", "_build/libxlstm_build.py"):
        files.append((extra, (SOURCE / extra).read_bytes()))
    files.append(("PKG-INFO", _metadata(version).encode()))
    with tarfile.open(Path(sdist_directory) / filename, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for archive_name, data in sorted(files):
            info = tarfile.TarInfo(f"{root}/{archive_name}")
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return filename


def _requires() -> list:
    return [] if sys.version_info >= (3, 11) else ["tomli>=1.1"]


def get_requires_for_build_wheel(config_settings=None):
    return _requires()


def get_requires_for_build_sdist(config_settings=None):
    return _requires()


def get_requires_for_build_editable(config_settings=None):
    return _requires()
