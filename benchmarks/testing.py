"""gradlab.testing's module check beside torch.autograd.gradcheck, on LeNet-5 (61,706 parameters).

Both in float64, in one run: the time of a passing check, and over ``TRIALS`` injected bugs
(one entry of a custom sigmoid's backward scaled by 3, at a random place in the first
layer's output), how often each check catches the bug and whether it names the place:
gradlab reports the parameter tensor and the entry; gradcheck raises a GradcheckError
about "input k" of the flattened argument list.

Run: .venv/bin/python benchmarks/testing.py [TRIALS]
"""

from __future__ import annotations

import copy
import sys
import time

import torch
from torch import nn
from torch.func import functional_call

from gradlab.testing import check_module_gradients

TRIALS = int(sys.argv[1]) if len(sys.argv) > 1 else 10


class Sigmoid(torch.autograd.Function):
    """sigmoid with a hand-written backward; ``wrong`` (a flat index) makes one entry 3 times too big."""

    wrong: int | None = None

    @staticmethod
    def forward(ctx, x):
        s = torch.sigmoid(x)
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        gi = g * s * (1 - s)
        if Sigmoid.wrong is not None:
            gi.view(-1)[Sigmoid.wrong] *= 3
        return gi


class LeNet5(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        h = nn.functional.avg_pool2d(Sigmoid.apply(self.conv1(x)), 2)
        h = nn.functional.avg_pool2d(torch.sigmoid(self.conv2(h)), 2).flatten(1)
        return self.fc3(torch.sigmoid(self.fc2(torch.sigmoid(self.fc1(h)))))


def torch_gradcheck(model: nn.Module, x: torch.Tensor) -> tuple[bool, str]:
    m = copy.deepcopy(model).double()
    names = [n for n, _ in m.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in m.parameters())

    def f(*ps):
        return functional_call(m, dict(zip(names, ps)), (x.double(),))

    try:
        ok = torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-7, rtol=1e-5, fast_mode=True)
        return bool(ok), ""
    except Exception as e:  # noqa: BLE001 - GradcheckError carries the message we report
        return False, next((line for line in str(e).splitlines() if line.strip()), "")


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model, x = LeNet5(), torch.randn(2, 1, 28, 28)
    print(f"LeNet-5, {sum(p.numel() for p in model.parameters()):,} parameters, a batch of 2 images, float64")
    t = time.perf_counter()
    r = check_module_gradients(model, x)
    t_gradlab = time.perf_counter() - t
    t = time.perf_counter()
    ok_torch, _ = torch_gradcheck(model, x)
    t_torch = time.perf_counter() - t
    print(f"passing check: gradlab {t_gradlab:.2f} s ({r.evaluations} forward passes, ok={r.ok}), "
          f"torch.autograd.gradcheck(fast_mode=True) {t_torch:.2f} s (ok={ok_torch}); gradlab takes "
          f"{t_gradlab / t_torch:.1f} times as long")

    gen = torch.Generator().manual_seed(1)
    caught = {"gradlab": 0, "torch": 0}
    named = 0
    times = {"gradlab": 0.0, "torch": 0.0}
    message = ""
    for _ in range(TRIALS):
        Sigmoid.wrong = int(torch.randint(0, 2 * 6 * 28 * 28, (1,), generator=gen))
        t = time.perf_counter()
        r = check_module_gradients(model, x)
        times["gradlab"] += time.perf_counter() - t
        caught["gradlab"] += not r.ok
        if not r.ok and r.first_failure and r.first_failure.name.startswith("conv1") and r.first_failure.index:
            named += 1
        t = time.perf_counter()
        ok, why = torch_gradcheck(model, x)
        times["torch"] += time.perf_counter() - t
        caught["torch"] += not ok
        message = why or message
    Sigmoid.wrong = None
    print(f"{TRIALS} injected bugs (one entry of conv1's sigmoid backward x3):")
    print(f"  gradlab: caught {caught['gradlab']}/{TRIALS}, named a conv1 entry {named}/{TRIALS}, "
          f"{times['gradlab'] / TRIALS:.2f} s each")
    print(f"  torch.autograd.gradcheck(fast_mode=True): caught {caught['torch']}/{TRIALS}, "
          f"{times['torch'] / TRIALS:.2f} s each; its message: {message[:110]!r}")


if __name__ == "__main__":
    main()
