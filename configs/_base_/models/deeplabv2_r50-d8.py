# DeepLabV2 (classic ASPP classifier: sum of four 3x3 convs, dilations 6/12/18/24) on a dilated
# ResNet-50 with output stride 8 (strides 1,2,1,1, dilations 1,1,2,4), torchvision layout
# (mmseg `ResNet`, not `ResNetV1c`, has exactly the torchvision keys). Frozen BN: statistics in
# eval mode (norm_eval) and affine parameters not trained (requires_grad=False), as in the paper.
# The ImageNet weights are a torchvision checkpoint the user provides (README "Data and weights").
norm_cfg = dict(type='BN', requires_grad=False)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=True,
        norm_cfg=norm_cfg,
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained', checkpoint='data/pretrained/resnet50-0676ba61.pth')),
    decode_head=dict(
        type='DeepLabV2Head',
        in_channels=2048,
        in_index=3,
        channels=2048,
        dilations=(6, 12, 18, 24),
        num_classes=19,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    # the paper evaluates whole 1024 x 2048 Cityscapes images, single scale
    test_cfg=dict(mode='whole'))
