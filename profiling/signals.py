"""Fits made from deleted measurements are marked stale and never offered again.

A batch delete (page, API, admin or shell: they all go through the ORM collector,
which sends these signals for querysets too) removes rows a fit was made from. The
fit stays for the record, unselected and flagged, and a refit of the pair is queued
when rows remain, so the pair gets a fit of its present data.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from profiling.models import ImportBatch


@receiver(pre_delete, sender=ImportBatch)
def _remember_pairs(sender, instance, **kwargs):
    instance._fit_pairs = set(instance.measurements.order_by().values_list("llm_id", "hardware_id").distinct())


@receiver(post_delete, sender=ImportBatch)
def _mark_fits_stale(sender, instance, **kwargs):
    from profiling.services.refits import mark_stale

    mark_stale(getattr(instance, "_fit_pairs", set()))
