"""Structure-aware fuzzing of `.twin` loading: mutations of valid projects (wrong types,
extreme numbers, deep nesting, bad strings, missing and extra keys, broken bytes) go through
``--validate``, ``--run`` and the studio's Open. None may end in a traceback; every rejection
exits 2 with a message that names the file and what is wrong.

CI runs a fixed seed and a bounded budget; ``TWINFLOW_FUZZ_EXAMPLES=N`` runs N inputs per
test (e.g. 20000 for a long run).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from twinflow_studio import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
BUDGET = int(os.environ.get("TWINFLOW_FUZZ_EXAMPLES", "0") or 0)
FUZZ_SEED = 20261130
TRIED: dict[str, int] = {"validate": 0, "run": 0, "open": 0}

MODULE = textwrap.dedent(
    """
    def make(n=3):
        return list(range(int(n)))

    def total(values):
        return sum(values)
    """
)


def synthetic_seed() -> dict[str, Any]:
    """A quick in-process project that touches every section a .twin can have."""
    return {
        "format": "twinflow-studio",
        "schema_version": 2,
        "project": {
            "name": "fuzz",
            "description": "seed",
            "settings": {
                "lineage": {"backend": "embedded", "batch_ops": 100},
                "run_store": ".twinflow",
            },
        },
        "profiles": {"default": {"vcpus": 1.0, "memory_mib": 256, "gpus": 0, "arch": "x86_64"}},
        "targets": {
            "local": {"kind": "inprocess", "vcpus": 4.0, "memory_mib": 4096, "options": {}},
        },
        "nodes": [
            {
                "id": "make",
                "kind": "python",
                "name": "Make",
                "params": {"callable": "fuzz_nodes:make", "kwargs": {"n": 4}},
                "inputs": [],
                "outputs": [{"name": "values", "type": "json", "required": True}],
                "profile": "default",
                "retries": {"count": 0, "backoff_s": 0.1, "backoff_factor": 2.0},
                "timeout_s": 30,
            },
            {
                "id": "total",
                "kind": "python",
                "name": "Total",
                "params": {"callable": "fuzz_nodes:total"},
                "inputs": [{"name": "values", "type": "json", "required": True}],
                "outputs": [{"name": "sum", "type": "json", "required": True}],
                "profile": "default",
                "retries": {"count": 1, "backoff_s": 0.1, "backoff_factor": 2.0},
            },
        ],
        "edges": [
            {"source": "make", "source_port": "values", "target": "total", "target_port": "values"}
        ],
        "triggers": [{"id": "by-hand", "kind": "manual", "config": {}, "nodes": ["total"]}],
        "layout": {"nodes": {"make": {"x": 0, "y": 0}, "total": {"x": 300, "y": 0}}},
    }


SEEDS: dict[str, dict[str, Any]] = {
    "synthetic": synthetic_seed(),
    **{
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(EXAMPLES.glob("*/*.twin"))
    },
}

# Raw JSON tokens Python's json module would not write: spliced in for placeholders.
RAW_TOKENS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1" + "0" * 5000,
    "-" + "9" * 30,
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 3000 + "1" + "}" * 3000,
    "[" * 70 + "]" * 70,
]
BAD_STRINGS = [
    "",
    ".",
    "..",
    "../../x",
    "/abs/path",
    "/",
    "a/b",
    "a\\b",
    "C:\\Windows",
    "\ud800",
    "x\udfffy",
    "x\x00y",
    "\b\f\n\t",
    " ",
    "a" * 300,
    "é",
    "node.id",
    "$(touch /tmp/pwned)",
    "{params.x}",
    "none",
    "gremlin-server",
    "docker",
    "batch",
    "json",
    "file",
    "/dev/zero",
    "s3://",
    "arn:aws:ssm:us-east-1:123456789012:parameter/x",
]
# Node-id and port-name attacks go where names are (looked up by key name below).
NAME_KEYS = {"id", "name", "source", "target", "source_port", "target_port", "map_over"}


class Raw:
    def __init__(self, token: str) -> None:
        self.token = token


bad_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2**53, 2**63, 1e300, -1e-300, 0.5]),
    st.sampled_from(BAD_STRINGS),
    st.text(max_size=12),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=3),
    st.dictionaries(st.sampled_from(["a", "id", "kind", "x"]), st.integers(), max_size=2),
    st.sampled_from(RAW_TOKENS).map(Raw),
)


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in the document: the places a mutation can hit."""
    out: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                out.append((value, key))
                stack.append(item)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                out.append((value, i))
                stack.append(item)
    return out


