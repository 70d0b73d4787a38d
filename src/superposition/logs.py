"""Per-rule logging: a rule's script sends its stderr, warnings and log records to the rule's log file."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import torch

__all__ = ["rule_log"]


@contextlib.contextmanager
def rule_log(path: Path | str, threads: int | None = None) -> Iterator[logging.Logger]:
    """Within the block, stderr (progress bars, warnings) and ``logging`` go to ``path``.

    ``threads`` caps torch's intra-op threads at what the scheduler granted the job. An exception is
    logged with its traceback before it propagates, so the log says why a job failed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    with open(path, "w", encoding="utf-8", buffering=1) as handle, contextlib.redirect_stderr(handle):
        root = logging.getLogger()
        handler = logging.StreamHandler(handle)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        logger = logging.getLogger("rule")
        start = time.perf_counter()
        logger.info("torch %s, %d threads", torch.__version__, torch.get_num_threads())
        try:
            yield logger
            logger.info("done in %.1f s", time.perf_counter() - start)
        except BaseException:
            logger.exception("failed after %.1f s", time.perf_counter() - start)
            raise
        finally:
            root.removeHandler(handler)
            logging.captureWarnings(False)
