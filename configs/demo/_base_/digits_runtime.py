# Runtime of the CPU syn-to-real demo (tools/demo.py, docs/demo.md): stock mmpretrain runner,
# CPU, no workers (the demo runs on 2 shared cores), only the last checkpoint is kept.
default_scope = 'mmpretrain'
# csg_mm registers the CSG components; csg_mm.datasets.digits the two digit datasets.
custom_imports = dict(imports=['csg_mm', 'csg_mm.datasets.digits'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=-1, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'),
)
log_processor = dict(by_epoch=True, window_size=10)
log_level = 'INFO'
load_from = None
resume = False
# tools/demo.py sets the seed (--seed); the same seed gives the same numbers on the same machine.
randomness = dict(seed=0, deterministic=False)
