"""Content-Encoding of a body: each encoding decodes, a corrupt stream is a 400, a bomb a 413 at the cap."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import exceptions

from ingest.parsers import PayloadTooLarge, decompress

BODY = b'{"message": "checkout failed", "level": "error", "extra": {"cart": [1, 2, 3]}}' * 20
LIMIT = 64 * 1024
BOMB_BYTES = 100_000_000  # 100 MB of zeros
# brotli hands its output over in blocks, the first of 32,752 bytes (google/brotli#1396): the parser, asking
# for less each time, stops less than one block past the cap.
BROTLI_BLOCK = 32 * 1024


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def zstd_streamed(data: bytes) -> bytes:
    """A frame as a streaming compressor writes it: no content size in its header."""
    compressor = zstandard.ZstdCompressor(write_content_size=False).compressobj()
    return compressor.compress(data) + compressor.flush()


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def zeros(chunk: int = 1_000_000) -> Iterator[bytes]:
    for _ in range(BOMB_BYTES // chunk):
        yield bytes(chunk)


def brotli_bomb() -> bytes:
    compressor = brotli.Compressor(quality=5)
    return b"".join(compressor.process(chunk) for chunk in zeros()) + compressor.finish()


def zstd_bomb() -> bytes:
    compressor = zstandard.ZstdCompressor().compressobj(size=BOMB_BYTES)
    return b"".join(compressor.compress(chunk) for chunk in zeros()) + compressor.flush()


# A skippable frame (magic 0x184D2A50, 4 bytes of content) that decoders pass over.
SKIPPABLE_FRAME = b"\x50\x2a\x4d\x18\x04\x00\x00\x00meta"


@pytest.mark.parametrize(
    ("encoding", "raw"),
    [
        ("", BODY),
        ("identity", BODY),
        ("gzip", gzip.compress(BODY)),
        ("x-gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", raw_deflate(BODY)),
        ("br", brotli.compress(BODY)),
        ("zstd", zstd(BODY)),
        ("zstd", zstd_streamed(BODY)),
    ],
)
def test_each_encoding_decodes_to_the_body(encoding, raw):
    assert decompress(raw, encoding, LIMIT) == BODY


def test_a_zstd_body_of_several_frames_decodes_to_all_of_them():
    raw = zstd(BODY[:500]) + SKIPPABLE_FRAME + zstd_streamed(BODY[500:])

    assert decompress(raw, "zstd", LIMIT) == BODY


def test_a_zstd_body_of_thousands_of_frames_decodes():
    raw = zstd(b"") * 10_000 + SKIPPABLE_FRAME * 10_000 + zstd(BODY)

    assert decompress(raw, "zstd", LIMIT) == BODY


COMPRESS = {
    "gzip": gzip.compress,
    "br": lambda data: brotli.compress(data, quality=5),
    "zstd": zstd,
    "zstd-streamed": zstd_streamed,
}


@settings(max_examples=60, deadline=None, database=None)
@given(st.sampled_from(sorted(COMPRESS)), st.integers(0, 150_000), st.integers(0, 150_000))
def test_a_body_decodes_whole_within_the_limit_and_is_413_past_it(encoding, size, limit):
    data = (BODY * (size // len(BODY) + 1))[:size]
    raw = COMPRESS[encoding](data)
    encoding = encoding.removesuffix("-streamed")

    if size <= limit:
        assert decompress(raw, encoding, limit) == data
    else:
        with pytest.raises(PayloadTooLarge, match=f"larger than {limit} bytes"):
            decompress(raw, encoding, limit)


# Around the 32,752-byte blocks in which brotli hands its output over.
@pytest.mark.parametrize("size", [32_751, 32_752, 32_753, 65_504, 65_505, 98_256])
def test_brotli_bodies_around_its_output_blocks_decode_up_to_the_limit(size):
    raw = brotli.compress(b"y" * size)

    assert decompress(raw, "br", size) == b"y" * size
    with pytest.raises(PayloadTooLarge):
        decompress(raw, "br", size - 1)


@pytest.mark.parametrize("encoding", ["br", "zstd"])
def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413(encoding):
    compress = brotli.compress if encoding == "br" else zstd

    assert decompress(compress(b"x" * LIMIT), encoding, LIMIT) == b"x" * LIMIT
    with pytest.raises(PayloadTooLarge) as refused:
        decompress(compress(b"x" * (LIMIT + 1)), encoding, LIMIT)
    assert refused.value.status_code == 413
    assert str(refused.value.detail) == f"The body is larger than {LIMIT} bytes once decompressed."


BROTLI = brotli.compress(BODY)
ZSTD = zstd(BODY)


@pytest.mark.parametrize(
    ("encoding", "raw"),
    [
        ("br", b'{"message": "not compressed"}'),
        ("br", BROTLI[: len(BROTLI) // 2]),  # cut short
        ("br", b""),
        ("br", BROTLI + b"trailing bytes"),
        ("zstd", b'{"message": "not compressed"}'),
        ("zstd", ZSTD[: len(ZSTD) // 2]),  # cut short inside the frame
        ("zstd", ZSTD[:4]),  # the magic number alone
        ("zstd", b""),
        ("zstd", ZSTD + b"trailing bytes"),
        ("zstd", ZSTD + ZSTD[:10]),  # a second frame cut short
    ],
)
def test_a_corrupt_stream_is_400_naming_the_encoding(encoding, raw):
    with pytest.raises(exceptions.ParseError) as refused:
        decompress(raw, encoding, LIMIT)

    assert refused.value.status_code == 400
    assert str(refused.value.detail) == f"The body is not valid {encoding} data."


def test_a_zstd_frame_that_needs_a_window_over_8_mib_is_refused():
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=24)  # 16 MiB
    compressor = zstandard.ZstdCompressor(compression_params=params).compressobj()
    raw = compressor.compress(BODY) + compressor.flush()

    with pytest.raises(exceptions.ParseError, match="not valid zstd data"):
        decompress(raw, "zstd", LIMIT)


def test_existing_encodings_keep_their_messages():
    with pytest.raises(exceptions.ParseError) as not_gzip:
        decompress(b"plain text, not gzip", "gzip", LIMIT)
    with pytest.raises(PayloadTooLarge) as gzip_bomb:
        decompress(gzip.compress(bytes(LIMIT + 1)), "gzip", LIMIT)

    assert str(not_gzip.value.detail) == "The body is not valid gzip data."
    assert str(gzip_bomb.value.detail) == f"The body is larger than {LIMIT} bytes once decompressed."


def test_an_unknown_encoding_is_415_listing_the_supported_ones():
    with pytest.raises(exceptions.UnsupportedMediaType) as refused:
        decompress(BODY, "compress", LIMIT)

    assert refused.value.status_code == 415
    assert str(refused.value.detail) == (
        "Content-Encoding 'compress' is not supported: use gzip, deflate, br, zstd or none."
    )


class Produced:
    """Bytes a library decompressor has handed out, counted by the wrappers below."""

    def __init__(self) -> None:
        self.bytes = 0

    def count(self, output: bytes) -> bytes:
        self.bytes += len(output)
        return output


@pytest.fixture
def brotli_output(monkeypatch) -> Produced:
    """brotli's decompressor, unchanged but for counting what its ``process`` returns."""
    produced = Produced()
    real = brotli.Decompressor

    class CountingDecompressor:
        def __init__(self) -> None:
            self.inner = real()

        def process(self, data, **kwargs):
            return produced.count(self.inner.process(data, **kwargs))

        def can_accept_more_data(self):
            return self.inner.can_accept_more_data()

        def is_finished(self):
            return self.inner.is_finished()

    monkeypatch.setattr(brotli, "Decompressor", CountingDecompressor)
    return produced


