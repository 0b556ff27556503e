"""The page at ``/`` as a user drives it: a job composed in the form growing live, cancelling, a bad
value as one readable line, an experiment's decision boundaries and its final cost by learning rate, a
shared URL, the overview's rows kept under the cursor; and (a seed run) the course's comparison with its
table."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import shoot
from tests.e2e.conftest import API_KEYS
from tests.e2e.helpers import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def fill(page: Page, fields: dict[str, str]) -> None:
    for name, value in fields.items():
        page.locator(f"#compose [name={name}]").fill(value)


def test_a_job_composed_in_the_form_grows_live_then_succeeds(page: Page, client: httpx.Client) -> None:
    fill(page, {"epochs": "20000", "record_every": "50", "learning_rate": "0.007"})
    page.select_option("#compose [name=optimizer]", "momentum")
    page.locator("#compose [name=beta]").fill("0.8")
    page.click("#submit")
    page.wait_for_url("**/#/jobs/*")
    job_id = page.url.rsplit("/", 1)[1]
    seen = page.wait_for_function(
        """() => {
            const n = Number(document.querySelector('#j-chart').dataset.points);
            const running = document.querySelector('#j-status .badge')?.textContent === 'running';
            return running && n > 0 ? n : false;
        }""",
        timeout=30_000,
    ).json_value()
    shoot(page, "job-live")
    page.wait_for_function(
        f"""() => Number(document.querySelector('#j-chart').dataset.points) > {seen}
            && document.querySelector('#j-status .badge').textContent === 'running'""",
        timeout=30_000,
    )  # the curve grew while the job was still training
    expect(page.locator("#j-status .badge")).to_have_text("succeeded", timeout=60_000)
    recorded = len(client.get(f"/jobs/{job_id}/costs", params={"limit": 10_000}).json()["points"])
    page.wait_for_function(
        f"Number(document.querySelector('#j-chart').dataset.points) === {recorded}", timeout=10_000
    )
    spec = client.get(f"/jobs/{job_id}").json()["spec"]
    assert spec["optimizer"] == {"name": "momentum", "learning_rate": 0.007, "beta": 0.8}
    expect(page.locator("#j-boundary canvas")).to_be_visible(timeout=10_000)
    shoot(page, "job-done")


def test_cancelling_from_the_page(page: Page) -> None:
    fill(page, {"epochs": "100000", "record_every": "100"})
    page.click("#submit")
    page.wait_for_url("**/#/jobs/*")
    expect(page.locator("#j-status .badge")).to_have_text("running", timeout=30_000)
    page.click("#j-cancel")
    expect(page.locator("#j-status .badge")).to_have_text("canceled", timeout=15_000)
    expect(page.locator("#j-cancel")).to_be_hidden()
    shoot(page, "job-canceled")


def test_cancelling_a_whole_experiment_from_the_page(page: Page) -> None:
    page.click("#compose .tabs label:has([value=sweep])")
    fill(page, {"epochs": "100000", "lr_from": "0.001", "lr_to": "0.01", "lr_n": "2"})
    page.click("#submit")
    page.wait_for_url("**/#/experiments/*")
    expect(page.locator("#x-table tbody tr")).to_have_count(2)
    page.click("#x-cancel")
    expect(page.locator("#x-status .badge")).to_have_text("canceled", timeout=15_000)
    expect(page.locator("#x-table tbody .badge")).to_have_text(["canceled", "canceled"])
    expect(page.locator("#x-cancel")).to_be_hidden()


def test_a_csv_uploaded_from_the_page_trains(page: Page, tmp_path) -> None:
    rows = [f"{x / 10},{(x % 7) / 3},{int(x % 7 > 3)}" for x in range(60)]
    csv = tmp_path / "mine.csv"
    csv.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    page.select_option("#compose [name=source]", "uploaded")
    page.set_input_files("#compose [name=csv]", str(csv))
    expect(page.locator("#compose [name=dataset_id] option:checked")).to_have_text(
        "mine.csv (60 examples × 2 features)"
    )
    fill(page, {"epochs": "200", "record_every": "10"})
    page.click("#submit")
    page.wait_for_url("**/#/jobs/*")
    expect(page.locator("#j-status .badge")).to_have_text("succeeded", timeout=60_000)
    expect(page.locator("#j-spec")).to_contain_text("dataset.id")
    expect(page.locator("#j-boundary canvas")).to_be_visible(timeout=10_000)


def test_a_server_with_api_keys_asks_for_one(browser, keyed_api_url: str, workers: list) -> None:
    context = browser.new_context(base_url=keyed_api_url)
    tab = context.new_page()
    try:
        tab.goto("/")
        expect(tab.locator("#ov-error")).to_contain_text("this server needs an API key")
        tab.fill("#api-key", API_KEYS[0])
        tab.locator("#api-key").dispatch_event("change")
        expect(tab.locator("#ov-error")).to_have_count(0)
        tab.locator("#compose [name=epochs]").fill("300")
        tab.click("#submit")
        tab.wait_for_url("**/#/jobs/*")
        expect(tab.locator("#j-status .badge")).to_have_text("succeeded", timeout=60_000)
        expect(tab.locator("#j-chart")).not_to_have_attribute("data-points", "0")  # its stream, with the key
        expect(tab.locator("#j-boundary canvas")).to_be_visible(timeout=10_000)
    finally:
        context.close()


def test_bad_values_are_one_readable_line_per_field(page: Page, client: httpx.Client) -> None:
    before = client.get("/jobs").json()["total"]
    page.locator("#compose [name=learning_rate]").fill("")
    page.click("#submit")
    expect(page.locator("#errors li")).to_have_text(["optimizer.learning_rate: enter a number"])
    fill(page, {"learning_rate": "-0.1", "beta2": "1.5"})
    page.click("#submit")
    lines = page.locator("#errors li")
    expect(lines).to_have_count(2)
    texts = lines.all_inner_texts()
    assert any(t.startswith("optimizer.learning_rate: ") and "greater than 0" in t for t in texts), texts
    assert any(t.startswith("optimizer.beta2: ") and "less than 1" in t for t in texts), texts
    assert not any("{" in t or "loc" in t for t in texts), "no JSON in the lines"
    expect(page.locator("#compose [name=learning_rate]")).to_have_class("invalid")
    shoot(page, "bad-values")
    assert client.get("/jobs").json()["total"] == before, "nothing was submitted"


def test_a_sweeps_decision_boundaries_appear_side_by_side(page: Page) -> None:
    page.click("#compose .tabs label:has([value=sweep])")
    fill(page, {"epochs": "300", "record_every": "10", "lr_from": "0.001", "lr_to": "0.1", "lr_n": "3"})
    expect(page.locator("#sweep-values")).to_have_text("α = 0.001, 0.01, 0.1")
    box, viewport = page.locator("#submit").bounding_box(), page.viewport_size
    assert box and viewport and box["y"] + box["height"] <= viewport["height"], "the button is in view"
    page.click("#submit")
    page.wait_for_url("**/#/experiments/*")
    expect(page.locator("#x-boundaries canvas")).to_have_count(3, timeout=60_000)
    expect(page.locator("#x-table tbody tr")).to_have_count(3)
    assert page.locator("#x-chart").get_attribute("data-series") == "3"
    labels = page.locator("#x-legend [data-legend]").all_inner_texts()
    assert labels == ["lr=0.001", "lr=0.01", "lr=0.1"], labels
    expect(page.locator("#x-chart")).to_have_attribute("data-scale", "linear")
    page.check("#x-log")
    expect(page.locator("#x-chart")).to_have_attribute("data-scale", "log")
    assert page.locator("#x-chart").get_attribute("data-series") == "3", "the curves are kept"
    figure = page.locator("#x-sweep")
    expect(figure).to_be_visible()
    expect(figure.locator("[data-title]")).to_have_text("Final cost by learning rate α")
    expect(figure.locator(".sweep-chart")).to_have_attribute("data-points", "3")
    page.select_option("#x-sweep-metric", "accuracy")
    expect(figure.locator("[data-title]")).to_have_text("Accuracy by learning rate α")
    expect(figure.locator(".sweep-chart canvas")).to_have_count(1)
    shoot(page, "sweep-boundaries")
    first = page.locator("#x-baseline option").nth(1)
    assert first.inner_text() == "lr=0.001"
    page.select_option("#x-baseline", first.get_attribute("value"))
    chart = page.locator("#x-chart")
    expect(chart).to_have_attribute("data-baseline", first.get_attribute("value") or "")
    expect(chart).to_have_attribute("data-scale", "linear")  # differences go below 0: log is off
    expect(page.locator("#x-log")).to_be_disabled()
    page.eval_on_selector(
        "#x-smooth", "el => { el.value = '0.9'; el.dispatchEvent(new Event('input', { bubbles: true })); }"
    )
    expect(chart).to_have_attribute("data-smoothing", "0.9")
    expect(chart).to_have_attribute("data-drawn", "6")  # each curve smoothed, its raw curve behind
    shoot(page, "sweep-difference")
    page.select_option("#x-baseline", "")
    expect(chart).to_have_attribute("data-scale", "log")


def test_a_shared_url_opens_its_experiment(page: Page, client: httpx.Client) -> None:
    created = client.post(
        "/experiments", json={"name": "shared", "base": {"epochs": 200, "record_every": 10}}
    ).json()
    page.goto(f"/#/experiments/{created['id']}")
    expect(page.locator("#x-name")).to_contain_text("shared")
    expect(page.locator("#x-table tbody tr")).to_have_count(3)
    expect(page.locator("#x-status .badge")).to_have_text("succeeded", timeout=60_000)
    page.wait_for_function("Number(document.querySelector('#x-chart').dataset.series) === 3")
    page.goto(f"/#/jobs/{created['members'][0]['job_id']}")
    expect(page.locator("#j-status .badge")).to_have_text("succeeded")
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon.headers["content-type"] == "image/x-icon"


def test_the_overview_keeps_rows_under_the_cursor_and_ticks_nothing_by_itself(
    page: Page, client: httpx.Client
) -> None:
    job_id = client.post("/jobs", json={"epochs": 300, "record_every": 10}).json()["id"]
    page.goto("/#/")
    row = page.locator(f"#ov-jobs tr[data-key='{job_id}']")
    expect(row).to_be_visible(timeout=10_000)
    assert page.locator("#ov-jobs input[type=checkbox]:checked").count() == 0, "nothing ticked on load"
    expect(page.locator("#ov-chart .empty")).to_have_text("tick jobs below to overlay their cost curves")
    handle = row.element_handle()
    row.locator("input[type=checkbox]").check()
    wait_for(lambda: client.get(f"/jobs/{job_id}").json()["status"] == "succeeded", 60, "the job")
    recorded = len(client.get(f"/jobs/{job_id}/costs").json()["points"])
    page.wait_for_function(
        f"Number(document.querySelector('#ov-chart').dataset.points) === {recorded}", timeout=10_000
    )
    refreshes = int(page.locator("#view").get_attribute("data-refreshes") or 0)
    page.wait_for_function(  # two more refreshes of the tables
        f"Number(document.querySelector('#view').dataset.refreshes) >= {refreshes + 2}", timeout=15_000
    )
    assert handle.evaluate("tr => tr.isConnected"), "the row the user ticked is the same element"
    assert row.locator("input[type=checkbox]").is_checked()
    other = client.post(
        "/jobs", json={"epochs": 300, "record_every": 10, "optimizer": {"name": "gd", "learning_rate": 0.05}}
    ).json()["id"]
    other_row = page.locator(f"#ov-jobs tr[data-key='{other}']")
    other_row.locator("input[type=checkbox]").check()
    expect(page.locator("#ov-legend > span:not(.same)")).to_have_text(
        [f"adam lr=0.0007 {job_id[:8]}", f"gd lr=0.05 {other[:8]}"]  # what differs, and the job
    )
    expect(page.locator("#ov-legend .same")).to_contain_text("all: moons · layers 5-2")
    page.wait_for_function("Number(document.querySelector('#ov-chart').dataset.series) === 2", timeout=30_000)
    shoot(page, "overview")
    other_row.locator("input[type=checkbox]").uncheck()
    row.locator("input[type=checkbox]").uncheck()
    expect(page.locator("#ov-chart .empty")).to_be_visible()
    assert page.locator("#ov-chart canvas").count() == 0, "no stale chart once nothing is ticked"


@pytest.mark.seed
@pytest.mark.timeout(900)
def test_the_courses_comparison_from_one_button(page: Page) -> None:
    page.click("#run-comparison")
    page.wait_for_url("**/#/experiments/*")
    expect(page.locator("#x-table tbody tr")).to_have_count(3)
    page.wait_for_function(
        """() => Number(document.querySelector('#x-chart').dataset.series) === 3
            && document.querySelector('#x-status .badge')?.textContent === 'running'""",
        timeout=120_000,
    )
    shoot(page, "comparison-live")
    expect(page.locator("#x-status .badge")).to_have_text("succeeded", timeout=840_000)
    rows = page.locator("#x-table tbody tr")
    table = {
        row.locator("td").nth(0).inner_text(): row.locator("td").nth(2).inner_text() for row in rows.all()
    }
    assert table == {"gd": "0.7967", "momentum": "0.7967", "adam": "0.9400"}, table
    page.wait_for_function("Number(document.querySelector('#x-chart').dataset.series) === 3")
    expect(page.locator("#x-boundaries canvas")).to_have_count(3, timeout=30_000)
    expect(page.locator("#x-sweep")).to_be_hidden()  # no hyperparameter is swept: three optimizers
    shoot(page, "comparison")
    page.click("#x-table th[data-sort=accuracy]")
    assert rows.first.locator("td").nth(0).inner_text() == "adam", "sorted by accuracy, best first"


def test_a_grid_of_optimizers_and_rates_is_one_line_per_optimizer(page: Page) -> None:
    """``js/sweep.js`` on the table of a grid of 2 optimizers × 3 learning rates: x is the learning rate,
    one line per optimizer, points in order of x, unfinished models left out; three optimizers at one
    learning rate sweep nothing. And ``js/chart.js``'s smoothing, debiased as TensorBoard's."""
    rows = [
        {"params": {"optimizer.name": name, "optimizer.learning_rate": lr}, "final_cost": cost}
        for name, lr, cost in [
            ("adam", 0.1, 0.3), ("adam", 0.001, 0.5), ("adam", 0.01, None),
            ("gd", 0.01, 0.6), ("gd", 0.001, 0.7), ("gd", 0.1, 0.4),
        ]
    ]  # fmt: skip
    course = [{"params": {"optimizer.name": name}, "final_cost": 0.1} for name in ("gd", "momentum", "adam")]
    page.goto("/")
    found = page.evaluate(
        """async ([rows, course]) => {
            const { sweptParameter, sweepLines } = await import("/assets/js/sweep.js");
            const x = sweptParameter(rows);
            const { smooth } = await import("/assets/js/chart.js");
            return {
                x, lines: sweepLines(rows, x, "final_cost"), course: sweptParameter(course),
                constant: smooth([1, null, 1, 1], 0.6), ramp: smooth([0, 1], 0.5),
            };
        }""",
        [rows, course],
    )
    assert found["x"] == "optimizer.learning_rate"
    assert found["lines"] == [
        {"label": "adam", "points": [[0.001, 0.5], [0.1, 0.3]]},
        {"label": "gd", "points": [[0.001, 0.7], [0.01, 0.6], [0.1, 0.4]]},
    ]
    assert found["course"] is None
    assert found["constant"] == [1, None, 1, 1], "debiased: a constant curve stays where it is"
    assert found["ramp"] == [0, pytest.approx(0.5 / 0.75)]


def test_a_jobs_spec_goes_back_in_the_form_to_train_again(page: Page, client: httpx.Client) -> None:
    """ "Edit as a new job" puts every field of a job's spec in the form (whatever the form held before):
    submitted unchanged, it makes a job of the same spec."""
    spec = {
        "dataset": {"name": "circles", "n_samples": 300, "noise": 0.1, "seed": 4},
        "layers": [4, 3],
        "mini_batch_size": "full",
        "epochs": 30,
        "record_every": 5,
        "seed": 2,
        "init_seed": 7,
        "validation_fraction": 0.2,
        "optimizer": {"name": "nesterov", "learning_rate": 0.05, "beta": 0.85},
        "decay": {"name": "inverse_time", "decay_rate": 0.5, "time_interval": 10},
    }
    first = client.post("/jobs", json=spec).json()
    page.goto(f"/#/jobs/{first['id']}")
    page.click("#compose .tabs label:has([value=sweep])")
    fill(page, {"epochs": "5", "layers": "9"})
    page.click("#j-edit")
    expect(page.locator("#compose [name=kind]:checked")).to_have_value("job")
    expect(page.locator("#compose [name=layers]")).to_have_value("4, 3")
    page.click("#submit")
    page.wait_for_function(f"location.hash.startsWith('#/jobs/') && !location.hash.endsWith('{first['id']}')")
    second = client.get(f"/jobs/{page.url.rsplit('/', 1)[1]}").json()
    assert second["spec"] == first["spec"]


def test_a_big_sweeps_boundaries_load_as_they_come_into_view(page: Page, client: httpx.Client) -> None:
    """Each member's boundary is fetched (as a thumbnail grid) only once it is on screen or nearly: a
    32-member sweep (8 rows of boundaries) does not fetch 32 trained models' boundaries up front (a member
    still training when the page looked may also have had its newest frame fetched, ``?epoch=``)."""
    rates = [round(0.001 * 1.2**i, 6) for i in range(32)]
    body = {"base": {"epochs": 20, "record_every": 5}, "grid": {"optimizer.learning_rate": rates}}
    experiment = client.post("/experiments", json=body).json()
    asked: list[str] = []
    done: list[str] = []
    trained = lambda url: "/boundary" in url and "epoch=" not in url  # noqa: E731
    page.on("request", lambda r: asked.append(r.url) if trained(r.url) else None)
    page.on("requestfinished", lambda r: done.append(r.url) if trained(r.url) else None)
    page.goto(f"/#/experiments/{experiment['id']}")
    expect(page.locator("#x-status .badge")).to_have_text("succeeded", timeout=120_000)
    canvases = page.locator("#x-boundaries canvas")
    page.locator("#x-boundaries figure").first.scroll_into_view_if_needed()
    expect(canvases.first).to_be_visible(timeout=30_000)
    wait_for(lambda: len(done) == canvases.count(), 30, "the boundaries fetched to be drawn")
    assert 0 < canvases.count() < 32 and len(asked) < 32, (canvases.count(), len(asked))
    assert all("grid=150" in url for url in asked)
    page.locator("#x-boundaries figure").last.scroll_into_view_if_needed()
    expect(canvases).to_have_count(32, timeout=30_000)
    assert len(asked) == 32, "each boundary fetched once"
