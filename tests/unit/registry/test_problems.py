import json

from registry.problems import problem_response, without_server_paths


def test_server_paths_are_cut_to_the_file_a_user_sent():
    assert (
        without_server_paths("cannot read /tmp/tmpab12/example-3 as a PNG or JPEG image")
        == "cannot read example-3 as a PNG or JPEG image"
    )
    assert without_server_paths("outside the roots (/srv/models, /data)") == (
        "outside the roots (models, /data)"
    )
    assert without_server_paths("see http://127.0.0.1:8700/docs or POST /models") == (
        "see http://127.0.0.1:8700/docs or POST /models"
    )


def test_a_problem_is_one_line_without_paths():
    response = problem_response(400, "Bad request", "bad\n  file /var/lib/x/y.npz")
    body = json.loads(response.body)
    assert body == {"type": "about:blank", "title": "Bad request", "status": 400,
                    "detail": "bad file y.npz"}  # fmt: skip
    assert response.media_type == "application/problem+json"
