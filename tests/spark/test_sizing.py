"""Shuffle partitions and the broadcast threshold follow the input's size, within bounds."""

from __future__ import annotations

from pathlib import Path

from spark.session import MAX_BROADCAST, MAX_PARTITIONS, MIN_BROADCAST, Sizing, input_bytes


def test_partitions_and_broadcast_grow_with_the_input() -> None:
    tiny, big, huge = (Sizing.for_bytes(b, cores=2) for b in (1 << 20, 40 << 30, 1 << 50))
    assert tiny.shuffle_partitions == 4 and tiny.broadcast_bytes == MIN_BROADCAST
    assert big.shuffle_partitions == 4 * 320 and big.broadcast_bytes == MAX_BROADCAST
    assert huge.shuffle_partitions == MAX_PARTITIONS
    # every core gets a partition however small the input
    assert Sizing.for_bytes(0, cores=64).shuffle_partitions == 64


def test_input_bytes_counts_parquet_files_only(tmp_path: Path) -> None:
    (tmp_path / "invoices" / "month=2024-01").mkdir(parents=True)
    (tmp_path / "invoices" / "month=2024-01" / "part-0.parquet").write_bytes(b"x" * 1000)
    (tmp_path / "_manifest.json").write_text("{}")
    assert input_bytes(tmp_path) == 1000
