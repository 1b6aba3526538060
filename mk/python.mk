# The Python side of the suite: the ctypes package in bindings/python and the examples in
# examples/python. Included by the top-level Makefile (which defines BUILD_DIR and `build`).
#
#   make python-test      pytest over bindings/python/tests twice: with numpy, then with
#                         `import numpy` failing (XLSTM_TEST_NO_NUMPY=1); the examples, the fixtures'
#                         logits and a `pip install` into a temporary venv are part of both runs.
#                         Ends with the two runs' pytest summaries; fails if either run failed.
#   make python-install   pip install ./bindings/python into the current environment (PIP_FLAGS=...)
#
# PYTHON defaults to python3. The tests load $(BUILD_DIR)/libxlstm.so through XLSTM_LIBRARY.

PYTHON        ?= python3
BUILD_DIR     ?= .build/release
PY_PACKAGE    := bindings/python
PY_TEST_FLAGS ?= --no-header -rs
PIP_FLAGS     ?=

.PHONY: python-deps python-test python-install

# pytest (numpy is optional and tested both ways; the suite needs nothing else).
python-deps:
	@$(PYTHON) -c 'import pytest' 2>/dev/null || { \
	  echo "== installing pytest"; $(PYTHON) -m pip install -q --disable-pip-version-check pytest; }

python-test: build python-deps
	@status=0; library=$(abspath $(BUILD_DIR))/libxlstm.so; cd $(PY_PACKAGE) || exit 1; \
	echo "== python: bindings/python and examples/python, with numpy"; \
	XLSTM_LIBRARY=$$library $(PYTHON) -m pytest $(PY_TEST_FLAGS) || status=1; \
	echo "== python: bindings/python and examples/python, without numpy (import numpy fails)"; \
	XLSTM_TEST_NO_NUMPY=1 XLSTM_LIBRARY=$$library $(PYTHON) -m pytest $(PY_TEST_FLAGS) || status=1; \
	exit $$status

python-install: build
	$(PYTHON) -m pip install $(PIP_FLAGS) ./$(PY_PACKAGE)
