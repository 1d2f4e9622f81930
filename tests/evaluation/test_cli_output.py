"""hac-eval says where its outputs went and shows progress on stderr; --quiet silences both."""

from hac_tokenizer.evaluation.cli import main


def test_outputs_are_named_and_quiet_silences_them(tiny_tokenizer, synthetic_manifest, tmp_path, capsys):
    model = tiny_tokenizer.save_pretrained(tmp_path / "model")
    out = tmp_path / "eval"
    args = [
        "--model",
        str(model),
        "--manifest",
        str(synthetic_manifest),
        "--out",
        str(out),
        "--max-utterances",
        "2",
        "--metrics",
        "codebook",
        "--device",
        "cpu",
    ]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        f"hac-eval: metrics in {out / 'metrics.json'}, report in {out / 'report.md'}, plots spectrogram.png beside it\n"
    )
    assert "encode/decode: 100%" in captured.err and "metrics: 100%" in captured.err
    assert (out / "metrics.json").is_file() and (out / "report.md").is_file()
    assert main([*args, "-q"]) == 0
    assert capsys.readouterr() == ("", "")
