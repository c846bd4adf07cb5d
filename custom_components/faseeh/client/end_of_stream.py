"""When a synthesis on the TTS WebSocket is over: a pure policy, events in, decision out.

The socket code reports what happened (a trigger, the flush, audio, a final, a close) with the
time it happened, and asks for the deadline of the next timer and for the decision when it
expires. Nothing here sleeps or touches a socket, so every rule is tested from tables.

The live service's finals are not trustworthy (docs/protocol.md, end of stream): they may mark
batches inside a generation, repeat, come only at the end of the input, or not come at all. So
a final never ends the stream by itself; it only shortens the wait:

- a clean close after the whole text was sent is the end;
- after the flush, a final followed by ``final_grace`` of silence is the end once every triggered
  generation has seen a final (finals repeated without audio between them count once);
- after the flush, a final followed by ``idle`` of silence is the end even if fewer finals came
  (a server that sends one final for the whole input and keeps the socket open);
- after the flush, ``idle`` of silence that does not follow a final is a stall (an error: audio
  that stopped is never reported as complete);
- no audio within ``first_audio`` of the first trigger (or of connectionInitialized, if that
  came later) means the socket is silent;
- any close before the flush, or without a close frame, is a lost connection.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum


class Decision(enum.Enum):
    """What the socket code must do now."""

    CONTINUE = "continue"
    COMPLETE = "complete"
    NO_AUDIO = "no audio"
    STALLED = "stalled"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class Limits:
    """The waits of the policy, in seconds."""

    first_audio: float
    idle: float
    final_grace: float


@dataclass(slots=True)
class EndOfStream:
    """The end-of-stream rule for one synthesis; feed it events with their times."""

    limits: Limits
    generations: int = 0
    ended_generations: int = 0
    flushed: bool = False
    audio_started: bool = False
    _first_trigger: float | None = None
    _ready: float | None = None
    _flush_time: float = 0.0
    _last_message: float = 0.0
    _final_is_last: bool = False
    _audio_since_final: bool = False

    def triggered(self, now: float) -> None:
        """A text message that starts a generation was sent."""
        self.generations += 1
        if self._first_trigger is None:
            self._first_trigger = now

    def initialized(self, now: float) -> None:
        """connectionInitialized arrived (the text may have been sent before it)."""
        if self._ready is None:
            self._ready = now

    def flush_sent(self, now: float) -> None:
        """The whole text has been sent."""
        self.flushed = True
        self._flush_time = now

    def audio(self, now: float, *, has_pcm: bool, is_final: bool) -> None:
        """An audio frame arrived (with or without PCM, final or not)."""
        self._last_message = now
        if has_pcm:
            self.audio_started = True
            self._audio_since_final = True
        if is_final:
            if self._audio_since_final and self.audio_started:
                self.ended_generations += 1
            self._audio_since_final = False
        self._final_is_last = is_final or (self._final_is_last and not has_pcm)

    def other_message(self, now: float) -> None:
        """Any other message arrived (it proves the socket is alive)."""
        self._last_message = now

    def closed(self, *, clean: bool) -> Decision:
        """The socket closed; ``clean`` when a close frame with a normal code came.

        A close without its close frame is never the end, even right after a final: the
        connection may have been reset with audio still unread.
        """
        return Decision.COMPLETE if clean and self.flushed else Decision.LOST

    def _every_generation_ended(self) -> bool:
        return self._final_is_last and self.ended_generations >= self.generations

    def deadline(self) -> tuple[float, Decision] | None:
        """The time of the next timer and what its expiry decides (None: no timer runs)."""
        limits = self.limits
        candidates: list[tuple[float, Decision]] = []
        if not self.audio_started and self._first_trigger is not None and self._ready is not None:
            # The silence counts from the later of the first text and connectionInitialized.
            start = max(self._first_trigger, self._ready)
            candidates.append((start + limits.first_audio, Decision.NO_AUDIO))
        if self.flushed and self.audio_started:
            quiet_since = max(self._last_message, self._flush_time)
            if not self._final_is_last:
                candidates.append((quiet_since + limits.idle, Decision.STALLED))
            elif self._every_generation_ended():
                candidates.append((quiet_since + limits.final_grace, Decision.COMPLETE))
            else:
                candidates.append((quiet_since + limits.idle, Decision.COMPLETE))
        return min(candidates, key=lambda candidate: candidate[0], default=None)

    def expired(self, now: float) -> Decision:
        """The decision at ``now``: CONTINUE unless the current deadline has passed."""
        if (deadline := self.deadline()) is not None and deadline[0] <= now:
            return deadline[1]
        return Decision.CONTINUE
