# Step 1 of the demo: "ImageNet" pretraining on the REAL pretraining split of scikit-learn's
# handwritten digits (the stand-in for the real data the teacher has seen), from scratch, BN
# trained. tools/demo.py extracts the backbone weights (backbone.*) into a standalone state dict
# that the downstream configs load (backbone init_cfg, also the CSG / feature-l2 teacher).
_base_ = [
    './_base_/digits_runtime.py',
    './_base_/digits_data.py',
    './_base_/digits_model.py',
]
model = dict(backbone=dict(norm_eval=False, init_cfg=None))
train_dataloader = dict(
    dataset=dict(
        _delete_=True, type='RealDigitsDataset', split='pretrain',
        pipeline=_base_.train_pipeline))
optim_wrapper = dict(
    _delete_=True, optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=20)
