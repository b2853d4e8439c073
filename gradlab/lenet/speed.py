"""What makes the trainer fast on a CPU: channels-last convolutions and torch.compile, with a clean fallback.

* :func:`channels_last` stores a model's 4-d weights as N x H x W x C, the layout oneDNN's
  convolutions are fastest in on a CPU (1.2 to 1.3x a step of LeNet). Only the layout changes:
  the numbers are the same, and ``state_dict`` still loads into a plain model.
* :func:`compiled` wraps a model in ``torch.compile`` (inductor: pooling, activations and the loss's
  pieces fused into a few C++ loops), when a C++ compiler is there and the run is long enough to pay
  for compiling (``compile=None``, *auto*: at least :data:`AUTO_COMPILE_STEPS` steps), or when asked
  (``compile=True``). Compiled code is cached under ``~/.cache/gradlab/inductor`` (or
  ``$GRADLAB_CACHE/inductor``; ``$TORCHINDUCTOR_CACHE_DIR`` wins): the first compile of a model takes
  20 to 40 s on 2 cores, later ones 2 to 10 s. One compiled function serves every model of a process:
  the model is its argument, so the next run of the same architecture and batch size (``--runs 3``, a
  sweep's points, the benchmark's rounds) reuses the compiled code instead of compiling again. When
  compiling fails, :class:`Forward` says so in one line and goes on with the plain model.

>>> from gradlab.lenet.models import build_model
>>> fwd = compiled(channels_last(build_model("lenet")), False, steps=10)
>>> fwd.compiled
False
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

__all__ = ["AUTO_COMPILE_STEPS", "channels_last", "compiled", "compiler_missing", "Forward", "inductor_cache",
           "shared_compiled"]

#: ``compile=None`` (auto) compiles runs of at least this many training steps: a first compile costs
#: 20 to 40 s on 2 cores (2 to 10 s from the cache) and saves 5 to 15 % of every step after it
AUTO_COMPILE_STEPS = 1000


def channels_last(model: nn.Module) -> nn.Module:
    """``model`` with its 4-d (convolution) weights in the channels-last layout, in place; others as they are.

    >>> from gradlab.lenet.models import build_model
    >>> channels_last(build_model("lenet"))[0].weight.is_contiguous(memory_format=torch.channels_last)
    True
    """
    if any(p.dim() == 4 for p in model.parameters()):
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model


def inductor_cache() -> Path:
    """Where compiled kernels are kept between runs (``$TORCHINDUCTOR_CACHE_DIR`` when it is set)."""
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR"):
        return Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])
    base = os.environ.get("GRADLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "gradlab")
    return Path(base) / "inductor"


def compiler_missing(device: torch.device) -> str | None:
    """Why torch.compile cannot work here (no C++ compiler for a CPU run), or ``None`` when it can."""
    if device.type != "cpu":
        return None
    try:
        from torch._inductor import config

        cxx = config.cpp.cxx[0] if isinstance(config.cpp.cxx, tuple) else config.cpp.cxx
    except Exception:  # pragma: no cover - an inductor without this setting
        cxx = None
    names = [c for c in (os.environ.get("CXX"), cxx, "g++", "clang++") if c]
    if any(shutil.which(c) for c in names):
        return None
    return "no C++ compiler (g++ or clang++) on the PATH"


class Forward:
    """The model's forward pass for training: compiled or plain. The first compiled step that fails switches
    to the plain model for good, with one line to ``log``."""

    def __init__(self, model: nn.Module, fn: Callable[..., Any], compiled: bool,
                 log: Callable[[str], None] | None = None):
        self.model, self.fn, self.compiled, self.log = model, fn, compiled, log

    def __call__(self, x: torch.Tensor) -> Any:
        return self.fn(x)

    def fall_back(self, error: BaseException) -> None:
        """Go on with the plain model after ``error`` (raised by a compiled forward or backward pass)."""
        self.fn, self.compiled = self.model, False
        if self.log:
            first = (str(error).strip().splitlines() or [""])[0][:200]
            self.log(f"torch.compile failed ({type(error).__name__}: {first}); training without it")


def _call(model: nn.Module, x: torch.Tensor) -> Any:
    return model(x)


#: the process's compiled forward pass, made on first use (see :func:`shared_compiled`)
_SHARED: list[Callable[..., Any]] = []
#: compiled variants kept per process (architectures x batch shapes; dynamo's default is 8)
RECOMPILE_LIMIT = 64


def shared_compiled() -> Callable[[nn.Module, torch.Tensor], Any]:
    """``torch.compile`` of ``model(x)`` with the model as an argument, made once per process: a new model
    of an architecture and batch shape seen before runs the code compiled for the first, no compiling again.

    >>> shared_compiled() is shared_compiled()     # doctest: +SKIP
    True
    """
    if not _SHARED:
        import torch._dynamo.config as dynamo_config

        for name in ("recompile_limit", "cache_size_limit"):  # the name changed in torch 2.7
            if isinstance(getattr(dynamo_config, name, None), int):
                setattr(dynamo_config, name, max(getattr(dynamo_config, name), RECOMPILE_LIMIT))
                break
        _SHARED.append(torch.compile(_call, dynamic=False))
    return _SHARED[0]


def compiled(model: nn.Module, compile: bool | None, *, steps: int, device: torch.device | None = None,
             log: Callable[[str], None] | None = None) -> Forward:
    """A :class:`Forward` for ``model``: compiled when ``compile`` is True, or None (auto) and the run has at
    least :data:`AUTO_COMPILE_STEPS` ``steps``; plain otherwise or when there is no compiler (one line to
    ``log`` when it was asked for)."""
    want = compile if compile is not None else steps >= AUTO_COMPILE_STEPS
    if not want:
        return Forward(model, model, False, log)
    dev = device or next(model.parameters()).device
    why = compiler_missing(dev)
    if why is None and not hasattr(torch, "compile"):  # pragma: no cover - torch < 2
        why = f"this torch ({torch.__version__}) has no torch.compile"
    if why is not None:
        if log and compile:
            log(f"--compile: {why}; training without it")
        return Forward(model, model, False, log)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(inductor_cache()))
    try:
        shared = shared_compiled()
    except Exception as e:  # an unsupported Python or platform
        f = Forward(model, model, False, log)
        f.fall_back(e)
        return f
    return Forward(model, lambda x: shared(model, x), True, log)
