"""`token create --expires` (base.dates.parse_ahead): a span ahead of now or an ISO time; one clear
line for anything else."""

from __future__ import annotations

import datetime as dt

import pytest

from pml_policy.base.dates import parse_ahead
from pml_policy.base.errors import UsageError
from pml_policy.usecases.tokens import Token

NOW = dt.datetime(2026, 12, 5, 10, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("10s", NOW + dt.timedelta(seconds=10)),
        ("90d", NOW + dt.timedelta(days=90)),
        ("2w", NOW + dt.timedelta(weeks=2)),
        ("2027-03-01T00:00:00Z", dt.datetime(2027, 3, 1, tzinfo=dt.UTC)),
        ("2027-03-01", dt.datetime(2027, 3, 1, tzinfo=dt.UTC)),  # naive is UTC
        ("2027-03-01T02:00:00+02:00", dt.datetime(2027, 3, 1, tzinfo=dt.UTC)),
    ],
)
def test_an_expiry_is_a_span_ahead_or_a_time(text: str, when: dt.datetime):
    assert parse_ahead(text, "--expires", NOW) == when


@pytest.mark.parametrize(("text", "says"), [("soon", "neither a span ahead nor a time"), ("999999w", "year 9999")])
def test_anything_else_is_one_line(text: str, says: str):
    with pytest.raises(UsageError, match=says):
        parse_ahead(text, "--expires", NOW)


def test_a_token_expires_at_its_time_not_before():
    token = Token(name="t", sha256="0" * 64, roles=["read"], expires=NOW)
    assert not token.expired(NOW - dt.timedelta(seconds=1)) and token.expired(NOW)
    assert not Token(name="t", sha256="0" * 64, roles=["read"]).expired(NOW)  # no expiry: until revoked
