"""A live read freezes what it decoded (no GC walks); reading again frees what was dropped."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

from seldon_doctor.sources.live import LiveOptions, collect_live
from tests.kube_api_double import KubeApiDouble, write_kubeconfig


class _Node:
    def __init__(self) -> None:
        self.me: Any = self  # a reference cycle: only the cyclic GC frees it


def test_second_read_collects_garbage_the_first_one_froze(tmp_path: Path) -> None:
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}]
    with KubeApiDouble(objects) as double:
        options = LiveOptions(kubeconfig=str(write_kubeconfig(tmp_path / "kc", double)))
        keep = [_Node()]
        ref = weakref.ref(keep[0])
        first = collect_live(options)
        assert gc.get_freeze_count() > 0  # the decoded objects (and all else alive) are frozen
        keep.clear()  # garbage now, but frozen: no collection would free it
        gc.collect()
        assert ref() is not None
        second = collect_live(options)
        assert ref() is None
    for scan in (first, second):
        (snapshot,) = scan.snapshots.values()
        assert [o.name for o in snapshot.objects if o.kind == "Namespace"] == ["a"]
    gc.unfreeze()
