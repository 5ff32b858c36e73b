"""A Spark standalone cluster on 127.0.0.1 for the tests: a master, two workers and the Thrift
server dbt connects to, all started from the `pyspark` wheel (Java 17 needed) in a folder of
the test's own, and stopped by their PIDs."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from postgres_server import free_port

# Starting a JVM takes seconds on a quiet machine and a minute or more on a loaded one: the
# cluster is waited for by its state, this only bounds a cluster that will never come up.
START_TIMEOUT = 600
WORKERS = 2


@dataclass(frozen=True)
class SparkCluster:
    master_url: str
    thrift_port: int
    root: Path
    pids: tuple[int, ...]  # the master, the workers (and their executors below them), Thrift


# Hive's LLAP classes, which the pyspark 4 package leaves out and its Thrift server may need
# (see the Makefile).
HIVE_LLAP_JAR = Path(sys.prefix) / "share" / "hive-llap-common-2.3.9.jar"
WITHOUT_SPARK = "the Spark engine needs Java 17 and what `make test-spark` installs"


def spark_home() -> Path | None:
    """The Spark inside the installed `pyspark` wheel, or None without it, without Java or
    without Hive's LLAP classes (`make test-spark` installs all but Java)."""
    try:
        import pyspark
    except ImportError:
        return None
    if shutil.which("java") is None or not HIVE_LLAP_JAR.exists():
        return None
    return Path(pyspark.__file__).parent


def wait_for(ready, what: str, processes: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        dead = [p for p in processes if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            tails = "\n".join(f"{log}:\n{log.read_text()[-3000:]}" for log in logs if log.exists())
            raise RuntimeError(f"the Spark cluster did not come up ({what}):\n{tails}")
        time.sleep(0.5)


def accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
        return True
    return False


@contextlib.contextmanager
def spark_cluster(root: Path, home: Path) -> Iterator[SparkCluster]:
    root.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOCAL_DIRS": str(root / "local"),
        "SPARK_WORKER_DIR": str(root / "work"),
    }
    processes: list[subprocess.Popen] = []
    logs: list[Path] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = root / f"{name}.log"
        logs.append(log)
        with log.open("w") as out:
            process = subprocess.Popen(
                args,
                cwd=root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        processes.append(process)
        return process

    master_port, thrift_port = free_port(), free_port()
    master_url = f"spark://127.0.0.1:{master_port}"
    spark_class = str(home / "bin" / "spark-class")
    try:
        start(
            "master",
            spark_class,
            "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(master_port), "--webui-port", str(free_port()),
        )  # fmt: skip
        wait_for(lambda: accepts(master_port), "master", processes, logs)
        for worker in range(WORKERS):
            start(
                f"worker-{worker}",
                spark_class,
                "org.apache.spark.deploy.worker.Worker",
                "--host", "127.0.0.1", "--webui-port", str(free_port()),
                "--cores", "1", "--memory", "2g",
                "--work-dir", str(root / f"work-{worker}"),
                master_url,
            )  # fmt: skip
        master_log = root / "master.log"
        wait_for(
            lambda: master_log.read_text().count("Registering worker") >= WORKERS,
            "workers",
            processes,
            logs,
        )
        start(
            "thrift",
            str(home / "bin" / "spark-submit"),
            "--master", master_url,
            "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
            "--name", "thrift",
            "--executor-memory", "1g",
            "--conf", f"spark.hadoop.hive.server2.thrift.port={thrift_port}",
            "--conf", "spark.hadoop.hive.server2.thrift.bind.host=127.0.0.1",
            "--conf", f"spark.sql.warehouse.dir={root / 'spark-warehouse'}",
            "--conf", f"spark.driver.extraJavaOptions=-Dderby.system.home={root / 'metastore'}",
            "--conf", "spark.sql.session.timeZone=UTC",
            # The demo's tables are small: a few partitions per shuffle, not Spark's 200.
            "--conf", "spark.sql.shuffle.partitions=4",
            "--conf", "spark.ui.enabled=false",
            # On the JVMs' own class path, where the Hive classes that load them are.
            "--conf", f"spark.driver.extraClassPath={HIVE_LLAP_JAR}",
            "--conf", f"spark.executor.extraClassPath={HIVE_LLAP_JAR}",
            "spark-internal",
        )  # fmt: skip
        wait_for(lambda: accepts(thrift_port), "Thrift server", processes, logs)
        yield SparkCluster(master_url, thrift_port, root, tuple(p.pid for p in processes))
    finally:
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
