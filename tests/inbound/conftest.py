"""The store on both engines, on a manual clock (the store tests' fixtures)."""

from tests.store.conftest import clock, store

__all__ = ["clock", "store"]
