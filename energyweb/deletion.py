"""Deleting a row that history refers to: say what holds it, cheaply, before Django's collector does.

LLMs and hardware are referred to with ``on_delete=PROTECT`` by measurements, profiling runs,
fits, deployments and executions (history: a cascade once erased 65 measurements and turned a
finished execution back to pending). Django's collector would load every protected row to list
it (a million measurements for one admin confirmation page); ``holders`` counts them instead, one
indexed query per relation, so the API (409), the admin and the pages give the same short message.
"""

from __future__ import annotations

from django.db import models


def holders(instance) -> list[tuple[str, int]]:
    """(verbose plural name, count) of every PROTECT relation that still refers to ``instance``."""
    held = []
    # include_hidden: a relation with related_name="+" (an execution's parts) protects all the same.
    for rel in instance._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete) or getattr(rel, "on_delete", None) is not models.PROTECT:
            continue
        count = rel.related_model._base_manager.filter(**{rel.field.name: instance.pk}).count()
        if count:
            meta = rel.related_model._meta
            held.append((str(meta.verbose_name if count == 1 else meta.verbose_name_plural), count))
    return held


def protected_message(instance) -> str | None:
    """A sentence naming what keeps ``instance``, or None when nothing does."""
    held = holders(instance)
    if not held:
        return None
    what = ", ".join(f"{n} {name}" for name, n in held)
    return (f"{instance._meta.verbose_name.capitalize()} {instance} cannot be deleted: {what} refer to it "
            "and would lose their history. Delete those first.")


def protected_objects_message(exc: models.ProtectedError) -> str:
    """The message for a ProtectedError raised anywhere else (a delete that skipped ``holders``)."""
    names = sorted({str(o._meta.verbose_name_plural) for o in list(exc.protected_objects)[:100]})
    return f"Cannot be deleted: {', '.join(names) or 'other rows'} refer to it and would lose their history."
