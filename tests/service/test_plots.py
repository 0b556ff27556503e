"""``/plots/costs`` and the browser page at ``/``."""

from core.spec import TrainingSpec


def job_with_points(store, optimizer: str, points: list[tuple[int, float]]) -> str:
    record = store.create_job(TrainingSpec.model_validate({"optimizer": {"name": optimizer}, "epochs": 300}))
    store.append_costs(record.id, points, epoch=points[-1][0])
    return record.id


def test_costs_of_several_jobs_on_one_svg(client, store):
    adam = job_with_points(store, "adam", [(1, 0.69), (101, 0.41), (201, 0.22)])
    gd = job_with_points(store, "gd", [(1, 0.69), (101, 0.6)])
    response = client.get("/plots/costs", params={"job": [adam, gd]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in response.content
    assert f"adam · {adam[:8]}".encode() in response.content
    assert f"gd · {gd[:8]}".encode() in response.content


def test_png_on_a_log_scale(client, store):
    job = job_with_points(store, "momentum", [(1, 0.7), (11, 0.5)])
    response = client.get("/plots/costs", params={"job": job, "format": "png", "log": True})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_unknown_job_is_a_404_and_no_job_a_422(client, store):
    known = job_with_points(store, "adam", [(1, 0.7)])
    missing = client.get("/plots/costs", params={"job": [known, "0" * 32]})
    assert missing.status_code == 404
    assert "0" * 32 in missing.json()["detail"]
    empty = client.get("/plots/costs")
    assert empty.status_code == 422
    assert "job" in str(empty.json()["detail"])
