"""A real Home Assistant process beside the Faseeh simulator, for the demo, bench and e2e tests.

Never shipped to users. The parts, each in one place:

- ``hass``: ``HassProcess`` runs ``hass`` on a throwaway config dir (chosen components, custom
  components, language, an empty or the real frontend) and filters its log;
- ``api``: ``HassApi`` onboards, logs in, confirms the ``http`` settings and drives config,
  options and repair flows over HA's HTTP and websocket API;
- ``speech``: ``fetch_speech`` gets speech as a media player does, with its timings;
- ``audio``: the one audio verifier (WAV rules, the real ffmpeg, silence, duration);
- ``simulator_process``: the simulator in a process of its own, with any SimulatorConfig;
- ``wan``: ``DelayProxy``, a wide-area link's round-trip time on loopback;
- ``console`` and ``runner``: redacted progress lines and the one ``main`` skeleton.
"""
