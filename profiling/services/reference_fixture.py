"""Import the shipped Swing measurements (profiling/fixtures/) and fit them.

``seed_reference`` calls ``seed_measurements()`` after the catalogue, so a fresh
install has measured data in the explorer and a fitted, physically valid energy and
runtime model for each of the paper's seven LLMs, with no ../shared. Idempotent and
cheap on a second run: the importer refuses a file it has seen (content hash) and a
pair whose selected fits already cover its current rows is not refitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "wilkins2024_swing.csv.gz"
HARDWARE = "Swing AMD+A100"


@dataclass
class FixtureReport:
    imported_rows: int = 0
    fitted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"reference measurements: {self.imported_rows} rows imported ({FIXTURE.name})"]
        if self.fitted:
            out.append(f"reference fits: {len(self.fitted)} fitted ({', '.join(self.fitted)})")
        if self.skipped:
            out.append(f"reference fits: {len(self.skipped)} already current")
        out += [f"reference fit FAILED: {f}" for f in self.failed]
        return out


def _current(llm, hardware, target) -> bool:
    """Has the pair a selected fitted fit made from exactly its present usable rows?"""
    from profiling.choices import FitSource
    from profiling.models import EnergyModelFit, Measurement

    fit = EnergyModelFit.objects.filter(llm=llm, hardware=hardware, target=target, source=FitSource.FITTED,
                                        is_selected=True).first()
    if fit is None:
        return False
    rows = Measurement.objects.filter(llm=llm, hardware=hardware, is_warmup=False, is_estimated=False).count()
    return fit.n == rows


def seed_measurements(fit: bool = True) -> FixtureReport:
    from profiling.fitting import regression
    from profiling.models import LLM, Hardware
    from profiling.services import catalogue, fitting
    from profiling.services.measurement_import import ImportFailed, import_measurements

    report = FixtureReport()
    try:
        summary = import_measurements(FIXTURE, filename=f"{FIXTURE.name} (Wilkins et al. 2024, shipped)",
                                      enqueue_refits=False)
        report.imported_rows = summary.rows
    except ImportFailed as exc:
        if exc.duplicate_of is None:
            raise
    if not fit:
        return report
    hardware = Hardware.objects.get(name=HARDWARE)
    for spec in catalogue.LLMS:
        llm = LLM.objects.get(name=spec["name"])
        for target in ("energy", "runtime"):
            label = f"{llm.name} {target}"
            if _current(llm, hardware, target):
                report.skipped.append(label)
                continue
            try:
                out = fitting.fit_pair(llm, hardware, target)
            except regression.FitError as exc:
                report.failed.append(f"{label}: {exc}")
                continue
            (report.fitted if out["selected"] else report.failed).append(
                label if out["selected"] else f"{label}: no eligible form")
    return report
