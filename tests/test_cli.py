import subprocess
import sys

import pytest
from signals import chirp

from hac_tokenizer import HACTokens
from hac_tokenizer.audio import load_audio, save_audio
from hac_tokenizer.cli import main


@pytest.fixture()
def tiny_model_dir(tiny_tokenizer, tmp_path):
    return tiny_tokenizer.save_pretrained(tmp_path / "model")


def test_encode_directory_then_decode(tiny_model_dir, tmp_path):
    audio_dir = tmp_path / "audio"
    save_audio(audio_dir / "a.wav", chirp(8000), 16000)
    save_audio(audio_dir / "sub" / "b.flac", chirp(22050, sample_rate=22050), 22050)
    tokens_dir, wav_dir = tmp_path / "tokens", tmp_path / "wavs"
    assert main(["encode", str(audio_dir), "-o", str(tokens_dir), "--model", str(tiny_model_dir), "-q"]) == 0
    tokens = HACTokens.load(tokens_dir / "sub" / "b.npz")
    assert tokens.sample_lengths.tolist() == [16000] and tokens.model == "tiny"
    assert main(["decode", str(tokens_dir), "-o", str(wav_dir), "--model", str(tiny_model_dir), "-q"]) == 0
    waveform, rate = load_audio(wav_dir / "a.wav")
    assert rate == 16000 and waveform.shape == (1, 8000)
    assert (wav_dir / "sub" / "b.wav").is_file()


def test_bad_file_is_skipped_and_reported(tiny_model_dir, tmp_path, capsys):
    audio_dir = tmp_path / "audio"
    save_audio(audio_dir / "good.wav", chirp(3200), 16000)
    (audio_dir / "bad.wav").write_bytes(b"RIFF not really a wav")
    code = main(["encode", str(audio_dir), "-o", str(tmp_path / "t"), "--model", str(tiny_model_dir), "-q"])
    assert code == 1
    assert "1 of 2 files done" in capsys.readouterr().err
    assert (tmp_path / "t" / "good.npz").is_file() and not (tmp_path / "t" / "bad.npz").exists()
    code = main(
        ["encode", str(audio_dir), "-o", str(tmp_path / "t2"), "--model", str(tiny_model_dir), "-q", "--fail-fast"]
    )
    assert code == 2


