"""Support code for scripts/bench.py: the services it measures against and the raw clients.

``services`` holds the simulator with per-connection faults, the Wyoming server, the two minimal
raw clients and the worker process they run in; ``bench_probe/`` is a bench-only Home Assistant
integration that scripts/bench.py links into its throwaway config directory.
"""
