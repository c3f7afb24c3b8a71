"""The layering the architecture promises (ARCHITECTURE.md, "Three seams"), checked on the source.

The domain (``chargers``, ``transactions`` and the functional blocks' apps) imports neither a transport
(``mqtt_bridge``, ``gateway``) nor a protocol package (``protocols``); the protocol packages import no
transport. Every import counts: at module level or inside a function (where a cycle likes to hide),
``from . import`` resolved against the package, and ``importlib.import_module("...")`` /
``__import__("...")`` with a string literal. Tests are not checked: they drive the whole stack through the
transport on purpose.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRANSPORTS = ("mqtt_bridge", "gateway")
PROTOCOLS = ("protocols",)


def _modules(package: str) -> Iterator[Path]:
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "migrations" in parts or parts[-1] in ("conftest.py",) or parts[-1].startswith("test_"):
            continue
        yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, name: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path`` (the module ``name``), wherever it sits."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            # ``from pkg import module`` imports pkg.module too.
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}" if module else alias.name
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def _forbidden(package: str, banned: tuple[str, ...]) -> list[str]:
    found: dict[tuple[str, int], str] = {}
    for path in _modules(package):
        for line, module in imports(path):
            if module.split(".")[0] in banned:
                found.setdefault((str(path.relative_to(ROOT)), line), module)
    return [f"{path}:{line} imports {module}" for (path, line), module in sorted(found.items())]


#: The domain: the fleet and its sessions, and every functional block's app (protocols.blocks: a block's
#: protocol side is in protocols/, its domain side in its app, which knows no version and no transport).
DOMAIN = (
    "chargers",
    "transactions",
    "certificates",
    "maintenance",
    "alerts",
    "monitoring",
    "smartcharging",
    "displays",
    "privacy",
    "tariffs",
    "eventstreams",
)


@pytest.mark.parametrize("package", DOMAIN)
def test_the_domain_imports_neither_transport_nor_protocol(package: str) -> None:
    assert _forbidden(package, TRANSPORTS + PROTOCOLS) == []


def test_the_protocol_packages_import_no_transport() -> None:
    assert _forbidden("protocols", TRANSPORTS) == []


def test_the_check_sees_function_level_relative_and_string_imports(tmp_path: Path) -> None:
    """The walker itself: an import hidden in a function, a relative one and an import_module literal."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import importlib\n"
        "def f():\n"
        "    from mqtt_bridge.processing import frame_handle\n"
        "    importlib.import_module('gateway.services')\n"
        "    __import__('protocols.v16')\n"
        "    from .. import models\n",
        encoding="utf-8",
    )
    found = {module for _, module in imports(probe, "chargers.sub.probe")}
    assert {"mqtt_bridge.processing", "gateway.services", "protocols.v16", "chargers.models"} <= found
