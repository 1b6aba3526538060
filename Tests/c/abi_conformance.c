// ABI conformance: libxlstm.so driven the way a foreign-function interface drives it (Python
// ctypes, LuaJIT, a game engine's FFI) — with no header at all. Everything this program knows about
// the API comes from include/xlstm.abi.json (read with json-c): function names, each parameter's and
// return value's `ffi` kind, enum values, struct sizes and field offsets, macros. Functions are
// found with dlopen/dlsym and called only through libffi (ffi_prep_cif / ffi_call).
//
// It checks that every manifest function is exported, that every exported xlstm_* symbol is in the
// manifest (read from the library's ELF dynamic symbol table), and runs a full scenario: versions,
// default params, model load, info, block kinds, session, feed, logits (against the fixture's
// reference logits), copy_logits, state size/save/load round trip, sampler, clone, error statuses
// and the last error message, frees.
//
// Usage: abi_conformance MANIFEST LIBXLSTM_SO FIXTURES_DIR

#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <elf.h>
#include <ffi.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int checks_failed, cases_passed, cases_failed;

#define CHECK(condition, ...)                                                                       \
    do {                                                                                            \
        if (!(condition)) {                                                                         \
            checks_failed++;                                                                        \
            printf("  %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #condition);                  \
            printf(__VA_ARGS__);                                                                    \
            putchar('\n');                                                                          \
        }                                                                                           \
    } while (0)

static void report(const char *name, int failures_before) {
    if (checks_failed == failures_before) {
        cases_passed++;
        printf("ok   abi_conformance: %s\n", name);
    } else {
        cases_failed++;
        printf("FAIL abi_conformance: %s (%d failed checks)\n", name, checks_failed - failures_before);
    }
    fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// The manifest

static json_object *manifest;

// The manifest's shape (include/xlstm.abi.json, format_version 1):
//   {"format_version": 1, "data_model": "LP64",
//    "macros":    [{"name", "value", …}],
//    "handles":   [{"name", …}],
//    "enums":     [{"name", "size", "ffi", "enumerators": [{"name", "value"}]}],
//    "structs":   [{"name", "size", "alignment", "fields": [{"name", "type", "ffi", "offset", "size"}]}],
//    "functions": [{"name", "return": {"type", "ffi"}, "parameters": [{"name", "type", "ffi"}]}]}

static json_object *member(json_object *object, const char *key) {
    json_object *value = NULL;
    return object && json_object_object_get_ex(object, key, &value) ? value : NULL;
}

static const char *string_member(json_object *object, const char *key) {
    json_object *value = member(object, key);
    return value && json_object_is_type(value, json_type_string) ? json_object_get_string(value) : NULL;
}

static size_t array_length(json_object *array) {
    return array && json_object_is_type(array, json_type_array) ? json_object_array_length(array) : 0;
}

// The entry called `name` in an array of {"name": …} objects.
static json_object *named(json_object *array, const char *name) {
    for (size_t i = 0; i < array_length(array); i++) {
        json_object *entry = json_object_array_get_idx(array, i);
        const char *entry_name = string_member(entry, "name");
        if (entry_name && strcmp(entry_name, name) == 0) return entry;
    }
    return NULL;
}

static json_object *functions_section(void) { return member(manifest, "functions"); }

// The value of macro `name` (e.g. XLSTM_API_VERSION).
static long long macro_value(const char *name) {
    json_object *value = member(named(member(manifest, "macros"), name), "value");
    CHECK(value != NULL, "manifest: no macro %s", name);
    return value ? json_object_get_int64(value) : -1;
}

// The value of enumerator `enumerator` (e.g. XLSTM_OK), searched in every enum.
static int32_t enum_value(const char *enumerator) {
    json_object *enums = member(manifest, "enums");
    for (size_t i = 0; i < array_length(enums); i++) {
        json_object *value = member(named(member(json_object_array_get_idx(enums, i), "enumerators"), enumerator), "value");
        if (value) return (int32_t)json_object_get_int64(value);
    }
    CHECK(0, "manifest: no enumerator %s", enumerator);
    return INT32_MIN;
}

// A struct's size and its fields' offsets.
static size_t struct_size(const char *struct_name) {
    json_object *size = member(named(member(manifest, "structs"), struct_name), "size");
    CHECK(size != NULL, "manifest: no size for struct %s", struct_name);
    return size ? (size_t)json_object_get_int64(size) : 0;
}

static size_t field_offset(const char *struct_name, const char *field) {
    json_object *fields = member(named(member(manifest, "structs"), struct_name), "fields");
    json_object *offset = member(named(fields, field), "offset");
    CHECK(offset != NULL, "manifest: no field %s.%s with an offset", struct_name, field);
    return offset ? (size_t)json_object_get_int64(offset) : 0;
}

// ---------------------------------------------------------------------------------------------
// Calling through libffi with the manifest's ffi kinds

// The manifest's ffi kinds (the generator also knows the 8- and 16-bit ones).
typedef enum {
    K_VOID, K_SINT8, K_UINT8, K_SINT16, K_UINT16, K_SINT32, K_UINT32, K_SINT64, K_UINT64,
    K_FLOAT, K_DOUBLE, K_POINTER, K_SIZE_T, K_UNKNOWN
} kind;
static const char *const kind_names[] = {"void",   "sint8",  "uint8",  "sint16",  "uint16", "sint32", "uint32",
                                         "sint64", "uint64", "float",  "double", "pointer", "size_t", "?"};

static kind kind_named(const char *name) {
    for (int k = 0; name && k < K_UNKNOWN; k++) {
        if (strcmp(name, kind_names[k]) == 0) return (kind)k;
    }
    return K_UNKNOWN;
}

static ffi_type *ffi_type_of(kind k) {
    switch (k) {
    case K_VOID: return &ffi_type_void;
    case K_SINT8: return &ffi_type_sint8;
    case K_UINT8: return &ffi_type_uint8;
    case K_SINT16: return &ffi_type_sint16;
    case K_UINT16: return &ffi_type_uint16;
    case K_SINT32: return &ffi_type_sint32;
    case K_UINT32: return &ffi_type_uint32;
    case K_SINT64: return &ffi_type_sint64;
    case K_UINT64: return &ffi_type_uint64;
    case K_FLOAT: return &ffi_type_float;
    case K_DOUBLE: return &ffi_type_double;
    case K_POINTER: return &ffi_type_pointer;
    case K_SIZE_T: return sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;
    default: return NULL;
    }
}

// One argument or result: its kind and value.
typedef struct {
    kind k;
    union {
        int8_t i8;
        uint8_t u8;
        int16_t i16;
        uint16_t u16;
        int32_t i32;
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        float f;
        double d;
        void *p;
        size_t z;
    } v;
} value;

static value I32(int32_t x) { value r = {K_SINT32, {.i32 = x}}; return r; }
static value PTR(const void *x) { value r = {K_POINTER, {.p = (void *)(uintptr_t)x}}; return r; }
static value SIZE(size_t x) { value r = {K_SIZE_T, {.z = x}}; return r; }
static value U32(uint32_t x) { value r = {K_UINT32, {.u32 = x}}; return r; }

typedef struct {
    char name[96];
    void *address;
    kind result;
    size_t n_arguments;
    kind arguments[16];
    ffi_type *argument_types[16];
    ffi_cif cif;
    int prepared, called;
} function;

static function functions[128];
static size_t n_functions;
static void *library;

static function *function_named(const char *name) {
    for (size_t i = 0; i < n_functions; i++) {
        if (strcmp(functions[i].name, name) == 0) return &functions[i];
    }
    return NULL;
}

// The ffi kind of a manifest parameter or return entry ({"type": …, "ffi": …}).
static kind entry_kind(json_object *entry) { return kind_named(string_member(entry, "ffi")); }

// Reads every manifest function, resolves it with dlsym and prepares its cif.
static void prepare_functions(void) {
    json_object *section = functions_section();
    CHECK(section && json_object_is_type(section, json_type_array), "manifest: no \"functions\" array");
    if (!section || !json_object_is_type(section, json_type_array)) return;
    for (size_t i = 0; i < json_object_array_length(section) && n_functions < 128; i++) {
        json_object *entry = json_object_array_get_idx(section, i);
        function *f = &functions[n_functions++];
        memset(f, 0, sizeof *f);
        const char *name = string_member(entry, "name");
        snprintf(f->name, sizeof f->name, "%s", name ? name : "?");
        f->result = entry_kind(member(entry, "return"));
        CHECK(f->result != K_UNKNOWN, "%s: the return value has no known ffi kind", f->name);
        json_object *parameters = member(entry, "parameters");
        f->n_arguments = array_length(parameters);
        CHECK(f->n_arguments <= 16, "%s: too many parameters", f->name);
        for (size_t a = 0; a < f->n_arguments && a < 16; a++) {
            f->arguments[a] = entry_kind(json_object_array_get_idx(parameters, a));
            CHECK(f->arguments[a] != K_UNKNOWN && f->arguments[a] != K_VOID, "%s: parameter %zu has no valid ffi kind",
                  f->name, a);
            f->argument_types[a] = ffi_type_of(f->arguments[a]);
        }
        f->address = dlsym(library, f->name);
        CHECK(f->address != NULL, "%s is in the manifest but not exported by the library", f->name);
        if (f->result != K_UNKNOWN && f->address && f->n_arguments <= 16) {
            ffi_status status = ffi_prep_cif(&f->cif, FFI_DEFAULT_ABI, (unsigned)f->n_arguments, ffi_type_of(f->result),
                                             f->argument_types);
            CHECK(status == FFI_OK, "%s: ffi_prep_cif failed (%d)", f->name, (int)status);
            f->prepared = status == FFI_OK;
        }
    }
}

// Calls `name` with n arguments (each a `value` whose kind must match the manifest's).
static value call(const char *name, size_t n, ...) {
    value result = {K_UNKNOWN, {.u64 = 0}};
    function *f = function_named(name);
    CHECK(f != NULL, "%s is not in the manifest", name);
    if (!f || !f->prepared) return result;
    CHECK(n == f->n_arguments, "%s: the manifest has %zu parameters, the scenario passes %zu", name, f->n_arguments, n);
    if (n != f->n_arguments) return result;
    value arguments[16];
    void *pointers[16];
    va_list list;
    va_start(list, n);
    for (size_t i = 0; i < n; i++) {
        arguments[i] = va_arg(list, value);
        CHECK(arguments[i].k == f->arguments[i], "%s: parameter %zu is %s in the manifest, the scenario passes %s", name,
              i, kind_names[f->arguments[i]], kind_names[arguments[i].k]);
        pointers[i] = &arguments[i].v;
    }
    va_end(list);
    // Integral results narrower than a register come back widened to ffi_arg.
    union {
        ffi_arg widened;
        ffi_sarg signed_widened;
        uint64_t u64;
        float f;
        double d;
        void *p;
    } raw;
    memset(&raw, 0, sizeof raw);
    ffi_call(&f->cif, FFI_FN(f->address), &raw, pointers);
    f->called = 1;
    result.k = f->result;
    switch (f->result) {
    case K_SINT8: result.v.i8 = (int8_t)raw.signed_widened; break;
    case K_UINT8: result.v.u8 = (uint8_t)raw.widened; break;
    case K_SINT16: result.v.i16 = (int16_t)raw.signed_widened; break;
    case K_UINT16: result.v.u16 = (uint16_t)raw.widened; break;
    case K_SINT32: result.v.i32 = (int32_t)raw.signed_widened; break;
    case K_UINT32: result.v.u32 = (uint32_t)raw.widened; break;
    case K_SINT64: case K_UINT64: case K_SIZE_T: result.v.u64 = raw.u64; break;
    case K_FLOAT: result.v.f = raw.f; break;
    case K_DOUBLE: result.v.d = raw.d; break;
    case K_POINTER: result.v.p = raw.p; break;
    default: break;
    }
    return result;
}

// A status-returning call: the status as an int.
#define STATUS(name, n, ...) (call(name, n, __VA_ARGS__).v.i32)

static const char *last_error(void) {
    const char *message = call("xlstm_last_error_message", 0).v.p;
    return message ? message : "(null)";
}

// Every exported (defined, global, default- or protected-visibility) dynamic symbol of the library named xlstm_*.
static size_t exported_symbols(const char *path, char names[][96], size_t capacity) {
    FILE *file = fopen(path, "rb");
    if (!file) return 0;
    size_t count = 0;
    Elf64_Ehdr header;
    if (fread(&header, sizeof header, 1, file) == 1 && memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 &&
        header.e_ident[EI_CLASS] == ELFCLASS64) {
        Elf64_Shdr *sections = calloc(header.e_shnum, sizeof *sections);
        if (fseek(file, (long)header.e_shoff, SEEK_SET) == 0 &&
            fread(sections, sizeof *sections, header.e_shnum, file) == header.e_shnum) {
            for (size_t s = 0; s < header.e_shnum; s++) {
                if (sections[s].sh_type != SHT_DYNSYM) continue;
                Elf64_Shdr strings = sections[sections[s].sh_link];
                char *text = malloc(strings.sh_size);
                Elf64_Sym *symbols = malloc(sections[s].sh_size);
                if (fseek(file, (long)strings.sh_offset, SEEK_SET) == 0 && fread(text, 1, strings.sh_size, file) == strings.sh_size &&
                    fseek(file, (long)sections[s].sh_offset, SEEK_SET) == 0 &&
                    fread(symbols, 1, sections[s].sh_size, file) == sections[s].sh_size) {
                    for (size_t i = 0; i < sections[s].sh_size / sizeof *symbols && count < capacity; i++) {
                        const Elf64_Sym *symbol = &symbols[i];
                        const char *name = text + symbol->st_name;
                        if (symbol->st_shndx != SHN_UNDEF && ELF64_ST_BIND(symbol->st_info) == STB_GLOBAL &&
                            (ELF64_ST_VISIBILITY(symbol->st_other) == STV_DEFAULT ||
                             ELF64_ST_VISIBILITY(symbol->st_other) == STV_PROTECTED) &&
                            strncmp(name, "xlstm_", 6) == 0) {
                            snprintf(names[count++], 96, "%s", name);
                        }
                    }
                }
                free(text);
                free(symbols);
            }
        }
        free(sections);
    }
    fclose(file);
    return count;
}

// ---------------------------------------------------------------------------------------------

static const char *fixtures_dir;

static void symbols_match_manifest(const char *library_path) {
    int before = checks_failed;
    CHECK(n_functions > 0, "the manifest lists no functions");
    static char exported[256][96];
    size_t n_exported = exported_symbols(library_path, exported, 256);
    CHECK(n_exported > 0, "no xlstm_* symbols found in %s", library_path);
    for (size_t i = 0; i < n_exported; i++) {
        CHECK(function_named(exported[i]) != NULL, "%s is exported by the library but missing from the manifest",
              exported[i]);
    }
    for (size_t i = 0; i < n_functions; i++) {
        int found = 0;
        for (size_t j = 0; j < n_exported; j++) found |= strcmp(exported[j], functions[i].name) == 0;
        CHECK(found, "%s is in the manifest but not in the library's dynamic symbol table", functions[i].name);
    }
    printf("  %zu manifest functions, %zu exported xlstm_* symbols\n", n_functions, n_exported);
    report("every manifest function is exported and every exported xlstm_* symbol is in the manifest", before);
}

static void *read_file(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    void *bytes = malloc(length > 0 ? (size_t)length : 1);
    *size = fread(bytes, 1, (size_t)length, file);
    fclose(file);
    return bytes;
}

static void full_scenario(void) {
    int before = checks_failed;
    const int32_t OK = enum_value("XLSTM_OK");
    const int32_t INVALID_ARGUMENT = enum_value("XLSTM_ERROR_INVALID_ARGUMENT");
    const int32_t TOKEN_OUT_OF_RANGE = enum_value("XLSTM_ERROR_TOKEN_OUT_OF_RANGE");
    const int32_t STATE_CORRUPT = enum_value("XLSTM_ERROR_STATE_CORRUPT");
    const int32_t LOGITS_LAST = enum_value("XLSTM_LOGITS_LAST");
    const int32_t LOGITS_NONE = enum_value("XLSTM_LOGITS_NONE");
    const int32_t BLOCK_MLSTM = enum_value("XLSTM_BLOCK_MLSTM");
    const int32_t BLOCK_SLSTM = enum_value("XLSTM_BLOCK_SLSTM");
    const int32_t FAMILY_PAPER = enum_value("XLSTM_FAMILY_PAPER");

    // Versions: the library's against the manifest's macros.
    int32_t api = call("xlstm_api_version", 0).v.i32;
    CHECK(api == macro_value("XLSTM_API_VERSION"), "xlstm_api_version() %d, manifest XLSTM_API_VERSION %lld", (int)api,
          macro_value("XLSTM_API_VERSION"));
    char expected_version[64];
    snprintf(expected_version, sizeof expected_version, "%lld.%lld.%lld", macro_value("XLSTM_VERSION_MAJOR"),
             macro_value("XLSTM_VERSION_MINOR"), macro_value("XLSTM_VERSION_PATCH"));
    const char *version = call("xlstm_version_string", 0).v.p;
    CHECK(version && strcmp(version, expected_version) == 0, "version \"%s\", manifest macros say %s",
          version ? version : "(null)", expected_version);
    const char *ok_text = call("xlstm_status_string", 1, I32(OK)).v.p;
    CHECK(ok_text && strcmp(ok_text, "ok") == 0, "xlstm_status_string(XLSTM_OK) = \"%s\"", ok_text ? ok_text : "(null)");

    // Model params: a struct buffer laid out from the manifest (poisoned so unset fields show).
    size_t params_size = struct_size("xlstm_model_params");
    unsigned char *model_params = malloc(params_size + 8);
    memset(model_params, 0xee, params_size + 8);
    CHECK(STATUS("xlstm_model_default_params", 1, PTR(model_params)) == OK, "default params: %s", last_error());
    int32_t n_threads;
    memcpy(&n_threads, model_params + field_offset("xlstm_model_params", "n_threads"), 4);
    CHECK(n_threads == 1, "default n_threads %d", (int)n_threads);
    CHECK(model_params[params_size] == 0xee, "xlstm_model_default_params wrote past the manifest's struct size");

    char path[4096];
    snprintf(path, sizeof path, "%s/paper_mixed/model", fixtures_dir);
    void *model = (void *)1;
    CHECK(STATUS("xlstm_model_load", 3, PTR(path), PTR(model_params), PTR(&model)) == OK, "load: %s", last_error());
    if (!model || model == (void *)1) {
        report("full scenario through libffi", before);
        free(model_params);
        return;
    }

    // Info, read at the manifest's offsets.
    size_t info_size = struct_size("xlstm_model_info");
    unsigned char *info = calloc(1, info_size + 8);
    CHECK(STATUS("xlstm_model_get_info", 2, PTR(model), PTR(info)) == OK, "get_info: %s", last_error());
    int32_t family, vocab, n_blocks;
    uint64_t state_size_info;
    memcpy(&family, info + field_offset("xlstm_model_info", "family"), 4);
    memcpy(&vocab, info + field_offset("xlstm_model_info", "vocab_size"), 4);
    memcpy(&n_blocks, info + field_offset("xlstm_model_info", "n_blocks"), 4);
    memcpy(&state_size_info, info + field_offset("xlstm_model_info", "state_size"), 8);
    CHECK(family == FAMILY_PAPER && vocab == 100 && n_blocks == 4, "info: family %d, vocab %d, blocks %d", (int)family,
          (int)vocab, (int)n_blocks);
    for (int32_t b = 0; b < n_blocks; b++) {
        int32_t block_kind = -1;
        CHECK(STATUS("xlstm_model_get_block_kind", 3, PTR(model), I32(b), PTR(&block_kind)) == OK, "block kind");
        CHECK(block_kind == (b % 2 ? BLOCK_SLSTM : BLOCK_MLSTM), "block %d kind %d", (int)b, (int)block_kind);
    }

    // A session; feed the fixture's tokens; the logits match the reference.
    void *session = NULL;
    CHECK(STATUS("xlstm_session_create", 2, PTR(model), PTR(&session)) == OK, "session_create: %s", last_error());
    CHECK(call("xlstm_session_model", 1, PTR(session)).v.p == model, "xlstm_session_model");
    size_t token_bytes = 0, logit_bytes = 0;
    snprintf(path, sizeof path, "%s/paper_mixed/tokens.i32", fixtures_dir);
    int32_t *tokens = read_file(path, &token_bytes);
    snprintf(path, sizeof path, "%s/paper_mixed/logits.f32", fixtures_dir);
    float *reference = read_file(path, &logit_bytes);
    size_t n_tokens = tokens ? token_bytes / 4 : 0, k = 16;
    CHECK(n_tokens > k && reference && logit_bytes == n_tokens * 100 * sizeof(float), "fixture files");
    if (n_tokens <= k || !reference) n_tokens = 0;
    if (n_tokens) {
        CHECK(STATUS("xlstm_session_feed_tokens", 4, PTR(session), PTR(tokens), SIZE(k - 1), I32(LOGITS_NONE)) == OK,
              "feed_tokens: %s", last_error());
        CHECK(call("xlstm_session_logits", 1, PTR(session)).v.p == NULL, "logits after XLSTM_LOGITS_NONE");
        CHECK(STATUS("xlstm_session_feed_token", 2, PTR(session), I32(tokens[k - 1])) == OK, "feed_token");
        CHECK(STATUS("xlstm_session_reset", 1, PTR(session)) == OK, "reset");
        CHECK(call("xlstm_session_n_tokens", 1, PTR(session)).v.i64 == 0, "n_tokens after reset");
        CHECK(STATUS("xlstm_session_feed_tokens", 4, PTR(session), PTR(tokens), SIZE(k), I32(LOGITS_LAST)) == OK,
              "feed_tokens: %s", last_error());
        CHECK(call("xlstm_session_n_tokens", 1, PTR(session)).v.i64 == (int64_t)k, "n_tokens");
        const float *logits = call("xlstm_session_logits", 1, PTR(session)).v.p;
        CHECK(logits != NULL, "no logits");
        double max_difference = 0, max_reference = 0;
        for (size_t i = 0; logits && i < 100; i++) {
            max_difference = fmax(max_difference, fabs((double)logits[i] - reference[(k - 1) * 100 + i]));
            max_reference = fmax(max_reference, fabs((double)reference[(k - 1) * 100 + i]));
        }
        CHECK(max_difference <= 1e-4 * max_reference, "logits after %zu tokens: max|Δ|/max|ref| = %g", k,
              max_difference / max_reference);
        float copy[100];
        CHECK(STATUS("xlstm_session_copy_logits", 3, PTR(session), PTR(copy), SIZE(100)) == OK, "copy_logits");
        CHECK(logits && memcmp(copy, logits, sizeof copy) == 0, "copy_logits differs from xlstm_session_logits");

        // State: size, save, detour, load back, continue ≡ the saved point.
        size_t state_size = call("xlstm_session_state_size", 1, PTR(session)).v.z;
        CHECK(state_size == state_size_info && state_size > 0, "state size %zu, info %llu", state_size,
              (unsigned long long)state_size_info);
        unsigned char *blob = malloc(state_size);
        size_t written = 0;
        CHECK(STATUS("xlstm_session_save_state", 4, PTR(session), PTR(blob), SIZE(state_size), PTR(&written)) == OK &&
                  written == state_size,
              "save_state: %s", last_error());
        CHECK(STATUS("xlstm_session_feed_token", 2, PTR(session), I32(tokens[k])) == OK, "feed_token");
        float next[100];
        CHECK(STATUS("xlstm_session_copy_logits", 3, PTR(session), PTR(next), SIZE(100)) == OK, "copy_logits");
        CHECK(STATUS("xlstm_session_load_state", 3, PTR(session), PTR(blob), SIZE(state_size)) == OK, "load_state: %s",
              last_error());
        CHECK(call("xlstm_session_n_tokens", 1, PTR(session)).v.i64 == (int64_t)k, "n_tokens after load");
        CHECK(STATUS("xlstm_session_feed_token", 2, PTR(session), I32(tokens[k])) == OK, "feed_token");
        float again[100];
        CHECK(STATUS("xlstm_session_copy_logits", 3, PTR(session), PTR(again), SIZE(100)) == OK, "copy_logits");
        CHECK(memcmp(next, again, sizeof next) == 0, "save → load → continue is not bit-identical");

        // Files.
        char state_path[4200];
        snprintf(state_path, sizeof state_path, "%s/xlstm-abi-%ld.state", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                 (long)getpid());
        CHECK(STATUS("xlstm_session_save_state_file", 2, PTR(session), PTR(state_path)) == OK, "save_state_file: %s",
              last_error());
        CHECK(STATUS("xlstm_session_load_state_file", 2, PTR(session), PTR(state_path)) == OK, "load_state_file: %s",
              last_error());
        remove(state_path);

        // Clone and copy_state.
        void *clone = NULL;
        CHECK(STATUS("xlstm_session_clone", 2, PTR(session), PTR(&clone)) == OK, "clone: %s", last_error());
        const float *clone_logits = call("xlstm_session_logits", 1, PTR(clone)).v.p;
        CHECK(clone_logits && memcmp(clone_logits, again, sizeof again) == 0, "the clone's logits differ");
        CHECK(STATUS("xlstm_session_copy_state", 2, PTR(clone), PTR(session)) == OK, "copy_state");

        // A sampler: params laid out from the manifest, seed set at its offset.
        size_t sampler_params_size = struct_size("xlstm_sampler_params");
        unsigned char *sampler_params = calloc(1, sampler_params_size);
        CHECK(STATUS("xlstm_sampler_default_params", 1, PTR(sampler_params)) == OK, "sampler defaults");
        uint64_t seed = 1234;
        memcpy(sampler_params + field_offset("xlstm_sampler_params", "seed"), &seed, 8);
        float temperature = 0;
        memcpy(&temperature, sampler_params + field_offset("xlstm_sampler_params", "temperature"), 4);
        CHECK(temperature == 0.8f, "default temperature %g", (double)temperature);
        void *sampler = NULL;
        CHECK(STATUS("xlstm_sampler_create", 2, PTR(sampler_params), PTR(&sampler)) == OK, "sampler_create: %s",
              last_error());
        CHECK(STATUS("xlstm_sampler_accept", 2, PTR(sampler), I32(tokens[0])) == OK, "accept");
        int32_t token = -1, token_again = -1;
        CHECK(STATUS("xlstm_sampler_sample", 3, PTR(sampler), PTR(session), PTR(&token)) == OK, "sample: %s", last_error());
        CHECK(STATUS("xlstm_sampler_reset", 1, PTR(sampler)) == OK, "sampler_reset");
        CHECK(STATUS("xlstm_sampler_accept", 2, PTR(sampler), I32(tokens[0])) == OK, "accept");
        CHECK(STATUS("xlstm_sampler_sample_logits", 4, PTR(sampler), PTR(again), SIZE(100), PTR(&token_again)) == OK,
              "sample_logits");
        CHECK(token >= 0 && token < 100 && token == token_again, "sampled %d then %d after reset", (int)token,
              (int)token_again);

        // Errors: statuses, the message, output handles set to NULL, the session unchanged.
        int32_t status = STATUS("xlstm_session_feed_token", 2, PTR(session), I32(-1));
        CHECK(status == TOKEN_OUT_OF_RANGE, "feed_token(-1) returned %d", (int)status);
        const char *text = call("xlstm_status_string", 1, I32(status)).v.p;
        CHECK(text && strcmp(text, "token out of range") == 0, "status string \"%s\"", text ? text : "(null)");
        CHECK(strstr(last_error(), "-1") != NULL, "last error \"%s\" does not name the token", last_error());
        void *no_session = (void *)1;
        CHECK(STATUS("xlstm_session_create", 2, PTR(NULL), PTR(&no_session)) == INVALID_ARGUMENT && no_session == NULL,
              "session_create(NULL model)");
        CHECK(last_error()[0] != '\0', "empty last error");
        blob[100] ^= 1;
        CHECK(STATUS("xlstm_session_load_state", 3, PTR(session), PTR(blob), SIZE(state_size)) == STATE_CORRUPT,
              "damaged blob");
        CHECK(call("xlstm_session_n_tokens", 1, PTR(session)).v.i64 == (int64_t)k + 1, "a failed load changed the session");

        call("xlstm_sampler_free", 1, PTR(sampler));
        call("xlstm_session_free", 1, PTR(clone));
        free(sampler_params);
        free(blob);
    }
    call("xlstm_session_free", 1, PTR(session));
    call("xlstm_model_free", 1, PTR(model));
    free(tokens);
    free(reference);
    free(info);
    free(model_params);

    // A tokenizer (Tests/Fixtures/tokenizers/neox_style): text → ids → text, pieces, info, a stream.
    snprintf(path, sizeof path, "%s/tokenizers/neox_style", fixtures_dir);
    void *tokenizer = (void *)1;
    CHECK(STATUS("xlstm_tokenizer_load", 2, PTR(path), PTR(&tokenizer)) == OK, "tokenizer_load: %s", last_error());
    if (tokenizer && tokenizer != (void *)1) {
        const char *text = "Hello, wörld";
        int32_t ids[64];
        size_t n = 0, length = 0;
        uint32_t add_special = (uint32_t)macro_value("XLSTM_TOKENIZE_ADD_SPECIAL");
        CHECK(STATUS("xlstm_tokenize", 7, PTR(tokenizer), PTR(text), SIZE(strlen(text)), U32(add_special), PTR(ids),
                     SIZE(64), PTR(&n)) == OK && n > 0,
              "tokenize: %s", last_error());
        char out[64];
        CHECK(STATUS("xlstm_detokenize", 7, PTR(tokenizer), PTR(ids), SIZE(n), U32(0), PTR(out), SIZE(sizeof out),
                     PTR(&length)) == OK && length == strlen(text) && memcmp(out, text, length) == 0,
              "detokenize: %s", last_error());
        CHECK(STATUS("xlstm_tokenizer_token_to_piece", 5, PTR(tokenizer), I32(ids[0]), PTR(out), SIZE(sizeof out),
                     PTR(&length)) == OK && length > 0,
              "token_to_piece: %s", last_error());
        size_t tokenizer_info_size = struct_size("xlstm_tokenizer_info");
        unsigned char *tokenizer_info = calloc(1, tokenizer_info_size);
        CHECK(STATUS("xlstm_tokenizer_get_info", 2, PTR(tokenizer), PTR(tokenizer_info)) == OK, "tokenizer_get_info");
        int32_t pad_id = -2;
        memcpy(&pad_id, tokenizer_info + field_offset("xlstm_tokenizer_info", "pad_id"), 4);
        CHECK(pad_id == 1, "pad_id %d", (int)pad_id);
        free(tokenizer_info);
        void *stream = NULL;
        CHECK(STATUS("xlstm_detokenizer_create", 3, PTR(tokenizer), U32(0), PTR(&stream)) == OK, "detokenizer_create");
        size_t streamed = 0;
        char all[64];
        for (size_t i = 0; i < n && stream; i++) {
            CHECK(STATUS("xlstm_detokenizer_push", 5, PTR(stream), I32(ids[i]), PTR(all + streamed),
                         SIZE(sizeof all - streamed), PTR(&length)) == OK, "detokenizer_push: %s", last_error());
            streamed += length;
        }
        CHECK(STATUS("xlstm_detokenizer_flush", 4, PTR(stream), PTR(all + streamed), SIZE(sizeof all - streamed),
                     PTR(&length)) == OK, "detokenizer_flush");
        streamed += length;
        CHECK(streamed == strlen(text) && memcmp(all, text, streamed) == 0, "the stream's text differs");
        call("xlstm_detokenizer_free", 1, PTR(stream));
        call("xlstm_tokenizer_free", 1, PTR(tokenizer));
    }
    void *no_tokenizer = (void *)1;
    CHECK(STATUS("xlstm_tokenizer_from_model", 2, PTR(NULL), PTR(&no_tokenizer)) == INVALID_ARGUMENT && no_tokenizer == NULL,
          "tokenizer_from_model(NULL model)");

    char not_called[2048] = "";
    for (size_t i = 0; i < n_functions; i++) {
        if (!functions[i].called && strlen(not_called) + strlen(functions[i].name) + 2 < sizeof not_called) {
            strcat(not_called, " ");
            strcat(not_called, functions[i].name);
        }
    }
    if (not_called[0]) printf("  note: not exercised by the scenario:%s\n", not_called);
    report("full scenario through libffi (versions, load, info, feed, logits, state, sampler, clone, errors, tokenizer, free)",
           before);
}

// The manifest is complete: every function has a return and parameters with C types and known ffi
// kinds; every struct field an offset, size and ffi kind inside the struct; the statuses their
// documented values.
static void manifest_entries_are_complete(void) {
    int before = checks_failed;
    CHECK(member(manifest, "format_version") && json_object_get_int(member(manifest, "format_version")) == 1,
          "manifest format_version is not 1");
    CHECK(string_member(manifest, "data_model") && strcmp(string_member(manifest, "data_model"), "LP64") == 0 &&
              sizeof(void *) == 8 && sizeof(size_t) == 8,
          "the manifest's data model is not this machine's (LP64)");
    json_object *section = functions_section();
    CHECK(array_length(section) > 0, "manifest: no functions");
    for (size_t i = 0; i < array_length(section); i++) {
        json_object *entry = json_object_array_get_idx(section, i);
        const char *name = string_member(entry, "name");
        CHECK(name && strncmp(name, "xlstm_", 6) == 0, "function %zu: name \"%s\"", i, name ? name : "(none)");
        json_object *result = member(entry, "return");
        CHECK(string_member(result, "type") && entry_kind(result) != K_UNKNOWN, "%s: return type or ffi kind missing",
              name ? name : "?");
        json_object *parameters = member(entry, "parameters");
        CHECK(parameters && json_object_is_type(parameters, json_type_array), "%s: no parameters array", name ? name : "?");
        for (size_t a = 0; a < array_length(parameters); a++) {
            json_object *parameter = json_object_array_get_idx(parameters, a);
            kind k = entry_kind(parameter);
            const char *type = string_member(parameter, "type");
            CHECK(string_member(parameter, "name") && type && k != K_UNKNOWN && k != K_VOID,
                  "%s: parameter %zu lacks a name, a C type or an ffi kind", name ? name : "?", a);
            // The ffi kind agrees with the C type string (a callback typedef is a function pointer).
            json_object *callback = member(parameter, "callback");
            int is_callback = callback && json_object_get_boolean(callback);
            CHECK(!type || (strchr(type, '*') != NULL || is_callback) == (k == K_POINTER), "%s: parameter %zu is \"%s\" but ffi %s",
                  name ? name : "?", a, type ? type : "", kind_names[k]);
        }
    }
    json_object *structs = member(manifest, "structs");
    for (size_t i = 0; i < array_length(structs); i++) {
        json_object *entry = json_object_array_get_idx(structs, i);
        const char *name = string_member(entry, "name");
        long long size = json_object_get_int64(member(entry, "size"));
        json_object *fields = member(entry, "fields");
        long long end = 0;
        for (size_t f = 0; f < array_length(fields); f++) {
            json_object *field = json_object_array_get_idx(fields, f);
            long long offset = json_object_get_int64(member(field, "offset"));
            long long field_size = json_object_get_int64(member(field, "size"));
            CHECK(member(field, "offset") && member(field, "size") && entry_kind(field) != K_UNKNOWN && offset >= end &&
                      offset + field_size <= size,
                  "%s.%s: offset %lld size %lld (struct size %lld)", name ? name : "?",
                  string_member(field, "name") ? string_member(field, "name") : "?", offset, field_size, size);
            end = offset + field_size;
        }
    }
    const char *const statuses[] = {"XLSTM_OK", "XLSTM_ERROR_INVALID_ARGUMENT", "XLSTM_ERROR_IO",
                                    "XLSTM_ERROR_INVALID_MODEL", "XLSTM_ERROR_UNSUPPORTED",
                                    "XLSTM_ERROR_TOKEN_OUT_OF_RANGE", "XLSTM_ERROR_BUFFER_TOO_SMALL",
                                    "XLSTM_ERROR_STATE_MISMATCH", "XLSTM_ERROR_STATE_VERSION",
                                    "XLSTM_ERROR_STATE_CORRUPT", "XLSTM_ERROR_NO_LOGITS", "XLSTM_ERROR_CANCELLED",
                                    "XLSTM_ERROR_OUT_OF_MEMORY"};
    for (int32_t s = 0; s < (int32_t)(sizeof statuses / sizeof statuses[0]); s++) {
        CHECK(enum_value(statuses[s]) == s, "%s = %d, expected %d", statuses[s], (int)enum_value(statuses[s]), (int)s);
    }
    report("the manifest is complete (C types, ffi kinds, struct layouts, status values)", before);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: abi_conformance MANIFEST LIBXLSTM_SO FIXTURES_DIR\n");
        return 2;
    }
    fixtures_dir = argv[3];
    manifest = json_object_from_file(argv[1]);
    library = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (!manifest || !library) {
        printf("FAIL abi_conformance: cannot read %s or dlopen %s: %s\n", argv[1], argv[2],
               library ? json_util_get_last_err() : dlerror());
        printf("abi_conformance: 0 passed, 1 failed\n");
        return 1;
    }
    prepare_functions();
    manifest_entries_are_complete();
    symbols_match_manifest(argv[2]);
    full_scenario();
    json_object_put(manifest);
    // No dlclose, as FFIs do: unmapping the library would make the Swift runtime's one-time
    // allocations (reachable only from its globals) look leaked to LeakSanitizer.
    printf("abi_conformance: %d passed, %d failed\n", cases_passed, cases_failed);
    return cases_failed == 0 ? 0 : 1;
}
