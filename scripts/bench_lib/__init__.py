"""The bench's parts; ``python -m scripts.bench`` runs them.

``context`` holds what every phase shares (services, a real hass via harness/, the probe);
``phases/`` holds one module per phase and their registry; ``services`` the simulator-side
Wyoming server and the raw clients with their worker process; ``verdicts`` how a synthesis is
judged; ``texts``, ``stats`` and ``report`` the rest. ``bench_probe/`` is a bench-only Home
Assistant integration that the bench links into its throwaway config directory.
"""
