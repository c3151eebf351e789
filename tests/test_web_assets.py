"""Pages that must work under the hub's strict CSP and without internet: KPI charts, Swagger UI."""

from __future__ import annotations

import re

from lxml import etree, html

from halric.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parsed(svg: str) -> etree._Element:
    return etree.fromstring(svg.encode())


def test_charts_use_presentation_attributes_not_styles():
    drawn = {
        "progress": charts.progress(3, 75, "Funded pilot projects"),
        "bars": charts.bars(["2026-03", "2026-09"], {"submitted": [4, 6], "approved": [1, 2]}, "Per cut-off"),
        "horizontal": charts.bars(["MAX IV & co", "ESS"], {"projects": [3, 1]}, "Per site", horizontal=True),
        "heatmap": charts.heatmap(["SE", "DK"], ["SE", "DK"], [[0, 2], [2, 0]], "Country pairs"),
    }
    for name, svg in drawn.items():
        root = _parsed(svg)  # well-formed XML
        assert "style=" not in svg and "<style" not in svg, name
        assert root.get("role") == "img" and root.get("aria-label"), name
        assert root.find(f"{SVG}title") is not None, name
        fills = {el.get("fill") for el in root.iter() if el.get("fill")}
        if name == "heatmap":  # imshow: an embedded PNG (img-src allows data:)
            image = root.find(f".//{SVG}image")
            href = image.get("{http://www.w3.org/1999/xlink}href") or image.get("href")
            assert href.startswith("data:image/png;base64,")
        else:
            assert charts.BRAND in fills, (name, fills)  # the bars keep their colour
        texts = [el for el in root.iter(f"{SVG}text")]
        assert texts and all(t.get("font-size") and t.get("font-family") for t in texts), name
    assert "MAX IV &amp; co" in drawn["horizontal"]


def test_font_shorthand_becomes_separate_attributes():
    out = charts.csp_safe_svg(
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><defs><style type="text/css">'
        "*{stroke-linejoin: round; stroke-linecap: butt}</style></defs>"
        "<text style=\"font: italic bold 9.5px 'DejaVu Sans'; text-anchor: middle\">x</text></svg>",
        "A & B",
    )
    root = _parsed(out)
    text = root.find(f"{SVG}text")
    assert text.get("font-style") == "italic" and text.get("font-weight") == "bold"
    assert text.get("font-size") == "9.5px" and text.get("font-family") == "'DejaVu Sans'"
    assert text.get("text-anchor") == "middle"
    assert root.get("stroke-linejoin") == "round" and root.get("aria-label") == "A & B"
    assert "<style" not in out and "<defs" not in out


def test_api_docs_are_served_by_the_hub_under_the_csp(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    doc = html.fromstring(page.text)
    scripts = doc.xpath("//script")
    assert scripts and all(s.get("src", "").startswith("/") and not (s.text or "").strip() for s in scripts)
    assert not re.search(r"https?://", page.text)  # nothing from another site
    js = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and "SwaggerUIBundle" in js.text[:5000]
    assert js.headers["content-type"].startswith("text/javascript")
    css = client.get("/api/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/api/docs/assets/..%2Fcore.py").status_code == 404
    assert client.get("/static/swagger-init.js").status_code == 200


def test_pages_carry_the_hubs_icon_and_favicon_ico_finds_it(client):
    """A browser asks for an icon on every page; without one it logs a 404 on each visit."""
    doc = html.fromstring(client.get("/").text)
    href = doc.xpath('//link[@rel="icon"]/@href')
    assert href == ["/static/favicon.svg"]
    icon = client.get(href[0])
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert _parsed(icon.text).tag == f"{SVG}svg"
    old = client.get("/favicon.ico", follow_redirects=False)
    assert old.status_code == 301 and old.headers["location"] == "/static/favicon.svg"
