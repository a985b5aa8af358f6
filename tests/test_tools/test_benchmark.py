"""tools/analysis_tools/benchmark.py runs end to end on a tiny config and prints every row."""
import os.path as osp

from tests.utils.runner_utils import TINY_CFG_DIR, run_tool


def test_benchmark_table():
    out = run_tool([
        'tools/analysis_tools/benchmark.py',
        osp.join(TINY_CFG_DIR, 'tiny_csg_deeplabv2_gta5.py'), '--iters', '1', '--warmup', '0',
        '--test-size', '64', '128', '--test-iters', '1'
    ]).stdout
    for row in ('baseline step S', 'teacher forward T', 'student no-grad key forward Q',
                'CSG step, attention=key', 'CSG step, attention=anchor', 'above floor',
                'above floor per round: median [min, max]', 'rounds (interleaved) / warm-up',
                'fastest of each',
                'CSG head logits N x (1+K)', 'CSG head logits per chunk (MiB)',
                'inference 64x128 (img/s)', 'contrastive head: loss + backward + enqueue',
                'query A-pool, forward + backward'):
        assert row in out, row
    assert '8 x 65' in out  # batch 2 x 2 x 2 patches, K = 64


def test_benchmark_bf16_autocast_on_cpu():
    out = run_tool([
        'tools/analysis_tools/benchmark.py',
        osp.join(TINY_CFG_DIR, 'tiny_csg_deeplabv2_gta5.py'), '--iters', '1', '--warmup', '0',
        '--test-size', '64', '128', '--test-iters', '1', '--amp'
    ]).stdout
    assert 'cpu / bfloat16 autocast' in out
    assert 'nan' not in out.lower()
