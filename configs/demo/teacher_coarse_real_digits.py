# Step 1 of the demo: the teacher, the stand-in for the ImageNet model. Trained from scratch (BN
# trained) on the REAL pretraining split of scikit-learn's handwritten digits with COARSE labels
# only: the five pairs {0,1} {2,3} {4,5} {6,7} {8,9} (csg_mm.datasets.digits.COARSE_PAIRS), so
# that, as ImageNet for VisDA, it has seen real images but not the target task's fine classes.
# csg_mm.apis.demo extracts the backbone weights (backbone.*) into a standalone state dict that
# the downstream configs load (backbone init_cfg, also the CSG / feature-l2 teacher). Its test
# (the real test split with the same coarse labels) is for information only.
_base_ = [
    './_base_/digits_runtime.py',
    './_base_/digits_data.py',
    './_base_/digits_model.py',
]
coarse_pairs = ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))
model = dict(
    backbone=dict(norm_eval=False, init_cfg=None),
    head=dict(num_classes=5))
train_dataloader = dict(
    dataset=dict(
        _delete_=True, type='RealDigitsDataset', split='pretrain', label_groups=coarse_pairs,
        pipeline=_base_.train_pipeline))
test_dataloader = dict(dataset=dict(label_groups=coarse_pairs))
optim_wrapper = dict(
    _delete_=True, optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=20)
