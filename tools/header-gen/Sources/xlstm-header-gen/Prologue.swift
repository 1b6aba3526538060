// The comment at the top of include/xlstm.h. The generator checks that every xlstm_/XLSTM_ name it
// mentions is declared, so the example cannot silently rot when the API changes.

enum Prologue {
    static let text = """
        xlstm.h -- the C API of libxlstm, a CPU inference runtime for xLSTM language models.

        GENERATED FILE, do not edit: tools/header-gen writes it from the declarations in
        Sources/XLSTMCABI/*.swift. Change those and run `make header` (tools/header-gen/run.sh).
        include/xlstm.abi.json describes the same API for tools (types, enum values, struct layouts).

        Conventions
          Errors     Every fallible function returns an xlstm_status and passes results through
                     out-parameters. After a status other than XLSTM_OK, xlstm_last_error_message()
                     says what failed (per thread). The library never prints and never exits.
          Ownership  A handle made by xlstm_model_load or an xlstm_*_create function is released
                     with the matching xlstm_*_free, which ignores NULL. Output handles are set to
                     NULL on failure. Pointers the library returns belong to it; each function says
                     how long they stay valid.
          Threads    A model is immutable: any number of threads may use it at once. A session or a
                     sampler must be used by one thread at a time (it may move between threads).
          Types      Token ids are int32_t in [0, vocab_size); element and byte counts are size_t.
          Versions   Check xlstm_api_version() == XLSTM_API_VERSION at start-up.

        Example (error checks shortened):
            xlstm_model *model = NULL;
            xlstm_session *session = NULL;
            xlstm_sampler *sampler = NULL;
            if (xlstm_model_load("path/to/model", NULL, &model) != XLSTM_OK) {
                fprintf(stderr, "%s\\n", xlstm_last_error_message());
                return 1;
            }
            xlstm_session_create(model, &session);
            xlstm_sampler_create(NULL, &sampler);
            xlstm_session_feed_tokens(session, prompt, n_prompt, XLSTM_LOGITS_LAST);
            for (int i = 0; i < 64; i++) {
                int32_t token;
                xlstm_sampler_sample(sampler, session, &token);
                xlstm_session_feed_token(session, token);
            }
            xlstm_sampler_free(sampler);
            xlstm_session_free(session);
            xlstm_model_free(model);
        """
}
