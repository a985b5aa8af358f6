# Cityscapes + BDD100K + Mapillary ("CBM"): the three real targets of the domain-generalisation
# protocol, tested in ONE run of one model (docs: configs/csg/README.md, "Domain generalisation").
# The test set is a ConcatEvalDataset (its metainfo carries the per-dataset sizes) and the
# MultiDatasetEvaluator reports `cityscapes/mIoU`, `bdd100k/mIoU`, `mapillary/mIoU` (and aAcc,
# mAcc), their unweighted mean `mean/mIoU`, and a per-class table per dataset in the log. Each
# target keeps its own test pipeline and resolution (its base: cityscapes_val.py 2048 x 1024,
# bdd100k_val.py 1280 x 720, mapillary_val.py fit in 2048 x 1024).
#
# Only `cbm_`-prefixed variables here, so that this base can sit beside a stock mmseg config
# (which defines val_dataloader / val_evaluator) in `_base_`; the configs wire them up:
#   val_dataloader = {{_base_.cbm_val_dataloader}}        (gta5_to_cbm.py and friends)
# or, on top of a stock config (configs/csg/mixin/*-to-cbm-*.py):
#   val_dataloader = dict(dataset=dict(_delete_=True, type='ConcatEvalDataset',
#                                      datasets={{_base_.cbm_val_datasets}}))
_base_ = ['./cityscapes_val.py', './bdd100k_val.py', './mapillary_val.py']
cbm_dataset_prefixes = ['cityscapes', 'bdd100k', 'mapillary']
cbm_val_datasets = [
    {{_base_.cityscapes_val_dataset}},
    {{_base_.bdd100k_val_dataset}},
    {{_base_.mapillary_val_dataset}},
]
cbm_val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ConcatEvalDataset', datasets=cbm_val_datasets))
cbm_val_evaluator = dict(
    type='MultiDatasetEvaluator',
    dataset_prefixes=cbm_dataset_prefixes,
    metrics=dict(type='IoUMetric', iou_metrics=['mIoU']))
