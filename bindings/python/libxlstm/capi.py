"""The thin layer: libxlstm's C API, function for function, through ctypes.

Nothing here is written by hand per function. At import this module reads the ABI manifest,
``xlstm.abi.json``, which tools/header-gen writes together with include/xlstm.h from the same
Swift declarations, and builds from it:

* one ``ctypes.Structure`` per C struct, its layout checked against the manifest's sizes and offsets;
* one opaque ``ctypes.Structure`` per handle type (so a session pointer cannot be passed as a model);
* one ``enum.IntEnum`` per C enum, named as in C (``xlstm_status.XLSTM_OK``), and every enumerator
  and macro as a module constant (``XLSTM_OK``, ``XLSTM_API_VERSION``);
* ``argtypes`` / ``restype`` of every C function.

The library itself is loaded on first use (:func:`library`), after which the C functions can be
called as attributes of this module: ``capi.xlstm_session_feed_token(session, 5)`` returns the
status as an ``int``, exactly as in C. Loading checks that every function of the manifest exists in
the library and that ``xlstm_api_version()`` equals the manifest's ``XLSTM_API_VERSION``.

Where the manifest comes from (first found wins):
  1. ``$XLSTM_ABI_MANIFEST``;
  2. ``xlstm.abi.json`` inside this package (wheels carry a copy made when they were built);
  3. ``include/xlstm.abi.json`` of the repository this package sits in (``bindings/python/libxlstm``).

Where the library comes from (see :func:`library_candidates`):
  1. ``$XLSTM_LIBRARY`` (a path to the shared library; when set, nothing else is tried);
  2. a copy next to this package (a wheel built with ``XLSTM_BUNDLE_LIBRARY``);
  3. the build output of the repository (``.build/release``): the one this package sits in, or the
     one the installed wheel was built from;
  4. the system loader path (``dlopen("libxlstm.so")``: ``LD_LIBRARY_PATH``, ldconfig's cache, ...).
"""

from __future__ import annotations

import ctypes
import enum
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .errors import LibraryError, ManifestError

__all__ = [
    "MANIFEST",
    "MANIFEST_PATH",
    "API_VERSION",
    "Library",
    "library",
    "library_candidates",
    "load_library",
    "STRUCTS",
    "CALLBACKS",
    "HANDLES",
    "ENUMS",
    "MACROS",
    "FUNCTIONS",
]

_PACKAGE_DIR = Path(__file__).resolve().parent
# bindings/python/libxlstm -> the repository root, when the package is used in place.
_REPOSITORY_ROOT = _PACKAGE_DIR.parent.parent.parent

if sys.platform == "darwin":
    LIBRARY_FILE = "libxlstm.dylib"
elif sys.platform == "win32":
    LIBRARY_FILE = "xlstm.dll"
else:
    LIBRARY_FILE = "libxlstm.so"


# ---- The manifest ------------------------------------------------------------------------------


def manifest_candidates() -> List[Path]:
    """Where the manifest is looked for, in order."""
    candidates = []
    override = os.environ.get("XLSTM_ABI_MANIFEST")
    if override:
        return [Path(override)]
    candidates.append(_PACKAGE_DIR / "xlstm.abi.json")
    candidates.append(_REPOSITORY_ROOT / "include" / "xlstm.abi.json")
    return candidates


def _load_manifest() -> Tuple[Dict[str, Any], Path]:
    candidates = manifest_candidates()
    for path in candidates:
        if path.is_file():
            try:
                with open(path, "rb") as file:
                    manifest = json.load(file)
            except (OSError, ValueError) as error:
                raise ManifestError(f"cannot read the ABI manifest {path}: {error}") from None
            if manifest.get("format_version") != 1:
                raise ManifestError(
                    f"{path}: manifest format_version {manifest.get('format_version')!r}; this package reads 1"
                )
            return manifest, path
    raise ManifestError(
        "the ABI manifest xlstm.abi.json was not found; looked in: " + ", ".join(str(p) for p in candidates)
    )


MANIFEST, MANIFEST_PATH = _load_manifest()

