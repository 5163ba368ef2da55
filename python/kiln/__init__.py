"""Kiln's Python utilities: safetensors and .npy helpers used by the tests.

The ctypes binding of compiled models comes with the Python package issue.
"""
