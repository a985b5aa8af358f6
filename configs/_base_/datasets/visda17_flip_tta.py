# Flip-averaged evaluation on VisDA-2017, as the CSG authors report it: the class scores of each
# image and of its horizontal mirror are averaged (CSGAverageClsScoreTTA: mmpretrain's
# AverageClsScoreTTA that also averages the diversity features), then scored with
# the mean of per-class accuracies. Use on top of visda17.py / visda17_single_view.py:
#
#   _base_ = [..., '../_base_/datasets/visda17_flip_tta.py']
#   python tools/test.py CONFIG CHECKPOINT --tta --cfg-options test_evaluator.flip_average=True
#
# `--tta` swaps in tta_pipeline and wraps the model in tta_model. `flip_average=True` makes the
# metric warn when the predictions are single-view (e.g. `--tta` forgotten). (No test_evaluator
# here: it would clash with the full config's when both are sibling bases.)
tta_model = dict(type='CSGAverageClsScoreTTA')

tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=224, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='RandomFlip', prob=1.0, direction='horizontal'),
                dict(type='RandomFlip', prob=0.0),
            ],
            [dict(type='PackInputs')],
        ]),
]