if MANIFEST.get("data_model") == "LP64" and not (
    ctypes.sizeof(ctypes.c_void_p) == 8 and ctypes.sizeof(ctypes.c_long) == 8
):
    raise ManifestError(f"{MANIFEST_PATH} describes an LP64 C ABI; this Python is not LP64")

# ---- Types -------------------------------------------------------------------------------------

# The manifest's "ffi" kinds (its comment lists them) as ctypes types.
_FFI_TYPES: Dict[str, Any] = {
    "void": None,
    "sint8": ctypes.c_int8,
    "uint8": ctypes.c_uint8,
    "sint16": ctypes.c_int16,
    "uint16": ctypes.c_uint16,
    "sint32": ctypes.c_int32,
    "uint32": ctypes.c_uint32,
    "sint64": ctypes.c_int64,
    "uint64": ctypes.c_uint64,
    "size_t": ctypes.c_size_t,
    "float": ctypes.c_float,
    "double": ctypes.c_double,
}

# C spellings of scalar types that may appear as a pointee.
_C_SCALARS: Dict[str, Any] = {
    "void": None,
    "char": ctypes.c_char,
    "int8_t": ctypes.c_int8,
    "uint8_t": ctypes.c_uint8,
    "int16_t": ctypes.c_int16,
    "uint16_t": ctypes.c_uint16,
    "int32_t": ctypes.c_int32,
    "uint32_t": ctypes.c_uint32,
    "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64,
    "size_t": ctypes.c_size_t,
    "float": ctypes.c_float,
    "double": ctypes.c_double,
    "int": ctypes.c_int,
    "bool": ctypes.c_bool,
}

#: Opaque handle types by C name (``HANDLES["xlstm_session"]``); pointers to them are typed.
HANDLES: Dict[str, type] = {
    handle["name"]: type(handle["name"], (ctypes.Structure,), {"__doc__": handle.get("doc"), "_fields_": []})
    for handle in MANIFEST["handles"]
}

#: Enums by C name, as IntEnums whose members have the C enumerator names.
ENUMS: Dict[str, type] = {}
for _description in MANIFEST["enums"]:
    _enum = enum.IntEnum(
        _description["name"],
        [(item["name"], item["value"]) for item in _description["enumerators"]],
        module=__name__,
    )
    _enum.__doc__ = _description.get("doc")
    ENUMS[_description["name"]] = _enum
_ENUM_FFI = {description["name"]: _FFI_TYPES[description["ffi"]] for description in MANIFEST["enums"]}

#: Macros by name (``MACROS["XLSTM_API_VERSION"]``).
MACROS: Dict[str, Any] = {macro["name"]: macro["value"] for macro in MANIFEST["macros"]}

#: Structs by C name, as ctypes Structures (filled below, in manifest order).
STRUCTS: Dict[str, type] = {}


def _named_type(name: str) -> Any:
    """The ctypes type of a C type name without pointers (a scalar, enum, struct or handle)."""
    if name in _C_SCALARS:
        return _C_SCALARS[name]
    if name in _ENUM_FFI:
        return _ENUM_FFI[name]
    if name in STRUCTS:
        return STRUCTS[name]
    if name in HANDLES:
        return HANDLES[name]
    raise ManifestError(f"{MANIFEST_PATH}: unknown C type {name!r}")


def _pointer_type(pointee: str, const_pointee: bool) -> Any:
    """The ctypes type of a pointer to ``pointee`` (a C spelling such as "xlstm_model *")."""
    base = pointee.replace("const ", "").strip()
    depth = base.count("*")
    base = base.replace("*", "").strip()
    if depth == 0 and base == "char" and const_pointee:
        return ctypes.c_char_p  # a C string in, bytes (or None) out
    if depth == 0 and base == "void":
        return ctypes.c_void_p  # accepts bytes, ctypes objects and addresses
    target = _named_type(base)
    if target is None:
        target = ctypes.c_void_p
        depth -= 1
    pointer = ctypes.POINTER(target)
    for _ in range(depth):
        pointer = ctypes.POINTER(pointer)
    return pointer


