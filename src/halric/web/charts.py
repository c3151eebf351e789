"""Charts for pages, drawn server-side with matplotlib as inline SVG (no JavaScript, no external assets)."""

from __future__ import annotations

import io
from collections.abc import Sequence

BRAND = "#0b4f8a"
ACCENT = "#c2410c"


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


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
    return _svg(fig)


def bars(
    labels: Sequence[str], series: dict[str, Sequence[float]], title: str, horizontal: bool = False
) -> str:
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
    if n > 1:
        ax.legend(frameon=False)
    ax.set_title(title, loc="left")
    return _svg(fig)


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
    return _svg(fig)
