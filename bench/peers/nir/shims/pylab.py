"""Stub of `pylab` (matplotlib is not installed). sinabs/network.py imports it
at module level but only uses it for plotting helpers we never call."""


def __getattr__(name):
    raise ImportError(f"pylab stub: '{name}' is not available (matplotlib not installed)")
