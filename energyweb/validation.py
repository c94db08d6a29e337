"""Rules for values arriving from outside (forms, API, imports, commands), in one place.

Each check returns a message (or None) rather than raising, so a CSV importer can
collect one error per row and column while ``Model.clean()`` turns the same messages
into a field-keyed ``ValidationError``. Bounds come from the database column types
(an integer past them would otherwise reach the database and fail there as a 500)
and from physics (plausibility ceilings, configurable in settings).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from django.conf import settings

# PostgreSQL "integer" (Django's IntegerField / PositiveIntegerField) and "bigint".
DB_INT_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# Names and slugs are at most 120 characters in the models; a longer string cannot
# match a row, so it is refused before it reaches a lookup or an index.
MAX_NAME_LENGTH = 200
# Deeper JSON than this is no legitimate request of this API (the deepest body,
# an LLM's architecture config, nests about four levels).
MAX_JSON_DEPTH = 32


class FieldError(ValueError):
    """Bad input to a service, naming the field it belongs to, so that forms, the API and
    commands can all report it against that field (one class for every service's errors)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def whole_field(value, field: str, lo: int, hi: int, *, default: int | None = None,
                error: type[FieldError] = FieldError) -> int:
    """A service parameter that must be a whole number in [lo, hi] (``"5"`` and ``5.0`` are accepted,
    ``true`` and ``5.5`` are not); empty means ``default`` when there is one."""
    if value in (None, "") and default is not None:
        return default
    if isinstance(value, bool):
        raise error(f"{field} must be a whole number.", field)
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise error(f"{field} must be a whole number.", field) from exc
    if not math.isfinite(number) or number != int(number) or not lo <= number <= hi:
        raise error(f"{field} must be a whole number from {lo} to {hi}.", field)
    return int(number)


def number_field(value, field: str, lo: float, hi: float, *, default: float | None = None,
                 error: type[FieldError] = FieldError) -> float:
    """A service parameter that must be a finite number in [lo, hi]; empty means ``default``."""
    if value in (None, "") and default is not None:
        return default
    if isinstance(value, bool):
        raise error(f"{field} must be a number.", field)
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise error(f"{field} must be a number.", field) from exc
    if not math.isfinite(number) or not lo <= number <= hi:
        raise error(f"{field} must be a number from {lo} to {hi}.", field)
    return number


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def boolean_field(value, field: str, *, default: bool, error: type[FieldError] = FieldError) -> bool:
    """A yes/no parameter: JSON true/false, 1/0, or the words true/false, yes/no, on/off, 1/0 in any
    case; absent (None or "") means ``default``. Anything else is an error naming the field, never a
    guess: ``bool("false")`` is True, which is how ``sweep: "false"`` ran a sweep."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise error(f"{field} must be true or false.", field)


def max_context() -> int:
    return int(settings.MAX_CONTEXT_TOKENS)


def max_energy_j() -> float:
    return float(settings.MAX_MEASURED_ENERGY_J)


def max_runtime_s() -> float:
    return float(settings.MAX_MEASURED_RUNTIME_S)


def is_number(value) -> bool:
    """A real number, not a bool (JSON ``true`` is no token count or time limit)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole_problem(value, *, minimum: int = 0, maximum: int = DB_INT_MAX) -> str | None:
    if value is None:
        return "Missing value."
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{value!r} is not a whole number."
    if value < minimum:
        return f"{value} is {'negative' if value < 0 else 'too small'}: must be at least {minimum}."
    if value > maximum:
        return f"{value} is too large: at most {maximum}."
    return None


def positive_finite_problem(value, *, ceiling: float, unit: str, allow_zero: bool = False) -> str | None:
    if value is None:
        return "Missing value."
    if not is_number(value) or not math.isfinite(value):
        return f"{value!r} is not a finite number."
    if value < 0 or (value == 0 and not allow_zero):
        return f"{value:g} {unit} must be {'at least' if allow_zero else 'above'} zero."
    if value > ceiling:
        return (f"{value:g} {unit} is implausibly large: at most {ceiling:g} {unit} "
                "(ENERGYWEB_MAX_MEASURED_ENERGY_J / ENERGYWEB_MAX_MEASURED_RUNTIME_S).")
    return None


