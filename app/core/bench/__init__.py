"""The measurements behind `python main.py bench` (docs/BENCHMARKS.md), Qt-free:

    pipeline.py    live and sequential frame rates at a resolution and face count
    detection.py   detector recall and precision on generated scenes (`scenes.py`)
    lsl.py         Lab Streaming Layer latency and cost
    soak.py        a long run with the recorder: memory and lost rows
"""
