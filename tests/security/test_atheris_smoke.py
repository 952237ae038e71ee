"""A short, bounded atheris run of every target in tests/fuzz/fuzz_targets.py (skipped without atheris).

Seeds come from the repository's fixtures, copied to a temporary corpus directory because libFuzzer
adds the inputs it finds interesting to it. A finding fails the test with libFuzzer's report.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sec_tally import TALLY

pytest.importorskip("atheris")

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
HARNESS = TESTS / "fuzz" / "fuzz_targets.py"
RUNS = {"csv": 4000, "json": 4000, "xlsx": 1500, "phone": 20000, "id": 20000, "ami": 5000, "survey": 1500}
SEEDS = {"csv": [TESTS / "fixtures" / "intake"], "survey": [REPO / "survey_templates"],
         "ami": [TESTS / "fixtures" / "ami" / "survey-session.ami"]}


def _seed(target: str, corpus: Path) -> None:
    corpus.mkdir()
    for source in SEEDS.get(target, []):
        files = sorted(source.glob("*.csv")) + sorted(source.glob("*.yaml")) if source.is_dir() else [source]
        for f in files:
            shutil.copy(f, corpus / f.name)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("target", sorted(RUNS))
def test_a_bounded_atheris_run_finds_nothing(target: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _seed(target, corpus)
    proc = subprocess.run([sys.executable, str(HARNESS), target, f"-runs={RUNS[target]}", "-max_len=4096",
                           "-max_total_time=60", f"-artifact_prefix={tmp_path}/", "-seed=1", str(corpus)],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path, check=False,
                          env={**os.environ, "TMPDIR": str(tmp_path)})   # libFuzzer exits without cleanup
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Uncaught" not in report, report[-4000:]
    done = re.search(r"Done (\d+) runs", report)
    assert done, report[-2000:]
    TALLY.add(f"atheris (coverage-guided) {target}", "only project errors", int(done.group(1)))
