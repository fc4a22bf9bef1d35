"""What a proxy is, without running it: the spec each proxy module declares.

Every proxy module defines ``SPECS``, a tuple of ``ProxySpec`` (one per proxy it holds),
and binds ``torch``/``nn`` through ``nascli.proxies.lazy_torch`` (imported on first use),
so the registry reads every spec without loading torch (``nascli proxies list`` and
``--help`` stay fast). A proxy
class names its spec once (``class ZiCo(SpecProxy, spec=SPEC)``) and takes its name,
needs and cost from it; ``get_proxy`` fills the options' defaults from the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Option:
    """A proxy option: its type, default and one line of help."""

    type: type
    default: Any
    help: str


@dataclass(frozen=True)
class ProxySpec:
    """Everything known about a proxy without importing torch.

    ``needs_data``: the score depends on the contents of the input batches (real images are
    recommended); ``needs_labels``: it uses the labels (a loss). ``aliases``: other names
    the literature uses for it (lower case, as in published tables). ``layer_terms``: the
    score is a sum of per-layer terms the proxy can report (``--algo surrogate`` learns
    from them).
    """

    name: str
    class_name: str  # the class in the declaring module
    needs_data: bool
    needs_labels: bool
    cost: str
    description: str
    options: dict[str, Option] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    layer_terms: bool = False


class SpecProxy:
    """Base of the proxy classes: ``name``, ``needs_data``, ``needs_labels`` and ``cost``
    come from the class's spec (an instance may refine ``cost``, e.g. with its batch count)."""

    spec: ClassVar[ProxySpec]
    name: ClassVar[str]
    needs_data: ClassVar[bool]
    needs_labels: ClassVar[bool]
    cost: str

    def __init_subclass__(cls, spec: ProxySpec | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if spec is not None:
            cls.spec = spec
            cls.name = spec.name
            cls.needs_data = spec.needs_data
            cls.needs_labels = spec.needs_labels
            cls.cost = spec.cost


def residual_option(default: bool) -> Option:
    """The ``residual`` option shared by the proxies that can score without shortcuts."""
    return Option(bool, default, "score the macro network with residual links (NB201 ignores this)")


INPUT_OPTION = Option(
    str, "gaussian", "'gaussian' (N(0,1) shaped like the data, as released) or 'data'"
)
