// abi-check-gen MANIFEST OUT_DIR
//
// Reads include/xlstm.abi.json (with json-c, as the conformance test does) and writes the checks
// that check-header.sh compiles and runs:
//   OUT_DIR/abi_check.c         includes xlstm.h; compile-time checks that the header declares what
//                               the manifest says (macro and enumerator values, enum sizes, struct
//                               sizes, alignments, field offsets, sizes and types, every function's
//                               exact prototype, the size of every "ffi" kind); main() also checks
//                               the version functions at run time when linked
//   OUT_DIR/functions.txt       the functions of the manifest, one per line, sorted
//   OUT_DIR/layout_check.swift  main.swift checking Swift's MemoryLayout of the same structs, the
//                               enums' raw values and the macros' values
//   OUT_DIR/swift_files.txt     the Swift files that declare those types (to compile with it)
// Exit status 0, or 1 with a message if the manifest is not what this program expects.

#include <json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *manifest_path;

static void die(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "abi-check-gen: %s: ", manifest_path);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

static json_object *member(json_object *object, const char *key) {
    json_object *value = NULL;
    if (!json_object_object_get_ex(object, key, &value)) die("missing \"%s\"", key);
    return value;
}

static const char *string_member(json_object *object, const char *key) {
    json_object *value = member(object, key);
    if (!json_object_is_type(value, json_type_string)) die("\"%s\" is not a string", key);
    return json_object_get_string(value);
}

static long long int_member(json_object *object, const char *key) {
    json_object *value = member(object, key);
    if (!json_object_is_type(value, json_type_int)) die("\"%s\" is not an integer", key);
    return (long long)json_object_get_int64(value);
}

static json_object *array_member(json_object *object, const char *key) {
    json_object *value = member(object, key);
    if (!json_object_is_type(value, json_type_array)) die("\"%s\" is not an array", key);
    return value;
}

static FILE *open_output(const char *directory, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    FILE *file = fopen(path, "w");
    if (!file) {
        fprintf(stderr, "abi-check-gen: cannot write %s\n", path);
        exit(1);
    }
    return file;
}

static int check_counter;

/// CHECK(cN, condition, "what") with a fresh N.
static void check(FILE *out, const char *what, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(out, "CHECK(c%d, ", ++check_counter);
    vfprintf(out, format, args);
    fprintf(out, ", \"%s\");\n", what);
    va_end(args);
}

/// The byte size libffi uses for an "ffi" kind, as a C expression; NULL for void.
static const char *ffi_size(const char *kind) {
    static const char *const table[][2] = {
        {"sint8", "1"}, {"uint8", "1"}, {"sint16", "2"}, {"uint16", "2"}, {"sint32", "4"}, {"uint32", "4"},
        {"sint64", "8"}, {"uint64", "8"}, {"size_t", "sizeof(size_t)"}, {"float", "sizeof(float)"},
        {"double", "sizeof(double)"}, {"pointer", "sizeof(void *)"},
    };
    if (strcmp(kind, "void") == 0) return NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(kind, table[i][0]) == 0) return table[i][1];
    }
    die("unknown ffi kind \"%s\"", kind);
    return NULL;
}

static json_object *enums;

static int is_enum(const char *type) {
    for (size_t i = 0; i < json_object_array_length(enums); i++) {
        if (strcmp(string_member(json_object_array_get_idx(enums, i), "name"), type) == 0) return 1;
    }
    return 0;
}

