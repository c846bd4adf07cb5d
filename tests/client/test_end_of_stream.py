"""The end-of-stream policy from tables: events with their times in, one decision out."""

from dataclasses import dataclass

import pytest

from custom_components.faseeh.client.end_of_stream import Decision, EndOfStream, Limits

LIMITS = Limits(first_audio=1.5, idle=10.0, final_grace=1.0)


@dataclass(frozen=True)
class Trigger:
    """A text message that starts a generation."""

    at: float


@dataclass(frozen=True)
class Flush:
    """The whole text was sent."""

    at: float


@dataclass(frozen=True)
class Audio:
    """An audio frame with PCM (final or not)."""

    at: float
    final: bool = False


@dataclass(frozen=True)
class Final:
    """An empty final chunk."""

    at: float


type Event = Trigger | Flush | Audio | Final


def policy_after(events: list[Event], *, initialized_at: float = 0.0) -> EndOfStream:
    """A policy fed with ``events`` in order, the socket initialised at ``initialized_at``."""
    policy = EndOfStream(LIMITS)
    policy.initialized(initialized_at)
    for event in events:
        match event:
            case Trigger(at=at):
                policy.triggered(at)
            case Flush(at=at):
                policy.flush_sent(at)
            case Audio(at=at, final=final):
                policy.audio(at, has_pcm=True, is_final=final)
            case Final(at=at):
                policy.audio(at, has_pcm=False, is_final=True)
    return policy


# Three generations of one message, each of the final styles the service might use.
BATCH = [*[Trigger(0)] * 3, Flush(0), Audio(1), Final(2), Audio(3), Final(4), Audio(5)]
INSIDE = [Trigger(0), Flush(0), Audio(1), Audio(2, final=True), Audio(3), Final(4)]
DUPLICATE = [Trigger(0), Trigger(0), Flush(0), Audio(1), Final(2), Final(2), Audio(3)]


@pytest.mark.parametrize(
    ("events", "now", "decision"),
    [
        # Nothing sent yet: no timer runs, whatever the time.
        ([], 100.0, Decision.CONTINUE),
        # No audio 1.5 s after the first trigger: the socket is silent.
        ([Trigger(0)], 1.4, Decision.CONTINUE),
        ([Trigger(0)], 1.5, Decision.NO_AUDIO),
        ([Trigger(0), Flush(0)], 1.5, Decision.NO_AUDIO),
        # Audio, and the text still arriving (a slow LLM): no timer, however long.
        ([Trigger(0), Audio(1)], 100.0, Decision.CONTINUE),
        ([Trigger(0), Audio(1), Final(2)], 100.0, Decision.CONTINUE),
        # Batch: each generation's final counts; the last one completes after the grace.
        ([*BATCH, Final(6)], 6.9, Decision.CONTINUE),
        ([*BATCH, Final(6)], 7.0, Decision.COMPLETE),
        # Batch, the last generation still to come: a final with fewer than all generations
        # ended waits idle, not the grace, so a pause between generations cannot cut.
        (BATCH[:6], 11.9, Decision.CONTINUE),
        (BATCH[:6], 12.0, Decision.COMPLETE),
        # Finals inside one generation, more audio after them: no cut after the inner final.
        (INSIDE[:4], 2.9, Decision.CONTINUE),
        (INSIDE, 4.9, Decision.CONTINUE),
        (INSIDE, 5.0, Decision.COMPLETE),
        # Duplicated finals count once: two finals for generation one do not end two.
        (DUPLICATE, 12.9, Decision.CONTINUE),
        (DUPLICATE, 13.0, Decision.STALLED),
        ([*DUPLICATE, Final(4), Final(4)], 5.0, Decision.COMPLETE),
        # A final only at the end of the input (two generations, one final): idle, not grace.
        ([Trigger(0), Trigger(0), Flush(0), Audio(1), Audio(2), Final(3)], 12.9, Decision.CONTINUE),
        ([Trigger(0), Trigger(0), Flush(0), Audio(1), Audio(2), Final(3)], 13.0, Decision.COMPLETE),
        # No finals at all: silence after the flush is a stall, never "complete".
        ([Trigger(0), Flush(0), Audio(1)], 10.9, Decision.CONTINUE),
        ([Trigger(0), Flush(0), Audio(1)], 11.0, Decision.STALLED),
        # Silence counts from the flush when the flush came after the last audio.
        ([Trigger(0), Audio(1), Final(2), Flush(5)], 5.9, Decision.CONTINUE),
        ([Trigger(0), Audio(1), Final(2), Flush(5)], 6.0, Decision.COMPLETE),
    ],
)
def test_decision_at_a_time(events: list[Event], now: float, decision: Decision) -> None:
    """The decision depends only on the events and the time."""
    assert policy_after(events).expired(now) is decision


@pytest.mark.parametrize(
    ("events", "clean", "decision"),
    [
        # A clean close after the whole text was sent is the end, in every style.
        ([Trigger(0), Flush(0), Audio(1)], True, Decision.COMPLETE),
        (INSIDE[:4], True, Decision.COMPLETE),
        ([Trigger(0), Flush(0)], True, Decision.COMPLETE),
        # Closed before the end of the text, or without a close frame: lost.
        ([Trigger(0), Audio(1)], True, Decision.LOST),
        ([Trigger(0), Flush(0), Audio(1)], False, Decision.LOST),
        (BATCH[:6], False, Decision.LOST),
        # Without a close frame even right after the last final: audio may be unread.
        ([*BATCH, Final(6)], False, Decision.LOST),
    ],
)
def test_decision_at_a_close(events: list[Event], clean: bool, decision: Decision) -> None:
    """A close decides at once."""
    assert policy_after(events).closed(clean=clean) is decision


def test_a_final_alone_never_ends_a_stream_without_its_grace() -> None:
    """However many finals came, the end is at least final_grace after the last message."""
    policy = policy_after([Trigger(0), Flush(0), Audio(1, final=True), Final(1), Final(1)])
    assert policy.expired(1.999) is Decision.CONTINUE
    assert policy.expired(2.0) is Decision.COMPLETE


def test_audio_after_a_final_rearms_the_stall_timer() -> None:
    """Audio after a final means the final was not the end: silence is a stall again."""
    policy = policy_after([Trigger(0), Flush(0), Audio(1), Final(2), Audio(3)])
    assert policy.deadline() == (13.0, Decision.STALLED)


def test_the_silence_window_starts_when_the_socket_is_initialised() -> None:
    """The text goes out before connectionInitialized; its wait only starts at the reply."""
    policy = policy_after([Trigger(0)], initialized_at=1.0)
    assert policy.expired(2.4) is Decision.CONTINUE
    assert policy.expired(2.5) is Decision.NO_AUDIO


def test_no_silence_is_judged_before_the_socket_is_initialised() -> None:
    """Before connectionInitialized the policy runs no timer (the init timeout is the socket's)."""
    policy = EndOfStream(LIMITS)
    policy.triggered(0.0)
    assert policy.deadline() is None
