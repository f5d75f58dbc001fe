"""Regressions from issue 17: profile files edited after loading, TOML strings with control
characters, list-valued --set values, one JSON style."""

import json
import tomllib

import pytest

from graphs import EdgesimError
from simulator import predict
from simulator.cli import main
from simulator.hardware.profile import clear_profile_cache, load_profile, profile_from_mapping, to_toml
from simulator.textfmt import parse_setting


def test_load_profile_sees_an_edited_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(to_toml(load_profile("coral-usb")))
    before = load_profile(str(path))
    assert before.hw.array.array_rows == 64
    path.write_text(path.read_text().replace("array_rows = 64", "array_rows = 128"))
    after = load_profile(str(path))  # no cache_clear needed
    assert after.hw.array.array_rows == 128
    assert predict("mobilenet_v2", str(path)).latency_s < predict("mobilenet_v2", before).latency_s
    assert load_profile(str(path)) is after  # unchanged file: the cached profile
    clear_profile_cache()
    assert load_profile(str(path)) == after and load_profile(str(path)) is not after


def test_toml_round_trips_control_characters(tmp_path):
    data = load_profile("pixel1-cpu").to_mapping()
    data["description"] = 'tab\there, bell\x07, quote " and backslash \\ and\nnewline \x7f'
    data["sources"]["runtime.fold_batch_norm"] = "form feed \x0c and escape \x1b[0m"
    profile = profile_from_mapping(data, "<test>")
    text = to_toml(profile)
    read = tomllib.loads(text)  # the old writer left \t, \x07 ... raw: invalid TOML
    assert read["description"] == data["description"]
    assert read["sources"]["runtime.fold_batch_norm"] == "form feed \x0c and escape \x1b[0m"
    path = tmp_path / "p.toml"
    path.write_text(text)
    assert load_profile(str(path)) == profile


def test_set_values_are_toml_literals():
    assert parse_setting('fused_activations=["relu"],["relu","relu6"]') == (
        "fused_activations", [("relu",), ("relu", "relu6")])
    assert parse_setting("array_rows=32,64") == ("array_rows", [32, 64])
    assert parse_setting("fold_batch_norm=true,false") == ("fold_batch_norm", [True, False])
    assert parse_setting('fallback="per_op",after_first_unsupported') == (
        "fallback", ["per_op", "after_first_unsupported"])
    assert parse_setting('description="a, b",c') == ("description", ["a, b", "c"])
    with pytest.raises(EdgesimError, match="not a TOML value"):
        parse_setting("array_rows=[1,")


def test_sweep_over_a_list_valued_field(tmp_path):
    out = tmp_path / "s"
    assert main(["sweep", "--device", "coral-usb", "--set", 'fused_activations=[],["relu","relu6"]',
                 "--models", "mobilenet_v2", "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    rows = (out / "sweep.csv").read_text().splitlines()
    assert len(rows) == 3
    unfused = predict("mobilenet_v2", load_profile("coral-usb").replace(fused_activations=()))
    fused = predict("mobilenet_v2", "coral-usb")
    assert f",{unfused.latency_s * 1e3!r}," in rows[1] and f",{fused.latency_s * 1e3!r}," in rows[2]
    assert unfused.latency_s > fused.latency_s  # an activation not fused costs a pass


def test_one_json_style(capsys):
    outputs = []
    for args in (["predict", "mobilenet_v2", "--device", "pixel1-cpu", "--json"],
                 ["inspect", "mobilenet_v2", "--json"], ["devices", "--json"], ["models", "--json"]):
        assert main(args) == 0
        outputs.append(capsys.readouterr().out)
    for text in outputs:
        json.loads(text)
        assert text.startswith("{\n  \"") or text.startswith("[\n  {")  # two-space indent everywhere
    report = json.loads(outputs[0])
    assert report["latency_ms"] == predict("mobilenet_v2", "pixel1-cpu").latency_s * 1e3  # full precision
