"""Admin for measurements, import batches and profiling runs."""
