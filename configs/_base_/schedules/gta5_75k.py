# DESIGN.md 1.3 (GTA5): SGD lr 1e-3, momentum 0.9, wd 5e-4, backbone lr x0.1, poly 0.9 with the
# authors' 100-iteration linear warm-up. The paper trains batch 6 for 100k iterations (600k
# samples); on 4 GPUs x 2 images (total batch 8) the same 600k samples take 75k iterations.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=75000),
]
# mmengine's IterBasedTrainLoop that resumes without reloading the trained batches, bit-exactly
# (csg_mm/engine/runner/resumable_loops.py; needs custom_imports of csg_mm)
train_cfg = dict(type='ResumableIterBasedTrainLoop', max_iters=75000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
