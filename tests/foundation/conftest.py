import pytest


@pytest.fixture
def seeded(db):
    from profiling.services import catalogue

    catalogue.seed()
    return catalogue