class MeasurementRules:
    """The rules for one measurement, with the configured limits read once.

    ``problems`` gives a message per field; ``accepts`` is the same bounds as one boolean
    expression, for the importer's per-row fast path (a million rows cannot afford building
    messages for valid rows); a row it refuses is then explained by ``problems``.
    """

    def __init__(self):
        self.max_context = max_context()
        self.max_energy = max_energy_j()
        self.max_runtime = max_runtime_s()

    def accepts(self, tin, tout, batch, iteration, runtime, gpu, cpu, dram) -> bool:
        """Parsed importer values (ints from int(), floats from float()): NaN fails every comparison.
        Spelled out without loops: it runs once per imported row."""
        top = self.max_energy
        return (1 <= tin <= self.max_context and 1 <= tout and tin + tout <= self.max_context
                and 1 <= batch <= DB_INT_MAX and 0 <= iteration <= DB_INT_MAX
                and 0 < runtime <= self.max_runtime
                and (gpu is None or 0 <= gpu <= top) and (cpu is None or 0 <= cpu <= top)
                and (dram is None or 0 <= dram <= top))

    def accepts_columns(self, tin, tout, batch, iteration, runtime, energies) -> bool:
        """``accepts`` for whole numpy columns at once (the importer's vectorised path): int64
        token/batch/iteration columns, float64 runtime, and float64 energy columns in which NaN
        means not measured. Each token count is bounded on its own too, so the sum cannot wrap."""
        import numpy as np

        top, limit = self.max_energy, self.max_context
        ok = ((tin >= 1) & (tin <= limit) & (tout >= 1) & (tout <= limit) & (tin + tout <= limit)
              & (batch >= 1) & (batch <= DB_INT_MAX) & (iteration >= 0) & (iteration <= DB_INT_MAX)
              & (runtime > 0) & (runtime <= self.max_runtime))
        for column in energies:
            ok &= np.isnan(column) | ((column >= 0) & (column <= top))
        return bool(ok.all())

    def problems(self, values: Mapping) -> dict[str, str]:
        """Field -> message. ``values`` holds input_tokens, output_tokens, batch_size, iteration,
        runtime_s and the energy components (None: not measured); absent fields are not checked."""
        errors: dict[str, str] = {}
        limit = self.max_context
        for name in ("input_tokens", "output_tokens"):
            if name in values:
                problem = whole_problem(values[name], minimum=1, maximum=limit)
                if problem:
                    errors[name] = (problem.rstrip(".") + " (ENERGYWEB_MAX_CONTEXT_TOKENS)."
                                    if "too large" in problem else problem)
        tin, tout = values.get("input_tokens"), values.get("output_tokens")
        if not errors.keys() & {"input_tokens", "output_tokens"} and tin and tout and tin + tout > limit:
            errors["output_tokens"] = (f"{tin} + {tout} tokens exceed the maximum context of {limit} "
                                       "(ENERGYWEB_MAX_CONTEXT_TOKENS).")
        if "batch_size" in values:
            problem = whole_problem(values["batch_size"], minimum=1)
            if problem:
                errors["batch_size"] = problem
        if "iteration" in values:
            problem = whole_problem(values["iteration"], minimum=0)
            if problem:
                errors["iteration"] = problem
        if "runtime_s" in values:
            problem = positive_finite_problem(values["runtime_s"], ceiling=self.max_runtime, unit="s")
            if problem:
                errors["runtime_s"] = problem
        # Energy components by their unit suffix: the kernel imports no app, so it does not hold the
        # component list (profiling.meters.base.COMPONENTS); a component is any "<name>_energy_j".
        for name in [k for k in values if k.endswith("_energy_j") and k != "total_energy_j"]:
            if values.get(name) is not None:
                problem = positive_finite_problem(values[name], ceiling=self.max_energy, unit="J",
                                                  allow_zero=True)
                if problem:
                    errors[name] = problem
        return errors


def measurement_problems(values: Mapping) -> dict[str, str]:
    """Field -> message for one measurement; ``Measurement.clean()`` and the importer share it."""
    return MeasurementRules().problems(values)


_JSON_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text nests containers deeper than ``limit``, checked before parsing.

    Strings are cut out (they may hold brackets), every other byte but brackets is deleted,
    then each pass removes the innermost empty pairs: after ``limit`` passes anything left is
    deeper. All of it runs in C: 100,000 [tin, tout] pairs take a few tens of milliseconds,
    where walking the parsed lists in Python took five times as long as parsing them.
    Unbalanced brackets return False: the parser then reports the malformed JSON.
    """
    brackets = _JSON_STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not removed:
            return False
    return bool(brackets)
