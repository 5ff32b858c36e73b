"""The CRM reader's pacing within HubSpot's rate limits: sliding windows of requests, booked
moment by moment (pure logic, no clock: each call says when it is asked)."""

import pytest

from demo_company.crm_server import CrmServer
from orchestration.lib.sources.crm import CrmReadError, HubSpot, RateLimit


def test_requests_within_the_limit_go_at_once_and_the_next_waits_for_the_oldest_to_leave():
    limit = RateLimit(requests_per_10_seconds=3, searches_per_second=0)
    assert [limit.reserve(now) for now in (0.0, 1.0, 2.0)] == [0.0, 0.0, 0.0]
    # a fourth in the window starting at 0 waits until 10; a fifth until 11 (the one sent at 1)
    assert limit.reserve(3.0) == pytest.approx(7.0)
    assert limit.reserve(4.0) == pytest.approx(7.0)
    # long after, the window holds 2, 10 and 11: the request goes at once
    assert limit.reserve(30.0) == 0.0


def test_searches_are_also_held_to_their_own_limit_a_second_and_other_requests_are_not():
    limit = RateLimit(requests_per_10_seconds=100, searches_per_second=2)
    assert limit.reserve(0.0, search=True) == 0.0
    assert limit.reserve(0.1, search=True) == 0.0
    assert limit.reserve(0.2, search=True) == pytest.approx(0.8)  # at 1.0
    assert limit.reserve(0.3) == pytest.approx(0.7)  # not before the search booked at 1.0
    # the searches window holds 0.1 and 1.0: the next search one second after 0.1
    assert limit.reserve(1.05, search=True) == pytest.approx(0.05)
    assert limit.reserve(3.0, search=True) == 0.0


def test_a_limit_of_zero_paces_nothing():
    limit = RateLimit(requests_per_10_seconds=0, searches_per_second=0)
    assert {limit.reserve(0.0, search=True) for _ in range(1000)} == {0.0}


def test_every_ten_second_window_of_the_booked_moments_holds_no_more_than_the_limit():
    limit = RateLimit(requests_per_10_seconds=5, searches_per_second=0)
    booked = [now + limit.reserve(now) for now in [0.5 * n for n in range(40)]]
    assert booked == sorted(booked)
    for start in booked:
        assert sum(start <= moment < start + 10 for moment in booked) <= 5


def test_a_request_the_rate_limit_would_hold_past_the_deadline_is_not_sent(small_demo):
    with CrmServer(small_demo.crm_db) as server:
        api = HubSpot(server.url, None, run_deadline=5, rate_limit=RateLimit(1, 0))
        api.call("GET", "/crm/v3/pipelines/deals")
        held = r"the rate limit allows it in \d+\.\d s, past the run's deadline"
        with pytest.raises(CrmReadError, match=held):
            api.call("GET", "/crm/v3/pipelines/tickets")
        assert server.requests == 1
