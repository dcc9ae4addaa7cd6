"""jq programs run in a child process with a time and a memory bound; a runaway one ends as the rule's
error and the next program runs as usual (issue #13)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from apps.scorecards.language import EntityFacts, RuleRuntimeError, compile_expression, jq_sandbox


@pytest.fixture
def tight_limits():
    saved = jq_sandbox.LIMITS
    jq_sandbox.LIMITS = jq_sandbox.Limits(timeout_seconds=1.0, memory_bytes=256 << 20)
    yield jq_sandbox.LIMITS
    jq_sandbox.LIMITS = saved


def evaluate(source: str, **custom):
    return compile_expression(source).evaluate(EntityFacts(tag="svc", custom=custom))


def test_jq_answers_as_before():
    assert evaluate('jq(custom("x"), ".a")', x={"a": 3}) == 3
    assert evaluate('jq(custom("x"), ".[]")', x=[1, 2]) == [1, 2]
    assert evaluate('jq(custom("x"), "empty")', x=1) is None


def test_a_date_time_reaches_jq_as_iso_8601():
    when = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert (
        compile_expression('jq(now(), ".")').evaluate(EntityFacts(tag="svc", now=when)) == "2026-05-01T12:00:00+00:00"
    )


def test_a_program_that_never_ends_is_stopped_and_the_next_one_runs(tight_limits):
    with pytest.raises(RuleRuntimeError, match=r"jq: the program ran longer than 1 s and was stopped"):
        evaluate('jq(custom("x"), "last(range(1e12))")', x=1)
    assert evaluate('jq(custom("x"), ". + 1")', x=1) == 2


def test_a_program_that_takes_all_the_memory_is_stopped_and_the_next_one_runs(tight_limits):
    with pytest.raises(RuleRuntimeError, match=r"jq: the program used more than 256 MB of memory and was stopped"):
        evaluate('jq(custom("x"), "\\"x\\" * 1000000000")', x=1)
    assert evaluate('jq(custom("x"), ". * 2")', x=4) == 8
    # The issue's own example grows its array step by step: whichever bound it meets first stops it.
    with pytest.raises(RuleRuntimeError, match=r"jq: the program (used more than 256 MB|ran longer than 1 s)"):
        evaluate('jq(custom("x"), "[range(1e9)] | length")', x=1)
    assert evaluate('jq(custom("x"), ". * 3")', x=4) == 12


def test_a_forked_process_starts_its_own_child():
    assert evaluate('jq(custom("x"), ".")', x=1) == 1
    parent_child = jq_sandbox._child.process.pid
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the forked test process
        try:
            ok = evaluate('jq(custom("x"), ".")', x=5) == 5 and jq_sandbox._child.process.pid != parent_child
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert jq_sandbox._child.process.pid == parent_child


def test_a_huge_result_is_refused(tight_limits):
    tight_limits.timeout_seconds = 30  # building 20 MB of JSON takes a second or more on a busy machine
    with pytest.raises(RuleRuntimeError, match=r"jq: the result is larger than 16 MB"):
        evaluate('jq(custom("x"), "\\"x\\" * 20000000")', x=1)