def _value_type(description: Dict[str, Any]) -> Any:
    """The ctypes type of a parameter, return value or field description of the manifest."""
    ffi = description["ffi"]
    if description.get("callback"):
        if description["type"] not in CALLBACKS:
            raise ManifestError(f"{MANIFEST_PATH}: unknown callback type {description['type']!r}")
        return CALLBACKS[description["type"]]
    if ffi == "pointer":
        return _pointer_type(description["pointee"], bool(description.get("const_pointee")))
    if ffi not in _FFI_TYPES:
        raise ManifestError(f"{MANIFEST_PATH}: unknown ffi kind {ffi!r}")
    return _FFI_TYPES[ffi]


#: Function pointer types by C name (``CALLBACKS["xlstm_progress_callback"]``), as ctypes CFUNCTYPEs:
#: wrap a Python function in one (and keep a reference to it while C may call it).
CALLBACKS: Dict[str, Any] = {}
for _description in MANIFEST.get("callbacks", []):
    CALLBACKS[_description["name"]] = ctypes.CFUNCTYPE(
        _value_type(_description["return"]), *[_value_type(p) for p in _description["parameters"]])

for _description in MANIFEST["structs"]:
    _fields = sorted(_description["fields"], key=lambda field: field["offset"])
    _struct = type(
        _description["name"],
        (ctypes.Structure,),
        {"_fields_": [(field["name"], _value_type(field)) for field in _fields], "__doc__": _description.get("doc")},
    )
    # ctypes lays the struct out by the platform's C rules; it must agree with the manifest.
    if ctypes.sizeof(_struct) != _description["size"] or ctypes.alignment(_struct) != _description["alignment"]:
        raise ManifestError(
            f"{_description['name']}: ctypes lays it out in {ctypes.sizeof(_struct)} bytes (alignment "
            f"{ctypes.alignment(_struct)}); the manifest says {_description['size']} ({_description['alignment']})"
        )
    for _field in _fields:
        _offset = getattr(_struct, _field["name"]).offset
        if _offset != _field["offset"]:
            raise ManifestError(
                f"{_description['name']}.{_field['name']}: offset {_offset} in ctypes, {_field['offset']} in the manifest"
            )
    STRUCTS[_description["name"]] = _struct


class _Signature:
    """One C function of the manifest: its name and ctypes argtypes / restype."""

    __slots__ = ("name", "argtypes", "restype", "parameter_names", "doc")

    def __init__(self, description: Dict[str, Any]):
        self.name: str = description["name"]
        self.argtypes = [_value_type(parameter) for parameter in description["parameters"]]
        self.restype = _value_type(description["return"])
        self.parameter_names = [parameter["name"] for parameter in description["parameters"]]
        self.doc: Optional[str] = description.get("doc")


#: Signatures of every C function by name, in manifest order.
FUNCTIONS: Dict[str, _Signature] = {
    description["name"]: _Signature(description) for description in MANIFEST["functions"]
}

API_VERSION: int = MACROS["XLSTM_API_VERSION"]
#: The library version the manifest describes, "MAJOR.MINOR.PATCH".
VERSION: str = "{}.{}.{}".format(
    MACROS["XLSTM_VERSION_MAJOR"], MACROS["XLSTM_VERSION_MINOR"], MACROS["XLSTM_VERSION_PATCH"]
)

# Enumerators and macros as module constants, like the header's.
for _enum in ENUMS.values():
    for _member in _enum:
        globals()[_member.name] = _member
globals().update(HANDLES)
globals().update(STRUCTS)
globals().update(ENUMS)
globals().update(MACROS)
del _description, _enum, _fields, _field, _offset, _struct, _member

# ---- The library -------------------------------------------------------------------------------


class Library:
    """libxlstm loaded with ctypes; every C function of the manifest is an attribute, with its
    ``argtypes`` and ``restype`` set. ``path`` says which file was loaded."""

    def __init__(self, cdll: ctypes.CDLL, path: str):
        self.cdll = cdll
        self.path = path
        missing = []
        for signature in FUNCTIONS.values():
            try:
                function = getattr(cdll, signature.name)
            except AttributeError:
                missing.append(signature.name)
                continue
            function.argtypes = signature.argtypes
            function.restype = signature.restype
            setattr(self, signature.name, function)
        if missing:
            raise LibraryError(f"{path} lacks {', '.join(missing)} (an older library than the manifest?)")
        # The manifest's macros were compiled into the library the manifest was written with.
        self.api_version = int(self.xlstm_api_version())
        if self.api_version != API_VERSION:
            raise LibraryError(
                f"{path} has C API version {self.api_version}; the manifest {MANIFEST_PATH} describes "
                f"version {API_VERSION}"
            )
        version = self.xlstm_version_string()
        self.version = version.decode() if version else ""

    def __repr__(self) -> str:
        return f"<libxlstm.capi.Library {self.path} version {self.version}>"


