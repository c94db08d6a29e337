"""The layers hold (README "Layers"): the import-linter contracts in pyproject.toml are kept.

Kernel (energyweb.jobs, tabular, validation, permissions ...) imports no app; the pure packages
(profiling.fitting, profiling.meters, scheduling.planner, scheduling.routing ...) import no Django;
profiling imports nothing of scheduling; no package has an import cycle among its modules. The
check is static (grimp reads every import, those inside functions too) and takes ~2 s.
"""

from __future__ import annotations

import tomllib

from importlinter.cli import lint_imports

from tests.conftest import ROOT


def test_import_contracts_are_kept(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 broken" in out and "4 kept" in out, out


def test_every_contract_names_modules_that_exist():
    """A renamed module must not quietly drop out of a contract."""
    import importlib.util

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    for contract in config["contracts"]:
        for name in [*contract.get("source_modules", ()), *contract.get("ancestors", ())]:
            assert importlib.util.find_spec(name) is not None, (contract["name"], name)


def test_one_url_rule_for_pages_in_both_apps():
    """A page ends in "/"; a file (status.json, assignment.csv, shares.<fmt>) ends in its extension."""
    from profiling.urls import urlpatterns as profiling_urls
    from scheduling.urls import urlpatterns as scheduling_urls

    for pattern in [*profiling_urls, *scheduling_urls]:
        route = str(pattern.pattern)
        last = route.rstrip("/").rsplit("/", 1)[-1]
        if "." in last:
            assert not route.endswith("/"), route
        else:
            assert route.endswith("/"), route
