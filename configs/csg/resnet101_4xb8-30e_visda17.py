# Vanilla baseline of paper Table 1 (49.3 mean class accuracy): ResNet-101 fine-tuned on VisDA-17
# synthetic images, tested on the real validation split.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/models/resnet101_visda17.py',
    '../_base_/datasets/visda17_single_view.py',
    '../_base_/schedules/visda17_30e.py',
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3))
