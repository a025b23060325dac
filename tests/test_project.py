"""The package's public face and the project's promises about itself."""

from __future__ import annotations

import re
import types
from pathlib import Path

import http402

ROOT = Path(__file__).parent.parent


def test_all_is_exactly_what_is_exported() -> None:
    """`__all__` lists every public name of the package and nothing else."""
    public = {
        name
        for name, value in vars(http402).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations"}
    assert set(http402.__all__) - {"__version__"} == public
    assert len(http402.__all__) == len(set(http402.__all__))


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    """The README's first two code blocks run the demo and the tests; CI runs the latter."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.DOTALL)
    demo, tests = blocks[0], blocks[1]
    assert demo.endswith("python -m http402 demo")
    assert tests in (ROOT / ".ci" / "run").read_text()
