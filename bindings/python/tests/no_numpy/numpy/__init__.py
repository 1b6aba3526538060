# Put first on sys.path (and PYTHONPATH) by conftest.py when XLSTM_TEST_NO_NUMPY=1: `import numpy`
# then fails as it does where numpy is not installed, in the test process and the programs it starts.
raise ImportError("numpy is blocked for this test run (XLSTM_TEST_NO_NUMPY=1)")
