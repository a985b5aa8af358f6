# CSG ResNet-101 on VisDA-17 (paper Table 1: 64.05 mean class accuracy):
#   tools/dist_train.sh configs/csg/resnet101_csg_4xb8-30e_visda17.py 4
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/models/resnet101_visda17.py',
    '../_base_/datasets/visda17.py',
    '../_base_/schedules/visda17_30e.py',
    '../_base_/csg/csg_cls.py',
]
# the base model has regularizer=None (vanilla): replace it rather than merge into it
model = dict(regularizer=dict(_base_.csg_regularizer, _delete_=True))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3))
