"""The tables the tests print reach the terminal whole when the tests run in parallel."""

from types import SimpleNamespace

from report import TABLES, merged, print_table


def test_a_worker_hands_its_table_to_the_controller_rather_than_printing_it():
    worker = SimpleNamespace(workeroutput={})
    print_table(worker, "faults", [("fault", "outcome"), ("kill", "recovered")], ["a note"])
    print_table(worker, "nothing", [])
    assert worker.workeroutput[TABLES] == [
        ["faults", [["fault", "outcome"], ["kill", "recovered"]], ["a note"]]
    ]


def test_the_tables_of_two_workers_with_one_title_are_one_table_with_one_header():
    first = ["faults", [["fault", "outcome"], ["kill", "recovered"]], []]
    second = ["faults", [["fault", "outcome"], ["full disk", "failed, then ran"]], ["a note"]]
    paths = ["CEO dashboard", [], ["built in 0.10 s"]]
    assert merged([first, paths, second]) == {
        "faults": (
            [["fault", "outcome"], ["kill", "recovered"], ["full disk", "failed, then ran"]],
            ["a note"],
        ),
        "CEO dashboard": ([], ["built in 0.10 s"]),
    }
