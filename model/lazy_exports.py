"""PEP 562 lazy re-exports: a package names its public objects, each module is imported on first use.

This keeps light modules (option dataclasses, choice lists) importable without torch or OpenCV while
`from package import Name` still works for everything the package exports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` for `package`, whose `exports` map public name -> defining module.

    A name is imported on first access and cached in the package's `namespace` (its `globals()`).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
