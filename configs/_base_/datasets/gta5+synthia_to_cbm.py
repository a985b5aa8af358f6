# Train on GTA5 + SYNTHIA-RAND-CITYSCAPES together (one ConcatDataset: 24,966 + 9,400 frames,
# sampled uniformly over the union; the CSG mixin adds the key view to both pipelines), validate
# and test on Cityscapes + BDD100K + Mapillary val in one run (cbm_val.py; 19 classes, since GTA5
# covers all of them). Convert both sources' labels first (gta5.py and synthia.py in
# tools/dataset_converters/).
_base_ = ['./gta5_train.py', './synthia_train.py', './cbm_val.py']
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ConcatDataset',
        datasets=[{{_base_.gta5_train_dataset}}, {{_base_.synthia_train_dataset}}]))
val_dataloader = {{_base_.cbm_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.cbm_val_evaluator}}
test_evaluator = val_evaluator
