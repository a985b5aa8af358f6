"""Two rows of docs/bad_input.md that had no test of their own: image lists with Windows line
ends, and mIoU over labels with ignored pixels (hand-computed)."""
import os.path as osp

import pytest
import torch

import csg_mm  # noqa: F401
from tests.utils.visda_fake_data import make_visda17


def test_visda17_list_with_crlf_line_ends(tmp_path):
    from csg_mm.datasets import VisDA17Dataset

    lists = make_visda17(tmp_path, per_class=1, splits=('validation', ))
    list_file = osp.join(tmp_path, 'validation', 'image_list.txt')
    with open(list_file, 'wb') as f:
        f.write(b''.join(f'{p} {lb}\r\n'.encode() for p, lb in lists['validation']))
    ds = VisDA17Dataset(data_root=str(tmp_path), split='validation')
    assert [(osp.relpath(d['img_path'], osp.join(tmp_path, 'validation')), d['gt_label'])
            for d in ds.load_data_list()] == lists['validation']


def test_miou_leaves_ignored_pixels_out():
    from mmseg.evaluation import IoUMetric

    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=('a', 'b'))
    pred = torch.tensor([[0, 1], [1, 1]])
    label = torch.tensor([[0, 1], [255, 0]])  # (1, 0) is ignored
    metric.process([], [dict(pred_sem_seg=dict(data=pred[None]),
                             gt_sem_seg=dict(data=label[None]))])
    # class a: hit (0, 0); union {(0, 0), (1, 1)} -> 1/2. class b: hit (0, 1); union
    # {(0, 1), (1, 1)} -> 1/2 (counting the ignored pixel as a "b" prediction would give 1/3)
    assert metric.compute_metrics(metric.results)['mIoU'] == pytest.approx(50.0)
