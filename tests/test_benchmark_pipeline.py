"""The pipeline benchmark's measures: a process tree's CPU and memory, and a step's share."""

import subprocess
import sys
import time

import pytest
from benchmark_scripts import benchmark


@pytest.fixture(scope="module")
def pipeline():
    with benchmark("pipeline") as module:
        yield module


def test_a_step_is_given_the_cpu_the_tree_used_between_its_start_and_end(pipeline):
    samples = [pipeline.Sample(10.0, 1.0, 0), pipeline.Sample(12.0, 5.0, 0)]
    # halfway between the samples: halfway between their CPU seconds
    assert pipeline.cpu_at(samples, 11.0) == pytest.approx(3.0)
    assert pipeline.cpu_at(samples, 11.5) - pipeline.cpu_at(samples, 10.5) == pytest.approx(2.0)
    # outside the samples: the nearest one
    assert pipeline.cpu_at(samples, 9.0) == 1.0
    assert pipeline.cpu_at(samples, 13.0) == 5.0


def test_the_tree_counts_the_cpu_and_memory_of_a_process_below_the_root(pipeline):
    spin = "import time\nend = time.process_time() + 1.0\nwhile time.process_time() < end: pass\n"
    shell = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time\n"
            f"subprocess.run([sys.executable, '-c', {spin!r}])\n"
            "time.sleep(30)",
        ]
    )
    try:
        deadline = time.monotonic() + 120
        sample = pipeline.sample_tree(shell.pid)
        while sample.cpu < 1.0 and time.monotonic() < deadline:
            time.sleep(0.2)
            sample = pipeline.sample_tree(shell.pid)
        # the child spun a CPU second, reaped by its parent: counted in the tree
        assert sample.cpu >= 1.0
        assert sample.rss > 0
    finally:
        shell.kill()
        shell.wait()
