# DESIGN.md 1.3 (VisDA-17): SGD lr 1e-4, momentum 0.9, wd 5e-4, backbone lr x0.1, poly 0.9 with
# the authors' 100-iteration linear warm-up, 30 epochs, total batch 32 (4 GPUs x 8).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-4, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=30,
        convert_to_iter_based=True),
]
# mmengine's EpochBasedTrainLoop that also resumes exactly in the middle of an epoch
# (csg_mm/engine/runner/resumable_loops.py; needs custom_imports of csg_mm)
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=30, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
