# CSG on the stock mmseg DeepLabV3+ R50-D8 config, trained on GTA5 and validated / tested on
# Cityscapes + BDD100K + Mapillary val in one run (per-dataset mIoU and their unweighted mean:
# configs/_base_/datasets/cbm_val.py). The same four blocks turn any of the *-to-cityscapes-*
# mixin examples into a multi-target one: the stock config defines val_dataloader / val_evaluator,
# so they are replaced with `_delete_=True`.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    '../../_base_/csg/csg_seg.py',
    '../../_base_/datasets/cbm_val.py',
]
train_dataloader = dict(
    dataset=dict(
        type='GTA5Dataset',
        data_root='data/gta5/',
        data_prefix=dict(img_path='images', seg_map_path='labels')))
val_dataloader = dict(
    dataset=dict(_delete_=True, type='ConcatEvalDataset', datasets={{_base_.cbm_val_datasets}}))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='MultiDatasetEvaluator',
    dataset_prefixes={{_base_.cbm_dataset_prefixes}},
    metrics=dict(type='IoUMetric', iou_metrics=['mIoU']))
test_evaluator = val_evaluator
