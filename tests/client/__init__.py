"""Tests of the Faseeh protocol client (custom_components/faseeh/client)."""
