"""Write the protocol record of a test run next to its log (``tools/test.py`` registers it)."""
from typing import Optional

from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...evaluation.protocol_record import build_record, write_record


@HOOKS.register_module()
class ProtocolRecordHook(Hook):
    """After ``runner.test()``, write ``<timestamp>_protocol.json`` and ``<timestamp>_protocol.md``
    into the run's log dir (``WORK_DIR/<timestamp>/``, unique per run; an existing record is never
    overwritten: :class:`FileExistsError`). Content: :func:`csg_mm.evaluation.build_record`.

    The checkpoint's ``meta`` (iteration, epoch, training seed) is taken from the
    ``after_load_checkpoint`` call of mmengine's ``Runner.load_checkpoint``; a checkpoint without
    ``meta`` (e.g. converted weights) is recorded with ``null`` iteration and seed. Only the main
    process writes. Validation during training is not recorded.

    Args:
        out_dir (str, optional): Where to write instead of the log dir. Defaults to None.
    """

    priority = 'VERY_LOW'

    def __init__(self, out_dir: Optional[str] = None) -> None:
        self.out_dir = out_dir
        self._checkpoint_meta: dict = {}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._checkpoint_meta = dict(checkpoint.get('meta') or {})

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not is_main_process():
            return
        cfg = runner.cfg
        test_cfg = cfg.get('test_dataloader') or {}
        evaluator = runner.test_evaluator
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        record = build_record(
            metrics or {},
            dataset=runner.test_dataloader.dataset,
            dataset_cfg=test_cfg.get('dataset'),
            prefixes=getattr(evaluator, 'dataset_prefixes', None),
            config=getattr(cfg, 'filename', None),
            checkpoint=cfg.get('load_from'),
            checkpoint_meta=self._checkpoint_meta,
            train_cfg=cfg.get('train_cfg'),
            test_seed=runner.seed,
            timestamp=runner.timestamp,
            world_size=get_world_size(),
            tta='TTA' in type(model).__name__)
        json_path, md_path = write_record(record, self.out_dir or runner.log_dir,
                                          f'{runner.timestamp}_protocol')
        print_log(f'protocol record: {json_path} and {md_path}', logger='current')
