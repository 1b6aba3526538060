"""The thin layer: derived from the ABI manifest, checked against the library at load."""

import ctypes
import json
from pathlib import Path

import pytest

import libxlstm
from libxlstm import capi
from conftest import PACKAGE_ROOT, REPOSITORY, fixture_model, python_env, run_python

MANIFEST = json.loads((REPOSITORY / "include" / "xlstm.abi.json").read_text())
SCALARS = {"sint32": ctypes.c_int32, "uint32": ctypes.c_uint32, "sint64": ctypes.c_int64, "uint64": ctypes.c_uint64,
           "size_t": ctypes.c_size_t, "float": ctypes.c_float, "void": None}


def test_used_in_place_the_package_reads_the_repository_manifest():
    assert capi.MANIFEST_PATH == REPOSITORY / "include" / "xlstm.abi.json"
    assert capi.MANIFEST == MANIFEST
    assert libxlstm.__version__ == capi.VERSION == libxlstm.library_version()


def test_every_function_is_bound_with_the_manifest_signature():
    library = capi.library()
    assert len(capi.FUNCTIONS) == len(MANIFEST["functions"]) > 30
    for description in MANIFEST["functions"]:
        function = getattr(library, description["name"])
        assert getattr(capi, description["name"]) is function
        assert len(function.argtypes) == len(description["parameters"])
        for parameter, argtype in zip(description["parameters"] + [description["return"]],
                                      function.argtypes + [function.restype]):
            if parameter.get("callback"):
                assert argtype is capi.CALLBACKS[parameter["type"]]
            elif parameter["ffi"] == "pointer":
                assert argtype in (ctypes.c_char_p, ctypes.c_void_p) or issubclass(argtype, ctypes._Pointer)
            else:
                assert argtype is SCALARS[parameter["ffi"]], (description["name"], parameter)


def test_pointer_types_follow_the_c_types():
    P = ctypes.POINTER
    assert capi.xlstm_session_feed_tokens.argtypes == [P(capi.xlstm_session), P(ctypes.c_int32), ctypes.c_size_t,
                                                      ctypes.c_int32]
    assert capi.xlstm_model_load.argtypes == [ctypes.c_char_p, P(capi.xlstm_model_params), P(P(capi.xlstm_model))]
    assert capi.xlstm_session_logits.restype == P(ctypes.c_float)
    assert capi.xlstm_session_load_state.argtypes[1] is ctypes.c_void_p
    assert capi.xlstm_version_string.restype is ctypes.c_char_p
    assert capi.xlstm_model_get_block_kind.argtypes[2] == P(ctypes.c_int32)  # enum out-parameter
    assert capi.xlstm_session_save_state.argtypes[3] == P(ctypes.c_size_t)


def test_handles_are_distinct_pointer_types(mixed_model):
    # A model pointer where a session is expected is refused by ctypes, not passed to C.
    with pytest.raises(ctypes.ArgumentError):
        capi.xlstm_session_feed_token(mixed_model._handle.pointer, 1)


def test_structs_match_the_manifest_layout():
    for description in MANIFEST["structs"]:
        struct = capi.STRUCTS[description["name"]]
        assert getattr(capi, description["name"]) is struct
        assert ctypes.sizeof(struct) == description["size"]
        assert ctypes.alignment(struct) == description["alignment"]
        for field in description["fields"]:
            assert getattr(struct, field["name"]).offset == field["offset"]
            assert getattr(struct, field["name"]).size == field["size"]


def test_enums_and_macros_are_the_manifests():
    for description in MANIFEST["enums"]:
        c_enum = capi.ENUMS[description["name"]]
        for item in description["enumerators"]:
            assert c_enum[item["name"]] == item["value"] == getattr(capi, item["name"])
    for macro in MANIFEST["macros"]:
        assert getattr(capi, macro["name"]) == macro["value"]
    pythonic = {"xlstm_status": libxlstm.Status, "xlstm_family": libxlstm.Family,
                "xlstm_block_kind": libxlstm.BlockKind, "xlstm_weight_policy": libxlstm.WeightPolicy,
                "xlstm_logits_mode": libxlstm.LogitsMode, "xlstm_cpu_path": libxlstm.CpuPath,
                "xlstm_load_mode": libxlstm.LoadMode, "xlstm_quant_type": libxlstm.QuantType,
                "xlstm_precision": libxlstm.Precision}
    assert set(pythonic) == set(capi.ENUMS)
    for c_name, python_enum in pythonic.items():
        assert sorted(m.value for m in python_enum) == sorted(m.value for m in capi.ENUMS[c_name])
        for member in capi.ENUMS[c_name]:
            assert member.name.endswith(python_enum(member.value).name)
    assert libxlstm.Status.TOKEN_OUT_OF_RANGE == capi.XLSTM_ERROR_TOKEN_OUT_OF_RANGE


def test_model_info_has_every_struct_field(mixed_model):
    fields = {field["name"] for struct in MANIFEST["structs"] if struct["name"] == "xlstm_model_info"
              for field in struct["fields"]}
    assert fields <= set(libxlstm.ModelInfo.__dataclass_fields__)
    info = mixed_model.info
    assert info.block_kinds == (libxlstm.BlockKind.MLSTM, libxlstm.BlockKind.SLSTM) * 2
    assert info.state_size == mixed_model.session().state_size


