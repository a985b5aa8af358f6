# csg_mm registers the components these configs name (VisDA17Dataset, CSGImageClassifier, ...).
custom_imports = dict(imports=['csg_mm'], allow_failed_imports=False)
# ResNet-101 for VisDA-17 (DESIGN.md 1.3): torchvision ImageNet weights (a file the user provides),
# BN statistics frozen (norm_eval), a new head MLP 2048-512-12. All four stages are outputs so that
# CSG can use any of them (paper Table 3); neck and head use the last one.
# CSGImageClassifier with regularizer=None trains exactly like mmpretrain's ImageClassifier; it
# also attaches the pooled last-stage features to test results, for the diversity metric.
model = dict(
    type='CSGImageClassifier',
    regularizer=None,
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        style='pytorch',
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='data/pretrained/resnet101-63fe2227.pth')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='StackedLinearClsHead',
        num_classes=12,
        in_channels=2048,
        mid_channels=[512],
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
