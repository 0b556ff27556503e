"""The page at ``/``: it and every asset it names are served from the package (no CDN, no other host),
public when API keys are on, with a favicon; its scripts are ES modules of ``/assets/js``."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from core.config import Settings
from service.main import create_app

STATIC = Path(__file__).parents[2] / "service" / "static"


def test_the_page_and_every_asset_it_names_come_from_the_package(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<title>descent</title>" in page.text
    assets = re.findall(r'(?:src|href)="(/[^"]*)"', page.text)
    assert "/assets/js/app.js" in assets and "/assets/vendor/uplot/uPlot.iife.min.js" in assets
    for path in assets:
        if path != "/docs":
            assert client.get(path).status_code == 200, path
    modules = sorted(STATIC.glob("js/*.js"))
    for module in modules:
        text = module.read_text()
        assert "http://" not in text and "https://" not in text, module.name
        for imported in re.findall(r'from "\./([\w.]+)"', text):
            assert (STATIC / "js" / imported).exists(), (module.name, imported)
        assert client.get(f"/assets/js/{module.name}").headers["content-type"].startswith("text/javascript")
    assert "http://" not in page.text and "https://" not in page.text
    assert (STATIC / "vendor" / "uplot" / "LICENSE").read_text().startswith("The MIT License")


def test_the_favicon_and_the_assets_are_public_when_keys_are_on(settings: Settings, redis_client) -> None:
    keyed = settings.model_copy(update={"api_keys": Settings(_env_file=None, API_KEYS="alice-key").api_keys})
    with TestClient(create_app(keyed)) as client:
        favicon = client.get("/favicon.ico")
        assert favicon.status_code == 200 and favicon.headers["content-type"] == "image/x-icon"
        assert favicon.content[:4] == b"\x00\x00\x01\x00", "an ICO file"
        assert client.get("/").status_code == 200
        assert client.get("/assets/style.css").status_code == 200
        assert client.get("/jobs").status_code == 401, "the API itself still asks for a key"
