"""CSRF is decided on the media type compared case-insensitively and without its parameters: a form
sent as ``Application/X-WWW-Form-URLencoded; charset=UTF-8`` is still a form and needs the token."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from tests.support.accounts import PASSWORD, csrf_from

from halric.web.access import FORM_TYPES, media_type


@pytest.mark.parametrize(
    "header",
    [
        "Application/x-www-form-urlencoded",
        "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8",
        " application/x-www-form-urlencoded ;charset=utf-8",
        "Text/Plain",
    ],
)
def test_sign_in_form_without_token_is_refused_whatever_the_case(client, make_user, header):
    name = make_user()
    client.get("/signin")
    body = urlencode({"username": name, "password": PASSWORD})
    r = client.post("/signin", content=body, headers={"Content-Type": header}, follow_redirects=False)
    assert r.status_code == 403, r.text
    assert "did not come from this site" in r.text
    assert "halric_session" not in r.headers.get("set-cookie", "")


def test_mixed_case_form_with_the_token_signs_in(client, make_user):
    name = make_user()
    token = csrf_from(client.get("/signin").text)
    body = urlencode({"username": name, "password": PASSWORD, "csrf_token": token})
    r = client.post("/signin", content=body, headers={"Content-Type": "Application/X-WWW-Form-Urlencoded"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303


def test_multipart_in_any_case_needs_the_token(client, make_user):
    name = make_user()
    client.get("/signin")
    boundary = "xYzZY"
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in {"username": name, "password": PASSWORD}.items()) + f"--{boundary}--\r\n"  # fmt: skip
    r = client.post("/signin", content=body.encode(), follow_redirects=False,
                    headers={"Content-Type": f"Multipart/Form-Data; boundary={boundary}"})  # fmt: skip
    assert r.status_code == 403


def test_media_type_parsing():
    assert media_type("Multipart/Form-Data; boundary=abc") == "multipart/form-data"
    assert media_type("") == "" and media_type("application/json; charset=utf-8") == "application/json"
    assert media_type("APPLICATION/X-WWW-FORM-URLENCODED") in FORM_TYPES
