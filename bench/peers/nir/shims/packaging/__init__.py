"""Stub of `packaging` (not installable offline). SpikingJelly only uses
packaging.version.parse(a) >= packaging.version.parse(b) to compare torch
versions (triton/cuda kernel gating, irrelevant on CPU)."""
