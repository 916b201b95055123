"""Runtime shims so that the fetched (torch>=2.x era) library sources import and
run forward passes on Debian bookworm's torch 1.13 (CPU).

Only forward (inference) behaviour matters for the fixtures; nothing here
changes any neuron arithmetic. Call `install()` BEFORE importing the libraries
(except `patch_norse_autograd`, called after importing norse).
"""
import torch


class _OpStub:
    """Stand-in for the object returned by torch.library.custom_op (torch>=2.4).
    SpikingJelly decorates its Triton/CUDA kernels with it at import time; on CPU
    those kernels are never called, but the decorator methods must exist."""

    def __init__(self, fn):
        self._fn = fn
        self.__name__ = getattr(fn, "__name__", "op")
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *a, **k):
        return self._fn(*a, **k)

    def register_fake(self, f=None, *a, **k):
        return f if f is not None else (lambda g: g)

    register_kernel = register_fake

    def register_autograd(self, *a, **k):
        return None

    def register_torch_dispatch(self, *a, **k):
        return lambda g: g


def _custom_op(name, fn=None, /, *, mutates_args=(), device_types=None, schema=None):
    def deco(f):
        return _OpStub(f)

    return deco(fn) if fn is not None else deco


def install():
    if not hasattr(torch.library, "custom_op"):
        torch.library.custom_op = _custom_op
    if not hasattr(torch.library, "register_fake"):
        torch.library.register_fake = lambda *a, **k: (lambda g: g)
    if not hasattr(torch.library, "register_autograd"):
        torch.library.register_autograd = lambda *a, **k: None
    if not hasattr(torch.library, "register_kernel"):
        torch.library.register_kernel = lambda *a, **k: (lambda g: g)


def patch_setup_context_function(cls):
    """torch>=2.0 autograd.Function style (forward without ctx + setup_context)
    is not understood by torch 1.13. Replace `cls.apply` by a plain call of the
    ctx-less forward (we only run inference, under torch.no_grad())."""
    fwd = cls.forward

    def apply(*args):
        return fwd(*args)

    cls.apply = staticmethod(apply)


def patch_norse_autograd():
    import norse.torch.functional.superspike as ss

    # SuperSpike.forward(x, alpha) == heaviside(x) == (x > 0)
    patch_setup_context_function(ss.SuperSpike)
