"""nascli: hardware-aware zero-shot neural architecture search from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = ["__version__", "create_model"]

if TYPE_CHECKING:
    from nascli.api import create_model


def __getattr__(name: str) -> Any:
    """``nascli.create_model`` without importing torch when only the CLI is used."""
    if name == "create_model":
        from nascli.api import create_model

        return create_model
    raise AttributeError(f"module 'nascli' has no attribute {name!r}")
