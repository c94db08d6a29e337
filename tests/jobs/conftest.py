from tests.scheduling.conftest import reference  # noqa: F401  (the published Swing deployments)
