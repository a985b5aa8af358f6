# Train on SYNTHIA-RAND-CITYSCAPES, validate and test on Cityscapes + BDD100K + Mapillary val in
# one run (cbm_val.py). SYNTHIA has no terrain, truck or train pixels, so SYNTHIA -> X results are
# reported as the mean IoU over 16 classes (mIoU16) and 13 classes (mIoU13, also without wall,
# fence, pole); ClassSubsetIoUMetric adds both keys (and their means `mean/mIoU16`,
# `mean/mIoU13`) to IoUMetric's 19-class ones. Labels must be converted first:
#   python tools/dataset_converters/synthia.py data/synthia
_base_ = ['./synthia_train.py', './cbm_val.py']
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset={{_base_.synthia_train_dataset}})
val_dataloader = {{_base_.cbm_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = dict(
    type='MultiDatasetEvaluator',
    dataset_prefixes={{_base_.cbm_dataset_prefixes}},
    metrics=dict(
        type='ClassSubsetIoUMetric',
        iou_metrics=['mIoU'],
        class_subsets=dict(mIoU16='synthia-16', mIoU13='synthia-13')))
test_evaluator = val_evaluator
