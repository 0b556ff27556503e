"""docs/grafana-dashboard.json queries only metrics that GET /metrics serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def test_every_metric_the_dashboard_queries_is_served(client: TestClient) -> None:
    client.get("/healthz")  # one request, so the per-route metrics have a sample
    families = list(text_string_to_metric_families(client.get("/metrics").text))
    served = {sample.name for family in families for sample in family.samples}
    served |= {f"{family.name}_total" for family in families if family.type == "counter"}  # none counted yet
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queried = {name for expr in expressions for name in re.findall(r"\bdescent_[a-z_]+", expr)}
    assert len(queried) >= 10
    assert queried <= served, f"not served: {sorted(queried - served)}"
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
