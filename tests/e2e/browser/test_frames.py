"""The decision boundary over training, as a user sees it: drawn live while the job trains, then scrubbed
and played back through the epochs the worker kept, on a job's page and for an experiment's members side
by side (one timeline for all)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

CANVAS_PIXELS = "(selector) => document.querySelector(selector).toDataURL()"


def test_a_jobs_boundary_forms_live_then_plays_back(page: Page, client: httpx.Client) -> None:
    job = client.post("/jobs", json={"epochs": 40_000, "record_every": 100}).json()
    page.goto(f"/#/jobs/{job['id']}")
    canvas = page.locator("#j-boundary canvas")
    expect(canvas).to_be_visible(timeout=30_000)
    expect(page.locator("#j-boundary figcaption")).to_contain_text("live", timeout=10_000)
    assert page.locator("#j-status .badge").inner_text() == "running", "drawn while it trains"
    shoot(page, "job-boundary-live")
    expect(page.locator("#j-status .badge")).to_have_text("succeeded", timeout=120_000)
    frames = client.get(f"/jobs/{job['id']}/boundary", params={"grid": 10}).json()["frames"]
    assert frames[0] == 1 and frames[-1] == 40_000, frames
    tools = page.locator("#j-frames .frames")
    expect(tools).to_have_attribute("data-frames", str(len(frames)), timeout=10_000)
    expect(canvas).to_have_attribute("data-epoch", "40000", timeout=10_000)
    trained = page.evaluate(CANVAS_PIXELS, "#j-boundary canvas")

    page.locator("#j-frames [data-frame]").fill("0")  # the first frame: epoch 1, barely trained
    expect(canvas).to_have_attribute("data-epoch", "1", timeout=10_000)
    expect(page.locator("#j-frames [data-epoch]")).to_have_text("epoch 1")
    assert page.evaluate(CANVAS_PIXELS, "#j-boundary canvas") != trained, "epoch 1 looks unlike the model"
    shoot(page, "job-boundary-epoch-1")

    page.click("#j-frames [data-play]")  # from the first frame through every one, to the trained model
    seen = page.wait_for_function(
        """() => {
            const at = document.querySelector('#j-boundary canvas').dataset.epoch;
            return at !== '1' && at !== '40000' ? at : false;
        }""",
        timeout=20_000,
    ).json_value()
    assert int(seen) in frames, seen
    expect(page.locator("#j-frames [data-epoch]")).to_have_text("latest", timeout=60_000)
    expect(canvas).to_have_attribute("data-epoch", "40000")
    expect(page.locator("#j-frames [data-play]")).to_have_text("▶ play")


def test_an_experiments_boundaries_share_one_timeline(page: Page, client: httpx.Client) -> None:
    body = {"base": {"epochs": 3000, "record_every": 30}}  # the course's §5: gd, momentum and Adam
    experiment = client.post("/experiments", json=body).json()
    page.goto(f"/#/experiments/{experiment['id']}")
    expect(page.locator("#x-status .badge")).to_have_text("succeeded", timeout=120_000)
    canvases = page.locator("#x-boundaries canvas")
    expect(canvases).to_have_count(3, timeout=30_000)
    member = experiment["members"][0]["job_id"]
    frames = client.get(f"/jobs/{member}/boundary", params={"grid": 10}).json()["frames"]
    expect(page.locator("#x-frames .frames")).to_have_attribute("data-frames", str(len(frames)))
    middle = len(frames) // 2
    page.locator("#x-frames [data-frame]").fill(str(middle))
    for i in range(3):
        expect(canvases.nth(i)).to_have_attribute("data-epoch", str(frames[middle]), timeout=10_000)
    captions = page.locator("#x-boundaries figcaption").all_inner_texts()
    assert all(f"epoch {frames[middle]}" in caption for caption in captions), captions
    shoot(page, "experiment-boundaries-mid-training")
    page.locator("#x-frames [data-frame]").fill(str(len(frames)))  # the rightmost: the trained models
    for i in range(3):
        expect(canvases.nth(i)).to_have_attribute("data-epoch", "3000", timeout=10_000)
    assert all("accuracy" in c for c in page.locator("#x-boundaries figcaption").all_inner_texts())