def _build_info() -> Dict[str, Any]:
    """What the wheel builder recorded (``_build_info.json``), or {} for a package used in place."""
    try:
        with open(_PACKAGE_DIR / "_build_info.json", "rb") as file:
            return json.load(file)
    except (OSError, ValueError):
        return {}


def library_candidates() -> List[Tuple[str, str]]:
    """Where the library is looked for, in order: ``(description, path or name)`` pairs."""
    override = os.environ.get("XLSTM_LIBRARY")
    if override:
        return [("$XLSTM_LIBRARY", override)]
    candidates = [("next to the package", str(_PACKAGE_DIR / LIBRARY_FILE))]
    roots = [_REPOSITORY_ROOT]
    source_root = _build_info().get("source_root")
    if source_root and Path(source_root) != _REPOSITORY_ROOT:
        roots.append(Path(source_root))
    for root in roots:
        if (root / "Package.swift").is_file():
            candidates.append(("the repository's build output", str(root / ".build" / "release" / LIBRARY_FILE)))
    candidates.append(("the system loader path", LIBRARY_FILE))  # dlopen: LD_LIBRARY_PATH, ld.so.cache, ...
    return candidates


def load_library(candidates: Optional[List[Tuple[str, str]]] = None) -> Library:
    """Loads the first candidate that is a usable libxlstm (see :func:`library_candidates`). Raises
    :class:`~libxlstm.LibraryError` listing every place tried and why each was rejected."""
    if candidates is None:
        candidates = library_candidates()
    rejected = []
    for description, location in candidates:
        is_path = os.sep in location
        if is_path and not os.path.exists(location):
            rejected.append(f"{location} ({description}): no such file")
            continue
        try:
            cdll = ctypes.CDLL(location)
        except OSError as error:
            rejected.append(f"{location} ({description}): {error}")
            continue
        try:
            return Library(cdll, _loaded_path(cdll, location))
        except LibraryError as error:
            rejected.append(f"{location} ({description}): {error}")
    raise LibraryError(
        "cannot load libxlstm; set XLSTM_LIBRARY to the path of "
        + LIBRARY_FILE
        + " (built by `make build`). Looked in:\n  "
        + "\n  ".join(rejected)
    )


def _loaded_path(cdll: ctypes.CDLL, location: str) -> str:
    """The file the dynamic loader actually opened for ``location`` (Linux: from dlinfo)."""
    if os.sep in location:
        return os.path.abspath(location)
    try:  # glibc: the link map's l_name of the handle
        libdl = ctypes.CDLL(None)
        dlinfo = libdl.dlinfo
        dlinfo.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]

        class LinkMap(ctypes.Structure):
            _fields_ = [("l_addr", ctypes.c_void_p), ("l_name", ctypes.c_char_p)]

        link_map = ctypes.POINTER(LinkMap)()
        if dlinfo(cdll._handle, 2, ctypes.byref(link_map)) == 0 and link_map:  # RTLD_DI_LINKMAP
            name = link_map.contents.l_name
            if name:
                return os.fsdecode(name)
    except (AttributeError, OSError):
        pass
    return location


_library: Optional[Library] = None
_library_lock = threading.Lock()


def library() -> Library:
    """The loaded library (loaded on the first call; thread-safe)."""
    global _library
    if _library is None:
        with _library_lock:
            if _library is None:
                _library = load_library()
    return _library


def __getattr__(name: str) -> Any:
    # The C functions as module attributes: capi.xlstm_api_version() loads the library on first use.
    if name in FUNCTIONS:
        return getattr(library(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(FUNCTIONS))
