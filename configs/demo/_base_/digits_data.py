# Data of the CPU syn-to-real demo: train on synthetic font digits, test on real handwritten
# digits (scikit-learn's load_digits). Both domains are 8 x 8 images with values 0-16 (the
# optdigits look), held in memory as uint8 0-255 and upsampled to 16 x 16 for the network.
img_size = 16
# One grey channel, normalised with the mean / std of the real PRETRAINING split (the stand-in
# for the ImageNet statistics; values on 0-255).
data_preprocessor = dict(
    type='SelfSupDataPreprocessor', mean=[77.5], std=[95.7], to_rgb=False)

# One augmented view: upsample, small rotation (+-10 degrees, half of the time), translation by
# up to 2 pixels (= 1 pixel of the 8 x 8 original).
view_pipeline = [
    dict(type='Resize', scale=(img_size, img_size), interpolation='bilinear'),
    dict(type='Rotate', angle=10.0, prob=0.5, random_negative_prob=0.5,
         interpolation='bilinear', pad_val=0),
    dict(type='RandomCrop', crop_size=img_size, padding=2, pad_val=0),
]
# Single-view training (pretraining, baseline, oracle, feature l2): images come from memory, so
# the pipelines start without LoadImageFromFile.
train_pipeline = view_pipeline + [dict(type='PackInputs')]
# CSG: two independent draws of the view pipeline, [anchor (student), key (teacher)].
csg_train_pipeline = [
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=(img_size, img_size), interpolation='bilinear'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # stacks each view separately (inputs = [anchor batch, key batch] for CSG)
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='SynthDigitsDataset', num_per_class=150, seed=0, pipeline=train_pipeline))

# The REAL test split: never used for training or model selection (no validation loop).
test_dataloader = dict(
    batch_size=128,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='RealDigitsDataset', split='test', test_mode=True,
                 pipeline=test_pipeline))
# Mean class accuracy: csg_mm's VisDAMetric takes its classes from the dataset's metainfo (the
# ten digits here), so it is not tied to VisDA's 12 classes. Hyperspherical energy of the
# pooled last-stage features (s = 0 is the number of the paper's Table 1).
test_evaluator = [
    dict(type='VisDAMetric'),
    dict(type='HypersphericalEnergyMetric', s_values=(0, 1, 2)),
]
test_cfg = dict()
val_dataloader = None
val_evaluator = None
val_cfg = None