@st.composite
def mutated_twin(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    doc = copy.deepcopy(SEEDS[name])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        slots = _slots(doc)
        container, key = draw(st.sampled_from(slots))
        op = draw(st.sampled_from(["replace", "replace", "name", "delete", "extra", "wrap"]))
        if op == "replace":
            container[key] = draw(bad_values)
        elif op == "name":
            container[key] = draw(st.sampled_from(BAD_STRINGS))
        elif op == "delete":
            del container[key]
        elif op == "extra" and isinstance(container, dict):
            container[draw(st.sampled_from(["zz", "id", "\ud800", ""]))] = draw(bad_values)
        elif op == "wrap":
            container[key] = draw(st.sampled_from([[container[key]], {"x": container[key]}]))
    raws: list[str] = []

    def encode(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.token)
            return f"@@RAW{len(raws) - 1}@@"
        raise TypeError

    text = json.dumps(doc, default=encode, ensure_ascii=draw(st.booleans()), allow_nan=True)
    for i, token in enumerate(raws):
        text = text.replace(f'"@@RAW{i}@@"', token)
    data = text.encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none"] * 6 + ["truncate", "bad-utf8", "bom", "empty"]))
    if damage == "truncate":
        data = data[: draw(st.integers(min_value=0, max_value=len(data)))]
    elif damage == "bad-utf8":
        at = draw(st.integers(min_value=0, max_value=len(data)))
        data = data[:at] + b"\xff\xfe" + data[at:]
    elif damage == "bom":
        data = b"\xef\xbb\xbf" + data
    elif damage == "empty":
        data = b""
    return name, data


def call_cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(list(argv))
    return code, err.getvalue()


def assert_clear_rejection(code: int, err: str, path: Path) -> None:
    assert "Traceback" not in err, err
    if code != 2:
        return
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "exit 2 without a message"
    pattern = re.compile(rf"^(twinflow-studio: error: )?{re.escape(str(path))}: \S")
    # Each problem line names the file, then the field (or what is wrong with the file).
    assert any(pattern.match(line) for line in lines), err
    assert all(pattern.match(line) or line.startswith("  ") for line in lines), err


def budget(default: int) -> settings:
    return settings(
        max_examples=BUDGET or default,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("twin-fuzz")
    (folder / "fuzz_nodes.py").write_text(MODULE, encoding="utf-8")
    return folder


def test_the_seeds_are_valid_and_run(
    fuzz_dir: Path, example_plugin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mutations start from projects that pass, so what fails is the mutation."""
    path = fuzz_dir / "seed.twin"
    path.write_text(json.dumps(SEEDS["synthetic"]), encoding="utf-8")
    assert call_cli("--validate", str(path))[0] == 0
    code, err = call_cli("--run", str(path), "--trust")
    assert code == 0, err
    # The shipped examples' documents are valid (their data files stay in the examples, so
    # --validate's checks of what is around a project do not apply to a copy here).
    from twinflow_studio.project import plugins, validate
    from twinflow_studio.project.twinfile import loads

    # The plugin example's kind comes from the example plugin package, installed here.
    monkeypatch.syspath_prepend(str(example_plugin))
    plugins._reset_for_tests()
    try:
        for name in sorted(SEEDS):
            assert validate(loads(json.dumps(SEEDS[name]))) == [], name
    finally:
        plugins._reset_for_tests()


def test_validate_and_run_never_give_a_traceback(fuzz_dir: Path) -> None:
    path = fuzz_dir / "case.twin"

    @seed(FUZZ_SEED)
    @budget(400)
    @given(mutated_twin())
    def check(case: tuple[str, bytes]) -> None:
        name, data = case
        path.write_bytes(data)
        TRIED["validate"] += 1
        code, err = call_cli("--validate", str(path))
        assert code in (0, 2), err
        assert_clear_rejection(code, err, path)
        if name != "synthetic":
            return  # the examples need Docker or minutes of MCMC; their loading is the point
        TRIED["run"] += 1
        run_code, run_err = call_cli("--run", str(path), "--trust")
        assert run_code in (0, 1, 2), run_err
        assert_clear_rejection(run_code, run_err, path)
        if code == 2:
            # What --validate refuses, --run refuses before anything starts.
            assert run_code == 2, run_err

    check()
    print(f"\nfuzz: {TRIED['validate']} inputs through --validate, {TRIED['run']} through --run")


@pytest.mark.parametrize(
    "token",
    ["[" * 100_000 + "]" * 100_000, "NaN", "1e400", "1" + "0" * 5000, '"\\ud800"'],
    ids=["deep", "nan", "1e400", "huge-int", "surrogate"],
)
def test_real_processes_refuse_nasty_files_with_exit_2(tmp_path: Path, token: str) -> None:
    doc = json.dumps(SEEDS["synthetic"]).replace('"description": "seed"', f'"description": {token}')
    path = tmp_path / "nasty.twin"
    path.write_text(doc, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for flag in ("--validate", "--run"):
        done = subprocess.run(
            [sys.executable, "-m", "twinflow_studio", flag, str(path), "--trust"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert (
            f"{path}: " in done.stderr and "description" in done.stderr or "nested" in (done.stderr)
        ), done.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "huge"])
def test_special_files_are_refused_without_reading_them(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "p.twin"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path = Path("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    else:
        with open(path, "wb") as handle:
            handle.truncate(65 * 1024 * 1024)  # sparse: no disk used
    done = subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    expected = {
        "fifo": "not a regular file (it is a FIFO)",
        "dev-zero": "not a regular file (it is a character device)",
        "folder": "is a folder",
        "huge": "a .twin file holds at most",
    }[kind]
    assert expected in done.stderr


def test_pasting_a_hostile_clipboard_never_gives_a_traceback() -> None:
    """The clipboard is untrusted JSON too: the studio's paste parses it like a file."""
    from twinflow_studio.project import TwinFileError, clipboard, loads

    project = loads(json.dumps(SEEDS["synthetic"]))
    copied = json.loads(clipboard.copy_nodes(project, sorted(project.nodes)))
    tried = 0

    @seed(FUZZ_SEED)
    @budget(300)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        nonlocal tried
        doc = copy.deepcopy(copied)
        for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
            container, key = data.draw(st.sampled_from(_slots(doc)))
            container[key] = data.draw(bad_values)
        text = json.dumps(doc, default=lambda raw: None, allow_nan=True)
        tried += 1
        try:
            parsed = clipboard.parse_clipboard(text)
            nodes, edges, positions, _ = clipboard.nodes_for_paste(project, parsed)
        except TwinFileError:  # ClipboardError is one, naming <clipboard>
            return
        assert set(positions) == {n.id for n in nodes}
        assert all(e.source in positions and e.target in positions for e in edges)

    check()
    print(f"\nfuzz: {tried} clipboards pasted")


@pytest.mark.parametrize(
    ("change", "code", "expected"),
    [
        (
            {"settings": {"run_store": "/dev/null"}},
            2,
            "project.settings.run_store: cannot use /dev/null for runs",
        ),
        ({"settings": {"run_store": 5}}, 2, "project.settings.run_store: expected a folder"),
        ({"settings": {"lineage": []}}, 2, "project.settings.lineage: expected an object"),
        ({"settings": {"lineage": {"backend": "mongo"}}}, 2, "settings.lineage.backend"),
        ({"datasource": "/dev/zero"}, 1, "'/dev/zero' is not a regular file or folder"),
        ({"batch_threads": "x"}, 1, "option threads must be a whole number from 1 to 256"),
        ({"command": [{"a": 1}]}, 2, "nodes.c.params.command[0]: expected a string"),
    ],
    ids=["store-file", "store-int", "lineage-list", "backend", "dev-zero", "threads", "cmd"],
)
def test_runtime_settings_fail_clearly(
    fuzz_dir: Path, change: dict, code: int, expected: str
) -> None:
    doc = copy.deepcopy(SEEDS["synthetic"])
    if "settings" in change:
        doc["project"]["settings"] = change["settings"]
    if "datasource" in change:
        doc["nodes"].append({"id": "ds", "kind": "datasource", "params": {"path": "/dev/zero"}})
    if "batch_threads" in change or "command" in change:
        options = {"threads": change.get("batch_threads", 4), "job_queue": "q"}
        options["s3_prefix"] = "s3://bucket/prefix"
        doc["targets"]["aws"] = {"kind": "batch", "options": options}
        command = change.get("command", ["true"])
        doc["nodes"].append(
            {
                "id": "c",
                "kind": "container",
                "target": "aws",
                "params": {"image": "twinflow/python-base:bookworm", "command": command},
            }
        )
    path = fuzz_dir / "runtime.twin"
    path.write_text(json.dumps(doc), encoding="utf-8")
    got, err = call_cli("--run", str(path), "--trust")
    assert got == code, err
    assert "Traceback" not in err and expected in err, err


@pytest.mark.gui
def test_the_studio_opens_every_mutation_without_a_traceback(
    qtbot, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pytest.importorskip("PySide6")
    qasync = pytest.importorskip("qasync")
    import asyncio

    from PySide6.QtWidgets import QApplication

    from twinflow_studio.ui.main_window import MainWindow
    from twinflow_studio.ui.prompts import ScriptedPrompter

    folder = tmp_path_factory.mktemp("twin-fuzz-open")
    loop = qasync.QEventLoop(QApplication.instance())
    asyncio.set_event_loop(loop)
    window = MainWindow(prompter=ScriptedPrompter(), home=folder / "home", autosave_ms=3600_000)
    qtbot.addWidget(window)
    window.show()
    path = folder / "case.twin"
    try:

        @seed(FUZZ_SEED)
        @budget(150)
        @given(mutated_twin())
        def check(case: tuple[str, bytes]) -> None:
            path.write_bytes(case[1])
            TRIED["open"] += 1
            window.doc.undo.setClean()
            opened = window.open_path(path, ask=False)
            QApplication.processEvents()
            if not opened:
                kind, text = window.prompter.asked[-1]
                assert kind == "error" and str(path) in text, window.prompter.asked[-1:]

        check()
    finally:
        window.doc.undo.setClean()
        window.close()
        loop.close()
    print(f"\nfuzz: {TRIED['open']} inputs through the studio's Open")
