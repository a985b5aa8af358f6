# Vanilla baseline (paper Table 1 "baseline"): the teacher's ResNet with a new 10-way head,
# fine-tuned on synthetic font digits only, tested on real handwritten digits.
#   python tools/demo.py   (runs this and the other configs of configs/demo)
_base_ = [
    './_base_/digits_runtime.py',
    './_base_/digits_data.py',
    './_base_/digits_model.py',
]
