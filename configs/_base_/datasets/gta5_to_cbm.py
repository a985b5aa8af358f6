# Train on GTA5 (synthetic), validate and test on Cityscapes + BDD100K + Mapillary val in one run
# (per-dataset metrics and their mean: cbm_val.py). GTA5 labels must be converted first:
#   python tools/dataset_converters/gta5.py data/gta5
_base_ = ['./gta5_train.py', './cbm_val.py']
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset={{_base_.gta5_train_dataset}})
val_dataloader = {{_base_.cbm_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.cbm_val_evaluator}}
test_evaluator = val_evaluator
