# ACDC val per condition (fog, night, rain, snow) as robustness targets, tested in ONE run:
# `acdc-fog/mIoU`, `acdc-night/mIoU`, `acdc-rain/mIoU`, `acdc-snow/mIoU` (and aAcc, mAcc), their
# unweighted mean `mean/mIoU`, and a per-class table per condition in the log. Datasets, layout
# and resolution (1920 x 1080, native): acdc_val.py. Only `acdc_`-prefixed variables here; a test
# config sets e.g.
#   test_dataloader = {{_base_.acdc_test_dataloader}}
#   test_evaluator = {{_base_.acdc_test_evaluator}}
_base_ = ['./acdc_val.py']
acdc_dataset_prefixes = ['acdc-fog', 'acdc-night', 'acdc-rain', 'acdc-snow']
acdc_test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatEvalDataset',
        datasets=[
            {{_base_.acdc_fog_val_dataset}},
            {{_base_.acdc_night_val_dataset}},
            {{_base_.acdc_rain_val_dataset}},
            {{_base_.acdc_snow_val_dataset}},
        ]))
acdc_test_evaluator = dict(
    type='MultiDatasetEvaluator',
    dataset_prefixes=acdc_dataset_prefixes,
    metrics=dict(type='IoUMetric', iou_metrics=['mIoU']))
