from __future__ import annotations

import io
import json

from conftest import act
from spacy.language import Language

from harvester.cli.cluster_records import run_cluster_command

KEYS = {"id", "title", "summary", "activity_ids", "metrics", "section", "why"}


def run(text: str, *, batches: bool, blank_nlp: Language) -> tuple[int, list[dict[str, object]], str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_cluster_command(io.StringIO(text), out, err, batches=batches, model=None)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_single_batch(blank_nlp: Language) -> None:
    records = [act("a", "pull_request", "PAY-1 retry webhooks"), act("b", "ticket", "Retries", url="x/browse/PAY-1")]
    text = "\n".join(json.dumps(r.to_json()) for r in records) + "\n\n"
    code, [output], err = run(text, batches=False, blank_nlp=blank_nlp)
    assert (code, err) == (0, "")
    [candidate] = output["candidates"]  # type: ignore[misc]
    assert set(candidate) == KEYS and set(candidate["activity_ids"]) == {"a", "b"}


def test_batches_in_input_order_with_a_malformed_line(blank_nlp: Language) -> None:
    lines = [
        json.dumps({"batch_id": "w2", "activities": [act("a", "commit", "Fix it").to_json()]}),
        "{not json",
        json.dumps({"batch_id": "w1", "activities": [act("b", "commit", "Other").to_json()]}),
        json.dumps({"batch_id": "w3", "activities": [{"id": "x"}]}),
    ]
    code, outputs, err = run("\n".join(lines), batches=True, blank_nlp=blank_nlp)
    assert code == 1
    assert [o["batch_id"] for o in outputs] == ["w2", "w1"]
    assert err.startswith("line 2: ") and "line 4: activity 1:" in err


def test_nothing_readable_is_exit_code_2(blank_nlp: Language) -> None:
    code, outputs, err = run("nope\n", batches=False, blank_nlp=blank_nlp)
    # nothing on stdout: a pipe must not read "no candidates" from input it could not read
    assert code == 2 and outputs == [] and "line 1:" in err
