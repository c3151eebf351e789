"""Charts for pages, drawn server-side with matplotlib as inline SVG (no JavaScript, no external assets).

The hub's Content-Security-Policy (``style-src 'self'``) blocks ``style=`` attributes and ``<style>``
elements inside a page, and matplotlib writes both: a browser then paints every shape black. So each
SVG is rewritten to SVG *presentation attributes* (``fill="#0b4f8a"``), which no CSP restricts, and
carries ``role="img"`` with its title for screen readers.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence

BRAND = "#0b4f8a"
ACCENT = "#c2410c"


_STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_FONT_SIZE = re.compile(r"^[\d.]+(px|pt|em|%)$")
_FONT_STYLES = {"italic", "oblique"}
_FONT_VARIANTS = {"small-caps"}


def _declarations(css: str) -> list[tuple[str, str]]:
    out = []
    for part in css.split(";"):
        if ":" in part:
            name, value = part.split(":", 1)
            name, value = name.strip().lower(), html.unescape(value.strip())
            if name == "font":
                out += _font_shorthand(value)
            elif name and value:
                out.append((name, value))
    return out


def _font_shorthand(value: str) -> list[tuple[str, str]]:
    """``font: italic bold 9px 'DejaVu Sans'`` as the separate font-* attributes SVG accepts."""
    words = value.split()
    out: list[tuple[str, str]] = []
    for i, word in enumerate(words):
        if _FONT_SIZE.match(word):
            out.append(("font-size", word))
            family = " ".join(words[i + 1 :])
            if family:
                out.append(("font-family", family))
            break
        if word in _FONT_STYLES:
            out.append(("font-style", word))
        elif word in _FONT_VARIANTS:
            out.append(("font-variant", word))
        elif word != "normal":
            out.append(("font-weight", word))
    return out


def _attributes(pairs: list[tuple[str, str]]) -> str:
    return "".join(f' {name}="{html.escape(value, quote=True)}"' for name, value in pairs)


def csp_safe_svg(text: str, title: str) -> str:
    """An SVG document without style attributes or elements: the same drawing as presentation
    attributes; ``role="img"``, ``aria-label`` and ``<title>`` name it."""
    text = text[text.index("<svg") :]
    text = _METADATA.sub("", text)
    root_defaults: list[tuple[str, str]] = []
    for rules in _STYLE_ELEMENT.findall(text):  # matplotlib: `*{stroke-linejoin: round; ...}` (inherited)
        for block in re.findall(r"\{([^}]*)\}", rules):
            root_defaults += _declarations(block)
    text = _STYLE_ELEMENT.sub("", text)
    text = _STYLE_ATTR.sub(lambda m: _attributes(_declarations(m.group(1))), text)
    label = html.escape(title, quote=True)
    head_end = text.index(">")
    text = (
        text[:head_end]
        + _attributes(root_defaults)
        + f' role="img" aria-label="{label}"'
        + text[head_end : head_end + 1]
        + f"<title>{label}</title>"
        + text[head_end + 1 :]
    )
    return re.sub(r"<defs>\s*</defs>", "", text)


def _svg(fig, title: str) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    return csp_safe_svg(buf.getvalue(), title)


def _figure(width: float = 5.0, height: float = 2.6):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {"font.size": 9, "svg.fonttype": "none", "axes.spines.top": False, "axes.spines.right": False}
    )
    return plt.subplots(figsize=(width, height))


def progress(done: int, target: int, title: str) -> str:
    fig, ax = _figure(5.0, 1.1)
    ax.barh([0], [target], color="#e5e7eb")
    ax.barh([0], [min(done, target)], color=BRAND)
    ax.set_yticks([])
    ax.set_xlim(0, max(target, done))
    ax.set_title(f"{title}: {done} of {target}", loc="left")
    return _svg(fig, f"{title}: {done} of {target}")


def bars(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    title: str,
    horizontal: bool = False,
    *,
    integer: bool = False,
) -> str:
    """Grouped bars; ``integer`` for counts (whole-number ticks only)."""
    import numpy as np

    fig, ax = _figure(5.2, 2.8 if not horizontal else max(1.6, 0.32 * len(labels) + 0.8))
    n = max(1, len(series))
    idx = np.arange(len(labels))
    width = 0.8 / n
    for k, (name, values) in enumerate(series.items()):
        colour = [BRAND, ACCENT, "#6b7280"][k % 3]
        if horizontal:
            ax.barh(idx + k * width, values, height=width, label=name, color=colour)
        else:
            ax.bar(idx + k * width, values, width=width, label=name, color=colour)
    if horizontal:
        ax.set_yticks(idx + width * (n - 1) / 2, labels)
        ax.invert_yaxis()
    else:
        ax.set_xticks(idx + width * (n - 1) / 2, labels, rotation=30, ha="right")
    if integer:
        from matplotlib.ticker import MaxNLocator

        (ax.xaxis if horizontal else ax.yaxis).set_major_locator(MaxNLocator(integer=True))
    if n > 1:
        ax.legend(frameon=False)
    ax.set_title(title, loc="left")
    return _svg(fig, title)


def heatmap(rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float]], title: str) -> str:
    import numpy as np

    fig, ax = _figure(3.4, 3.0)
    data = np.array(values, dtype=float)
    ax.imshow(data, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if i != j:
                ax.text(j, i, f"{int(data[i, j])}", ha="center", va="center",
                        color="white" if data[i, j] > data.max() / 2 else "black")  # fmt: skip
    ax.set_title(title, loc="left")
    return _svg(fig, title)
