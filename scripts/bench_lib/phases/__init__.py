"""The bench's phases, in the order they run: each module's ``measure(bench)``.

A phase reads and changes the shared ``Bench`` (its services, HA API and probe), and writes its
keys into ``bench.results`` (the table and the JSON's top level) and its notes into
``bench.details``. To add one: a module here with ``measure`` and one line below; for a goal in
the table, one entry in ``report.GOALS``.
"""

from collections.abc import Awaitable, Callable

from ..context import Bench
from . import concurrent, leaks, llm, overhead, soak, speech, throughput, voice, wan, warmup

type Phase = Callable[[Bench], Awaitable[None]]

PHASES: dict[str, Phase] = {
    "warmup": warmup.measure,
    "overhead": overhead.measure,
    "concurrent": concurrent.measure,
    "throughput": throughput.measure,
    "llm": llm.measure,
    "voice": voice.measure,
    "leaks": leaks.measure,
    "soak": soak.measure,
    "speech": speech.measure,
    # Last: it reconfigures the Faseeh entry (and reloads it, undoing the soak's timeouts).
    "wan": wan.measure,
}
# Every run starts with it: the first requests pay for imports and connection set-up.
ALWAYS = "warmup"
