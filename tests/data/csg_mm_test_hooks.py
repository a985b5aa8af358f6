"""Test-only hook: every rank saves its CSG queues after training (for the 2-process test)."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DumpCSGQueuesHook(Hook):

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = model.regularizer.head
        state = {k: v.detach().cpu().clone() for k, v in head.state_dict().items()}
        torch.save(state, osp.join(runner.work_dir, f'queues_rank{get_rank()}.pth'))
