"""Imports run one way: ``pipelines`` -> ``crawler`` -> ``archiving``."""

import ast

import pytest

from tests.helpers import ROOT


def imported_packages(package: str) -> dict[str, set[str]]:
    """Top-level packages each module of ``package`` imports (at any depth of the module)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(("package", "forbidden"), [
    ("archiving", {"crawler", "pipelines"}),
    ("crawler", {"pipelines"}),
])
def test_package_does_not_import_the_layers_above_it(package, forbidden):
    offenders = {module: names & forbidden for module, names in imported_packages(package).items() if names & forbidden}
    assert offenders == {}

