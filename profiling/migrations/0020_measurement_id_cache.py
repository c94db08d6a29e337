"""Issue 18 (t3): the measurement id sequence hands out ids from a per-session cache of 1,000 on
PostgreSQL (docs/BENCHMARKS.md, "Issue 18 (t3)").

A COPY of a million rows called nextval() a million times, each locking the sequence's page and
logging it every 32 values (+0.3-0.4 s of server CPU); with the cache, once per 1,000 rows. Ids
stay unique and increasing within a session; a session that ends leaves its unused ids (gaps),
and sessions writing at once interleave blocks of 1,000 ids rather than single ids, so across
sessions an id no longer tells which row was stored first (coverage.share_after reads "pk <= the
run's last trial" as "stored before it": rows of the same pair stored by another session during
the run may fall on either side). Kept apart from 0019 so that it can be dropped on its own.
"""

from django.db import migrations

ID_CACHE = 1000


def _id_cache(size: int):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(apps.get_model("profiling", "Measurement")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET CACHE {size}")
    return apply


class Migration(migrations.Migration):

    dependencies = [
        ('profiling', '0019_measurement_pair_brin'),
    ]

    operations = [
        migrations.RunPython(_id_cache(ID_CACHE), _id_cache(1)),
    ]
