"""The one gremlinpython code path on every backend: translation, step shapes, Neptune signing,
and the documented example query run with plain gremlinpython against the server."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import (
    Bindings,
    Cardinality,
    Column,
    Order,
    P,
    Scope,
    T,
    TextP,
)
from gremlin_python.statics import long
from lineage_helpers import RunScript, backend_config, gremlin_url

from twinflow_studio.lineage import neptune_sigv4_headers, open_lineage
from twinflow_studio.lineage import schema as s
from twinflow_studio.lineage.translate import TranslationError, translate

ROOT = Path(__file__).resolve().parents[2]


def _graph(store, ns: str):
    ops = [
        s.vertex(s.ARTIFACT, f"{ns}a", {"n": 1, "name": 'say "hi"\n\\ é ${x}', "ns": ns}),
        s.vertex(s.ARTIFACT, f"{ns}b", {"n": 2, "f": 2.5, "ns": ns}),
        s.vertex(s.TASK_RUN, f"{ns}c", {"n": 3, "flag": True, "ns": ns}),
        s.edge(f"{ns}a", s.USED, f"{ns}b", props={"port": "p"}),
        s.edge(f"{ns}b", s.USED, f"{ns}c"),
    ]
    from twinflow_studio.lineage.writer import write_ops

    write_ops(store.connection(), ops, 100)
    write_ops(store.connection(), ops, 100)  # idempotent
    return traversal().with_(store.connection())


def _norm(value):
    if isinstance(value, dict):
        return {str(k): _norm(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    if isinstance(value, set):
        return sorted(_norm(v) for v in value)
    return value


SHAPES = [
    ("count", lambda g, ns: g.V().has("ns", ns).count(), [3]),
    ("has label key value", lambda g, ns: g.V().has(s.ARTIFACT, "ns", ns).count(), [2]),
    (
        "hasLabel many",
        lambda g, ns: g.V().has("ns", ns).has_label("Artifact", "TaskRun").count(),
        [3],
    ),
    ("V by ids", lambda g, ns: g.V(f"{ns}a", f"{ns}c").values("n").order(), [1, 3]),
    ("V by > 10 ids", lambda g, ns: g.V(*[f"{ns}{x}" for x in "abcdefghijkl"]).count(), [3]),
    ("valueMap", lambda g, ns: g.V(f"{ns}b").value_map("n", "f"), [{"f": [2.5], "n": [2]}]),
    ("string escapes", lambda g, ns: g.V(f"{ns}a").values("name"), ['say "hi"\n\\ é ${x}']),
    (
        "project by token",
        lambda g, ns: g.V(f"{ns}a").project("id", "label").by(T.id).by(T.label),
        lambda ns: [{"id": f"{ns}a", "label": "Artifact"}],
    ),
    (
        "repeat emit times",
        lambda g, ns: g.V(f"{ns}a").repeat(__.out()).emit().times(5).values("n"),
        [2, 3],
    ),
    (
        "repeat until",
        lambda g, ns: g.V(f"{ns}a").repeat(__.out()).until(__.has("flag")).values("n"),
        [3],
    ),
    (
        "union identity",
        lambda g, ns: g.V(f"{ns}c").union(__.identity(), __.in_()).values("n").order(),
        [2, 3],
    ),
    ("P within", lambda g, ns: g.V().has("ns", ns).has("n", P.within([1, 3])).count(), [2]),
    (
        "P between and",
        lambda g, ns: g.V().has("ns", ns).has("n", P.gt(1).and_(P.lte(3))).values("n").order(),
        [2, 3],
    ),
    ("P or", lambda g, ns: g.V().has("ns", ns).has("n", P.lt(2).or_(P.gt(2))).count(), [2]),
    ("TextP", lambda g, ns: g.V().has("ns", ns).has(T.id, TextP.ending_with("b")).count(), [1]),
    (
        "order desc",
        lambda g, ns: g.V().has("ns", ns).order().by("n", Order.desc).values("n"),
        [3, 2, 1],
    ),
    ("where traversal", lambda g, ns: g.V().has("ns", ns).where(__.out(s.USED)).count(), [2]),
    ("not", lambda g, ns: g.V().has("ns", ns).not_(__.in_(s.USED)).values("n"), [1]),
    (
        "coalesce constant",
        lambda g, ns: g.V(f"{ns}zz").fold().coalesce(__.unfold().values("n"), __.constant("none")),
        ["none"],
    ),
    (
        "group count",
        lambda g, ns: g.V().has("ns", ns).group().by(T.label).by(__.count()),
        [{"Artifact": 2, "TaskRun": 1}],
    ),
    (
        "select keys",
        lambda g, ns: (
            g.V().has("ns", ns).group().by("n").by(__.count()).select(Column.values).unfold().sum_()
        ),
        [3],
    ),
    (
        "as select",
        lambda g, ns: g.V(f"{ns}a").as_("x").out().as_("y").select("x", "y").by("n"),
        [{"x": 1, "y": 2}],
    ),
    ("count local", lambda g, ns: g.V().has("ns", ns).values("n").fold().count(Scope.local), [3]),
    ("range", lambda g, ns: g.V().has("ns", ns).order().by("n").range_(1, 3).values("n"), [2, 3]),
    (
        "long literal",
        lambda g, ns: g.V().has("ns", ns).order().by("n").limit(long(2)).values("n"),
        [1, 2],
    ),
    ("edge props", lambda g, ns: g.V(f"{ns}a").out_e(s.USED).values("port"), ["p"]),
    ("edge ends", lambda g, ns: g.V(f"{ns}b").in_e().out_v().values("n"), [1]),
    (
        "choose",
        lambda g, ns: (
            g.V()
            .has("ns", ns)
            .order()
            .by("n")
            .choose(__.has("flag"), __.constant("y"), __.constant("n"))
        ),
        ["n", "n", "y"],
    ),
    (
        "aggregate without",
        lambda g, ns: (
            g.V(f"{ns}a")
            .aggregate("seen")
            .repeat(__.both().where(P.without("seen")).dedup().aggregate("seen"))
            .emit()
            .values("n")
        ),
        [2, 3],
    ),
    ("vertex result", lambda g, ns: g.V(f"{ns}a").label(), ["Artifact"]),
    (
        "property single",
        lambda g, ns: g.V(f"{ns}c").property(Cardinality.single, "n", 3).values("n"),
        [3],
    ),
]


@pytest.mark.parametrize(("name", "build", "expected"), SHAPES, ids=[x[0] for x in SHAPES])
def test_step_shapes_give_the_same_results(make_store, name, build, expected):
    store = make_store()
    ns = f"t{uuid.uuid4().hex[:10]}:"
    g = _graph(store, ns)
    want = expected(ns) if callable(expected) else expected
    assert _norm(build(g, ns).to_list()) == _norm(want)


def test_vertices_come_back_as_gremlinpython_vertices(make_store):
    store = make_store()
    ns = f"t{uuid.uuid4().hex[:10]}:"
    g = _graph(store, ns)
    (v,) = g.V(f"{ns}a").to_list()
    assert (v.id, v.label) == (f"{ns}a", "Artifact")
    (e,) = g.V(f"{ns}a").out_e().to_list()
    assert (e.label, e.outV.id, e.inV.id) == (s.USED, f"{ns}a", f"{ns}b")


def test_translation_text():
    g = traversal().with_(None)  # bytecode only, never submitted
    script, side_effect = translate(
        g.V("a").has("n", P.within([1, 2])).order().by("n", Order.desc).limit(long(3)).bytecode
    )
    assert (
        script == 'g.V("a").has("n", P.within([1, 2])).order().by("n", Order.desc)'
        ".limit(3).to_list()"
    )
    assert not side_effect
    batch = s.batch_traversal(g, [s.vertex(s.RUN, "run:1", {"x": 1})])
    batch.bytecode.add_step("discard")
    script, side_effect = translate(batch.bytecode)
    assert side_effect and script.startswith('g.mergeV(#{"T.id": "run:1"})')
    assert script.endswith(".iterate();")


def test_lambdas_and_bindings_are_refused_with_the_step_named():
    g = traversal().with_(None)
    with pytest.raises(TranslationError, match="step 'has': bindings"):
        translate(g.V().has("n", Bindings.of("x", 1)).bytecode)
    with pytest.raises(TranslationError, match="step 'map': lambdas"):
        translate(g.V().map(lambda: "it.get()").bytecode)


def test_neptune_sigv4_headers_are_signed_from_the_given_credentials():
    url = "wss://lineage.cluster-abc.eu-west-1.neptune.amazonaws.com:8182/gremlin"
    credentials = Credentials("AKIDTWINFLOWTEST", "secret-key-for-test")
    headers = neptune_sigv4_headers(url, "eu-west-1", credentials)
    auth = headers["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDTWINFLOWTEST/")
    assert "/eu-west-1/neptune-db/aws4_request" in auth
    assert "SignedHeaders=host;x-amz-date" in auth
    assert headers["host"] == "lineage.cluster-abc.eu-west-1.neptune.amazonaws.com:8182"

    # botocore itself recomputes the same signature for the handshake request.
    request = AWSRequest(
        method="GET",
        url="https://lineage.cluster-abc.eu-west-1.neptune.amazonaws.com:8182/gremlin",
        headers={"host": headers["host"], "X-Amz-Date": headers["X-Amz-Date"]},
    )
    request.context["timestamp"] = headers["X-Amz-Date"]
    signer = SigV4Auth(credentials, "neptune-db", "eu-west-1")
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    assert auth.endswith("Signature=" + signer.signature(string_to_sign, request))


def test_neptune_sigv4_uses_boto3_credential_chain(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    headers = neptune_sigv4_headers("wss://db.example:8182/gremlin", "us-east-1")
    assert "Credential=AKIDFROMENVIRONMENT/" in headers["Authorization"]
    assert headers["X-Amz-Security-Token"] == "env-token"


def _docs_example() -> str:
    text = (ROOT / "docs" / "lineage.md").read_text()
    match = re.search(r"<!-- example:provenance -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/lineage.md lost its provenance example"
    return match.group(1)


@pytest.mark.gremlin_server
def test_the_documented_query_finds_what_the_docs_say(tmp_path):
    url = gremlin_url()
    store = open_lineage(tmp_path, backend_config("gremlin-server")).start()
    script = RunScript()
    run = script.run(store.subscriber)
    assert store.flush(30), store.last_error
    store.close()
    code = _docs_example()
    code = code.replace("ws://127.0.0.1:18182/gremlin", url)
    code = code.replace("<sha256 of the model file>", run["model"].sha256)
    namespace: dict = {}
    exec(compile(code, "docs/lineage.md", "exec"), namespace)  # noqa: S102 - our own docs
    labels = set(namespace["labels"])
    # What docs/lineage.md promises the example returns:
    assert labels == {"TaskRun", "Artifact", "Run", "ProjectVersion", "Project"}
    uids = set(namespace["upstream"])
    assert s.artifact_uid(script.raw.sha256) in uids
    assert s.artifact_uid(script.image) in uids
    assert s.project_version_uid(script.project, "v1") in uids


def test_batches_mixing_new_and_existing_elements(make_store):
    """Creates, updates of existing vertices, edges between old and new vertices and
    duplicates in one batch give what mergeV/mergeE give, on every backend."""
    from twinflow_studio.lineage.writer import write_ops

    store = make_store()
    ns = f"t{uuid.uuid4().hex[:10]}:"
    conn = store.connection()
    write_ops(
        conn,
        [
            s.vertex(s.RUN, f"{ns}old", {"run_id": "old"}, {"status": "running"}),
            s.vertex(s.ARTIFACT, f"{ns}art", {"n": 1}),
        ],
        100,
    )
    write_ops(
        conn,
        [
            s.vertex(s.RUN, f"{ns}old", {"run_id": "ignored on match"}, {"status": "succeeded"}),
            s.vertex(s.TASK_RUN, f"{ns}new", {"n": 2}),
            s.vertex(s.TASK_RUN, f"{ns}new", {"n": 99}),  # a duplicate: the first create wins
            s.edge(f"{ns}new", s.PART_OF, f"{ns}old"),
            s.edge(f"{ns}old", s.USED, f"{ns}new"),
            s.edge(f"{ns}old", s.USED, f"{ns}art"),  # both ends existed before this batch
            s.edge(f"{ns}old", s.USED, f"{ns}art"),
        ],
        100,
    )
    g = traversal().with_(conn)
    assert g.V(f"{ns}old").values("status").to_list() == ["succeeded"]
    assert g.V(f"{ns}old").values("run_id").to_list() == ["old"]
    assert g.V(f"{ns}new").values("n").to_list() == [2]
    assert sorted(g.V(f"{ns}old").out(s.USED).id_().to_list()) == [f"{ns}art", f"{ns}new"]
    assert g.V(f"{ns}old").in_(s.PART_OF).id_().to_list() == [f"{ns}new"]
    assert g.V(f"{ns}old", f"{ns}new", f"{ns}art").both_e().dedup().count().next() == 3
