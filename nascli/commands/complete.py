"""Shell completion of values (``nascli --install-completion`` enables it in a shell).

Each function lists the names a user may type for one option: spaces, proxies (and the
``a+b`` ensembles are left to the user), search algorithms, device profiles. They read the
same registries the commands use, so a user's own spaces and devices complete too.
"""

from __future__ import annotations


def _matching(names: list[str], incomplete: str) -> list[str]:
    return [name for name in names if name.startswith(incomplete)]


def spaces(incomplete: str) -> list[str]:
    from nascli.spaces import list_spaces

    return _matching(list_spaces(), incomplete)


def proxies(incomplete: str) -> list[str]:
    from nascli.proxies import list_proxies

    return _matching(sorted(list_proxies()), incomplete)


def algorithms(incomplete: str) -> list[str]:
    from nascli.config import ALGOS

    return _matching(list(ALGOS), incomplete)


def devices(incomplete: str) -> list[str]:
    from nascli.latency.devices import list_devices

    return _matching(list_devices(), incomplete)
