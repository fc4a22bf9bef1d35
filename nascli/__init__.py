"""nascli: hardware-aware zero-shot neural architecture search from the command line."""

__version__ = "0.2.0"

__all__ = ["__version__"]
