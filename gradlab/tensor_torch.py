"""Torch autograd for every graph: :mod:`gradlab.torch_backend` (re-exported here under its former name)."""

from .torch_backend import TorchGradients, torch_forward, torch_gradients

__all__ = ["TorchGradients", "torch_forward", "torch_gradients"]
