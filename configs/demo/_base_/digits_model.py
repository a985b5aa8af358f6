# A small ResNet-18 for 16 x 16 grey digits: mmpretrain ResNet_CIFAR (3x3 stem, no max-pool) at
# 1/8 width (8-16-32-64 channels), strides (1, 1, 2, 2): stage maps 16, 16, 8 and 4 pixels, so the
# CSG stages 3 and 4 have 8 x 8 and 4 x 4 maps (A-pool weighs 64 and 16 positions). ~0.18 M
# parameters. All four stages are outputs so that CSG can use stages 3 and 4. The downstream
# models start from the teacher's backbone (`pretrained`, set by csg_mm.apis.demo), keep its BN
# statistics frozen (norm_eval, as the paper) and get a NEW linear head. CSGImageClassifier
# (regularizer=None) trains like mmpretrain's ImageClassifier and attaches the pooled features
# that the energy metric reads.
pretrained = 'work_dirs/demo/pretrained_backbone.pth'
model = dict(
    type='CSGImageClassifier',
    regularizer=None,
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        in_channels=1,
        stem_channels=8,
        base_channels=8,
        num_stages=4,
        strides=(1, 1, 2, 2),
        out_indices=(0, 1, 2, 3),
        style='pytorch',
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

# Paper recipe scaled to this problem: SGD with momentum 0.9, weight decay 5e-4, backbone at 0.1x
# the head's learning rate, poly decay (power 0.9) after a short linear warm-up.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=3)
