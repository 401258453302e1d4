"""Reading Envoy's admin stats: counters, gauges and histograms in the format Envoy prints."""

from __future__ import annotations

import json
from pathlib import Path

from wasmkit.envoy.admin import stats_values

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "envoy_stats"


def test_histograms_count_their_samples_from_the_detailed_totals() -> None:
    # Envoy 1.40's /stats?format=json&histogram_buckets=detailed after metrics.wat's second
    # case: samples 7, 7 and 10^10 (past the last default bucket, still counted in totals).
    data = json.loads((FIXTURES / "histograms-1.40.json").read_text())
    assert stats_values(data) == {
        "wasmcustom.inflight_limit": 9,
        "wasmcustom.requests": 2,
        "wasmcustom.sizes": 3,
        "wasmcustom.unused": 0,
    }
