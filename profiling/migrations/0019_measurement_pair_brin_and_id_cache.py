"""Issue 18 (t3): the measurement import's server cost (docs/BENCHMARKS.md, "Issue 18 (t3)").

- The (hardware, llm, is_warmup) b-tree becomes a BRIN index on (hardware, llm) on PostgreSQL (a
  b-tree of (hardware, llm) elsewhere): the b-tree cost 1.1-1.3 s of server CPU per million
  COPYed rows, the BRIN index 0.1-0.4 s.
- The id sequence hands out ids from a per-session cache of 1,000 on PostgreSQL: a COPY of a
  million rows called nextval() a million times, each locking the sequence's page and logging it
  every 32 values (+0.3-0.4 s of server CPU); with the cache, once per 1,000 rows. Ids stay unique
  and increasing within a session; a session that ends returns no unused ids (gaps), and two
  sessions writing at once interleave blocks of 1,000 ids rather than single ids.
"""

from django.db import migrations

import profiling.models.indexes

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
        ('profiling', '0018_measurement_indexes_for_import'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='measurement',
            name='measurement_hw_llm_warmup',
        ),
        migrations.AddIndex(
            model_name='measurement',
            index=profiling.models.indexes.BrinOnPostgresIndex(fields=['hardware', 'llm'], name='measurement_hw_llm_brin'),
        ),
        migrations.RunPython(_id_cache(ID_CACHE), _id_cache(1)),
    ]
