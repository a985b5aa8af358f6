# CSG mixin for MMSegmentation. Add it to the `_base_` list of ANY config whose model is an
# EncoderDecoder (a stock mmseg config included) and the model trains with CSG:
#
#   _base_ = ['mmseg::pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py',
#             '../../_base_/csg/csg_seg.py']
#   + the data (a two-view-capable train set such as GTA5; see configs/csg/mixin/)
#
# Every key here is one that no stock config defines (mmengine forbids a key in two sibling
# bases): `runner_type='CSGRunner'` applies `csg` to the model and the train pipeline when the
# runner is built (csg_mm/engine/runner/csg_runner.py):
#   model.type EncoderDecoder -> CSGEncoderDecoder, + model.regularizer = csg.regularizer
#   model.data_preprocessor SegDataPreProcessor -> CSGSegDataPreProcessor
#   train pipeline: PackSegInputs -> csg.key_view + PackCSGSegInputs
#   optim_wrapper.constructor -> TrainableOptimWrapperConstructor (only trainable parameters)
# Build it with RUNNERS.build(cfg) or tools/train.py: mmengine's Runner.from_cfg(cfg) ignores
# `runner_type` (CSGMomentumHook then stops the run before training, saying so).
# Defaults: DESIGN.md 1.3, GTA5 column: lambda 75, stages {3, 4}, A-pool over 8 x 8 patches,
# paper-exact attention, K = 65536, t = 0.07, momentum 0.999 (mmengine 0.001), 128-d embeddings.
custom_imports = dict(imports=['csg_mm'], allow_failed_imports=False)
runner_type = 'CSGRunner'
csg = dict(
    regularizer=dict(
        type='CSGRegularizer',
        stages=(3, 4),
        pool=dict(type='CSGPooling', pool_type='apool', grid=8),
        neck=dict(type='CSGProjectionNeck', out_channels=128, momentum=0.001),
        head=dict(
            type='CSGContrastiveHead', queue_len=65536, temperature=0.07, loss_weight=75.0),
        # 'key': attention from a no-grad student pass on the key view (paper-exact);
        # 'anchor': reuse the anchor view's (aligned views only; one backbone pass cheaper)
        attention='key'),
    # the key view: the anchor's scaled/cropped/flipped image (one decode, pixel-aligned, as the
    # 8 x 8 patch pairing needs) with ColorJitter 0.4/0.4/0.4/0.4 (DESIGN.md 1.2)
    key_view=dict(
        type='KeyMapper',
        mapping=dict(img='img'),
        remapping=dict(img='img_k'),
        transforms=[
            dict(
                type='mmpretrain.ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
                hue=0.4)
        ]))
custom_hooks = [dict(type='CSGMomentumHook')]
