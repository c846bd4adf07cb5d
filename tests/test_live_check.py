"""./scripts/live-check, run against the simulator in every final style, and its replay."""

from dataclasses import asdict
import json
from pathlib import Path

import pytest

from scripts.bench_lib.speech_path import simulator_in_thread
from scripts.live_check import CHARACTERS, main, run_battery
from simulator import DEFAULT_API_KEY, FINAL_STYLES, FaseehSimulator, Fault, SimulatorConfig
from simulator.profile import config_from_report

QUICK = {"quiet": 0.2, "limit": 1.0}


@pytest.mark.parametrize("close_after_final", [False, True])
@pytest.mark.parametrize("final_style", FINAL_STYLES)
async def test_the_battery_names_every_final_style_and_the_replay_matches(
    faseeh_sim: FaseehSimulator, tmp_path: Path, final_style: str, close_after_final: bool
) -> None:
    """The report says how finals came and whether the server closed; the profile replays it."""
    faseeh_sim.config.final_style = final_style  # type: ignore[assignment]
    faseeh_sim.config.close_after_final = close_after_final
    report = await run_battery(faseeh_sim.url, DEFAULT_API_KEY, **QUICK)
    assert report.socket_sends_audio
    assert report.final_style == final_style
    assert report.server_closes_after_final == close_after_final
    assert report.error_shape == "code"
    assert report.ws_sample_rate_honoured
    assert report.http_sample_rate_honoured
    assert report.http_status == 200
    path = tmp_path / "live-report.json"
    path.write_text(json.dumps(asdict(report)))
    assert DEFAULT_API_KEY not in path.read_text()
    replay = config_from_report(path)
    assert (replay.final_style, replay.close_after_final) == (final_style, close_after_final)
    assert replay.fault is None


@pytest.mark.parametrize(("close_after_final", "answer"), [(False, "audio"), (True, "closed")])
async def test_the_battery_says_whether_a_finished_socket_speaks_a_second_text(
    faseeh_sim: FaseehSimulator, close_after_final: bool, answer: str
) -> None:
    """Whether a socket could be used again after its final is asked, not assumed."""
    faseeh_sim.config.close_after_final = close_after_final
    report = await run_battery(faseeh_sim.url, DEFAULT_API_KEY, **QUICK)
    assert report.second_text_after_final == answer


async def test_how_long_an_unused_socket_stays_open_is_reported_and_replayed(
    faseeh_sim: FaseehSimulator, tmp_path: Path
) -> None:
    """A server that idles out sockets never initialised: the replay closes them as soon."""
    report = await run_battery(faseeh_sim.url, DEFAULT_API_KEY, **QUICK)
    assert report.idle_socket_closed_after_s is None
    faseeh_sim.config.idle_timeout = 0.3
    report = await run_battery(faseeh_sim.url, DEFAULT_API_KEY, **QUICK)
    closed_after = report.idle_socket_closed_after_s
    assert closed_after is not None
    assert 0.3 <= closed_after < QUICK["limit"]
    path = tmp_path / "live-report.json"
    path.write_text(json.dumps(asdict(report)))
    assert config_from_report(path).idle_timeout == closed_after


async def test_a_silent_socket_is_reported_and_replayed_as_silent(
    faseeh_sim: FaseehSimulator, tmp_path: Path
) -> None:
    """No audio on the socket: the report says so and the replay is the silent fault."""
    faseeh_sim.config.fault = Fault.SILENT
    report = await run_battery(faseeh_sim.url, DEFAULT_API_KEY, **QUICK)
    assert not report.socket_sends_audio
    assert report.http_first_audio_s is not None
    assert report.notes
    path = tmp_path / "live-report.json"
    path.write_text(json.dumps(asdict(report)))
    assert config_from_report(path).fault is Fault.SILENT


async def test_the_error_shape_of_an_unknown_voice_is_reported(faseeh_sim: FaseehSimulator) -> None:
    """The message-only error shape is told apart from errorCode/errorMessage."""
    faseeh_sim.config.error_shape = "message"
    report = await run_battery(faseeh_sim.url, DEFAULT_API_KEY, **QUICK)
    assert report.error_shape == "message"
    assert report.unknown_voice_ws == {
        "type": "error",
        "message": "Voice not found: live-check-no-such-voice",
    }


def test_the_command_asks_first_and_sends_nothing_without_a_yes(
    socket_enabled: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """It states the characters it will spend; answering no sends nothing."""
    monkeypatch.setenv("FASEEH_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    with simulator_in_thread(SimulatorConfig()) as sim:
        status = main(["--url", sim.url, "--report", str(tmp_path / "r.json")])
        assert not sim.ws_sessions
        assert not sim.http_requests
    assert status == 1
    assert f"{CHARACTERS} characters" in capsys.readouterr().out
    assert not (tmp_path / "r.json").exists()


def test_the_command_with_yes_writes_the_report_without_the_key(
    socket_enabled: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """--yes runs the battery, prints a summary and writes live-report.json without the key."""
    monkeypatch.setenv("FASEEH_API_KEY", DEFAULT_API_KEY)
    path = tmp_path / "live-report.json"
    with simulator_in_thread(SimulatorConfig()) as sim:
        assert main(["--yes", "--url", sim.url, "--report", str(path)]) == 0
    output = capsys.readouterr().out
    assert "Socket sends audio: yes" in output
    assert DEFAULT_API_KEY not in output
    assert DEFAULT_API_KEY not in path.read_text()
    assert json.loads(path.read_text())["final_style"] == "batch"


async def test_the_battery_says_whether_the_host_serves_speech_to_text(
    faseeh_sim: FaseehSimulator,
) -> None:
    """/listen answered with Metadata is served; a refused upgrade names its status."""
    report = await run_battery(faseeh_sim.url, DEFAULT_API_KEY, **QUICK)
    assert report.stt_listen == "metadata"
    assert report.stt_listen_events[0] == "Metadata"
    [session] = faseeh_sim.stt_sessions
    assert session.audio_bytes == b""
    faseeh_sim.config.fault = Fault.STT_INVALID_KEY_HANDSHAKE
    report = await run_battery(faseeh_sim.url, DEFAULT_API_KEY, **QUICK)
    assert report.stt_listen == "http 401"
