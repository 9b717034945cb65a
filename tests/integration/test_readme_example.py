"""The user test shown in README.md passes as written.

The test copies the code block after the ``<!-- readme-user-test -->`` marker
into a file and runs pytest on it in a child process, as a user would after
``pip install``. The file also runs the same test a second time, because the
first test of a process pays for imports, table metadata and the schema
template. Both call durations are recorded as the ``readme_test_seconds`` and
``readme_test_warm_seconds`` properties (see ``--junitxml``), not asserted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- readme-user-test -->"
TEST_NAME = "test_fix_and_speech_become_rows"


def readme_user_test() -> str:
    text = README.read_text(encoding="utf-8")
    marker = text.index(MARKER)
    match = re.compile(r"```python\n(.*?)```", re.S).search(text, marker)
    assert match is not None, f"no python code block after {MARKER} in {README}"
    return match.group(1)


def test_readme_user_test_passes(tmp_path: Path, record_property: Any) -> None:
    test_file = tmp_path / "test_readme_user.py"
    repeat = f"\n\ntest_warm_repeat = {TEST_NAME}\n"
    test_file.write_text(readme_user_test() + repeat, encoding="utf-8")

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(test_file),
            "-q",
            "-p",
            "no:cacheprovider",
            "--durations=0",
            "--durations-min=0",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "2 passed" in output
    first = re.search(rf"([0-9.]+)s call\s+\S*::{TEST_NAME}", output)
    warm = re.search(r"([0-9.]+)s call\s+\S*::test_warm_repeat", output)
    assert first is not None, output[-2000:]
    assert warm is not None, output[-2000:]
    record_property("readme_test_seconds", float(first.group(1)))
    record_property("readme_test_warm_seconds", float(warm.group(1)))
