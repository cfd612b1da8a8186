"""Regenerate ``docs/_static/headline.png``, the README's picture.

It is the closed-loop figure of ``examples/plot_mackey_glass.py``, saved at 100 dpi::

    python docs/make_headline.py
"""

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

root = Path(__file__).resolve().parent.parent
runpy.run_path(str(root / "examples" / "plot_mackey_glass.py"), run_name="__main__")
out = root / "docs" / "_static" / "headline.png"
plt.gcf().savefig(out, dpi=100)
print(f"wrote {out}")
