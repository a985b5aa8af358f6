# Tiny mmengine-scope config for runner, CLI and CPU-distributed tests (seconds on CPU).
# Needs tests/data on PYTHONPATH for the custom import.
default_scope = 'mmengine'
custom_imports = dict(imports=['csg_mm_test_toys'], allow_failed_imports=False)

model = dict(type='CSGToyModel')

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CSGToyDataset', num=16))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CSGToyDataset', num=8, seed=1))
test_dataloader = val_dataloader
val_evaluator = dict(type='CSGToyMetric')
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
param_scheduler = [dict(type='MultiStepLR', milestones=[2], by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=2, save_best='mse', rule='less'),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# nccl as in the stock configs: a CPU multi-process launch must switch it to gloo.
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0)
log_level = 'INFO'