def test_info(tiny_model_dir, capsys):
    assert main(["info", "--model", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    assert "lexical" in out and "vocab 32" in out and "900 bps" in out
    assert main(["info", "--list"]) == 0
    assert "hac-14-l16" in capsys.readouterr().out


def test_console_script_runs(tiny_model_dir, tmp_path):
    save_audio(tmp_path / "x.wav", chirp(4000), 16000)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hac_tokenizer.cli",
            "encode",
            str(tmp_path / "x.wav"),
            "-o",
            str(tmp_path / "o"),
            "--model",
            str(tiny_model_dir),
            "-q",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o" / "x.npz").is_file()


# -- no silent data loss: inputs that would share an output are refused before any work ----------------
def _encode(model, *args):
    return main(["encode", *map(str, args), "--model", str(model), "-q"])


def test_encode_refuses_two_inputs_with_one_output_name(tiny_model_dir, tmp_path, capsys):
    audio_dir = tmp_path / "audio"
    save_audio(audio_dir / "a.wav", chirp(3200), 16000)
    save_audio(audio_dir / "a.flac", chirp(4000), 16000)  # a.mp3 alike: a.npz either way
    save_audio(audio_dir / "b.wav", chirp(3200), 16000)
    assert _encode(tiny_model_dir, audio_dir, "-o", tmp_path / "t") == 2
    err = capsys.readouterr().err
    assert "a.wav" in err and "a.flac" in err and "a.npz" in err and "Nothing was written" in err
    assert not (tmp_path / "t").exists()  # refused before any work, b.npz included


def test_encode_refuses_same_name_from_two_folders_given_as_files(tiny_model_dir, tmp_path, capsys):
    for folder in ("x", "y"):
        save_audio(tmp_path / folder / "a.wav", chirp(3200), 16000)
    assert _encode(tiny_model_dir, tmp_path / "x" / "a.wav", tmp_path / "y" / "a.wav", "-o", tmp_path / "t") == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "x" / "a.wav") in err and str(tmp_path / "y" / "a.wav") in err
    assert not (tmp_path / "t").exists()
    # as folders, the outputs mirror them: x/a.npz and y/a.npz do not collide
    assert _encode(tiny_model_dir, tmp_path, "-o", tmp_path / "t") == 0
    assert (tmp_path / "t" / "x" / "a.npz").is_file() and (tmp_path / "t" / "y" / "a.npz").is_file()


def test_encode_counts_a_file_given_twice_once(tiny_model_dir, tmp_path, capsys):
    audio_dir = tmp_path / "audio"
    save_audio(audio_dir / "good.wav", chirp(3200), 16000)
    (audio_dir / "bad.wav").write_bytes(b"RIFF not really a wav")
    assert _encode(tiny_model_dir, audio_dir, audio_dir / "good.wav", "-o", tmp_path / "t") == 1
    assert "1 of 2 files done; 1 failed" in capsys.readouterr().err


def test_a_file_as_output_directory_is_refused(tiny_model_dir, tmp_path, capsys):
    save_audio(tmp_path / "a.wav", chirp(3200), 16000)
    (tmp_path / "out").write_text("not a directory")
    assert _encode(tiny_model_dir, tmp_path / "a.wav", "-o", tmp_path / "out") == 2
    assert "is a file" in capsys.readouterr().err


def test_decode_keeps_dotted_names_apart(tiny_tokenizer, tiny_model_dir, tmp_path):
    """a.b.npz and a.c.npz used to both decode to a.wav."""
    for name, n in (("a.b", 3200), ("a.c", 4000)):
        tiny_tokenizer.encode(chirp(n)).save(tmp_path / "tok" / f"{name}.npz")
    assert main(["decode", str(tmp_path / "tok"), "-o", str(tmp_path / "w"), "--model", str(tiny_model_dir), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["a.b.wav", "a.c.wav"]
    assert load_audio(tmp_path / "w" / "a.c.wav")[0].shape == (1, 4000)


def test_decode_refuses_same_name_from_two_folders(tiny_tokenizer, tiny_model_dir, tmp_path, capsys):
    for folder in ("x", "y"):
        tiny_tokenizer.encode(chirp(3200)).save(tmp_path / folder / "a.npz")
    args = ["decode", str(tmp_path / "x" / "a.npz"), str(tmp_path / "y" / "a.npz"), "-o", str(tmp_path / "w")]
    assert main([*args, "--model", str(tiny_model_dir), "-q"]) == 2
    assert "a.wav" in capsys.readouterr().err and not (tmp_path / "w").exists()


def test_decode_does_not_replace_an_item_of_a_batch(tiny_tokenizer, tiny_model_dir, tmp_path, capsys):
    """a.npz holding 2 items writes a_0.wav and a_1.wav; a token file a_0.npz must not overwrite a_0.wav."""
    tiny_tokenizer.encode([chirp(3200), chirp(4000)]).save(tmp_path / "tok" / "a.npz")
    tiny_tokenizer.encode(chirp(4800)).save(tmp_path / "tok" / "a_0.npz")
    args = ["decode", str(tmp_path / "tok"), "-o", str(tmp_path / "w"), "--model", str(tiny_model_dir), "-q"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "1 of 2 files done; 1 failed" in err and "a_0.npz" in err and "already written" in err
    assert load_audio(tmp_path / "w" / "a_0.wav")[0].shape == (1, 3200)


# -- convert-voice: an output format that cannot be written is refused before the conversion ------------
@pytest.mark.parametrize("name", ["out.mp3", "out.ogg", "out.opus", "out.txt"])
def test_convert_voice_refuses_unwritable_format_before_converting(tiny_model_dir, tmp_path, capsys, monkeypatch, name):
    from hac_tokenizer import HACTokenizer

    save_audio(tmp_path / "src.wav", chirp(4000), 16000)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the conversion ran before the output format was checked")

    monkeypatch.setattr(HACTokenizer, "convert_voice", must_not_run)
    args = ["convert-voice", str(tmp_path / "src.wav"), str(tmp_path / "src.wav"), "-o", str(tmp_path / name)]
    assert main([*args, "--model", str(tiny_model_dir)]) == 2
    err = capsys.readouterr().err
    assert name in err and ".wav" in err and ".flac" in err and not (tmp_path / name).exists()


def test_convert_voice_writes_aif(tiny_model_dir, tmp_path):
    save_audio(tmp_path / "src.wav", chirp(4000), 16000)
    args = ["convert-voice", str(tmp_path / "src.wav"), str(tmp_path / "src.wav"), "-o", str(tmp_path / "o.aif")]
    assert main([*args, "--model", str(tiny_model_dir)]) == 0
    assert load_audio(tmp_path / "o.aif")[0].shape == (1, 4000)


def test_save_audio_refuses_mp3_with_a_typed_error(tmp_path):
    from hac_tokenizer.errors import HACError, OutputPathError

    with pytest.raises(OutputPathError, match=r"\.wav, \.flac") as info:
        save_audio(tmp_path / "x.mp3", chirp(400), 16000)
    assert isinstance(info.value, (HACError, ValueError)) and not list(tmp_path.iterdir())


# -- messages: no reStructuredText in --help, no doubled periods -----------------------------------------
@pytest.mark.parametrize("command", [[], ["encode"], ["decode"], ["convert-voice"], ["tokenize-dataset"], ["info"]])
def test_help_has_no_rst_markup(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: hac-tokenizer" in out and "``" not in out


@pytest.mark.parametrize(
    ("module", "command"),
    [
        ("hac_tokenizer.evaluation.cli", []),
        ("hac_tokenizer.training.cli", []),
        ("hac_tokenizer.training.data.cli", []),
        ("hac_tokenizer.training.data.cli", ["synthetic"]),
        ("hac_tokenizer.training.data.cli", ["align"]),
    ],
)
def test_other_commands_help_has_no_rst_markup(module, command, capsys):
    import importlib

    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(module).main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage:" in out and "``" not in out


def test_unreadable_file_message_has_no_double_period(tiny_model_dir, tmp_path, capsys):
    (tmp_path / "bad.wav").write_bytes(b"RIFF not really a wav")
    assert _encode(tiny_model_dir, tmp_path / "bad.wav", "-o", tmp_path / "t") == 1
    err = capsys.readouterr().err
    assert "Format not recognised" in err and ".." not in err.replace(str(tmp_path), "")


def test_decode_missing_input_is_a_usage_error(tiny_tokenizer, tiny_model_dir, tmp_path, capsys):
    tiny_tokenizer.encode(chirp(3200)).save(tmp_path / "a.npz")
    args = ["decode", str(tmp_path / "a.npz"), str(tmp_path / "typo.npz"), "-o", str(tmp_path / "w")]
    assert main([*args, "--model", str(tiny_model_dir), "-q"]) == 2  # as encode does; was 1 after decoding a.npz
    assert "no such file or directory" in capsys.readouterr().err and not (tmp_path / "w").exists()


def test_encoding_commands_refuse_bf16_before_any_work(tiny_model_dir, tmp_path, capsys):
    audio_dir = tmp_path / "audio"
    audio_dir.mkdir()
    save_audio(audio_dir / "a.wav", chirp(8000), 16000)
    model = ["--model", str(tiny_model_dir), "--dtype", "bf16"]
    assert main(["encode", str(audio_dir), "-o", str(tmp_path / "t"), *model]) == 2
    assert "fp16" in capsys.readouterr().err and not (tmp_path / "t").exists()
    out = tmp_path / "vc.wav"
    assert main(["convert-voice", str(audio_dir / "a.wav"), str(audio_dir / "a.wav"), "-o", str(out), *model]) == 2
    assert not out.exists()
    assert main(["encode", str(audio_dir), "-o", str(tmp_path / "t"), *model[:2], "--dtype", "fp16", "-q"]) == 0


def test_commands_say_where_outputs_went_and_quiet_silences_it(tiny_model_dir, tmp_path, capsys):
    save_audio(tmp_path / "in" / "a.wav", chirp(3200), 16000)
    out = tmp_path / "tokens"
    assert main(["encode", str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_model_dir)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"encode: 1 of 1 inputs done, outputs in {out}\n"
    assert "encode: 100%" in captured.err  # the progress bar, on stderr
    assert main(["encode", str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_model_dir), "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    target = tmp_path / "vc.wav"
    assert (
        main(
            [
                "convert-voice",
                str(tmp_path / "in" / "a.wav"),
                str(tmp_path / "in" / "a.wav"),
                "-o",
                str(target),
                "--model",
                str(tiny_model_dir),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == f"convert-voice: wrote {target}\n"


def test_tokenize_dataset_reads_lhotse_cuts_into_parquet_shards(tiny_model_dir, tmp_path, capsys):
    lhotse = pytest.importorskip("lhotse")
    pytest.importorskip("pyarrow")
    save_audio(tmp_path / "long.wav", chirp(16000), 16000)
    cut = lhotse.Recording.from_file(tmp_path / "long.wav").to_cut()
    lhotse.CutSet.from_cuts([cut.truncate(offset=0.2, duration=0.3).with_id("c1"), cut.with_id("c2")]).to_file(
        tmp_path / "cuts.jsonl.gz"
    )
    out = tmp_path / "out"
    args = [
        "tokenize-dataset",
        "--lhotse-cuts",
        str(tmp_path / "cuts.jsonl.gz"),
        "-o",
        str(out),
        "--workers",
        "0",
        "--model",
        str(tiny_model_dir),
    ]
    assert main([*args, "--format", "parquet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        f"tokenize-dataset: 2 items in 1 parquet shards under {out / 'shards'}; index: {out / 'index.json'}\n"
    )
    assert "rank 0: 100%" in captured.err
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["shard-000000.parquet"]
    assert main([*args, "--format", "npz"]) == 2  # the run writes parquet: resuming it with npz is refused
    assert "resume it with --format parquet" in capsys.readouterr().err
    assert main([*args, "-q"]) == 0  # resumed in its own format: nothing left to do, nothing printed
    assert capsys.readouterr() == ("", "")


def test_tokenize_dataset_takes_exactly_one_corpus(tiny_model_dir, tmp_path, capsys):
    common = ["-o", str(tmp_path / "out"), "--model", str(tiny_model_dir)]
    assert main(["tokenize-dataset", str(tmp_path), "--lhotse-cuts", "cuts.jsonl", *common]) == 2
    assert "got SOURCE and --lhotse-cuts" in capsys.readouterr().err
    assert main(["tokenize-dataset", *common]) == 2
    assert "got none" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
