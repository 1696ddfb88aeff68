"""Finds the connectors: every :class:`~listening.sources.base.Connector` subclass with a ``kind``,
defined in a module of this package.  Adding a source kind is one module here (plus, for a raw
quality gate, one GX suite in ``include/gx/expectations/``): nothing else lists the kinds.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

from listening.sources.base import Connector

_lock = threading.Lock()
_found: dict[str, type[Connector]] | None = None


def discover(package: str = "listening.sources") -> dict[str, type[Connector]]:
    """Import every module of ``package`` and collect its connectors by kind (in module order)."""
    pkg = importlib.import_module(package)
    found: dict[str, type[Connector]] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package}.{info.name}")
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, Connector) and obj.kind
                    and obj.__module__ == module.__name__):
                other = found.get(obj.kind)
                if other is not None and other is not obj:
                    raise TypeError(f"source kind {obj.kind!r} is declared twice: by {other.__module__}."
                                    f"{other.__name__} and by {obj.__module__}.{obj.__name__}")
                found[obj.kind] = obj
    return found


def connectors() -> dict[str, type[Connector]]:
    """kind -> connector class (discovered once per process; :func:`refresh` discovers again)."""
    global _found
    if _found is None:
        with _lock:
            if _found is None:
                _found = discover()
    return _found


def refresh() -> dict[str, type[Connector]]:
    global _found
    with _lock:
        _found = None
    return connectors()


def source_kinds() -> tuple[str, ...]:
    return tuple(connectors())


def connector_class(kind: str) -> type[Connector]:
    try:
        return connectors()[kind]
    except KeyError:
        raise ValueError(f"no connector for source kind {kind!r} (known: {sorted(connectors())})") from None
