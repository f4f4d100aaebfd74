"""Names given as ``"module:name"`` strings, resolved when first needed.

A package's ``__getattr__`` (PEP 562) built by :func:`lazy_exports` imports each exported name
on first use, so ``import rewardkit`` and the command line's ``--help`` stay fast: torch,
transformers and numpy load only when a name that needs them is used. The command line names
each verb's config and function the same way (:mod:`rewardkit.cli`).

    __getattr__ = lazy_exports(__name__, "rewardkit.model.reward_model:RewardModel")
"""

from __future__ import annotations

import importlib
from typing import Any


def resolve(spec: str) -> Any:
    """The object a ``"module:name"`` string names."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def lazy_exports(package: str, specs: str):
    """A module ``__getattr__`` for the whitespace-separated ``"module:name"`` ``specs``."""
    homes = {spec.partition(":")[2]: spec for spec in specs.split()}

    def __getattr__(name: str):
        if name in homes:
            return resolve(homes[name])
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