def test_the_c_api_through_the_thin_layer_alone():
    # The header's example, in Python: statuses are ints, results come through out-parameters.
    assert capi.xlstm_api_version() == capi.XLSTM_API_VERSION
    assert capi.xlstm_status_string(capi.XLSTM_ERROR_TOKEN_OUT_OF_RANGE) == b"token out of range"
    model = ctypes.POINTER(capi.xlstm_model)()
    assert capi.xlstm_model_load(str(fixture_model("paper_mixed")).encode(), None, ctypes.byref(model)) == capi.XLSTM_OK
    session = ctypes.POINTER(capi.xlstm_session)()
    assert capi.xlstm_session_create(model, ctypes.byref(session)) == capi.XLSTM_OK
    prompt = (ctypes.c_int32 * 3)(1, 2, 3)
    assert capi.xlstm_session_feed_tokens(session, prompt, 3, capi.XLSTM_LOGITS_LAST) == capi.XLSTM_OK
    assert capi.xlstm_session_n_tokens(session) == 3 and capi.xlstm_session_logits(session)
    assert capi.xlstm_session_feed_token(session, 1000) == capi.XLSTM_ERROR_TOKEN_OUT_OF_RANGE
    assert b"1000" in capi.xlstm_last_error_message()
    capi.xlstm_session_free(session)
    capi.xlstm_model_free(model)
    capi.xlstm_model_free(None)  # NULL is ignored


# ---- finding and checking the library ------------------------------------------------------------

PROBE = "import libxlstm, json; print(json.dumps([libxlstm.library_path(), libxlstm.capi.library_candidates()]))"


def test_in_place_search_order_and_choice():
    result = run_python(PROBE, env=python_env(drop=("XLSTM_LIBRARY",)), cwd="/")
    assert result.returncode == 0, result.stderr
    path, candidates = json.loads(result.stdout)
    assert path == str(REPOSITORY / ".build" / "release" / "libxlstm.so")
    assert [description for description, _ in candidates][:3] == [
        "next to the package", "the repository's build output", "the system loader path"]
    assert candidates[0][1] == str(PACKAGE_ROOT / "libxlstm" / "libxlstm.so")


def test_xlstm_library_is_used_and_nothing_else(tmp_path):
    copy = tmp_path / "libxlstm-copy.so"
    copy.write_bytes(Path(capi.library().path).read_bytes())
    result = run_python(PROBE, env=python_env(XLSTM_LIBRARY=str(copy)))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0] == str(copy)
    missing = tmp_path / "nowhere" / "libxlstm.so"
    result = run_python(PROBE, env=python_env(XLSTM_LIBRARY=str(missing)))
    assert result.returncode != 0
    assert "libxlstm.LibraryError" in result.stderr or "LibraryError" in result.stderr
    assert f"{missing} ($XLSTM_LIBRARY): no such file" in result.stderr
    assert "build output" not in result.stderr  # an explicit choice is not second-guessed


def test_the_error_lists_every_place_and_why(tmp_path):
    not_a_library = tmp_path / "libxlstm.so"
    not_a_library.write_text("not ELF")
    with pytest.raises(libxlstm.LibraryError) as raised:
        capi.load_library([("here", str(tmp_path / "absent.so")), ("there", str(not_a_library)),
                           ("the system loader path", "libxlstm-does-not-exist.so")])
    message = str(raised.value)
    assert isinstance(raised.value, OSError) and "XLSTM_LIBRARY" in message
    assert f"{tmp_path / 'absent.so'} (here): no such file" in message
    assert f"{not_a_library} (there): " in message and "libxlstm-does-not-exist.so (the system loader path)" in message


def edited_manifest(tmp_path, edit):
    manifest = json.loads(json.dumps(MANIFEST))
    edit(manifest)
    path = tmp_path / "xlstm.abi.json"
    path.write_text(json.dumps(manifest))
    return str(path)


def test_a_library_of_another_api_version_is_refused(tmp_path):
    def bump(manifest):
        for macro in manifest["macros"]:
            if macro["name"] == "XLSTM_API_VERSION":
                macro["value"] = 999

    result = run_python(PROBE, env=python_env(XLSTM_ABI_MANIFEST=edited_manifest(tmp_path, bump)))
    assert result.returncode != 0
    assert f"has C API version {capi.API_VERSION}" in result.stderr and "describes version 999" in result.stderr


def test_a_library_lacking_a_manifest_function_is_refused(tmp_path):
    def add(manifest):
        function = json.loads(json.dumps(manifest["functions"][0]))
        function["name"] = "xlstm_function_from_the_future"
        manifest["functions"].append(function)

    result = run_python(PROBE, env=python_env(XLSTM_ABI_MANIFEST=edited_manifest(tmp_path, add)))
    assert result.returncode != 0 and "lacks xlstm_function_from_the_future" in result.stderr


def test_a_struct_layout_ctypes_disagrees_with_is_refused(tmp_path):
    def move(manifest):
        manifest["structs"][0]["fields"][1]["offset"] += 4

    result = run_python("import libxlstm", env=python_env(XLSTM_ABI_MANIFEST=edited_manifest(tmp_path, move)))
    assert result.returncode != 0 and "ManifestError" in result.stderr and "offset" in result.stderr


def test_a_missing_manifest_is_reported(tmp_path):
    result = run_python("import libxlstm", env=python_env(XLSTM_ABI_MANIFEST=str(tmp_path / "none.json")))
    assert result.returncode != 0 and "xlstm.abi.json was not found" in result.stderr
