"""The test suite. Its helper modules report failed asserts with their values, as conftest files do."""

import pytest

pytest.register_assert_rewrite("tests.helpers", "tests.routing.line", "tests.fault.harness")
