"""The model-spec parser: names, options, files, and its errors."""

import pytest

from graphs import EdgesimError, build, canonical, parse_spec, published_accuracy
from simulator.cli import main


def test_parse_forms():
    assert parse_spec("mobilenet_v2") == ("mobilenet_v2", {})
    assert parse_spec(" mobilenet_v2(width=0.75, resolution=160) ") == (
        "mobilenet_v2",
        {"width": 0.75, "resolution": 160},
    )
    assert parse_spec("ssdlite(backbone='mobilenet_v2')") == ("ssdlite", {"backbone": "mobilenet_v2"})
    assert parse_spec("ssdlite(backbone=mobilenet_v2)") == ("ssdlite", {"backbone": "mobilenet_v2"})


@pytest.mark.parametrize(
    "spec, message",
    [
        ("mobilenet_v2(", "is not `name`"),
        ("mobilenet_v2(0.5)", "keywords"),
        ("mobilenet_v2(width=1+x)", "not a literal"),
        ("mobilenet_v2(**{'a': 1})", r"\*\*"),
    ],
)
def test_syntax_errors(spec, message):
    with pytest.raises(EdgesimError, match=message):
        parse_spec(spec)


SPEC_FORMS = [
    "mobilenet_v2", "  mobilenet_v2 ", "x()", "x(a='b', c='d')", "x(_a='', b_2='q=r, s=')", "x(a='é\tb')",
    "nasbench201(arch='|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|', "
    "variant='latbench')",
    # not the simple form: `ast` reads them, or says what is wrong
    "if", "True", "x(a='1', a='2')", "x(if='a')", "class(a='b')", "x(a='b',)", "x(a='b' , c='d')", "x(a='b'c='d')",
    "x(a='b\\n')", 'x(a="b")', "x(a='b', c=3)", "1x(a='b')", "x(a=b)", "x(a='b')(c='d')", "x (a='b')", "\ufb01",
]


@pytest.mark.parametrize("spec", SPEC_FORMS)
def test_simple_specs_read_without_ast_as_ast_reads_them(spec, monkeypatch):
    """Search-space specs (`name(key='text', ...)`) skip `ast`; the result, or the error,
    is the one `ast` gives."""
    import graphs.spec

    def read(text):
        try:
            return parse_spec(text)
        except EdgesimError as error:
            return str(error)

    fast = read(spec)
    monkeypatch.setattr(graphs.spec, "_simple_spec", lambda text: None)
    assert fast == read(spec)


def test_unknown_name_suggests_close_names():
    with pytest.raises(EdgesimError, match="did you mean mobilenet_v2"):
        build("mobilenet_v22")


def test_unknown_option_lists_valid_ones():
    with pytest.raises(EdgesimError, match=r"unknown option 'depth'.*width=1\.0"):
        build("mobilenet_v2(depth=2)")


def test_ill_typed_option_lists_valid_ones():
    with pytest.raises(EdgesimError, match=r"resolution='big' should be a int.*valid options"):
        build("mobilenet_v2(resolution='big')")
    with pytest.raises(EdgesimError, match="should be a float"):
        build("mobilenet_v2(width=True)")


def test_int_is_accepted_for_float_and_options_change_the_graph():
    assert build("mobilenet_v2(width=1)").macs == build("mobilenet_v2").macs
    assert build("mobilenet_v2(resolution=160)").macs < build("mobilenet_v2").macs


def test_canonical_drops_defaults_and_sorts():
    assert canonical("mobilenet_v2(width=1.0)") == "mobilenet_v2"
    assert canonical("mobilenet_v2(width=0.75, resolution=160)") == (
        "mobilenet_v2(resolution=160, width=0.75)"
    )


def test_published_accuracy_of_the_default_variant():
    value, metric, source = published_accuracy("mobilenet_v2")
    assert metric == "top1" and 71 < value < 73 and source


def test_json_file_spec(tmp_path):
    path = tmp_path / "net.json"
    build("mobilenet_v2").save(path)
    assert build(str(path)) == build("mobilenet_v2")
    with pytest.raises(EdgesimError, match="no such model file"):
        build(str(tmp_path / "missing.json"))


def test_cli_errors_are_one_line_exit_2(capsys):
    assert main(["inspect", "mobilenet_v2(depth=2)"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("edgesim: error:")


def test_cli_inspect_json(capsys):
    import json

    assert main(["inspect", "mobilenet_v2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data["macs"], int) and isinstance(data["params"], int)
    assert data["macs"] == sum(op["macs"] for op in data["ops"])
    assert set(data["ops"][0]) >= {"name", "kind", "macs", "params", "out_shape"}
