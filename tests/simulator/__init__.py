"""Tests of the Faseeh simulator, spoken to over raw HTTP and WebSocket."""