@pytest.fixture
def zstd_output(monkeypatch) -> Produced:
    """zstandard's decompressor, unchanged but for counting what its readers and decompressobjs return."""
    produced = Produced()
    real = zstandard.ZstdDecompressor

    class CountingReader:
        def __init__(self, inner) -> None:
            self.inner = inner

        def __enter__(self):
            self.inner.__enter__()
            return self

        def __exit__(self, *exc_info):
            return self.inner.__exit__(*exc_info)

        def read(self, size=-1):
            return produced.count(self.inner.read(size))

    class CountingFrame:
        def __init__(self, inner) -> None:
            self.inner = inner

        def decompress(self, data):
            return produced.count(self.inner.decompress(data))

        @property
        def eof(self):
            return self.inner.eof

        @property
        def unused_data(self):
            return self.inner.unused_data

    class CountingDecompressor:
        def __init__(self, **kwargs) -> None:
            self.inner = real(**kwargs)

        def stream_reader(self, source, **kwargs):
            return CountingReader(self.inner.stream_reader(source, **kwargs))

        def decompressobj(self, **kwargs):
            return CountingFrame(self.inner.decompressobj(**kwargs))

    monkeypatch.setattr(zstandard, "ZstdDecompressor", CountingDecompressor)
    return produced


def test_a_brotli_bomb_is_refused_having_inflated_no_more_than_the_cap(brotli_output):
    bomb = brotli_bomb()

    with pytest.raises(PayloadTooLarge, match=f"larger than {LIMIT} bytes"):
        decompress(bomb, "br", LIMIT)

    assert LIMIT < brotli_output.bytes <= LIMIT + 1 + BROTLI_BLOCK


def test_a_zstd_bomb_is_refused_having_inflated_at_most_one_byte_past_the_cap(zstd_output):
    bomb = zstd_bomb()

    with pytest.raises(PayloadTooLarge, match=f"larger than {LIMIT} bytes"):
        decompress(bomb, "zstd", LIMIT)

    assert zstd_output.bytes == LIMIT + 1


def test_the_counted_decompressors_see_a_whole_body(brotli_output, zstd_output):
    # The bomb tests' counts are only meaningful if the wrappers count what the parser decodes.
    decompress(brotli.compress(BODY), "br", LIMIT)
    decompress(zstd(BODY), "zstd", LIMIT)

    assert brotli_output.bytes == len(BODY)
    assert zstd_output.bytes == 2 * len(BODY)  # read once, then checked frame by frame
