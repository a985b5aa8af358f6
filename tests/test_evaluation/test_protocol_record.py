"""The protocol record of tools/test.py: content, Markdown table, never overwritten."""
import json

import numpy as np
import pytest
from mmengine.dataset import BaseDataset

from csg_mm.datasets import ConcatEvalDataset
from csg_mm.evaluation import build_record, render_markdown, write_record
from csg_mm.evaluation.protocol_record import pipeline_resizes, to_jsonable

CLASSES = ('road', 'sky')


class _Set(BaseDataset):
    METAINFO = dict(classes=CLASSES, palette=[[0, 0, 0], [1, 1, 1]])

    def __init__(self, num, data_root='', seg_dir=None, **kwargs):
        self._num = num
        super().__init__(data_root=data_root, serialize_data=False,
                         data_prefix=dict(seg_map_path=seg_dir or ''), **kwargs)

    def load_data_list(self):
        return [dict(i=i) for i in range(self._num)]


def _pipeline(scale):
    return [dict(type='LoadImageFromFile'), dict(type='Resize', scale=scale, keep_ratio=True),
            dict(type='LoadAnnotations'), dict(type='PackSegInputs')]


def test_pipeline_resizes():
    assert pipeline_resizes(_pipeline((2048, 1024))) == [
        dict(type='Resize', scale=[2048, 1024], keep_ratio=True)]
    assert pipeline_resizes([dict(type='LoadImageFromFile')]) == []
    tta = [dict(type='LoadImageFromFile'),
           dict(type='TestTimeAug', transforms=[
               [dict(type='mmseg.Resize', scale_factor=0.5, keep_ratio=True),
                dict(type='Resize', scale_factor=1.0, keep_ratio=True)],
               [dict(type='RandomFlip', prob=0.)]])]
    assert pipeline_resizes(tta) == [
        dict(type='Resize', scale_factor=0.5, keep_ratio=True),
        dict(type='Resize', scale_factor=1.0, keep_ratio=True)]


def test_to_jsonable():
    assert to_jsonable({'a': np.float32(58.33), 'b': (1, np.int64(2)), 'c': np.arange(2)}) == {
        'a': 58.33, 'b': [1, 2], 'c': [0, 1]}


def _multi_record(tmp_path):
    seg_dir = tmp_path / 'mapillary' / 'validation' / 'labels_trainIds'
    seg_dir.mkdir(parents=True)
    (tmp_path / 'mapillary' / 'validation' / 'labels_trainIds.json').write_text(
        json.dumps(dict(convention='robustnet', short_side=None, table={'nature--sky': 10})))
    dataset = ConcatEvalDataset([_Set(2), _Set(3, seg_dir=str(seg_dir))])
    dataset_cfg = dict(type='ConcatEvalDataset', datasets=[
        dict(type='A', pipeline=_pipeline((2048, 1024))),
        dict(type='B', pipeline=_pipeline((1280, 720)))])
    metrics = {'cityscapes/mIoU': np.float32(40.0), 'cityscapes/aAcc': 90.0,
               'mapillary/mIoU': np.float32(30.5), 'mapillary/aAcc': 80.0,
               'mean/mIoU': 35.25, 'mean/aAcc': 85.0}
    return build_record(
        metrics, dataset=dataset, dataset_cfg=dataset_cfg,
        prefixes=['cityscapes', 'mapillary'], config='cfg.py', checkpoint='iter_8.pth',
        checkpoint_meta=dict(iter=8, epoch=0, seed=42, experiment_name='x', time='t'),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=8), test_seed=7,
        timestamp='20261129_000000', world_size=2)


def test_multi_dataset_record(tmp_path):
    record = _multi_record(tmp_path)
    assert record['checkpoint'] == dict(file='iter_8.pth', iter=8, epoch=0,
                                        last_of_schedule=True, experiment_name='x',
                                        saved_at='t')
    assert record['seed'] == dict(train=42, test=7) and record['world_size'] == 2
    first, second = record['datasets']
    assert (first['prefix'], first['type'], first['num_samples']) == ('cityscapes', 'A', 2)
    assert first['metrics'] == {'mIoU': 40.0, 'aAcc': 90.0}
    assert second['metrics'] == {'mIoU': 30.5, 'aAcc': 80.0}
    assert first['test_resolution'] == [dict(type='Resize', scale=[2048, 1024],
                                             keep_ratio=True)]
    assert first['classes'] == list(CLASSES) and 'palette' not in first['meta']
    assert first['label_mapping'] is None
    assert second['label_mapping']['convention'] == 'robustnet'
    assert record['mean'] == {'mIoU': 35.25, 'aAcc': 85.0}
    json.dumps(record)  # serialisable

    md = render_markdown(record)
    assert '| dataset | images | test resolution | mIoU | aAcc |' in md
    assert '| cityscapes | 2 | 2048x1024 (keep ratio) | 40.00 | 90.00 |' in md
    assert '| mapillary | 3 | 1280x720 (keep ratio) | 30.50 | 80.00 |' in md
    assert '| **mean** (2 datasets, unweighted) | | | 35.25 | 85.00 |' in md
    assert 'iteration 8, last of the schedule' in md
    assert '"convention": "robustnet"' in md


def test_single_dataset_record():
    record = build_record({'mIoU': 12.5}, dataset=_Set(4),
                          dataset_cfg=dict(type='CityscapesDataset', pipeline=_pipeline((64, 32))),
                          checkpoint='x.pth', checkpoint_meta={},
                          train_cfg=dict(max_iters=10))
    (entry,) = record['datasets']
    assert entry['prefix'] is None and entry['metrics'] == {'mIoU': 12.5}
    assert record['mean'] == {} and record['checkpoint']['iter'] is None
    assert record['checkpoint']['last_of_schedule'] is None  # unknown without meta
    md = render_markdown(record)
    assert '| CityscapesDataset | 4 | 64x32 (keep ratio) | 12.50 |' in md
    assert '**mean**' not in md


def test_not_last_checkpoint_is_flagged():
    record = build_record({}, dataset=_Set(1), checkpoint_meta=dict(iter=4),
                          train_cfg=dict(max_iters=8))
    assert record['checkpoint']['last_of_schedule'] is False
    assert 'NOT the last of the schedule' in render_markdown(record)


def test_write_record_never_overwrites(tmp_path):
    record = _multi_record(tmp_path)
    json_path, md_path = write_record(record, str(tmp_path / 'log'), 'run_protocol')
    assert json.loads(open(json_path).read())['mean']['mIoU'] == 35.25
    assert open(md_path).read().startswith('# Test record 20261129_000000')
    with pytest.raises(FileExistsError, match='run_protocol.json exists already'):
        write_record(record, str(tmp_path / 'log'), 'run_protocol')
