import pytest
from flask.testing import FlaskClient
from shop import create_app


@pytest.fixture
def client() -> FlaskClient:
    return create_app().test_client()
