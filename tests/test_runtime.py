"""Device choice and process settings."""

import platform

import pytest
import torch

from superposition.runtime import make_generator, resolve_device, retain_freed_memory


def test_auto_device_follows_cuda_availability():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu").type == "cpu"


def test_unknown_device_names_the_choices():
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        resolve_device("gpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised on machines without a GPU")
def test_cuda_without_a_gpu_fails_clearly():
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_generators_are_seeded():
    assert torch.equal(torch.rand(3, generator=make_generator(5)), torch.rand(3, generator=make_generator(5)))


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the malloc setting exists only in glibc")
def test_retain_freed_memory_takes_effect_on_glibc():
    assert retain_freed_memory() is True