/// A type and its ffi kind agree in size and, for integers other than enums (which are passed as
/// sint32 whatever the compiler picks as their underlying type), in signedness.
static void check_ffi(FILE *out, json_object *typed, const char *where) {
    const char *type = string_member(typed, "type");
    const char *kind = string_member(typed, "ffi");
    const char *size = ffi_size(kind);
    char what[512];
    snprintf(what, sizeof what, "%s: %s is passed as ffi %s", where, type, kind);
    if (size) {
        check(out, what, "sizeof(%s) == %s", type, size);
    } else if (strcmp(type, "void") != 0) {
        die("%s: ffi kind void for type %s", where, type);
    }
    if (is_enum(type)) return;
    if (strncmp(kind, "sint", 4) == 0) check(out, what, "!((%s)-1 > (%s)0)", type, type);
    if (strncmp(kind, "uint", 4) == 0 || strcmp(kind, "size_t") == 0) check(out, what, "(%s)-1 > (%s)0", type, type);
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: abi-check-gen MANIFEST OUT_DIR\n");
        return 2;
    }
    manifest_path = argv[1];
    json_object *root = json_object_from_file(manifest_path);
    if (!root) die("cannot read or parse: %s", json_util_get_last_err());
    if (int_member(root, "format_version") != 1) die("format_version is not 1");

    json_object *macros = array_member(root, "macros");
    json_object *handles = array_member(root, "handles");
    enums = array_member(root, "enums");
    json_object *structs = array_member(root, "structs");
    json_object *functions = array_member(root, "functions");
    const char *header = string_member(root, "header");

    FILE *c = open_output(argv[2], "abi_check.c");
    fprintf(c,
            "// Written by tools/header-gen/abi-check-gen from %s: checks that %s declares what it says.\n"
            "#include \"%s\"\n"
            "#include <stdio.h>\n"
            "#include <string.h>\n\n"
            "#if defined(__cplusplus)\n"
            "#  define CHECK(id, condition, what) static_assert(condition, what)\n"
            "#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L\n"
            "#  define CHECK(id, condition, what) _Static_assert(condition, what)\n"
            "#else\n"
            "#  define CHECK(id, condition, what) typedef char check_##id[(condition) ? 1 : -1]\n"
            "#endif\n\n",
            manifest_path, header, header);

    fprintf(c, "// Macros\n");
    for (size_t i = 0; i < json_object_array_length(macros); i++) {
        json_object *macro = json_object_array_get_idx(macros, i);
        const char *name = string_member(macro, "name");
        char what[256];
        snprintf(what, sizeof what, "%s == %lld", name, int_member(macro, "value"));
        check(c, what, "%s == %lld", name, int_member(macro, "value"));
    }

    fprintf(c, "\n// Handles (incomplete types: a pointer to each)\n");
    for (size_t i = 0; i < json_object_array_length(handles); i++) {
        const char *name = string_member(json_object_array_get_idx(handles, i), "name");
        check(c, name, "sizeof(%s *) == sizeof(void *)", name);
    }

    fprintf(c, "\n// Enums\n");
    for (size_t i = 0; i < json_object_array_length(enums); i++) {
        json_object *e = json_object_array_get_idx(enums, i);
        const char *name = string_member(e, "name");
        char what[512];
        snprintf(what, sizeof what, "sizeof(%s) == %lld", name, int_member(e, "size"));
        check(c, what, "sizeof(%s) == %lld", name, int_member(e, "size"));
        json_object *enumerators = array_member(e, "enumerators");
        for (size_t j = 0; j < json_object_array_length(enumerators); j++) {
            json_object *enumerator = json_object_array_get_idx(enumerators, j);
            const char *enumerator_name = string_member(enumerator, "name");
            long long value = int_member(enumerator, "value");
            snprintf(what, sizeof what, "%s == %lld", enumerator_name, value);
            // The enumerator is of the enum's type in C++: compare it as an int.
            check(c, what, "(long long)%s == %lldLL", enumerator_name, value);
        }
    }

    fprintf(c, "\n// Structs: size, alignment, field offsets and sizes\n");
    for (size_t i = 0; i < json_object_array_length(structs); i++) {
        json_object *s = json_object_array_get_idx(structs, i);
        const char *name = string_member(s, "name");
        char what[512];
        fprintf(c, "typedef struct { char first; %s aligned; } xlstm_alignment_of_%s;\n", name, name);
        snprintf(what, sizeof what, "sizeof(%s) == %lld", name, int_member(s, "size"));
        check(c, what, "sizeof(%s) == %lld", name, int_member(s, "size"));
        snprintf(what, sizeof what, "alignment of %s == %lld", name, int_member(s, "alignment"));
        check(c, what, "offsetof(xlstm_alignment_of_%s, aligned) == %lld", name, int_member(s, "alignment"));
        json_object *fields = array_member(s, "fields");
        for (size_t j = 0; j < json_object_array_length(fields); j++) {
            json_object *field = json_object_array_get_idx(fields, j);
            const char *field_name = string_member(field, "name");
            snprintf(what, sizeof what, "offsetof(%s, %s) == %lld", name, field_name, int_member(field, "offset"));
            check(c, what, "offsetof(%s, %s) == %lld", name, field_name, int_member(field, "offset"));
            snprintf(what, sizeof what, "sizeof %s.%s == %lld", name, field_name, int_member(field, "size"));
            check(c, what, "sizeof(((%s *)0)->%s) == %lld", name, field_name, int_member(field, "size"));
            snprintf(what, sizeof what, "%s.%s", name, field_name);
            check_ffi(c, field, what);
        }
    }

    fprintf(c, "\n// Struct field types: a pointer of the manifest's type to each field\n");
    for (size_t i = 0; i < json_object_array_length(structs); i++) {
        json_object *s = json_object_array_get_idx(structs, i);
        const char *name = string_member(s, "name");
        fprintf(c, "static int check_fields_%s(void) {\n    static %s value;\n    int ok = 1;\n", name, name);
        json_object *fields = array_member(s, "fields");
        for (size_t j = 0; j < json_object_array_length(fields); j++) {
            json_object *field = json_object_array_get_idx(fields, j);
            const char *field_name = string_member(field, "name");
            fprintf(c, "    { %s *field = &value.%s; ok &= (field != 0); }\n", string_member(field, "type"), field_name);
        }
        fprintf(c, "    return ok;\n}\n");
    }

    fprintf(c, "\n// Functions: the manifest's prototype must be the header's\n");
    size_t n_functions = json_object_array_length(functions);
    const char **names = (const char **)calloc(n_functions ? n_functions : 1, sizeof *names);
    for (size_t i = 0; i < n_functions; i++) {
        json_object *function = json_object_array_get_idx(functions, i);
        const char *name = string_member(function, "name");
        names[i] = name;
        char what[512];
        snprintf(what, sizeof what, "%s returns", name);
        check_ffi(c, member(function, "return"), what);
        json_object *parameters = array_member(function, "parameters");
        for (size_t j = 0; j < json_object_array_length(parameters); j++) {
            json_object *parameter = json_object_array_get_idx(parameters, j);
            snprintf(what, sizeof what, "%s(%s)", name, string_member(parameter, "name"));
            check_ffi(c, parameter, what);
        }
    }
    fprintf(c, "static int check_functions(void) {\n    int count = 0;\n");
    for (size_t i = 0; i < n_functions; i++) {
        json_object *function = json_object_array_get_idx(functions, i);
        const char *name = string_member(function, "name");
        fprintf(c, "    { %s (*function)(", string_member(member(function, "return"), "type"));
        json_object *parameters = array_member(function, "parameters");
        size_t n_parameters = json_object_array_length(parameters);
        if (n_parameters == 0) fprintf(c, "void");
        for (size_t j = 0; j < n_parameters; j++) {
            fprintf(c, "%s%s", j ? ", " : "", string_member(json_object_array_get_idx(parameters, j), "type"));
        }
        fprintf(c, ") = &%s; count += function != 0; }\n", name);
    }
    fprintf(c, "    return count;\n}\n\n");

    // Run-time checks of the version functions, when the API has them.
    int has_api_version = 0, has_version_string = 0, has_version_macros = 0, has_api_macro = 0;
    for (size_t i = 0; i < n_functions; i++) {
        if (strcmp(names[i], "xlstm_api_version") == 0) has_api_version = 1;
        if (strcmp(names[i], "xlstm_version_string") == 0) has_version_string = 1;
    }
    for (size_t i = 0; i < json_object_array_length(macros); i++) {
        const char *name = string_member(json_object_array_get_idx(macros, i), "name");
        if (strcmp(name, "XLSTM_API_VERSION") == 0) has_api_macro = 1;
        if (strcmp(name, "XLSTM_VERSION_PATCH") == 0) has_version_macros = 1;
    }

    fprintf(c, "int main(void) {\n    int failures = 0;\n");
    for (size_t i = 0; i < json_object_array_length(structs); i++) {
        fprintf(c, "    failures += !check_fields_%s();\n", string_member(json_object_array_get_idx(structs, i), "name"));
    }
    fprintf(c, "    if (check_functions() != %zu) { fprintf(stderr, \"abi_check: a function address is NULL\\n\"); failures++; }\n",
            n_functions);
    if (has_api_version && has_api_macro) {
        fprintf(c,
                "    if (xlstm_api_version() != XLSTM_API_VERSION) {\n"
                "        fprintf(stderr, \"abi_check: xlstm_api_version() = %%d, the header says %%d\\n\", (int)xlstm_api_version(), XLSTM_API_VERSION);\n"
                "        failures++;\n"
                "    }\n");
    }
    if (has_version_string && has_version_macros) {
        fprintf(c,
                "    {\n"
                "        char expected[64];\n"
                "        const char *actual = xlstm_version_string();\n"
                "        snprintf(expected, sizeof expected, \"%%d.%%d.%%d\", XLSTM_VERSION_MAJOR, XLSTM_VERSION_MINOR, XLSTM_VERSION_PATCH);\n"
                "        if (!actual || strcmp(actual, expected) != 0) {\n"
                "            fprintf(stderr, \"abi_check: xlstm_version_string() = \\\"%%s\\\", the header says %%s\\n\", actual ? actual : \"(null)\", expected);\n"
                "            failures++;\n"
                "        }\n"
                "    }\n");
    }
    fprintf(c, "    if (failures == 0) printf(\"abi_check: %zu functions, %zu structs, %zu enums, %zu macros: ok\\n\");\n",
            n_functions, json_object_array_length(structs), json_object_array_length(enums),
            json_object_array_length(macros));
    fprintf(c, "    return failures == 0 ? 0 : 1;\n}\n");
    fclose(c);

    FILE *list = open_output(argv[2], "functions.txt");
    qsort(names, n_functions, sizeof *names, compare_strings);
    for (size_t i = 0; i < n_functions; i++) fprintf(list, "%s\n", names[i]);
    fclose(list);
    free(names);

    // Swift: MemoryLayout of the same structs, raw values of the enums, values of the macros.
    FILE *swift = open_output(argv[2], "layout_check.swift");
    fprintf(swift,
            "// Written by tools/header-gen/abi-check-gen from %s: Swift's view of the C types.\n"
            "#if canImport(Glibc)\nimport Glibc\n#elseif canImport(Darwin)\nimport Darwin\n#endif\n\n"
            "var failures: [String] = []\n",
            manifest_path);
    for (size_t i = 0; i < json_object_array_length(macros); i++) {
        json_object *macro = json_object_array_get_idx(macros, i);
        const char *name = string_member(macro, "name");
        fprintf(swift, "if %s != %lld { failures.append(\"%s is \\(%s), the manifest says %lld\") }\n", name,
                int_member(macro, "value"), name, name, int_member(macro, "value"));
    }
    for (size_t i = 0; i < json_object_array_length(enums); i++) {
        json_object *e = json_object_array_get_idx(enums, i);
        const char *name = string_member(e, "name");
        json_object *enumerators = array_member(e, "enumerators");
        for (size_t j = 0; j < json_object_array_length(enumerators); j++) {
            json_object *enumerator = json_object_array_get_idx(enumerators, j);
            const char *enumerator_name = string_member(enumerator, "name");
            long long value = int_member(enumerator, "value");
            fprintf(swift, "if %s.%s.rawValue != %lld { failures.append(\"%s.%s.rawValue is \\(%s.%s.rawValue), the manifest says %lld\") }\n",
                    name, enumerator_name, value, name, enumerator_name, name, enumerator_name, value);
        }
    }
    for (size_t i = 0; i < json_object_array_length(structs); i++) {
        json_object *s = json_object_array_get_idx(structs, i);
        const char *name = string_member(s, "name");
        long long size = int_member(s, "size"), alignment = int_member(s, "alignment");
        fprintf(swift, "if MemoryLayout<%s>.size != %lld { failures.append(\"MemoryLayout<%s>.size is \\(MemoryLayout<%s>.size), C's is %lld\") }\n",
                name, size, name, name, size);
        fprintf(swift, "if MemoryLayout<%s>.stride != %lld { failures.append(\"MemoryLayout<%s>.stride is \\(MemoryLayout<%s>.stride), C's size is %lld\") }\n",
                name, size, name, name, size);
        fprintf(swift, "if MemoryLayout<%s>.alignment != %lld { failures.append(\"MemoryLayout<%s>.alignment is \\(MemoryLayout<%s>.alignment), C's is %lld\") }\n",
                name, alignment, name, name, alignment);
        json_object *fields = array_member(s, "fields");
        for (size_t j = 0; j < json_object_array_length(fields); j++) {
            json_object *field = json_object_array_get_idx(fields, j);
            const char *field_name = string_member(field, "name");
            long long offset = int_member(field, "offset");
            fprintf(swift, "if MemoryLayout<%s>.offset(of: \\%s.%s) != %lld { failures.append(\"offset of %s.%s is \\(String(describing: MemoryLayout<%s>.offset(of: \\%s.%s))), C's is %lld\") }\n",
                    name, name, field_name, offset, name, field_name, name, name, field_name, offset);
        }
    }
    fprintf(swift,
            "if failures.isEmpty {\n"
            "    print(\"layout_check: Swift agrees with the manifest on %zu structs, %zu enums, %zu macros\")\n"
            "} else {\n"
            "    for failure in failures { print(\"layout_check: \\(failure)\") }\n"
            "    exit(1)\n"
            "}\n",
            json_object_array_length(structs), json_object_array_length(enums), json_object_array_length(macros));
    fclose(swift);

    // The Swift files that declare the types, each once, in manifest order.
    FILE *files = open_output(argv[2], "swift_files.txt");
    json_object *groups[] = {macros, handles, enums, structs};
    const char *seen[256];
    size_t n_seen = 0;
    for (size_t g = 0; g < 4; g++) {
        for (size_t i = 0; i < json_object_array_length(groups[g]); i++) {
            const char *file = string_member(json_object_array_get_idx(groups[g], i), "file");
            int known = 0;
            for (size_t k = 0; k < n_seen; k++) known |= strcmp(seen[k], file) == 0;
            if (!known && n_seen < 256) {
                seen[n_seen++] = file;
                fprintf(files, "%s\n", file);
            }
        }
    }
    fclose(files);
    json_object_put(root);
    return 0;
}
