"""``torch`` and ``torch.nn`` for the proxy modules, imported on first attribute use.

The registry reads every proxy module's spec (``nascli proxies list``, ``--help``, config
checks) and must not pay torch's import of a second or more for it. A proxy module binds
these two names instead of importing torch at the top (``if TYPE_CHECKING`` keeps the real
modules for type checkers); its functions use them unchanged, and the first attribute
access (``torch.zeros``, ``nn.Conv2d``) imports torch. Nothing at a module's top level may
touch them.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name`` and imports it when an attribute is first read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


torch = LazyModule("torch")
nn = LazyModule("torch.nn")
