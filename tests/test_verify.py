"""`make verify` names each corrupt or missing cache file with the command that rebuilds it."""

from __future__ import annotations

import json

from superposition.verify import verify_data
from tests.lm_factories import synthetic_cache


def test_corrupt_and_missing_shards_are_named_with_a_rebuild_command(tmp_path):
    data = tmp_path / "data"
    site = data / "activations" / "tiny" / "trained" / "resid.0"
    site.mkdir(parents=True)
    synthetic_cache(site, tokens=30, shard_tokens=10)
    assert verify_data(data) == (3, [])
    (site / "shard-00001.safetensors").write_bytes(b"garbage")
    (site / "shard-00002.safetensors").unlink()
    checked, problems = verify_data(data)
    assert checked == 3 and [p.path.name for p in problems] == ["shard-00001.safetensors", "shard-00002.safetensors"]
    assert problems[0].reason.startswith("corrupt") and problems[1].reason == "missing"
    assert problems[0].rebuild == f"snakemake --cores all --forcerun {data / 'activations/tiny/trained'}"


def test_prepared_model_weights_are_rechecked(tmp_path):
    model = tmp_path / "data" / "models" / "m"
    (model / "hf").mkdir(parents=True)
    (model / "hf" / "model.safetensors").write_bytes(b"weights")
    from superposition.io import sha256_file

    record = {"prepared_weights": "hf/model.safetensors",
              "prepared_weights_sha256": sha256_file(model / "hf" / "model.safetensors")}
    (model / "model.json").write_text(json.dumps(record))
    assert verify_data(tmp_path / "data") == (1, [])
    (model / "hf" / "model.safetensors").write_bytes(b"changed")
    [problem] = verify_data(tmp_path / "data")[1]
    assert "model.json" in problem.rebuild
