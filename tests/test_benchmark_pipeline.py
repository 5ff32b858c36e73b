"""The pipeline benchmark's measures: a process tree's CPU and memory, and a step's share."""

import os
import subprocess
import sys
import time
from pathlib import Path

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


def test_a_step_s_peak_is_the_largest_memory_sampled_while_it_ran(pipeline):
    samples = [pipeline.Sample(at, 0.0, rss) for at, rss in ((10.0, 5), (11.0, 9), (12.0, 7))]
    assert pipeline.peak_between(samples, 10.5, 12.0) == 9
    assert pipeline.peak_between(samples, 11.5, 12.5) == 7
    # shorter than the sampling: the sample nearest its end
    assert pipeline.peak_between(samples, 10.1, 10.2) == 5


def test_the_scales_double_after_the_last_given_only_until_unfit(pipeline):
    assert list(pipeline.scales_to_run([1.0, 10.0], until_unfit=False)) == [1.0, 10.0]
    doubling = pipeline.scales_to_run([1.0, 10.0], until_unfit=True)
    assert [next(doubling) for _ in range(4)] == [1.0, 10.0, 20.0, 40.0]


def test_a_process_past_its_budget_is_stopped_with_its_children(pipeline, tmp_path):
    marker = tmp_path / "child"
    command = ["sh", "-c", f"sleep 300 & echo $! > {marker}; wait"]
    stopped = pipeline.sampled(command, dict(os.environ), (), budget=1.0)
    assert stopped.returncode is None
    child = int(marker.read_text())
    deadline = time.monotonic() + 120
    while pipeline._stat(child) is not None and time.monotonic() < deadline:
        time.sleep(0.2)  # killed, waiting to be reaped by init
    assert pipeline._stat(child) is None or _is_zombie(child)

    failed = pipeline.sampled(["sh", "-c", "echo out of memory; exit 3"], dict(os.environ), (), 60)
    assert failed.returncode == 3
    assert failed.output == "out of memory\n"


def _is_zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_the_summary_says_where_an_engine_stopped_fitting_and_why(pipeline, capsys):
    def day(scale, number, wall, failure=None):
        return pipeline.Measured("duckdb", scale, number, wall, wall, 2**30, failure=failure)

    pipeline.print_summary(
        [
            [day(10, 1, 90.0), day(10, 2, 60.0)],
            [day(20, 1, 200.0), day(20, 2, 3600.0, "the run did not finish within 60 minutes")],
        ]
    )
    out = capsys.readouterr().out
    assert "     10        90.0" in out
    assert "     20 does not fit, peak 1,024 MiB" in out
    assert (
        "duckdb: fits up to scale 10; at scale 20, day 2: "
        "the run did not finish within 60 minutes" in out
    )
