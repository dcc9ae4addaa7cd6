"""The API tests' key fixtures, for tests here that call the APIs."""

from tests.api.conftest import bearer, key_for, viewer  # noqa: F401
