"""The example webhook bodies in `payloads/`, read as bytes or as dicts to vary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).parent / "payloads"


def raw(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def load(name: str) -> dict[str, Any]:
    return json.loads(raw(name))
