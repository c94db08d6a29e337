from profiling.admin import inventory, measurements  # noqa: F401  (registers the ModelAdmins)
