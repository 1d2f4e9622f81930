import platform

import pytest

from hac_tokenizer.cpu import cpu_info, read_cpu_info


def write_cpuinfo(path, first_core, second_core):
    path.write_text(f"processor\t: 0\n{first_core}\n\nprocessor\t: 1\n{second_core}\n")
    return path


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("flags\t\t: fpu avx512f avx512_bf16 avx512_vnni", True),
        ("flags\t\t: fpu avx512f amx_tile amx_bf16", True),
        ("Features\t: fp asimd bf16 i8mm", True),
        ("flags\t\t: fpu sse avx2 avx512f", False),
    ],
)
def test_bf16_is_read_from_the_flags_line(tmp_path, flags, expected):
    assert read_cpu_info(write_cpuinfo(tmp_path / "cpuinfo", flags, flags)).has_bf16 is expected


def test_the_first_cores_model_and_flags_are_read(tmp_path):
    cpuinfo = write_cpuinfo(
        tmp_path / "cpuinfo", "model name\t: AMD EPYC 9R14\nflags\t\t: fpu avx2", "model name\t: other\nflags\t\t: sse"
    )
    info = read_cpu_info(cpuinfo)
    assert info.model == "AMD EPYC 9R14" and info.flags == {"fpu", "avx2"}


def test_without_cpuinfo_the_platform_names_the_cpu_and_no_flags_are_claimed(tmp_path):
    info = read_cpu_info(tmp_path / "missing")  # macOS, Windows: no /proc
    assert info.model == (platform.processor() or platform.machine()) and info.flags == frozenset()
    assert info.has_bf16 is False  # training falls back to fp32 rather than guess


def test_this_machine_is_read_once():
    assert cpu_info() is cpu_info() and cpu_info().model
