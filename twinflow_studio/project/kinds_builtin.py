"""The core node kinds: containers, Python callables and data sources."""

from __future__ import annotations

from twinflow_studio.project.kinds import (
    PYTHON_TARGETS,
    NodeKind,
    ParamSpec,
    PortSpec,
    register_kind,
)

CONTAINER = register_kind(
    NodeKind(
        name="container",
        label="Container task",
        category="Tasks",
        doc=(
            "Runs a command in a container image. Inputs are mounted read-only at "
            "/twinflow/inputs/<port>; the command writes each output to "
            "/twinflow/outputs/<port> (a file or a directory). In the command, {inputs.PORT}, "
            "{outputs.PORT} and {params.KEY} are replaced by paths and values."
        ),
        params=(
            ParamSpec(
                "image",
                "str",
                required=True,
                doc="Image name or id",
                example="python:3.11-slim",
            ),
            ParamSpec(
                "command",
                "list",
                default=[],
                doc="Argument list; no shell unless written",
                example=["python", "step.py", "{inputs.data}", "{outputs.out}"],
            ),
            ParamSpec(
                "env", "dict", default={}, doc="Environment variables", example={"LEVEL": "2"}
            ),
            ParamSpec(
                "workdir",
                "str",
                default="",
                doc="Working directory in the container",
                example="/work",
            ),
            ParamSpec("network", "str", default="none", choices=("none", "host")),
            ParamSpec(
                "cap_add",
                "list",
                default=[],
                doc="Linux capabilities granted back (all are dropped); e.g. ['CHOWN']",
            ),
            ParamSpec(
                "read_only",
                "bool",
                default=False,
                doc="Read-only root file system (/tmp stays writable, in memory)",
            ),
        ),
        user_ports=True,
        user_params=True,
        target_kinds=("docker", "batch"),
    )
)

PYTHON = register_kind(
    NodeKind(
        name="python",
        label="Python model",
        category="Models",
        doc=(
            "Calls a Python function by import path ('package.module:function') in a "
            "worker process of the project (or on the engine's threads, on an inprocess "
            "target). Each input port is passed as a keyword argument (json: "
            "the value; file: a pathlib.Path; dataframe: a pandas DataFrame), followed by the "
            "node's 'kwargs'. It returns a dict of output port to value (or one value when "
            "the node has a single output); a file output is a path the function wrote."
        ),
        params=(
            ParamSpec(
                "callable", "str", required=True, doc="module:function", example="steps:clean"
            ),
            ParamSpec(
                "kwargs", "dict", default={}, doc="Extra keyword arguments", example={"scale": 2}
            ),
        ),
        user_ports=True,
        target_kinds=PYTHON_TARGETS,
        executor="twinflow_studio.engine.executors:run_python_callable",
    )
)

DATA_SOURCE = register_kind(
    NodeKind(
        name="datasource",
        label="Data source",
        category="Data",
        doc=(
            "A file or folder (CSV, Parquet, anything) relative to the project folder, or an "
            "s3:// URI. Its content hash decides whether downstream nodes rerun."
        ),
        params=(
            ParamSpec(
                "path",
                "str",
                required=True,
                doc="Path or s3:// URI",
                example="data/measurements.csv",
                path="file_or_folder",
            ),
        ),
        outputs=(PortSpec("data", "file"),),
        target_kinds=("inprocess",),
        executor="twinflow_studio.engine.executors:run_datasource",
    )
)
